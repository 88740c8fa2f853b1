import SPConvCore
import SPConvKernels

/// Whether a model uses plain 3x3 convolutions or SPConv in their place.
public enum ModelVariant: Hashable, Sendable, Codable {
    case vanilla
    case spconv(SPConvConfiguration)

    /// Which variant, without its SPConv configuration: what a flag or a database column names.
    public enum Kind: String, CaseIterable, Sendable, Codable {
        case vanilla, spconv
    }

    public var kind: Kind {
        switch self {
        case .vanilla: return .vanilla
        case .spconv: return .spconv
        }
    }

    /// `vanilla` or `spconv`, as flags, file names and the database spell it.
    public var name: String { kind.rawValue }

    /// The variant a stored (name, ratio, groups) triple describes, as sidecars, run records and
    /// checkpoint metadata write it: vanilla has neither ratio nor groups, spconv a ratio in
    /// (0, 1) and groups >= 1. Nil for anything else (the caller names the file in its error).
    public init?(name: String, ratio: Double?, groups: Int?) {
        switch (Kind(rawValue: name), ratio, groups) {
        case (.vanilla?, nil, nil): self = .vanilla
        case (.spconv?, let r?, let g?) where r > 0 && r < 1 && g >= 1: self = .spconv(SPConvConfiguration(ratio: r, groups: g))
        default: return nil
        }
    }

    public var spconvConfiguration: SPConvConfiguration? {
        if case .spconv(let configuration) = self { return configuration }
        return nil
    }
}

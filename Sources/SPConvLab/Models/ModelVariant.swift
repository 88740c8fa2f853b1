import SPConvCore
import SPConvKernels

/// Whether a model uses plain 3x3 convolutions or SPConv in their place.
public enum ModelVariant: Hashable, Sendable, Codable {
    case vanilla
    case spconv(SPConvConfiguration)

    public var name: String {
        switch self {
        case .vanilla: return "vanilla"
        case .spconv: return "spconv"
        }
    }

    public var spconvConfiguration: SPConvConfiguration? {
        if case .spconv(let configuration) = self { return configuration }
        return nil
    }
}

import Foundation
import SPConvLab

/// The configurations a sweep covers: the vanilla baseline, then every (ratio, groups) pair.
public struct SweepGrid: Sendable, Equatable {
    public let ratios: [Double]
    public let groups: [Int]

    public init(ratios: [Double], groups: [Int]) {
        self.ratios = ratios
        self.groups = groups
    }

    /// Parses the user's lists.
    ///
    /// Ratios: comma-separated decimals (`0.25`), fractions (`1/4`) and ranges `start:stop:step`
    /// (inclusive of `stop` within a step/1000 tolerance: `0.1:0.9:0.1` gives 0.1, 0.2, ..., 0.9), each
    /// strictly between 0 and 1. Groups: comma-separated positive integers. Duplicates are dropped,
    /// first occurrence kept.
    ///
    /// - Throws: `FeatureProbeError` naming the flag, the bad item and what is accepted.
    public init(ratios ratioText: String, groups groupText: String) throws {
        var ratios: [Double] = []
        for item in SweepGrid.items(ratioText) {
            for value in try SweepGrid.parseRatioItem(item) where !ratios.contains(where: { abs($0 - value) < 1e-12 }) {
                ratios.append(value)
            }
        }
        guard !ratios.isEmpty else {
            throw FeatureProbeError("--ratios '\(ratioText)' is empty; give one or more split ratios between 0 and 1 as decimals (0.25), fractions (1/4) or ranges (0.1:0.9:0.1), separated by commas.")
        }
        var groups: [Int] = []
        for item in SweepGrid.items(groupText) {
            guard let value = Int(item), value >= 1 else {
                throw FeatureProbeError("--groups item '\(item)' in '\(groupText)' is not a positive integer; give group counts such as 1,2,4.")
            }
            if !groups.contains(value) { groups.append(value) }
        }
        guard !groups.isEmpty else {
            throw FeatureProbeError("--groups '\(groupText)' is empty; give one or more positive integers such as 1,2,4.")
        }
        self.init(ratios: ratios, groups: groups)
    }

    private static func items(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func parseRatioItem(_ item: String) throws -> [Double] {
        let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1:
            return [try ratio(parts[0], in: item)]
        case 3:
            let (start, stop, step) = (try number(parts[0], in: item), try number(parts[1], in: item), try number(parts[2], in: item))
            guard step > 0, stop >= start else {
                throw FeatureProbeError("--ratios range '\(item)' needs start <= stop and a positive step, as in 0.1:0.9:0.1.")
            }
            let steps = ((stop - start) / step + 1e-3).rounded(.down)
            guard steps.isFinite, steps < 1000 else {
                throw FeatureProbeError("--ratios range '\(item)' gives more than 1000 ratios; a sweep takes at most 1000 per range. Use a larger step.")
            }
            let count = Int(steps) + 1
            guard count <= 1000 else {
                throw FeatureProbeError("--ratios range '\(item)' gives \(count) ratios; a sweep takes at most 1000 per range. Use a larger step.")
            }
            return try (0..<count).map { k in
                // Round to 12 decimals so 0.1 + 2 * 0.1 prints and compares as 0.3.
                let value = ((start + Double(k) * step) * 1e12).rounded() / 1e12
                return try ratio(String(value), in: item, value: value)
            }
        default:
            throw FeatureProbeError("--ratios item '\(item)' is neither a ratio nor a range; give decimals (0.25), fractions (1/4) or start:stop:step ranges (0.1:0.9:0.1).")
        }
    }

    private static func number(_ text: String, in item: String) throws -> Double {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let n = Double(parts[0]), let d = Double(parts[1]), d != 0, (n / d).isFinite { return n / d }
        if parts.count == 1, let v = Double(text), v.isFinite { return v }
        throw FeatureProbeError("--ratios item '\(item)': '\(text)' is not a number; give decimals (0.25) or fractions (1/4).")
    }

    private static func ratio(_ text: String, in item: String, value: Double? = nil) throws -> Double {
        let v = try value ?? number(text, in: item)
        guard v > 0, v < 1 else {
            throw FeatureProbeError("--ratios item '\(item)' gives \(v), outside (0, 1); a split ratio is the fraction of input channels kept in the representative part, strictly between 0 and 1.")
        }
        return v
    }

    /// The variants in sweep order: vanilla first, then ratios outer, groups inner.
    public var variants: [ModelVariant] {
        [.vanilla] + ratios.flatMap { r in groups.map { g in ModelVariant.spconv(SPConvConfiguration(ratio: r, groups: g)) } }
    }
}

/// Which part of a grid one process runs: configuration k (0-based, in grid order) belongs to
/// shard `k % count + 1`. Written `K/N` with 1 <= K <= N.
public struct Shard: Sendable, Equatable {
    public let index: Int
    public let count: Int

    public static let whole = Shard(index: 1, count: 1)

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (1...count).contains(index), "shard \(index)/\(count) is out of range")
        self.index = index
        self.count = count
    }

    /// Parses `K/N`.
    public init(_ text: String, source: String = "--shard") throws {
        let parts = text.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let k = parts[0], let n = parts[1], n >= 1, (1...n).contains(k) else {
            throw FeatureProbeError("\(source) '\(text)' is not a shard; write K/N with 1 <= K <= N, for example 2/4.")
        }
        self.init(index: k, count: n)
    }

    /// The shard Slurm assigns through `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`, if both are set.
    ///
    /// Array task ids may start at 0 or 1 (`--array=0-3` or `1-4`); `SLURM_ARRAY_TASK_MIN` says which.
    public static func fromSlurm(_ environment: [String: String]) throws -> Shard? {
        guard let idText = environment["SLURM_ARRAY_TASK_ID"], let countText = environment["SLURM_ARRAY_TASK_COUNT"] else { return nil }
        let minimum = Int(environment["SLURM_ARRAY_TASK_MIN"] ?? "0") ?? 0
        guard let id = Int(idText), let count = Int(countText), count >= 1, count <= 1_000_000, abs(minimum) <= 1_000_000_000,
              (minimum..<(minimum + count)).contains(id) else {
            throw FeatureProbeError("SLURM_ARRAY_TASK_ID=\(idText) with SLURM_ARRAY_TASK_COUNT=\(countText) (and SLURM_ARRAY_TASK_MIN=\(minimum)) is not a shard; pass --shard K/N to override.")
        }
        return Shard(index: id - minimum + 1, count: count)
    }

    public func contains(_ position: Int) -> Bool { position % count == index - 1 }

    public var description: String { "\(index)/\(count)" }
}

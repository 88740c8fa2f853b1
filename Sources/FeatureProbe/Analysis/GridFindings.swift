import Foundation
import SPConvLab

/// The paragraph a report opens with: what a trained grid shows about the paper's claim
/// (SPConv keeps the accuracy of vanilla convolution at a fraction of its parameters and MACs),
/// in numbers taken from the configurations themselves.
public enum GridFindings {
    /// The paragraph for `summaries` of trained configurations, or nil when there is no trained
    /// vanilla baseline with accuracy and at least one trained SPConv configuration to set
    /// beside it (the claim cannot be checked), or when the trained configurations come from
    /// more than one grid (sweep, model, epochs, data).
    public static func paragraph(_ summaries: [ConfigurationSummary], metric: String = "cosine") -> String? {
        let trained = summaries.filter { $0.representative.weightsSource == .trained && $0.accuracy != nil }
        // One grid only: configurations of other sweeps, models, recipes or data are not comparable.
        let grids = Set(trained.map { r in
            "\(r.representative.sweepID)|\(r.representative.model)|\(r.representative.trainEpochs ?? 0)|\(r.representative.dataset)|\(r.representative.inputSize)"
        })
        guard grids.count == 1 else { return nil }
        guard let vanilla = trained.first(where: { $0.representative.variant == ModelVariant.Kind.vanilla.rawValue }),
              let baseAccuracy = vanilla.accuracy, let baseParams = vanilla.representative.params,
              let baseMACs = vanilla.representative.macs, baseParams > 0, baseMACs > 0 else { return nil }
        let spconv = trained.filter { $0.representative.variant == ModelVariant.Kind.spconv.rawValue && $0.representative.params != nil && $0.representative.macs != nil }
        guard !spconv.isEmpty else { return nil }

        func name(_ s: ConfigurationSummary) -> String {
            "ratio \(CSVWriter.formatG6(s.representative.ratio ?? 0)), groups \(s.representative.groups ?? 0)"
        }
        func percent(_ spread: ConfigurationSummary.Spread) -> String { spread.formatted(decimals: 2, scale: 100) + "%" }
        func share(_ part: Int, of whole: Int) -> String { String(format: "%.0f%%", 100 * Double(part) / Double(whole)) }
        let seeds = Set(trained.map(\.runIDs.count))
        let seedText = seeds.count == 1 ? "\(seeds.first!) seed\(seeds.first! == 1 ? "" : "s") each" : "\(seeds.min()!) to \(seeds.max()!) seeds each"

        var text = "Trained \(vanilla.representative.model) (\(seedText); accuracy as mean ± standard deviation over seeds on \(vanilla.representative.dataset == "fashion-mnist" ? "Fashion-MNIST test images" : "the test images")): vanilla reaches \(percent(baseAccuracy)) with \(GridFindings.grouped(baseParams)) parameters and \(compactCount(baseMACs)) MACs per image. "
        let sorted = spconv.sorted { $0.accuracy!.mean > $1.accuracy!.mean }
        let best = sorted.first!, worst = sorted.last!
        let cheapest = spconv.min { $0.representative.macs! < $1.representative.macs! }!
        func range(_ values: [Int], of whole: Int) -> String {
            let (low, high) = (share(values.min()!, of: whole), share(values.max()!, of: whole))
            return low == high ? low : "\(low) to \(high)"
        }
        let plural = spconv.count != 1
        text += "The \(spconv.count) SPConv configuration\(plural ? "s keep" : " keeps") \(range(spconv.map { $0.representative.params! }, of: baseParams)) of the parameters and \(range(spconv.map { $0.representative.macs! }, of: baseMACs)) of the MACs, "
        text += plural ? "and reach \(percent(worst.accuracy!)) (\(name(worst))) to \(percent(best.accuracy!)) (\(name(best))). "
                       : "and reaches \(percent(best.accuracy!)). "
        let gap = 100 * (baseAccuracy.mean - cheapest.accuracy!.mean)
        text += String(format: "The cheapest, %@, needs %@ of vanilla's MACs and is %.2f points %@. ", name(cheapest),
                       share(cheapest.representative.macs!, of: baseMACs), abs(gap), gap >= 0 ? "less accurate" : "more accurate")
        let within = spconv.filter { s in
            let spread = max(s.accuracy!.std ?? 0, baseAccuracy.std ?? 0)
            return baseAccuracy.mean - s.accuracy!.mean <= 2 * spread
        }
        if within.isEmpty {
            text += "No SPConv configuration matches vanilla within twice the seed spread: here the savings cost accuracy, "
            text += String(format: "%.2f to %.2f points, ", 100 * (baseAccuracy.mean - best.accuracy!.mean), 100 * (baseAccuracy.mean - worst.accuracy!.mean))
            text += "so the paper's claim that SPConv keeps vanilla's accuracy is not borne out at this scale (the paper trains far longer on CIFAR-10 and ImageNet). "
        } else {
            text += "\(within.count) of \(spconv.count) (\(within.map(name).joined(separator: "; "))) \(within.count == 1 ? "matches" : "match") vanilla within twice the seed spread, which supports the paper's claim that the split removes cost without losing accuracy. "
        }
        if let base = vanilla.redundancy[metric] {
            let values = spconv.compactMap { $0.redundancy[metric]?.mean }
            if let low = values.min(), let high = values.max() {
                let spread = String(format: "%.3f", low) == String(format: "%.3f", high) ? String(format: "%.3f", low) : String(format: "%.3f to %.3f", low, high)
                text += String(format: "Mean |off-diagonal| %@ similarity between channels, averaged over the probed layers, is %.3f for vanilla and %@ for SPConv.",
                               metric, base.mean, spread)
            }
        }
        return text
    }

    /// An integer with thousands separators: 25557032 -> `25,557,032`.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, character) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// `31.0M`, `412k`.
    static func compactCount(_ value: Int) -> String {
        let v = Double(value)
        return v >= 1e9 ? String(format: "%.2fG", v / 1e9) : v >= 1e6 ? String(format: "%.1fM", v / 1e6)
            : v >= 1e3 ? String(format: "%.0fk", v / 1e3) : String(value)
    }
}

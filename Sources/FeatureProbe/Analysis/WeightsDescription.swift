/// How a run's weights are described in tables: `trained 15 ep, seed 1, store 1a2b3c4d`,
/// `file resnet20.safetensors (sha 9f86d081)`, `random, seed 0`.
public enum WeightsDescription {
    /// A short description for a table cell or a heading.
    public static func short(_ run: RunRecord) -> String {
        switch run.weightsSource {
        case .trained:
            var text = "trained"
            if let epochs = run.trainEpochs { text += " \(epochs) ep" }
            if let seed = run.trainSeed { text += ", seed \(seed)" }
            if let key = run.storeKey { text += ", store \(key.prefix(8))" }
            return text
        case .file:
            let name = run.weightsPath.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "?"
            return "file \(name)" + (run.weightsSHA256.map { " (sha \($0.prefix(8)))" } ?? "")
        case .random:
            return "random" + (run.weightsSeed.map { ", seed \($0)" } ?? "")
        }
    }

    /// The source in a phrase: "trained", "loaded from a file", "random (untrained)".
    public static func sourceName(_ source: WeightsSource) -> String {
        switch source {
        case .trained: return "trained"
        case .file: return "loaded from a file"
        case .random: return "random (untrained)"
        }
    }
}

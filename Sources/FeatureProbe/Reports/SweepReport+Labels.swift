import SPConvLab

extension SweepReport {
    /// How runs are named in legends, captions and headings.
    struct RunLabels {
        let runsByID: [Int64: RunRecord]
        /// Whether the runs cover more than one model, so names must say which.
        let isMultiModel: Bool
        /// Whether runs with random weights appear beside trained or file ones (allowed by the
        /// user), so every name must say where its weights came from.
        let marksWeights: Bool

        init(runs: [RunRecord]) {
            var byID: [Int64: RunRecord] = [:]
            for run in runs where byID[run.id] == nil { byID[run.id] = run }
            runsByID = byID
            isMultiModel = Set(runs.map(\.model)).count > 1
            marksWeights = WeightsMixing.isMixed(runs)
        }

        /// " [trained]", " [random]" or " [file]" when weights are mixed, else "".
        func mark(_ source: WeightsSource) -> String { marksWeights ? " [\(source.rawValue)]" : "" }

        /// "vanilla", "r=0.25 g=2" (or the variant name), after the model when there are several.
        func configuration(_ run: RunRecord) -> String {
            let base: String
            if run.variant == ModelVariant.Kind.vanilla.rawValue {
                base = "vanilla"
            } else if let ratio = run.ratio, let groups = run.groups {
                base = "r=\(CSVWriter.formatG6(ratio)) g=\(groups)"
            } else {
                base = run.variant
            }
            return (isMultiModel ? "\(run.model) \(base)" : base) + mark(run.weightsSource)
        }

        /// "#3 r=0.25 g=2", for a legend with one entry per run.
        func series(_ id: Int64) -> String {
            runsByID[id].map { "#\(id) \(configuration($0))" } ?? "#\(id)"
        }

        /// "resnet18 spconv r=0.25 g=2", for headings; "run 3" for a run not in the list.
        func long(_ id: Int64) -> String {
            guard let run = runsByID[id] else { return "run \(id)" }
            var text = "\(run.model) \(run.variant)"
            if run.variant != ModelVariant.Kind.vanilla.rawValue, let ratio = run.ratio, let groups = run.groups {
                text += " r=\(CSVWriter.formatG6(ratio)) g=\(groups)"
            }
            if let seed = run.trainSeed { text += " seed \(seed)" }
            return text + " (\(WeightsDescription.short(run)))"
        }

        /// The name of a group-count series, after the model when there are several.
        func groups(_ groups: Int, model: String, source: WeightsSource) -> String {
            (isMultiModel ? "\(model) g=\(groups)" : "g=\(groups)") + mark(source)
        }

        /// The name of a vanilla baseline, after the model when there are several.
        func vanilla(model: String, source: WeightsSource) -> String {
            (isMultiModel ? "\(model) vanilla" : "vanilla") + mark(source)
        }
    }
}

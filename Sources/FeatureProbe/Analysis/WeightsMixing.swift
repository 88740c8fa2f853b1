/// The rule that keeps trained and random weights apart: redundancy and accuracy of random
/// weights say nothing about trained networks (random weights show far more channel
/// similarity), so a report or comparison that would put them side by side refuses unless the
/// user asks to mix them, and then every label says which is which.
public enum WeightsMixing {
    /// Whether `runs` (done ones) hold both random and non-random (trained or file) weights.
    public static func isMixed(_ runs: [RunRecord]) -> Bool {
        let done = runs.filter { $0.status == .done }
        return done.contains { $0.weightsSource == .random } && done.contains { $0.weightsSource != .random }
    }

    /// Throws when `runs` mix random with trained or file weights and `allowed` is false.
    ///
    /// - Parameters:
    ///   - what: what would show them together ("The report", "query compare").
    ///   - flag: the flag that allows it (`--mix-weights`).
    /// - Throws: ``FeatureProbeError`` naming the runs of each kind.
    public static func check(_ runs: [RunRecord], allowed: Bool, what: String, flag: String = "--mix-weights") throws {
        guard !allowed, isMixed(runs) else { return }
        let done = runs.filter { $0.status == .done }
        func list(_ source: WeightsSource) -> String {
            let ids = done.filter { $0.weightsSource == source }.map { String($0.id) }
            return ids.count > 12 ? ids.prefix(12).joined(separator: ", ") + ", ... (\(ids.count) in all)" : ids.joined(separator: ", ")
        }
        var kinds: [String] = []
        for source in WeightsSource.allCases where done.contains(where: { $0.weightsSource == source }) {
            kinds.append("\(source.rawValue) weights in run(s) \(list(source))")
        }
        throw FeatureProbeError("\(what) would put runs with trained and random weights side by side: \(kinds.joined(separator: "; ")). Random weights show far more channel similarity than trained ones and have no accuracy, so such a comparison misleads. Choose runs of one kind (--sweep, or run ids of one kind), or pass \(flag) to show them together with each run's weights marked in every label.")
    }
}

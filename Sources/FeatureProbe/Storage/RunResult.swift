/// What a finished run measured, written by ``ExperimentDatabase/complete(runID:worker:result:)``
/// in one transaction.
public struct RunResult: Sendable, Equatable {
    public var params: Int
    public var macs: Int
    public var flops: Int
    public var latencyMS: Double?
    /// Top-1 accuracy as a fraction in [0, 1], when labels were available.
    public var accuracy: Double?
    /// One summary per layer and metric (their `runID` is ignored and set to the run's).
    public var layerMetrics: [LayerMetricRecord]
    /// The matrices (their `runID` is ignored and set to the run's).
    public var similarity: [SimilarityRecord]

    public init(params: Int, macs: Int, flops: Int, latencyMS: Double?, accuracy: Double?,
                layerMetrics: [LayerMetricRecord] = [], similarity: [SimilarityRecord] = []) {
        self.params = params
        self.macs = macs
        self.flops = flops
        self.latencyMS = latencyMS
        self.accuracy = accuracy
        self.layerMetrics = layerMetrics
        self.similarity = similarity
    }
}

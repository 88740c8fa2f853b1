import SPConvLab

/// What a finished run measured, written by ``ExperimentDatabase/complete(runID:worker:result:)``
/// in one transaction.
public struct RunResult: Sendable, Equatable {
    public var params: Int
    public var macs: Int
    public var flops: Int
    public var latencyMS: Double?
    /// Top-1 test accuracy as a fraction in [0, 1], when the run was trained.
    public var accuracy: Double?
    /// Wall time of the training, in seconds, when the run was trained.
    public var trainSeconds: Double?
    /// The checkpoint store key and the weights file's SHA-256 of a trained run.
    public var storeKey: String? = nil
    public var checkpointSHA256: String? = nil
    /// The per-epoch history of a trained run.
    public var epochs: [EpochRecord] = []
    /// One summary per layer and metric (their `runID` is ignored and set to the run's).
    public var layerMetrics: [LayerMetricRecord]
    /// The matrices (their `runID` is ignored and set to the run's).
    public var similarity: [SimilarityRecord]
    /// The maps of the first probed image per layer (their `runID` is ignored and set to the run's).
    public var featureMaps: [FeatureMapRecord] = []

    public init(params: Int, macs: Int, flops: Int, latencyMS: Double?, accuracy: Double?, trainSeconds: Double? = nil,
                layerMetrics: [LayerMetricRecord] = [], similarity: [SimilarityRecord] = []) {
        self.params = params
        self.macs = macs
        self.flops = flops
        self.latencyMS = latencyMS
        self.accuracy = accuracy
        self.trainSeconds = trainSeconds
        self.layerMetrics = layerMetrics
        self.similarity = similarity
    }
}

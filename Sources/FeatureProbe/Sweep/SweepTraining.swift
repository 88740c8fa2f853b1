import SPConvLab

/// How a sweep trains the configurations that ask for it (``RunConfiguration/trainEpochs``).
///
/// Every trained configuration is one run of the ``CheckpointStore``: its identity is the
/// configuration's network, the data (`dataset`, the sizes of `trainSet` and `testSet`), the
/// recipe `configuration` with the run's epochs, and the run's ``RunConfiguration/trainSeed``.
/// A finished run in the store is reused as it is; an unfinished one resumes after its last
/// finished epoch; a missing one is trained from the seeded initial weights (unless `policy` is
/// ``CheckpointStore/Policy/reuseOnly``). The accuracy is the final test accuracy on `testSet`;
/// the redundancy is then measured on the trained weights.
public struct SweepTraining: Sendable {
    /// The labelled training images.
    public var trainSet: LabelledImages
    /// The labelled images the accuracy is measured on.
    public var testSet: LabelledImages
    /// The dataset's name in the training identity (`fashion-mnist`).
    public var dataset: String
    /// The normalisation the data was read with, recorded in the sidecar.
    public var normalization: Normalization
    /// The optimizer, schedule and augmentation; `epochs` and `seed` are replaced by each run's.
    public var configuration: TrainingConfiguration
    /// Where trained runs are kept and found.
    public var store: CheckpointStore
    /// Whether a run missing from the store is trained or refused.
    public var policy: CheckpointStore.Policy
    /// Who writes the sidecars.
    public var writer: TrainingSidecar.Writer

    public init(trainSet: LabelledImages, testSet: LabelledImages, dataset: String, normalization: Normalization,
                configuration: TrainingConfiguration, store: CheckpointStore, policy: CheckpointStore.Policy = .trainIfMissing,
                writer: TrainingSidecar.Writer) {
        self.trainSet = trainSet
        self.testSet = testSet
        self.dataset = dataset
        self.normalization = normalization
        self.configuration = configuration
        self.store = store
        self.policy = policy
        self.writer = writer
    }

    /// The recipe of a run with `epochs` epochs and `seed`.
    public func configuration(epochs: Int, seed: UInt64) -> TrainingConfiguration {
        var copy = configuration
        copy.epochs = epochs
        copy.seed = seed
        return copy
    }

    /// The training identity of a configuration's run.
    public func identity(of spec: ModelSpec, epochs: Int, seed: UInt64) -> TrainingIdentity {
        TrainingIdentity(spec: spec, dataset: dataset, trainImages: trainSet.count, testImages: testSet.count,
                         recipe: configuration(epochs: epochs, seed: seed))
    }
}

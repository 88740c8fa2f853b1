import SPConvLab

/// How a sweep trains the configurations that ask for it (``RunConfiguration/trainEpochs``).
///
/// Every trained configuration starts from a network built with `configuration.seed` (or from its
/// checkpoint, when it has one), is trained on `trainSet` with a copy of `configuration` whose
/// `epochs` are the run's, and its accuracy is the test accuracy on `testSet` after the last
/// epoch. The redundancy analysis then runs on the trained weights.
public struct SweepTraining: Sendable {
    /// The labelled training images.
    public var trainSet: LabelledImages
    /// The labelled images the accuracy is measured on.
    public var testSet: LabelledImages
    /// The optimizer, schedule, augmentation and seed; `epochs` is replaced by each run's.
    public var configuration: TrainingConfiguration

    public init(trainSet: LabelledImages, testSet: LabelledImages, configuration: TrainingConfiguration) {
        self.trainSet = trainSet
        self.testSet = testSet
        self.configuration = configuration
    }

    /// The template with a run's epochs.
    public func configuration(epochs: Int) -> TrainingConfiguration {
        var copy = configuration
        copy.epochs = epochs
        return copy
    }
}

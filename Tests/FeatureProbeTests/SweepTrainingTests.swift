import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

/// ConfigurationMeasurement with training: a tiny synthetic dataset so a resnet20 epoch takes a moment.
@Suite struct SweepTrainingTests {
    /// `count` seeded 1-channel `size x size` images in 10 classes (label `k % 10`).
    static func labelledImages(count: Int, size: Int = 8, seed: UInt64) -> LabelledImages {
        var generator = SeededGenerator(seed: seed)
        let pixels = (0..<(count * size * size)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return LabelledImages(name: "synthetic-\(seed)", channels: 1, size: size, classes: 10, pixels: pixels,
                              labels: (0..<count).map { $0 % 10 }, normalization: Normalization(mean: [0.5], std: [0.29]))
    }

    static func configuration(trainEpochs: Int?, seed: UInt64? = nil) -> RunConfiguration {
        RunConfiguration(model: "resnet20", variant: "spconv", ratio: 0.5, groups: 2, inChannels: 1, classes: 10, inputSize: 8,
                         dataset: "synthetic:16", images: 16, batch: 16, threads: 1, trainEpochs: trainEpochs, trainSeed: seed)
    }

    /// A fresh, empty store folder.
    static func temporaryStore() throws -> CheckpointStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return CheckpointStore(folder: folder)
    }

    static func settings(training: Bool, store: CheckpointStore? = nil, policy: CheckpointStore.Policy = .trainIfMissing) throws -> SweepSettings {
        var settings = SweepSettings()
        settings.layers = "layer1.0,layer3.2"
        settings.batch = 16
        settings.latencyWarmup = 0
        settings.latencyRuns = 1
        if training {
            var recipe = TrainingConfiguration(epochs: 99)  // the run's epochs replace these
            recipe.batchSize = 16
            settings.training = SweepTraining(trainSet: labelledImages(count: 64, seed: 1), testSet: labelledImages(count: 64, seed: 2),
                                              dataset: "synthetic", normalization: Normalization(mean: [0.5], std: [0.29]),
                                              configuration: recipe, store: try store ?? temporaryStore(), policy: policy,
                                              writer: TrainingSidecar.Writer(tool: "test", version: "0", gitCommit: nil, command: []))
        }
        return settings
    }

    static let source = SyntheticBatchSource(count: 16, spec: ModelSpec(.resnet20, inputChannels: 1, inputSize: 8))

    @Test func aTrainedConfigurationRecordsItsAccuracyAndMeasuresTheTrainedWeights() throws {
        var steps: [TrainingProgress] = []
        let store = try Self.temporaryStore()
        let trained = try ConfigurationMeasurement.measure(Self.configuration(trainEpochs: 1), source: Self.source,
                                                           settings: Self.settings(training: true, store: store),
                                                           trainingProgress: { steps.append($0) })
        let accuracy = try #require(trained.accuracy)
        #expect((0...1).contains(accuracy))
        #expect(accuracy * 64 == (accuracy * 64).rounded(), "a fraction of the 64 test images")
        let seconds = try #require(trained.trainSeconds)
        #expect(seconds >= 0)
        #expect(steps.count == 4 && steps.last?.epochs == 1 && steps.last?.images == 64, "64 images in batches of 16, one epoch")
        #expect(trained.layerMetrics.count == 2)
        // The run is in the store, and the result says which file it measured.
        let (entries, problems) = try store.entries()
        #expect(problems.isEmpty && entries.count == 1 && entries[0].isFinished)
        let sha = try entries[0].weightsSHA256()
        #expect(trained.storeKey == entries[0].identity.key && trained.checkpointSHA256 == sha)
        #expect(trained.epochs.count == 1 && trained.epochs[0].testAccuracy == accuracy)
        #expect(!FileManager.default.fileExists(atPath: entries[0].files.optimizerState), "a finished run keeps no optimizer state")

        // Measured again, the finished run is reused: no step, the same weights and numbers.
        var again: [TrainingProgress] = []
        let reused = try ConfigurationMeasurement.measure(Self.configuration(trainEpochs: 1), source: Self.source,
                                                          settings: Self.settings(training: true, store: store),
                                                          trainingProgress: { again.append($0) })
        #expect(again.isEmpty && reused.accuracy == accuracy && reused.checkpointSHA256 == trained.checkpointSHA256)
        #expect(reused.layerMetrics == trained.layerMetrics)
        // Another seed is another run.
        let other = try ConfigurationMeasurement.measure(Self.configuration(trainEpochs: 1, seed: 5), source: Self.source,
                                                         settings: Self.settings(training: true, store: store))
        #expect(other.storeKey != trained.storeKey && other.checkpointSHA256 != trained.checkpointSHA256)
        #expect(try store.entries().entries.count == 2)

        // Untrained, from the same initial weights: no accuracy, and other redundancy numbers.
        let untrained = try ConfigurationMeasurement.measure(Self.configuration(trainEpochs: nil), source: Self.source,
                                                             settings: Self.settings(training: true))
        #expect(untrained.accuracy == nil && untrained.trainSeconds == nil && untrained.storeKey == nil)
        #expect(untrained.macs == trained.macs && untrained.params == trained.params)
        #expect(untrained.layerMetrics.map(\.meanAbsOffDiagonal) != trained.layerMetrics.map(\.meanAbsOffDiagonal),
                "the analysis ran on the trained weights")
    }

    @Test func trainingWithoutTrainingDataIsAClearError() throws {
        let error = #expect(throws: FeatureProbeError.self) {
            try ConfigurationMeasurement.measure(Self.configuration(trainEpochs: 2), source: Self.source, settings: Self.settings(training: false))
        }
        #expect(error?.message.contains("2 training epoch") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("--train-epochs") == true)
    }

    @Test func aStoreThatMustNotTrainRefusesAMissingRun() throws {
        let store = try Self.temporaryStore()
        let error = #expect(throws: SPConvLabError.self) {
            try ConfigurationMeasurement.measure(Self.configuration(trainEpochs: 2), source: Self.source,
                                                 settings: Self.settings(training: true, store: store, policy: .reuseOnly))
        }
        #expect(error?.message.contains("does not train") == true && error?.message.contains(store.folder) == true, "\(error?.message ?? "")")
        #expect(try store.entries().entries.isEmpty)
    }

    @Test func theDescriptionNamesTheEpochsAndSeed() {
        #expect(SweepRunner.describe(Self.configuration(trainEpochs: nil)) == "resnet20 spconv 0.5/g2")
        #expect(SweepRunner.describe(Self.configuration(trainEpochs: 1)) == "resnet20 spconv 0.5/g2 trained 1 epoch, seed 0")
        #expect(SweepRunner.describe(Self.configuration(trainEpochs: 3, seed: 2)) == "resnet20 spconv 0.5/g2 trained 3 epochs, seed 2")
    }
}

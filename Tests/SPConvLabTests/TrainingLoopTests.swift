import Foundation
import Testing
@testable import SPConvLab

/// The training loop's parts against hand-derived values: SGD, the schedules, augmentation and
/// epoch plans, and resuming from a checkpoint.
@Suite struct TrainingLoopTests {
    // MARK: SGD

    /// Two steps worked by hand with lr 0.1, momentum 0.9, weight decay 0.01 (PyTorch's rule:
    /// d = g + λp; v = d on the first step, then v = μv + d; p -= lr v).
    @Test func sgdMatchesTwoStepsWorkedByHand() {
        var p = Tensor(shape: [2], scalars: [1, -2])
        var v = Tensor.zeros([2])
        let g = Tensor(shape: [2], scalars: [0.5, 0.25])
        TrainingKernels.sgdStep(parameter: &p, gradient: g, velocity: &v, isFirstStep: true, learningRate: 0.1,
                                momentum: 0.9, weightDecay: 0.01)
        // d = [0.51, 0.23]; v = d; p = [0.949, -2.023]
        expectClose(v, Tensor(shape: [2], scalars: [0.51, 0.23]), rtol: 1e-6, atol: 1e-7)
        expectClose(p, Tensor(shape: [2], scalars: [0.949, -2.023]), rtol: 1e-6, atol: 1e-7)
        TrainingKernels.sgdStep(parameter: &p, gradient: g, velocity: &v, isFirstStep: false, learningRate: 0.1,
                                momentum: 0.9, weightDecay: 0.01)
        // d = [0.50949, 0.22977]; v = 0.9 [0.51, 0.23] + d = [0.96849, 0.43677]; p = [0.852151, -2.066677]
        expectClose(v, Tensor(shape: [2], scalars: [0.96849, 0.43677]), rtol: 1e-6, atol: 1e-7)
        expectClose(p, Tensor(shape: [2], scalars: [0.852151, -2.066677]), rtol: 1e-6, atol: 1e-7)
    }

    // MARK: Schedules

    @Test func cosineScheduleWithWarmup() {
        var c = TrainingConfiguration(epochs: 3)
        c.learningRate = 0.1
        c.warmupEpochs = 1
        func rate(_ epoch: Int, _ step: Int) -> Double { c.learningRate(epoch: epoch, step: step, stepsPerEpoch: 10) }
        #expect(abs(rate(0, 0) - 0.01) < 1e-12)                     // warm-up: (0 + 1) / 10 of the base
        #expect(abs(rate(0, 9) - 0.1) < 1e-12)                      // end of warm-up
        #expect(abs(rate(1, 0) - 0.1) < 1e-12)                      // cosine starts at the base rate
        #expect(abs(rate(2, 0) - 0.05) < 1e-12)                     // half-way: cos(pi/2) = 0
        #expect(abs(rate(2, 9) - 0.1 * 0.5 * (1 + cos(0.95 * Double.pi))) < 1e-12)
    }

    @Test func stepScheduleAndParsing() {
        var c = TrainingConfiguration(epochs: 4)
        c.learningRate = 0.1
        c.warmupEpochs = 0
        c.schedule = LearningRateSchedule(parsing: "step:2,3:0.1")!
        let rates = (0..<4).map { c.learningRate(epoch: $0, step: 5, stepsPerEpoch: 10) }
        #expect(zip(rates, [0.1, 0.1, 0.01, 0.001]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(LearningRateSchedule(parsing: "cosine") == .cosine)
        for bad in ["linear", "step:a:0.1", "step:2:0", "step:0:0.1", "step:2", "step::0.1", "step:2:-1"] {
            #expect(LearningRateSchedule(parsing: bad) == nil, "\(bad)")
        }
    }

    // MARK: Data

    /// A 4x4 image with pixel `p` = 10 p and the identity normalisation, so outputs are 10 p / 255.
    static let tiny = LabelledImages(name: "tiny", channels: 1, size: 4, classes: 10, pixels: (0..<16).map { UInt8($0 * 10) },
                                     labels: [3], normalization: Normalization(mean: [0], std: [1]))

    @Test func cropShiftsTheWindowAndPadsWithZeros() {
        // Crop offset dy = 1, dx = -1: out[y][x] = in[y + 1][x - 1], zero outside.
        let batch = Self.tiny.batch([0], augment: Augmentation(draws: [.init(dy: 1, dx: -1, flip: false)]))
        let expected: [Float] = [0, 40, 50, 60,  0, 80, 90, 100,  0, 120, 130, 140,  0, 0, 0, 0].map { $0 / 255 }
        expectClose(batch.images, Tensor(shape: [1, 1, 4, 4], scalars: expected), rtol: 1e-6, atol: 1e-7)
        #expect(batch.labels == [3])
    }

    @Test func flipMirrorsAfterTheCrop() {
        // Flip only: out[y][x] = in[y][3 - x]. With dx = 1 as well: out[y][x] = in[y][3 - x + 1].
        let flipped = Self.tiny.batch([0], augment: Augmentation(draws: [.init(dy: 0, dx: 0, flip: true)]))
        expectClose(Tensor(shape: [4], scalars: Array(flipped.images.scalars.prefix(4))),
                    Tensor(shape: [4], scalars: [30, 20, 10, 0].map { Float($0) / 255 }), rtol: 1e-6, atol: 1e-7)
        let both = Self.tiny.batch([0], augment: Augmentation(draws: [.init(dy: 0, dx: 1, flip: true)]))
        expectClose(Tensor(shape: [4], scalars: Array(both.images.scalars.prefix(4))),
                    Tensor(shape: [4], scalars: [0, 30, 20, 10].map { Float($0) / 255 }), rtol: 1e-6, atol: 1e-7)
    }

    @Test func normalisationIsFashionMNISTs() {
        let set = LabelledImages(name: "n", channels: 1, size: 1, classes: 10, pixels: [0, 255], labels: [0, 1],
                                 normalization: FashionMNIST.normalization)
        let batch = set.batch([0, 1])
        expectClose(batch.images, Tensor(shape: [2, 1, 1, 1], scalars: [-0.2860 / 0.3530, (1 - 0.2860) / 0.3530]),
                    rtol: 1e-6, atol: 1e-6)
    }

    @Test func epochPlansArePermutationsDrawnFromSeedAndEpoch() {
        let set = LabelledImages(name: "p", channels: 1, size: 2, classes: 10, pixels: [UInt8](repeating: 0, count: 100 * 4),
                                 labels: [Int](repeating: 0, count: 100), normalization: Normalization(mean: [0], std: [1]))
        let a = set.epochPlan(seed: 5, epoch: 2, cropPadding: 2, flip: true)
        let b = set.epochPlan(seed: 5, epoch: 2, cropPadding: 2, flip: true)
        let other = set.epochPlan(seed: 5, epoch: 3, cropPadding: 2, flip: true)
        #expect(a.order == b.order)
        #expect(a.order.sorted() == Array(0..<100))
        #expect(a.order != other.order)
        #expect(a.augmentation.draws.allSatisfy { (-2...2).contains($0.dy) && (-2...2).contains($0.dx) })
        #expect(Set(a.augmentation.draws.map(\.dx)).count == 5, "every offset in -2...2 is drawn")
        let flips = a.augmentation.draws.filter(\.flip).count
        #expect(flips > 25 && flips < 75)
        let plain = set.epochPlan(seed: 5, epoch: 2, cropPadding: 0, flip: false)
        #expect(plain.augmentation.draws.allSatisfy { $0.dx == 0 && $0.dy == 0 && !$0.flip })
    }

    // MARK: Resume

    /// 48 random 8x8 images in 10 classes: enough for three quick epochs of resnet20.
    static func randomImages(_ count: Int, seed: UInt64) -> LabelledImages {
        var generator = SeededGenerator(seed: seed)
        let pixels = (0..<(count * 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let labels = (0..<count).map { _ in Int(generator.next() % 10) }
        return LabelledImages(name: "random", channels: 1, size: 8, classes: 10, pixels: pixels, labels: labels,
                              normalization: FashionMNIST.normalization)
    }

    static let spec = ModelSpec(.resnet20, variant: .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), inputChannels: 1,
                                classes: 10, inputSize: 8)

    struct Stop: Error {}

    @Test func aRunStoppedAfterAnEpochResumesToTheSameWeights() throws {
        let (train, test) = (Self.randomImages(48, seed: 1), Self.randomImages(16, seed: 2))
        var configuration = TrainingConfiguration(epochs: 3)
        configuration.batchSize = 16
        configuration.seed = 9
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("run.safetensors").path

        let whole = try Trainer(network: try Network(Self.spec, seed: 9), configuration: configuration, trainSet: train, testSet: test)
        try whole.train()

        let stopped = try Trainer(network: try Network(Self.spec, seed: 9), configuration: configuration, trainSet: train, testSet: test)
        stopped.checkpointPath = path
        #expect(throws: Stop.self) { try stopped.train(epochFinished: { record in if record.epoch == 1 { throw Stop() } }) }

        let resumed = try Trainer(network: try Network(Self.spec, seed: 123), configuration: configuration, trainSet: train, testSet: test)
        resumed.checkpointPath = path
        try resumed.resume(from: path)
        #expect(resumed.history.count == 1)
        try resumed.train()
        #expect(resumed.history.map(\.trainLoss) == whole.history.map(\.trainLoss))
        #expect(resumed.history.map(\.testAccuracy) == whole.history.map(\.testAccuracy))
        let expected = whole.network.stateDict(), actual = resumed.network.stateDict()
        #expect(expected.map(\.name) == actual.map(\.name))
        for (e, a) in zip(expected, actual) { #expect(e.tensor.scalars == a.tensor.scalars, "\(e.name) differs after resuming") }
    }

    @Test func resumeRefusesAnotherModelOrOtherSettingsOrATornPair() throws {
        let (train, test) = (Self.randomImages(32, seed: 3), Self.randomImages(8, seed: 4))
        var configuration = TrainingConfiguration(epochs: 1)
        configuration.batchSize = 16
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("run.safetensors").path
        let first = try Trainer(network: try Network(Self.spec), configuration: configuration, trainSet: train, testSet: test)
        first.checkpointPath = path
        try first.train()

        var vanilla = Self.spec
        vanilla.variant = .vanilla
        let otherModel = try Trainer(network: try Network(vanilla), configuration: configuration, trainSet: train, testSet: test)
        let modelError = #expect(throws: SPConvLabError.self) { try otherModel.resume(from: path) }
        #expect(modelError?.message.contains("do not fit") == true, "\(modelError?.message ?? "")")

        var faster = configuration
        faster.learningRate = 0.5
        let otherSettings = try Trainer(network: try Network(Self.spec), configuration: faster, trainSet: train, testSet: test)
        let settingsError = #expect(throws: SPConvLabError.self) { try otherSettings.resume(from: path) }
        #expect(settingsError?.message.contains("--lr 0.1 (now 0.5)") == true, "\(settingsError?.message ?? "")")

        // A kill between the two writes leaves an optimizer state of a later epoch than the
        // weights file; the optimizer state carries the model, so the run resumes from it.
        var metadata = try Safetensors.read(contentsOf: path).metadata
        metadata["epoch"] = "0"
        try Safetensors.write(try Network(Self.spec, seed: 99).stateDict(), metadata: metadata, to: path)
        let torn = try Trainer(network: try Network(Self.spec), configuration: configuration, trainSet: train, testSet: test)
        try torn.resume(from: path)
        #expect(torn.history.count == 1)
        for ((name, a), (_, b)) in zip(torn.network.stateDict(), first.network.stateDict()) {
            #expect(a.scalars == b.scalars, "\(name) comes from the optimizer state, not the stale weights file")
        }
        // ...and the stale weights file is brought level, since a run resumed after its last
        // epoch trains nothing and would otherwise keep it.
        let rewritten = try Safetensors.read(contentsOf: path)
        #expect(rewritten.metadata["epoch"] == "1")
        for (name, tensor) in first.network.stateDict() { #expect(rewritten[name]?.scalars == tensor.scalars, "\(name) on disk") }
        metadata["epoch"] = "0"
        try Safetensors.write(try Network(Self.spec, seed: 99).stateDict(), metadata: metadata, to: path)

        // An optimizer state written before it carried the model: the pair must be of one epoch.
        let state = try Safetensors.read(contentsOf: Trainer.optimizerStatePath(for: path))
        try Safetensors.write(state.orderedTensors.filter { !$0.name.hasPrefix(Trainer.modelStatePrefix) }, metadata: state.metadata,
                              to: Trainer.optimizerStatePath(for: path))
        let legacy = try Trainer(network: try Network(Self.spec), configuration: configuration, trainSet: train, testSet: test)
        let tornError = #expect(throws: SPConvLabError.self) { try legacy.resume(from: path) }
        #expect(tornError?.message.contains("stopped while writing") == true, "\(tornError?.message ?? "")")

        // A momentum buffer missing from the state is named, not resumed without.
        metadata["epoch"] = "1"
        try Safetensors.write(first.network.stateDict(), metadata: metadata, to: path)
        try Safetensors.write(Array(state.orderedTensors.filter { !$0.name.hasPrefix(Trainer.modelStatePrefix) }.dropFirst()),
                              metadata: state.metadata, to: Trainer.optimizerStatePath(for: path))
        let damaged = try Trainer(network: try Network(Self.spec), configuration: configuration, trainSet: train, testSet: test)
        let damagedError = #expect(throws: SPConvLabError.self) { try damaged.resume(from: path) }
        #expect(damagedError?.message.contains("lacks the momentum buffer of 1 parameter") == true, "\(damagedError?.message ?? "")")
    }

    @Test func aDivergingRunStopsWithAnExplanation() throws {
        let (train, test) = (Self.randomImages(32, seed: 3), Self.randomImages(8, seed: 4))
        var configuration = TrainingConfiguration(epochs: 1)
        configuration.batchSize = 16
        configuration.warmupEpochs = 0
        configuration.learningRate = 1e30
        let trainer = try Trainer(network: try Network(Self.spec), configuration: configuration, trainSet: train, testSet: test)
        let error = #expect(throws: SPConvLabError.self) { try trainer.train() }
        #expect(error?.message.contains("diverged") == true && error?.message.contains("--lr") == true, "\(error?.message ?? "")")
        #expect(trainer.history.isEmpty)
    }
}

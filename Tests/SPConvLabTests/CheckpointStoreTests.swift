import Foundation
import Testing
@testable import SPConvLab

/// The checkpoint store: identities and their keys, training into the store, resuming, reuse,
/// import, and the files it refuses.
@Suite struct CheckpointStoreTests {
    /// Train's default recipe for resnet20 on all of Fashion-MNIST, 15 epochs.
    static func defaultIdentity(variant: ModelVariant = .vanilla, seed: UInt64 = 0) -> TrainingIdentity {
        var recipe = TrainingConfiguration(epochs: 15)
        recipe.seed = seed
        return TrainingIdentity(spec: ModelSpec(.resnet20, variant: variant, inputChannels: 1, inputSize: 28), dataset: "fashion-mnist",
                                trainImages: 60000, testImages: 10000, recipe: recipe)
    }

    @Test func theKeyIsTheSHA256OfTheCanonicalText() {
        let identity = Self.defaultIdentity()
        #expect(identity.canonicalText == """
            model=resnet20
            variant=vanilla
            ratio=-
            groups=-
            in_channels=1
            input_size=28
            classes=10
            dataset=fashion-mnist
            train_images=60000
            test_images=10000
            epochs=15
            batch=128
            learning_rate=0.1
            momentum=0.9
            weight_decay=0.0005
            schedule=cosine
            warmup_epochs=1
            label_smoothing=0.0
            crop_padding=2
            horizontal_flip=true
            seed=0

            """)
        // Python: hashlib.sha256(text.encode()).hexdigest()[:16] of the two texts.
        #expect(identity.key == "a080b6848dad32e9")
        let spconv = Self.defaultIdentity(variant: .spconv(SPConvConfiguration(ratio: 0.25, groups: 1)), seed: 1)
        #expect(spconv.key == "19627e2861ac3d95")
        #expect(spconv.fileStem == "resnet20_spconv_r0.25_g1_s1_19627e2861ac3d95")
        // Every field of the recipe changes the key.
        var changed = Set([identity.key])
        var other = identity
        other.recipe.labelSmoothing = 0.1
        changed.insert(other.key)
        other = identity
        other.recipe.horizontalFlip = false
        changed.insert(other.key)
        other = identity
        other.trainImages = 59999
        changed.insert(other.key)
        other = identity
        other.recipe.schedule = .step(milestones: [5], gamma: 0.1)
        changed.insert(other.key)
        #expect(changed.count == 5)
    }

    /// `count` seeded 1-channel 8x8 images in 10 classes.
    static func images(_ count: Int, seed: UInt64) -> LabelledImages {
        var generator = SeededGenerator(seed: seed)
        return LabelledImages(name: "synthetic-\(seed)", channels: 1, size: 8, classes: 10,
                              pixels: (0..<(count * 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) },
                              labels: (0..<count).map { $0 % 10 }, normalization: Normalization(mean: [0.5], std: [0.29]))
    }

    static func smallIdentity(epochs: Int = 3) -> TrainingIdentity {
        var recipe = TrainingConfiguration(epochs: epochs)
        recipe.batchSize = 16
        recipe.seed = 7
        return TrainingIdentity(spec: ModelSpec(.resnet20, variant: .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), inputChannels: 1,
                                                inputSize: 8), dataset: "synthetic", trainImages: 32, testImages: 16, recipe: recipe)
    }

    static let writer = TrainingSidecar.Writer(tool: "test", version: "0", gitCommit: nil, command: ["test"])

    static func temporaryStore() throws -> CheckpointStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        return CheckpointStore(folder: folder)  // created by the first run
    }

    @discardableResult
    static func train(_ store: CheckpointStore, _ identity: TrainingIdentity, events: (CheckpointStore.TrainingEvent) throws -> Void = { _ in })
        throws -> (entry: CheckpointStore.Entry, network: Network) {
        try store.train(identity, trainSet: images(32, seed: 1), testSet: images(16, seed: 2),
                        normalization: Normalization(mean: [0.5], std: [0.29]), writer: writer, events: events)
    }

    @Test func aRunStoppedAfterAnEpochResumesToTheWeightsOfAnUninterruptedRun() throws {
        Engine.setThreads(1)
        let identity = Self.smallIdentity()
        let whole = try Self.temporaryStore()
        let (finished, network) = try Self.train(whole, identity)
        #expect(finished.isFinished && finished.sidecar.history.count == 3 && finished.sidecar.storeKey == identity.key)
        #expect(!FileManager.default.fileExists(atPath: finished.files.optimizerState))

        // A run stopped by an error thrown after its first epoch's checkpoint (as a kill would stop it).
        struct Stop: Error {}
        let stopped = try Self.temporaryStore()
        #expect(throws: Stop.self) {
            try Self.train(stopped, identity) { event in if case .epochFinished(let record) = event, record.epoch == 1 { throw Stop() } }
        }
        let partial = try #require(try stopped.entry(for: identity))
        #expect(!partial.isFinished && partial.sidecar.completedEpochs == 1)
        var events: [String] = []
        let (resumed, _) = try Self.train(stopped, identity) { event in
            switch event {
            case .resumed(let epoch): events.append("resumed \(epoch)")
            case .epochFinished(let record): events.append("epoch \(record.epoch)")
            case .started: events.append("started")
            case .reused: events.append("reused")
            }
        }
        #expect(events == ["resumed 1", "epoch 2", "epoch 3"], "no finished epoch is trained again")
        let (a, b) = (try Safetensors.read(contentsOf: finished.files.weights), try Safetensors.read(contentsOf: resumed.files.weights))
        #expect(a.names == b.names)
        for name in a.names { #expect(a[name]!.scalars == b[name]!.scalars, "\(name) differs from the uninterrupted run") }
        #expect(resumed.sidecar.history.map(\.testAccuracy) == finished.sidecar.history.map(\.testAccuracy))

        // A finished run is reused, and the checkpoint alone rebuilds its network.
        var reused = false
        _ = try Self.train(whole, identity) { if case .reused = $0 { reused = true } }
        #expect(reused)
        let rebuilt = try Network(checkpoint: finished.files.weights)
        #expect(rebuilt.spec == identity.spec)
        var generator = SeededGenerator(seed: 3)
        let input = Tensor.uniform([2, 1, 8, 8], generator: &generator)
        #expect(try rebuilt(input).scalars == (try network(input)).scalars)
    }

    @Test func aStoreThatMustNotTrainSaysWhatIsMissing() throws {
        let store = try Self.temporaryStore()
        let error = #expect(throws: SPConvLabError.self) {
            try store.train(Self.smallIdentity(), trainSet: Self.images(32, seed: 1), testSet: Self.images(16, seed: 2),
                            normalization: Normalization(mean: [0.5], std: [0.29]), writer: Self.writer, policy: .reuseOnly)
        }
        #expect(error?.message.contains("no checkpoint") == true && error?.message.contains(Self.smallIdentity().key) == true)
    }

    @Test func filesThatDescribeAnotherRunOrAreNotSidecarsAreRefusedOrListedAsProblems() throws {
        let store = try Self.temporaryStore()
        let identity = Self.smallIdentity(epochs: 1)
        let (entry, _) = try Self.train(store, identity)
        // The sidecar of another identity copied under this one's name.
        var other = identity
        other.recipe.seed = 8
        try FileManager.default.copyItem(atPath: entry.files.sidecar, toPath: store.files(for: other).sidecar)
        try FileManager.default.copyItem(atPath: entry.files.weights, toPath: store.files(for: other).weights)
        let error = #expect(throws: SPConvLabError.self) { try store.entry(for: other) }
        #expect(error?.message.contains("changed by hand") == true)
        try FileBytes.writeText("{\"model\": 3}", to: URL(fileURLWithPath: store.folder).appendingPathComponent("junk.json").path)
        let (entries, problems) = try store.entries()
        #expect(entries.map(\.identity) == [identity, identity])
        #expect(entries.filter(\.isFiled).count == 1, "the copy is not under its own key")
        #expect(problems.count == 1 && problems[0].contains("junk.json"))
    }

    @Test func importFilesACheckpointUnderItsIdentityWithItsConfigurationInTheMetadata() throws {
        let source = try Self.temporaryStore()
        let identity = Self.smallIdentity(epochs: 1)
        let (entry, _) = try Self.train(source, identity)
        // As train --output would name it.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let weights = folder + "/mine.safetensors"
        let trained = try Safetensors.read(contentsOf: entry.files.weights)
        try Safetensors.write(trained.names.map { ($0, trained[$0]!) }, to: weights)  // no metadata, as older checkpoints
        try FileManager.default.copyItem(atPath: entry.files.sidecar, toPath: folder + "/mine.json")
        let target = try Self.temporaryStore()
        let imported = try target.importRun(weights: weights)
        #expect(imported.identity == identity && imported.files == target.files(for: identity))
        let archive = try Safetensors.read(contentsOf: imported.files.weights)
        #expect(archive.metadata["store_key"] == identity.key && archive.metadata["architecture"] == "resnet20"
                && archive.metadata["ratio"] == "0.5" && archive.metadata["groups"] == "2" && archive.metadata["input_size"] == "8")
        let original = try Safetensors.read(contentsOf: weights)
        for name in original.names { #expect(archive[name]!.scalars == original[name]!.scalars) }
        #expect(try ModelSpec(checkpointMetadata: archive.metadata, source: "x") == identity.spec)
        // A run that was not trained as its identity says is not filed.
        var sidecar = try TrainingSidecar.read(folder + "/mine.json")
        sidecar.deviations = ["started from the weights x.safetensors (SHA-256 00)"]
        try sidecar.write(to: folder + "/other.json")
        try FileManager.default.copyItem(atPath: weights, toPath: folder + "/other.safetensors")
        let deviating = #expect(throws: SPConvLabError.self) { try Self.temporaryStore().importRun(weights: folder + "/other.safetensors") }
        #expect(deviating?.message.contains("started from the weights x.safetensors") == true)
        // Without its sidecar a checkpoint cannot be imported.
        try FileManager.default.removeItem(atPath: folder + "/mine.json")
        let error = #expect(throws: SPConvLabError.self) { try target.importRun(weights: weights) }
        #expect(error?.message.contains("mine.json") == true)
    }

    @Test func checkpointMetadataThatDoesNotDescribeANetworkIsNamed() {
        for (metadata, mention) in [([String: String](), "no 'architecture'"), (["architecture": "alexnet"], "alexnet"),
                                    (["architecture": "resnet20", "variant": "spconv", "ratio": "2"], "'ratio' = '2'"),
                                    (["architecture": "resnet20", "variant": "vanilla", "in_channels": "0"], "'in_channels' = '0'")] {
            let error = #expect(throws: SPConvLabError.self) { try ModelSpec(checkpointMetadata: metadata, source: "f.safetensors") }
            #expect(error?.message.contains(mention) == true && error?.message.contains("f.safetensors") == true, "\(error?.message ?? "")")
        }
    }
}

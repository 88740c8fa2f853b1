import ArgumentParser
import Foundation
import SPConvLab

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a zoo model (vanilla or SPConv) on Fashion-MNIST, with a checkpoint each epoch.",
        discussion: """
        SGD with momentum and weight decay (PyTorch's semantics), batch norm in training mode, \
        cross-entropy (optionally label-smoothed), a linear warm-up then a cosine or step schedule, \
        seeded shuffling, and random crops of the zero-padded image plus horizontal flips. After \
        every epoch the model is evaluated on the 10,000 test images and a checkpoint is written: \
        the weights (a PyTorch state_dict as safetensors, with the network's configuration in its \
        metadata, loadable with --weights elsewhere and by torch), the optimizer state beside it \
        (F.optim.safetensors; in the store, removed when the run finishes) and a JSON sidecar F.json with every \
        setting, the seed, the per-epoch history, the final and best test accuracy, the wall time \
        and the data normalisation.

        By default the run goes into the checkpoint store (--store, default \
        notebooks-data/models), filed under its training identity: model, variant, ratio, groups, \
        input shape, classes, dataset and image counts, recipe and seed. Run the same command \
        again and it resumes an interrupted run after its last finished epoch, or reports the \
        finished one without training; `probe-cli store list` shows the store. With --output F \
        the files go to F instead, and --resume continues such a run. Either way a resumed run \
        ends with the same weights as one that never stopped (bit for bit with --threads 1).

        For fashion-mnist the model gets 1 input channel, 28x28 inputs and 10 classes unless \
        --in-channels, --input-size or --classes say otherwise; images are normalised with mean \
        0.2860 and std 0.3530.

        Example: probe-cli train --model resnet20 --variant spconv --epochs 12 --output resnet20_spconv.safetensors
        """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Training data: fashion-mnist (Debian's dataset-fashion-mnist), idx:DIR (MNIST-format IDX files: MNIST, KMNIST, EMNIST), cifar10:DIR or cifar100:DIR (the binary versions).")
    var dataset: String = "fashion-mnist"

    @Option(name: .customLong("data-dir"), help: "Folder of the Fashion-MNIST IDX files (.gz or plain), for --dataset fashion-mnist.")
    var dataDirectory: String = FashionMNIST.defaultFolder

    @Option(help: "Epochs to train (at least 1).")
    var epochs: Int

    @Option(help: "Images per SGD step (at least 2).")
    var batch: Int = 128
    @OptionGroup var memory: MemoryOptions

    @Option(help: "Base learning rate, a positive number.")
    var lr: String = "0.1"

    @Option(help: "SGD momentum in [0, 1).")
    var momentum: Double = 0.9

    @Option(name: .customLong("weight-decay"), help: "L2 weight decay, applied to every parameter as PyTorch's SGD does.")
    var weightDecay: Double = 5e-4

    @Option(help: "Learning-rate schedule: cosine, or step:M1,M2:GAMMA (multiply by GAMMA at epochs M1, M2).")
    var schedule: String = "cosine"

    @Option(name: .customLong("warmup-epochs"), help: "Epochs of linear warm-up before the schedule.")
    var warmupEpochs: Int = 1

    @Option(name: .customLong("label-smoothing"), help: "Label smoothing of the cross-entropy, in [0, 1).")
    var labelSmoothing: Double = 0

    @Option(help: "Seed of the initial weights, the shuffling and the augmentation.")
    var seed: UInt64 = 0

    @Option(name: .customLong("crop-padding"), help: "Zero padding before the random crop, in pixels (0: no crop).")
    var cropPadding: Int = 2

    @Flag(name: .customLong("no-flip"), help: "Do not flip training images horizontally.")
    var noFlip = false

    @Option(help: "Train on the first N training images only (for quick runs).")
    var limit: Int?

    @Option(name: .customLong("test-limit"), help: "Evaluate on the first N test images only.")
    var testLimit: Int?

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Option(help: "The checkpoint store the run goes into (default: notebooks-data/models of this checkout).")
    var store: String?

    @Option(help: "Write the checkpoint to this file (.safetensors) instead of the store; F.optim.safetensors and F.json go beside it.")
    var output: String?

    @Flag(help: "Continue the run whose checkpoint is --output (same settings; --epochs may grow). Store runs resume by themselves.")
    var resume = false

    func validate() throws {
        guard ImageDataset.isDatasetDescription(dataset) else {
            throw ValidationError("--dataset '\(dataset)' is not known; give \(ImageDataset.acceptedForms).")
        }
        guard epochs >= 1 else { throw ValidationError("--epochs \(epochs) is not allowed: train for at least 1 epoch.") }
        guard let rate = Double(lr), rate.isFinite, rate > 0 else {
            throw ValidationError("--lr '\(lr)' is not a positive number; give the base learning rate as a decimal greater than 0, for example 0.1 or 5e-2.")
        }
        guard LearningRateSchedule(parsing: schedule) != nil else {
            throw ValidationError("--schedule '\(schedule)' is not known; use cosine, or step:M1,M2:GAMMA with epochs M >= 1 and a positive GAMMA, for example step:6,9:0.1.")
        }
        if let limit, limit < 2 { throw ValidationError("--limit \(limit) is too small: training needs at least 2 images.") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit \(testLimit) must be at least 1.") }
        try ThreadLimit.validate(threads)
        if let output, !output.hasSuffix(".safetensors") {
            throw ValidationError("--output '\(output)' must end in .safetensors (the optimizer state and the .json sidecar are named after it).")
        }
        if resume && output == nil { throw ValidationError("--resume needs --output: the checkpoint of the run to continue. A run in the store (no --output) resumes when the same command runs again.") }
        if store != nil && output != nil { throw ValidationError("--store and --output both say where the run goes; give one: --store DIR files it by its identity, --output F writes exactly F.") }
        if seed > UInt64(Int64.max) { throw ValidationError("--seed \(seed) is too large; give a whole number from 0 to \(Int64.max).") }
        if model.weights != nil && output == nil {
            throw ValidationError("--weights starts the run from other weights, which a store's training identity does not record; give --output F to train from them into a file of your own.")
        }
        try checkShape()
        do { try trainingConfiguration().validate() } catch let error as SPConvLabError { throw ValidationError(error.message) }
    }

    /// Refuses input shapes the dataset cannot give, naming the flag and what the dataset has;
    /// for a dataset whose shape is known from its name (Fashion-MNIST, CIFAR) before loading it.
    func checkShape() throws {
        guard let shape = ImageDataset.knownShape(dataset) else { return }
        try checkShape(shape)
    }

    func checkShape(_ shape: (channels: Int, size: Int, classes: Int)) throws {
        if let channels = model.inChannels, channels != shape.channels {
            throw ValidationError("--in-channels \(channels) cannot be trained on \(dataset): its images have \(shape.channels) channel\(shape.channels == 1 ? " (gray)" : "s"). Leave --in-channels out or give --in-channels \(shape.channels).")
        }
        if let size = model.inputSize, size != shape.size {
            throw ValidationError("--input-size \(size) cannot be trained on \(dataset): its images are \(shape.size)x\(shape.size) and are not resized for training. Leave --input-size out or give --input-size \(shape.size).")
        }
        if let classes = model.classes, classes < shape.classes {
            throw ValidationError("--classes \(classes) is too few for \(dataset), whose labels run over \(shape.classes) classes. Leave --classes out or give at least \(shape.classes).")
        }
    }

    func trainingConfiguration() -> TrainingConfiguration {
        var configuration = TrainingConfiguration(epochs: epochs)
        configuration.batchSize = batch
        configuration.learningRate = Double(lr) ?? 0
        configuration.momentum = momentum
        configuration.weightDecay = weightDecay
        configuration.schedule = LearningRateSchedule(parsing: schedule) ?? .cosine
        configuration.warmupEpochs = warmupEpochs
        configuration.labelSmoothing = labelSmoothing
        configuration.seed = seed
        configuration.cropPadding = cropPadding
        configuration.horizontalFlip = !noFlip
        return configuration
    }

    /// The model spec with the training data's shape filled in where the flags left it out.
    func spec(for data: LabelledImages) throws -> ModelSpec {
        try checkShape((data.channels, data.size, data.classes))
        var spec = try model.spec()
        spec.inputChannels = model.inChannels ?? data.channels
        spec.inputSize = model.inputSize ?? data.size
        spec.classes = model.classes ?? data.classes
        return spec
    }

    /// The training and test splits of --dataset.
    func loadData() throws -> (train: LabelledImages, test: LabelledImages) {
        if dataset == "fashion-mnist" {
            return (LabelledImages(try FashionMNIST(split: .train, folder: dataDirectory, limit: limit)),
                    LabelledImages(try FashionMNIST(split: .test, folder: dataDirectory, limit: testLimit)))
        }
        let name = ImageDataset.canonicalName(dataset)
        return (LabelledImages(try ImageDataset.load(name, split: .train, limit: limit)),
                LabelledImages(try ImageDataset.load(name, split: .test, limit: testLimit)))
    }

    func run() throws {
        try reportingFailures {
            _ = ToolInfo.gitCommit  // the checkout's HEAD now, not when the first sidecar is written
            if let threads { Engine.setThreads(threads) }
            let (trainSet, testSet) = try loadData()
            let spec = try spec(for: trainSet)
            try memory.checkTraining(try Network(spec), batch: batch)
            let identity = TrainingIdentity(spec: spec, dataset: ImageDataset.canonicalName(dataset), trainImages: trainSet.count,
                                            testImages: testSet.count, recipe: trainingConfiguration())
            let writer = TrainingSidecar.Writer(tool: "probe-cli train", version: ToolInfo.version,
                                                gitCommit: ToolInfo.gitCommit, command: CommandLine.arguments)
            let steps = (trainSet.count + batch - 1) / batch
            // Said once the run is set up, so that a refused --resume prints only its error.
            let announce = {
                printError("training \(spec.displayName) on \(trainSet.count) images (about \(steps) steps of \(batch) per epoch), \(Engine.threads) thread(s), testing on \(testSet.count)")
            }
            var bar: ProgressBar?
            let progress: (TrainingProgress) -> Void = { p in
                if p.step == 1 { bar = ProgressBar("epoch \(p.epoch)/\(p.epochs)") }
                bar?.update(p.images, of: p.imagesPerEpoch, note: String(format: "loss %.4f, acc %.2f%%", p.loss, 100 * p.accuracy))
            }
            let epochLine: (EpochRecord) -> Void = { record in
                bar?.close()
                printError(Self.describe(record, of: identity.recipe.epochs))
            }
            if let output {
                try trainToFile(identity, output: output, trainSet: trainSet, testSet: testSet, writer: writer,
                                announce: announce, progress: progress, epochFinished: epochLine)
                return
            }
            let store = CheckpointStore(folder: store ?? ProjectPaths.locate(CheckpointStore.defaultFolder))
            let (entry, _) = try store.train(identity, trainSet: trainSet, testSet: testSet, normalization: trainSet.normalization,
                                             writer: writer, progress: progress) { event in
                switch event {
                case .reused: printError("the store already has this run finished; nothing to train")
                case .resumed(let epoch):
                    announce()
                    printError("resuming \(store.files(for: identity).weights) after epoch \(epoch) of \(epochs)")
                case .started:
                    announce()
                    printError("writing each epoch to \(store.files(for: identity).weights)")
                case .epochFinished(let record): epochLine(record)
                }
            }
            print(Self.summary(entry.sidecar, identity: identity, files: [entry.files.weights, entry.files.sidecar]))
        }
    }

    /// Trains into an explicit --output path (with --resume to continue).
    func trainToFile(_ identity: TrainingIdentity, output: String, trainSet: LabelledImages, testSet: LabelledImages,
                     writer: TrainingSidecar.Writer, announce: () -> Void, progress: @escaping (TrainingProgress) -> Void,
                     epochFinished: @escaping (EpochRecord) -> Void) throws {
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.isWritableFile(atPath: folder) else {
            throw SPConvLabError(.io, "--output \(output): the folder \(folder) does not exist or is not writable; create it first or choose another path. Nothing was trained.")
        }
        if !resume && FileManager.default.fileExists(atPath: output) {
            printError("note: \(output) exists and will be replaced after the first epoch (use --resume to continue it instead).")
        }
        let network = try Network(identity.spec, seed: seed)
        if let weights = model.weights { try network.loadWeights(contentsOf: weights) }
        let trainer = try Trainer(network: network, configuration: identity.recipe, trainSet: trainSet, testSet: testSet)
        trainer.checkpointPath = output
        trainer.checkpointMetadata = ["training_identity": identity.canonicalText]
        let sidecarPath = Self.sidecarPath(for: output)
        var previous: TrainingSidecar?
        var deviations: [String] = []
        if let weights = model.weights {
            deviations.append("started from the weights \(weights) (SHA-256 \(try SHA256.hex(ofFile: weights)))")
        }
        if resume {
            previous = try? TrainingSidecar.read(sidecarPath)
            if let previous, let stored = try? previous.identity(source: sidecarPath), stored.trainImages != identity.trainImages || stored.testImages != identity.testImages {
                throw SPConvLabError(.invalidConfiguration, "The run \(output) was trained on \(stored.trainImages) images and tested on \(stored.testImages), but this command uses \(identity.trainImages) and \(identity.testImages) (--limit, --test-limit); --resume continues a run only on the same data.")
            }
            try trainer.resume(from: output)
            deviations = (previous?.deviations ?? []) + deviations.filter { !(previous?.deviations ?? []).contains($0) }
            if let previous, previous.epochs != epochs {
                deviations.append("--epochs changed from \(previous.epochs) to \(epochs) after epoch \(trainer.history.count) (the schedule changed)")
            }
            announce()
            printError("resuming \(output) after epoch \(trainer.history.count) of \(epochs)")
        } else {
            announce()
        }
        let clock = Stopwatch.start()
        func sidecar() -> TrainingSidecar {
            TrainingSidecar(identity: identity, history: trainer.history, normalization: trainSet.normalization,
                            threads: Engine.threads, wallSeconds: (previous?.wallSeconds ?? 0) + clock.seconds, writer: writer,
                            deviations: deviations)
        }
        try trainer.train(progress: progress, epochFinished: { record in
            try sidecar().write(to: sidecarPath)
            epochFinished(record)
        })
        let final = sidecar()
        try final.write(to: sidecarPath)
        print(Self.summary(final, identity: identity, files: [output, Trainer.optimizerStatePath(for: output), sidecarPath]))
    }

    static func describe(_ record: EpochRecord, of epochs: Int) -> String {
        String(format: "epoch %d/%d: lr %.5f, train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%, %.0f images/s",
               record.epoch, epochs, record.learningRate, record.trainLoss, 100 * record.trainAccuracy,
               record.testLoss, 100 * record.testAccuracy, record.imagesPerSecond)
    }

    static func summary(_ sidecar: TrainingSidecar, identity: TrainingIdentity, files: [String]) -> String {
        String(format: "%@: final test accuracy %.2f%% (best %.2f%% at epoch %d); files: %@",
               identity.spec.displayName, 100 * sidecar.finalTestAccuracy, 100 * sidecar.bestTestAccuracy, sidecar.bestEpoch,
               files.joined(separator: ", "))
    }

    /// `F.safetensors` -> `F.json`.
    static func sidecarPath(for output: String) -> String {
        String(output.dropLast(".safetensors".count)) + ".json"
    }
}

import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run the vanilla baseline and every (ratio, groups) SPConv configuration, storing costs, latency and redundancy in SQLite.",
        discussion: """
        Each configuration is built, counted (params, MACs, FLOPs), timed (median ms per --batch) and \
        probed (per-layer redundancy of --layers over the input images); a configuration the model \
        cannot take is stored as skipped with the reason. Every configuration is committed in one \
        transaction when it finishes: after a crash or kill -9, run the same command again and it \
        resumes with what is missing. Several processes may share one database (--jobs J, or \
        separate shells). --shard K/N runs configurations K, K+N, K+2N, ... (1-based, in grid order; \
        default from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT), each shard into its own database, \
        to be joined with probe-cli merge; --release-running reruns what a killed task on another \
        host left running (scripts/slurm/sweep.sbatch passes both). Without --input: the \
        Fashion-MNIST test images for a 1-channel model when dataset-fashion-mnist is installed, \
        otherwise the bundled photos (assets/images). Schema and queries: docs/SCHEMA.md.

        --train-epochs N trains every configuration once per seed of --seeds (default 0) before \
        measuring it: on the Fashion-MNIST training images (the first --train-limit of them) with \
        probe-cli train's recipe (batch 128, SGD lr 0.1, momentum 0.9, weight decay 5e-4, one \
        warm-up epoch then cosine, crops and flips), from the initial weights of that seed. Each \
        (configuration, seed) is a run of the checkpoint store (--store, default \
        notebooks-data/models): a finished run of the same training identity is reused without \
        training, and every epoch is checkpointed, so a sweep killed at any moment (kill -9 \
        included) resumes each run after its last finished epoch when the same command runs \
        again. Each run row stores its seed, the test accuracy after the last epoch (on the first \
        --test-limit test images), the training time, the per-epoch history (table epochs) and \
        where its weights came from (weights_source trained, with store_key and \
        checkpoint_sha256). The redundancy is measured on the trained weights. Training needs \
        --in-channels 1 and 28x28 inputs (--input-size defaults to 28 when training) and at least \
        10 classes. The default sweep name includes train=N (and the limits when given), so a \
        trained sweep never resumes an untrained one; more seeds later add rows to the same sweep.

        --onnx FILE stores the baseline row of any CNN saved as ONNX instead of a zoo grid: its costs \
        (docs/COST.md), latency on this engine, redundancy of --layers (node names, module paths, \
        globs, convs or all) and, on labelled input, accuracy. Its row has variant onnx, the file's \
        name as model, and the file's path and SHA-256 as its weights; an ONNX model cannot be \
        rebuilt with SPConv (probe-cli cost --onnx FILE --spconv RATIO,GROUPS gives that dry run's \
        costs), so --ratios, --groups, the shape flags and training do not apply. Give the sweep the \
        same --db and --name as a zoo sweep to see both in one report.

        Example: probe-cli sweep --model resnet20 --in-channels 1 --ratios 1/4,1/2 --groups 2 \
        --train-epochs 3 --seeds 0,1 --db trained.sqlite
        """)

    @Option(name: .customLong("model"), help: ArgumentHelp("Architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")) (or --onnx).", valueName: "name"))
    var modelFlag: String?
    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model whose baseline row to store instead of a zoo grid (see the discussion).", valueName: "file"))
    var onnx: String?
    @Option(name: .customLong("ratios"), help: "Split ratios: decimals, fractions and ranges, comma-separated (1/8,1/4,1/2 or 0.1:0.9:0.1; default 1/4,1/2,3/4).")
    var ratiosFlag: String?
    @Option(name: .customLong("groups"), help: "Group counts of SPConv's group-wise conv, comma-separated (1,2,4; default 2).")
    var groupsFlag: String?
    @Option(help: "The experiment database (created if missing).")
    var db: String
    @Option(name: .customLong("in-channels"), help: "Input channels (default 3).")
    var inChannelsFlag: Int?
    @Option(help: "Output classes (default by model).")
    var classes: Int?
    @Option(name: .customLong("input-size"), help: "Input size (default by model).")
    var inputSize: Int?
    @Option(help: "Images to probe (see the discussion for the default).")
    var input: String?
    @Option(help: "Use at most this many images of the input.")
    var limit: Int = 256
    @Option(help: "Layers to probe: paths, globs or sets (convs, blocks, all).")
    var layers: String = "convs"
    @Option(help: "cosine, pearson, or both.")
    var metric: String = "cosine"
    @Option(help: "Similarity threshold for duplicates and clusters, in [0, 1].")
    var threshold: Double = LayerSummary.defaultThreshold
    @Option(help: "Batch size for timing and probing.")
    var batch: Int = 32
    @Option(help: "Threads per worker process (default: cores / jobs).")
    var threads: Int?
    @Option(help: "Sweep name; the same name resumes (default: made from the grid and input).")
    var name: String?
    @Option(help: "Worker processes on this machine.")
    var jobs: Int = 1
    @OptionGroup var memory: MemoryOptions
    @Option(help: "Run only shard K of N (K/N).")
    var shard: String?
    @Option(name: .customLong("weights-dir"), help: ArgumentHelp("""
        A folder of trained checkpoints: a configuration uses <model>_vanilla.safetensors or \
        <model>_spconv_r<ratio>_g<groups>.safetensors (ratio as in 0.5) from it when present, and the \
        run records the file's path and SHA-256; others keep seeded random weights.
        """, valueName: "folder"))
    var weightsDirectory: String?
    @Option(name: .customLong("train-epochs"), help: "Train each configuration for N epochs on Fashion-MNIST before measuring it, and store its test accuracy.")
    var trainEpochs: Int?
    @Option(help: "With --train-epochs: the training data, fashion-mnist (default), idx:DIR, cifar10:DIR or cifar100:DIR.")
    var dataset: String = "fashion-mnist"

    @Option(name: .customLong("train-limit"), help: "With --train-epochs: train on the first M training images (default: all 60000).")
    var trainLimit: Int?
    @Option(name: .customLong("test-limit"), help: "With --train-epochs: measure accuracy on the first T test images (default: all 10000).")
    var testLimit: Int?
    @Option(help: "With --train-epochs: training seeds, comma-separated (0,1,2); each configuration is trained once per seed.")
    var seeds: String?
    @Option(name: .customLong("train-seed"), help: ArgumentHelp("With --train-epochs: one training seed (the same as --seeds N).", visibility: .hidden))
    var trainSeed: UInt64?
    @Option(help: "With --train-epochs: the checkpoint store trained runs go into and are reused from (default: notebooks-data/models of this checkout).")
    var store: String?
    @Flag(name: .customLong("retry-failed"), help: "Run the sweep's failed configurations again (after fixing their cause).")
    var retryFailed = false
    @Flag(name: .customLong("release-running"), help: ArgumentHelp("""
        Run this sweep's configurations left running again, even those of another host: for a \
        process that owns the database alone, such as a Slurm array task on its shard file.
        """))
    var releaseRunning = false
    @Flag(help: .hidden) var worker = false

    var model: String { modelFlag ?? "" }
    var ratios: String { ratiosFlag ?? "1/4,1/2,3/4" }
    var groups: String { groupsFlag ?? "2" }
    var inChannels: Int { inChannelsFlag ?? 3 }

    func validate() throws {
        if let onnx {
            let zooOnly = [("--model", modelFlag != nil), ("--ratios", ratiosFlag != nil), ("--groups", groupsFlag != nil),
                           ("--in-channels", inChannelsFlag != nil), ("--classes", classes != nil), ("--input-size", inputSize != nil),
                           ("--weights-dir", weightsDirectory != nil), ("--train-epochs", trainEpochs != nil)]
                .filter(\.1).map(\.0)
            if !zooOnly.isEmpty {
                throw ValidationError("\(zooOnly.joined(separator: " and ")) \(zooOnly.count == 1 ? "describes" : "describe") a zoo sweep, but --onnx '\(onnx)' stores the ONNX model's baseline row only: its shape and weights come from the file, and it cannot be rebuilt with SPConv or trained. Drop \(zooOnly.count == 1 ? "it" : "them"), or sweep a zoo --model.")
            }
        } else if modelFlag == nil {
            throw ValidationError("missing --model (a zoo architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))) or --onnx FILE (any CNN saved as ONNX).")
        }
        guard onnx != nil || Architecture(rawValue: model) != nil else {
            throw ValidationError("--model '\(model)' is not in the zoo; choose one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        do {
            _ = try SweepGrid(ratios: ratios, groups: groups)
            if let shard { _ = try Shard(shard) }
        } catch let error as FeatureProbeError {
            throw ValidationError(error.message)
        }
        guard ["cosine", "pearson", "both"].contains(metric) else { throw ValidationError("--metric '\(metric)' is not known; choose cosine, pearson or both.") }
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold \(threshold) is outside [0, 1].") }
        guard limit >= 1, batch >= 1, jobs >= 1 else { throw ValidationError("--limit, --batch and --jobs must be at least 1 (got \(limit), \(batch), \(jobs)).") }
        try ThreadLimit.validate(threads)
        guard jobs <= ThreadLimit.maximum else {
            throw ValidationError("--jobs \(jobs) is more than four worker processes per core of this machine (\(ProcessInfo.processInfo.activeProcessorCount) cores); give 1 to \(ThreadLimit.maximum).")
        }
        guard ModelSpec.inputChannelRange.contains(inChannels) else { throw ValidationError("--in-channels \(inChannels) is out of range \(ModelSpec.inputChannelRange).") }
        try validateTraining()
    }

    /// The training flags: each needs --train-epochs, and training needs a model that takes
    /// Fashion-MNIST as it is (1 channel, 28x28, at least 10 classes).
    func validateTraining() throws {
        guard let trainEpochs else {
            let stray = [("--train-limit", trainLimit != nil), ("--test-limit", testLimit != nil), ("--train-seed", trainSeed != nil),
                         ("--seeds", seeds != nil), ("--store", store != nil), ("--dataset", dataset != "fashion-mnist")]
                .filter(\.1).map(\.0)
            if !stray.isEmpty {
                throw ValidationError("\(stray.joined(separator: " and ")) only appl\(stray.count == 1 ? "ies" : "y") when training; add --train-epochs N (at least 1) to train each configuration, or drop \(stray.count == 1 ? "it" : "them").")
            }
            return
        }
        guard trainEpochs >= 1 else { throw ValidationError("--train-epochs \(trainEpochs) is not allowed: train for at least 1 epoch, or leave the flag out to measure untrained networks.") }
        if seeds != nil && trainSeed != nil { throw ValidationError("--seeds and --train-seed both give training seeds; give --seeds only (--seeds 3 is one seed).") }
        _ = try trainingSeeds()
        if weightsDirectory != nil {
            throw ValidationError("--weights-dir with --train-epochs would train from checkpoints, which a run's training identity in the store does not record; train from the seeded initial weights (drop --weights-dir), or measure the checkpoints untrained (drop --train-epochs).")
        }
        if let trainLimit, trainLimit < 2 { throw ValidationError("--train-limit \(trainLimit) is too small: training needs at least 2 images (Fashion-MNIST has 60000).") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit \(testLimit) must be at least 1 (Fashion-MNIST has 10000 test images).") }
        guard ImageDataset.isDatasetDescription(dataset) else {
            throw ValidationError("--dataset '\(dataset)' is not known; give \(ImageDataset.acceptedForms).")
        }
        if let shape = ImageDataset.knownShape(dataset) { try checkTrainingShape(shape) }
    }

    /// Refuses a grid whose networks cannot be trained on the dataset's images.
    func checkTrainingShape(_ shape: (channels: Int, size: Int, classes: Int)) throws {
        let size = trainingSpec(defaultSize: shape.size).inputSize, classes = trainingSpec(defaultSize: shape.size).classes
        guard inChannels == shape.channels, size == shape.size, classes >= shape.classes else {
            let shown = dataset == "fashion-mnist" ? "Fashion-MNIST" : dataset
            throw ValidationError("--train-epochs trains on \(shown), whose images have \(shape.channels) channel(s), are \(shape.size)x\(shape.size) and fall into \(shape.classes) classes, but this sweep builds \(model) for \(inChannels) channel(s), \(size)x\(size) inputs and \(classes) classes. Pass --in-channels \(shape.channels), leave --input-size out (it defaults to \(shape.size) when training) or give --input-size \(shape.size), and leave --classes out or give at least \(shape.classes); or drop --train-epochs to measure untrained networks of any shape.")
        }
    }

    /// The training seeds: --seeds, else --train-seed, else 0.
    func trainingSeeds() throws -> [UInt64] {
        guard let seeds else {
            if let trainSeed, trainSeed > UInt64(Int64.max) {
                throw ValidationError("--train-seed \(trainSeed) is too large; give a whole number from 0 to \(Int64.max).")
            }
            return [trainSeed ?? 0]
        }
        var values: [UInt64] = []
        for item in seeds.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let value = UInt64(item), value <= UInt64(Int64.max) else {
                throw ValidationError("--seeds item '\(item)' in '\(seeds)' is not a seed; give whole numbers from 0 to \(Int64.max), comma-separated, for example 0,1,2.")
            }
            if !values.contains(value) { values.append(value) }
        }
        guard values.count <= 1000 else { throw ValidationError("--seeds '\(seeds)' gives \(values.count) seeds; a sweep takes at most 1000.") }
        return values
    }

    /// The base model spec: --input-size defaults to the training images' size when training
    /// (`defaultSize`, Fashion-MNIST's 28 unless the dataset says otherwise), else to the model's.
    func trainingSpec(defaultSize: Int? = nil) -> ModelSpec {
        let trainingSize = defaultSize ?? ImageDataset.knownShape(dataset)?.size ?? FashionMNIST.imageSize
        return ModelSpec(Architecture(rawValue: model)!, inputChannels: inChannels, classes: classes,
                         inputSize: inputSize ?? (trainEpochs != nil ? trainingSize : nil))
    }

    /// The data and recipe of a training sweep, read from --dataset.
    func sweepTraining() throws -> SweepTraining? {
        guard let trainEpochs else { return nil }
        let name = ImageDataset.canonicalName(dataset)
        let (trainSet, testSet) = dataset == "fashion-mnist"
            ? (LabelledImages(try FashionMNIST(split: .train, limit: trainLimit)), LabelledImages(try FashionMNIST(split: .test, limit: testLimit)))
            : (LabelledImages(try ImageDataset.load(name, split: .train, limit: trainLimit)),
               LabelledImages(try ImageDataset.load(name, split: .test, limit: testLimit)))
        try checkTrainingShape((trainSet.channels, trainSet.size, trainSet.classes))
        return SweepTraining(trainSet: trainSet, testSet: testSet,
                             dataset: name, normalization: trainSet.normalization,
                             configuration: TrainingConfiguration(epochs: trainEpochs),
                             store: StoreCommand.StoreOption.store(store),
                             writer: TrainingSidecar.Writer(tool: "probe-cli sweep", version: ToolInfo.version,
                                                            gitCommit: ToolInfo.gitCommit, command: CommandLine.arguments))
    }

    /// What the default sweep name says about training: ` train=N` and the limits and seed given.
    var trainingNamePart: String {
        guard let trainEpochs else { return "" }
        return " train=\(trainEpochs)" + (trainLimit.map { " train-limit=\($0)" } ?? "")
            + (testLimit.map { " test-limit=\($0)" } ?? "") + (trainSeed.map { " train-seed=\($0)" } ?? "")
    }

    /// The input a sweep uses when --input is absent, as stored (stable across working folders)
    /// and as a path to read.
    static func defaultInput(inChannels: Int) -> (label: String, path: String) {
        inChannels == 1 && FashionMNIST.isInstalled ? ("fashion-mnist", "fashion-mnist")
                                                    : ("assets/images", ProjectPaths.locate("assets/images"))
    }

    func run() throws {
        try reportingFailures {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let threadsPerWorker = threads ?? max(1, cores / jobs)
            Engine.setThreads(threadsPerWorker)
            let plan = try onnx.map { try onnxPlan($0, threads: threadsPerWorker) } ?? zooPlan(threads: threadsPerWorker)
            let inputText = plan.inputText
            var settings = SweepSettings()
            settings.layers = layers
            settings.metrics = metric == "both" ? [.cosine, .pearson] : [SimilarityMetric(rawValue: metric)!]
            settings.threshold = threshold
            settings.batch = batch
            settings.training = plan.training
            let sweepName = name ?? plan.defaultName
            let configurations = plan.configurations
            let runner = SweepRunner(databasePath: db, sweepName: sweepName,
                                     commandLine: (["probe-cli"] + CommandLine.arguments.dropFirst().filter { $0 != "--worker" }).joined(separator: " "),
                                     configurations: configurations, settings: settings,
                                     toolVersion: ToolInfo.version, gitCommit: ToolInfo.gitCommit)
            if worker { ParentWatch.exitWithParent() }
            _ = try runner.prepare()
            // Before any worker starts: afterwards a released row could be a live claim of this run.
            if releaseRunning && !worker {
                let released = try runner.releaseRunning()
                if released > 0 {
                    printError("note: --release-running: \(released) configuration(s) left running in \(db) by an earlier process are pending again and run now.")
                }
            }
            let children = worker ? [] : try (1..<jobs).map { _ in try spawnWorker(threads: threadsPerWorker) }
            let bar = worker ? nil : ProgressBar("sweep", unit: "configs")
            let counts: [RunStatus: Int]
            do {
                counts = try runner.work(retryFailed: retryFailed && !worker, makeSource: { input in try InputSource.make(inputText, input: input, limit: limit) }) { p in
                    let training = p.training.map {
                        String(format: ", epoch %d/%d, %d/%d images, loss %.4f", $0.epoch, $0.epochs, $0.images, $0.imagesPerEpoch, $0.loss)
                    } ?? ""
                    if let event = p.trainingEvent, let current = p.current {
                        bar?.clear()
                        printError(Self.describe(event, of: current))
                        return
                    }
                    bar?.update(p.finished, of: p.total, note: p.current.map { "now: \($0)\(training)" } ?? "")
                }
            } catch {
                bar?.close()
                throw error
            }
            for child in children {
                child.waitUntilExit()
                if child.terminationStatus != 0 {
                    printError("warning: a worker process exited with status \(child.terminationStatus); run the same command again to finish its configurations.")
                }
            }
            if !worker, let running = counts[.running], running > 0 {
                printError("warning: \(running) configuration(s) are still marked running by other workers (another process, or a process on another host that this machine cannot check); they finish when those workers do. Configurations left by a dead process on another host run again when the same command runs with --release-running while no other process works on \(db).")
            }
            if !worker {
                let summary = RunStatus.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
                printError("sweep '\(sweepName)' in \(db): \(summary)")
                print(QueryFormatter.format(try CannedQuery.runs(path: db, sweep: sweepName), as: .table), terminator: "")
                if let failed = counts[.failed], failed > 0 {
                    throw FeatureProbeError("\(failed) configuration(s) failed; their reasons are in the table above (query: probe-cli query --db \(db) \"SELECT id, reason FROM runs WHERE status = 'failed'\"). Fix the cause and run the same command with --retry-failed.")
                }
            }
        }
    }

    /// What a sweep runs: its configurations (this shard's), where its images come from, its
    /// training data, and its name when --name is absent.
    struct Plan {
        var configurations: [RunConfiguration]
        var inputText: String
        var training: SweepTraining?
        var defaultName: String
    }

    /// This shard of --shard (or of the Slurm array task), or the whole grid.
    func shardChoice() throws -> Shard {
        try shard.map { try Shard($0) } ?? Shard.fromSlurm(ProcessInfo.processInfo.environment) ?? .whole
    }

    /// The zoo grid: the vanilla baseline and every (ratio, groups), once per training seed.
    func zooPlan(threads threadsPerWorker: Int) throws -> Plan {
        let grid = try SweepGrid(ratios: ratios, groups: groups)
        let shardChoice = try shardChoice()
        let (inputLabel, inputText) = input.map { ($0, $0) } ?? Self.defaultInput(inChannels: inChannels)
        // The training data first: its image size is the default input size when training.
        let training = try sweepTraining()
        let base = trainingSpec(defaultSize: training?.trainSet.size)
        try memory.checkInference(try Network(base), batch: batch)
        let source = try InputSource.make(inputText, spec: base, limit: limit)
        try Self.checkLayers(layers, base: base, grid: grid)
        let seedList: [UInt64?] = trainEpochs == nil ? [nil] : try trainingSeeds()
        let cells = grid.variants.flatMap { variant in seedList.map { (variant, $0) } }
        let configurations = try cells.enumerated().filter { shardChoice.contains($0.offset) }.map { _, cell in
            let (variant, seed) = cell
            let checkpoint = weightsDirectory.map { Self.checkpointPath(in: $0, model: model, variant: variant) }
                .flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            return RunConfiguration(model: model, variant: variant.name, ratio: variant.spconvConfiguration?.ratio,
                                    groups: variant.spconvConfiguration?.groups, inChannels: inChannels, classes: base.classes,
                                    inputSize: base.inputSize, weightsPath: checkpoint,
                                    weightsSHA256: try checkpoint.map(SHA256.hex(ofFile:)), dataset: inputLabel,
                                    images: source.count, batch: batch, threads: threadsPerWorker, trainEpochs: trainEpochs,
                                    trainSeed: seed)
        }
        // The shard is not part of the default name: shards of one grid are one sweep once merged.
        return Plan(configurations: configurations, inputText: inputText, training: training,
                    defaultName: "\(model) ratios=\(ratios) groups=\(groups) input=\(inputLabel) limit=\(limit) layers=\(layers)\(trainingNamePart)")
    }

    /// The baseline row of the ONNX model at `path`.
    func onnxPlan(_ path: String, threads threadsPerWorker: Int) throws -> Plan {
        let imported = try ONNXFeatureModel(contentsOf: path)
        try memory.checkInference(imported.model, batch: batch)
        let spec = imported.inputSpec
        let (inputLabel, inputText) = input.map { ($0, $0) } ?? Self.defaultInput(inChannels: spec.channels)
        let source = try InputSource.make(inputText, input: spec, limit: limit)
        let selection = try LayerSelection(onnx: layers, in: imported.model, featureMapsOnly: true)
        let shapes = try imported.outputShapes()
        for path in selection.paths where shapes[path]?.count != 4 {
            throw FeatureProbeError("--layers '\(layers)' includes '\(path)', whose output is not a feature map [N, C, H, W]; a sweep probes feature maps. Choose convolution nodes (convs) or node names of 4-D outputs.")
        }
        let row = try RunConfiguration.onnx(path: path, dataset: inputLabel, images: source.count, batch: batch, threads: threadsPerWorker)
        let file = URL(fileURLWithPath: path).lastPathComponent
        return Plan(configurations: try shardChoice().contains(0) ? [row] : [], inputText: inputText, training: nil,
                    defaultName: "\(file) onnx input=\(inputLabel) limit=\(limit) layers=\(layers)")
    }

    /// A line for a training event of the configuration `current` (`resnet20 spconv 0.5/g2 trained 3 epochs, seed 1`).
    static func describe(_ event: CheckpointStore.TrainingEvent, of current: String) -> String {
        switch event {
        case .reused(let entry): return "\(current): reused the finished checkpoint \(entry.files.weights)"
        case .started: return "\(current): training from the seeded initial weights"
        case .resumed(let epoch): return "\(current): resuming after epoch \(epoch)"
        case .epochFinished(let e):
            return String(format: "%@: epoch %d done, train loss %.4f, test accuracy %.2f%%, %.0f images/s",
                          current, e.epoch, e.trainLoss, 100 * e.testAccuracy, e.imagesPerSecond)
        }
    }

    /// Where a configuration's checkpoint would be in a `--weights-dir` folder.
    static func checkpointPath(in folder: String, model: String, variant: ModelVariant) -> String {
        let name = variant.spconvConfiguration.map { "\(model)_spconv_r\(CSVWriter.formatG6($0.ratio))_g\($0.groups)" } ?? "\(model)_vanilla"
        return URL(fileURLWithPath: folder).appendingPathComponent(name + ".safetensors").path
    }

    /// Checks the layer list before any work: it must name modules of the baseline or of an SPConv
    /// configuration, and only modules with feature-map outputs.
    static func checkLayers(_ layers: String, base: ModelSpec, grid: SweepGrid) throws {
        var lastError: Error?
        for variant in [grid.variants.first!, grid.variants.last!] {
            var spec = base
            spec.variant = variant
            guard let network = try? Network(spec) else { continue }
            do {
                let selection = try LayerSelection(layers, in: network, featureMapsOnly: true)
                let shapes = try network.outputShapes()
                for path in selection.paths where shapes[path]!.count != 4 {
                    throw FeatureProbeError("--layers '\(layers)' includes '\(path)', whose output is \(shapes[path]!.count)-dimensional; a sweep probes feature maps [N, C, H, W]. Choose convolution, block or pooling layers (for example convs or blocks).")
                }
                return
            } catch {
                lastError = error
            }
        }
        if let lastError { throw lastError }
    }

    /// Starts another process running this same command as a worker.
    private func spawnWorker(threads: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        var arguments = Array(CommandLine.arguments.dropFirst())
        if self.threads == nil { arguments += ["--threads", String(threads)] }
        process.arguments = arguments + ["--worker"]
        process.environment = ParentWatch.workerEnvironment()
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }
}

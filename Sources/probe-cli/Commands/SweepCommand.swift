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
    var modelFlag: Architecture?
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
        if let shape = ImageDataset.knownShape(dataset), let architecture = modelFlag {
            do {
                try SweepPlan.checkTrainingShape(request(.zoo(architecture), input: ("", ""), threads: 1), shape)
            } catch let error as FeatureProbeError {
                throw ValidationError(error.message)
            }
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

    /// The request these flags make for `subject`, reading `input` (label, path) with `threads`
    /// per worker.
    func request(_ subject: SweepRequest.Subject, input: (label: String, path: String), threads: Int) throws -> SweepRequest {
        var request = SweepRequest(subject: subject, input: input)
        (request.ratios, request.groups, request.inChannels) = (ratios, groups, inChannels)
        (request.classes, request.inputSize, request.limit, request.layers) = (classes, inputSize, limit, layers)
        (request.batch, request.threads, request.weightsDirectory) = (batch, threads, weightsDirectory)
        if let trainEpochs {
            request.training = .init(epochs: trainEpochs, seeds: try trainingSeeds(), dataset: dataset, trainLimit: trainLimit,
                                     testLimit: testLimit, legacySeed: trainSeed)
        }
        request.shard = try shard.map { try Shard($0) } ?? Shard.fromSlurm(ProcessInfo.processInfo.environment) ?? .whole
        return request
    }

    /// The data and recipe of a training sweep, read from --dataset.
    func sweepTraining() throws -> SweepTraining? {
        guard let trainEpochs else { return nil }
        let name = ImageDataset.canonicalName(dataset)
        let (trainSet, testSet) = dataset == "fashion-mnist"
            ? (LabelledImages(try FashionMNIST(split: .train, limit: trainLimit)), LabelledImages(try FashionMNIST(split: .test, limit: testLimit)))
            : (LabelledImages(try ImageDataset.load(name, split: .train, limit: trainLimit)),
               LabelledImages(try ImageDataset.load(name, split: .test, limit: testLimit)))
        return SweepTraining(trainSet: trainSet, testSet: testSet,
                             dataset: name, normalization: trainSet.normalization,
                             configuration: TrainingConfiguration(epochs: trainEpochs),
                             store: StoreCommand.StoreOption.store(store),
                             writer: TrainingSidecar.Writer(tool: "probe-cli sweep", version: ToolInfo.version,
                                                            gitCommit: ToolInfo.gitCommit, command: CommandLine.arguments))
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
            let (plan, training) = try onnx.map { (try onnxPlan($0, threads: threadsPerWorker), nil) } ?? zooPlan(threads: threadsPerWorker)
            let inputText = plan.request.input.path
            var settings = SweepSettings()
            settings.layers = layers
            settings.metrics = metric == "both" ? [.cosine, .pearson] : [SimilarityMetric(rawValue: metric)!]
            settings.threshold = threshold
            settings.batch = batch
            settings.training = training
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

    /// The zoo grid's plan: the training data first (its image size is the default input size
    /// when training), then the memory check on the base model and the images to probe.
    func zooPlan(threads: Int) throws -> (SweepPlan, SweepTraining?) {
        guard let architecture = modelFlag else {
            throw ValidationError("missing --model (a zoo architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))) or --onnx FILE (any CNN saved as ONNX).")
        }
        let asked = try request(.zoo(architecture), input: input.map { ($0, $0) } ?? Self.defaultInput(inChannels: inChannels),
                                threads: threads)
        let training = try sweepTraining()
        let shape = training.map { (channels: $0.trainSet.channels, size: $0.trainSet.size, classes: $0.trainSet.classes) }
        if let shape { try SweepPlan.checkTrainingShape(asked, shape) }
        let base = SweepPlan.baseSpec(asked, trainingSize: shape?.size)
        try memory.checkInference(try Network(base), batch: batch)
        let source = try InputSource.make(asked.input.path, spec: base, limit: limit)
        return (try SweepPlan(asked, trainingShape: shape, imageCount: source.count), training)
    }

    /// The plan of the ONNX model at `path`: its baseline row.
    func onnxPlan(_ path: String, threads: Int) throws -> SweepPlan {
        let imported = try ONNXFeatureModel(contentsOf: path)
        try memory.checkInference(imported.model, batch: batch)
        let asked = try request(.onnx(path: path), input: input.map { ($0, $0) } ?? Self.defaultInput(inChannels: imported.inputSpec.channels),
                                threads: threads)
        let source = try InputSource.make(asked.input.path, input: imported.inputSpec, limit: limit)
        try SweepPlan.checkLayers(layers, onnx: imported)
        return try SweepPlan(asked, imageCount: source.count)
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

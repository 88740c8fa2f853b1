import Foundation
import SPConvLab

/// Settings shared by every configuration of a sweep.
public struct SweepSettings: Sendable {
    public var layers = "convs"
    public var metrics: [SimilarityMetric] = [.cosine]
    public var threshold = LayerSummary.defaultThreshold
    public var batch = 32
    public var latencyWarmup = 2
    public var latencyRuns = 5
    /// The largest layer (`C * H * W` bytes once quantised) whose maps of the first probed image
    /// are stored for reports; larger layers keep only their similarity.
    public var featureMapByteLimit = 4 << 20
    /// The data and recipe for configurations with ``RunConfiguration/trainEpochs``; nil when the
    /// sweep does not train.
    public var training: SweepTraining?
    public init() {}
}

/// Measures one sweep configuration.
public enum ConfigurationMeasurement {
    /// Builds the configuration's network, trains it (or takes it from the checkpoint store) when
    /// the configuration asks for epochs, counts its costs, times it and measures redundancy
    /// over `source`, keeping each probed layer's maps of the first image (quantised,
    /// ``FeatureMapRecord``) when they fit ``SweepSettings/featureMapByteLimit``.
    ///
    /// Without ``RunConfiguration/trainEpochs`` the network keeps its seeded (seed 0) or loaded
    /// weights; the accuracy is the loaded weights' top-1 accuracy on `source` when it is labelled
    /// (an ImageFolder tree, a dataset), and nil otherwise. With it, the run of the configuration's training
    /// identity comes from `settings.training.store` (see ``SweepTraining``), and the result
    /// carries its final test accuracy, its total training wall time, its per-epoch history, the
    /// store key and the checkpoint's SHA-256; the redundancy is measured on the trained weights.
    ///
    /// - Parameters:
    ///   - progress: images probed so far and in all, during the redundancy analysis.
    ///   - trainingProgress: called after every training step.
    ///   - trainingEvent: called when a run is reused, starts, resumes, or finishes an epoch.
    /// - Throws: `SPConvLabError.invalidConfiguration` when the configuration cannot be built or
    ///   trained on the data (the sweep stores the first as skipped), ``FeatureProbeError`` when it
    ///   asks for training and `settings.training` is nil, other errors when the measurement fails.
    public static func measure(_ configuration: RunConfiguration, source: any BatchSource, settings: SweepSettings,
                               runID: Int64 = 0, progress: (Int, Int) -> Void = { _, _ in },
                               trainingProgress: (TrainingProgress) -> Void = { _ in },
                               trainingEvent: (CheckpointStore.TrainingEvent) -> Void = { _ in }) throws -> RunResult {
        if configuration.isONNX {
            return try measureONNX(configuration, source: source, settings: settings, runID: runID, progress: progress)
        }
        let spec = try configuration.makeSpec()
        var trained: (entry: CheckpointStore.Entry, sha256: String)?
        let network: Network
        if let epochs = configuration.trainEpochs {
            guard let training = settings.training else {
                throw FeatureProbeError("The configuration \(SweepRunner.describe(configuration)) asks for \(epochs) training epoch(s), but the sweep has no training data; give the sweep its training settings (probe-cli sweep --train-epochs), or measure it untrained.")
            }
            let identity = training.identity(of: spec, epochs: epochs, seed: configuration.trainSeed ?? 0)
            let run = try training.store.train(identity, trainSet: training.trainSet, testSet: training.testSet,
                                               normalization: training.normalization, writer: training.writer,
                                               policy: training.policy, progress: trainingProgress, events: trainingEvent)
            network = run.network
            trained = (run.entry, try run.entry.weightsSHA256())
        } else {
            network = try Network(spec)
            if let weights = configuration.weightsPath { try network.loadWeights(contentsOf: weights) }
        }
        let ledger = try network.cost()
        var generator = SeededGenerator(seed: 1)
        let timingInput = Tensor.uniform([settings.batch, configuration.inChannels, configuration.inputSize, configuration.inputSize],
                                         generator: &generator)
        let times = try Stopwatch.measure(warmup: settings.latencyWarmup, runs: settings.latencyRuns) { _ = try network(timingInput) }
        let probed = try probe(network, layers: try LayerSelection(settings.layers, in: network, featureMapsOnly: true), source: source,
                               settings: settings, runID: runID, progress: progress)
        // Checkpoints given as files, probed on labelled images (an ImageFolder tree, a dataset),
        // get their accuracy on those images; random weights get none (it would be chance).
        var accuracy = trained?.entry.sidecar.finalTestAccuracy
        if trained == nil, configuration.weightsPath != nil, source.classNames != nil {
            accuracy = try labelledAccuracy({ try network($0) }, source: source, batch: settings.batch)
        }
        var result = RunResult(params: ledger.params, macs: ledger.macs, flops: ledger.flops, latencyMS: Stopwatch.median(times),
                               accuracy: accuracy, trainSeconds: trained?.entry.sidecar.wallSeconds,
                               layerMetrics: probed.metrics, similarity: probed.matrices)
        result.storeKey = trained?.entry.identity.key
        result.checkpointSHA256 = trained?.sha256
        result.epochs = trained?.entry.sidecar.history ?? []
        result.featureMaps = probed.featureMaps
        return result
    }

    /// An ONNX model's row (``RunConfiguration/isONNX``): the file's costs (docs/COST.md's ONNX
    /// conventions), its latency on our engine, its redundancy on `source`, and its accuracy when
    /// `source` is labelled. The file must still be the one the configuration recorded.
    static func measureONNX(_ configuration: RunConfiguration, source: any BatchSource, settings: SweepSettings, runID: Int64,
                            progress: (Int, Int) -> Void) throws -> RunResult {
        let path = configuration.weightsPath!
        let sha256 = try SHA256.hex(ofFile: path)
        guard sha256 == configuration.weightsSHA256 else {
            throw FeatureProbeError("The ONNX file \(path) changed since the sweep recorded it (SHA-256 \(configuration.weightsSHA256 ?? "none") then, \(sha256) now); run a new sweep (another --name or --db) for the new file.")
        }
        let imported = try ONNXFeatureModel(contentsOf: path)
        let ledger = try imported.model.cost()
        let session = try ONNXSession(imported.model, batch: settings.batch)
        var generator = SeededGenerator(seed: 1)
        let timingInput = Tensor.uniform([settings.batch, configuration.inChannels, configuration.inputSize, configuration.inputSize],
                                         generator: &generator)
        let times = try Stopwatch.measure(warmup: settings.latencyWarmup, runs: settings.latencyRuns) { _ = try session.run(timingInput) }
        let probed = try probe(imported, layers: try LayerSelection(onnx: settings.layers, in: imported.model, featureMapsOnly: true),
                               source: source, settings: settings, runID: runID, progress: progress)
        var sessions: [Int: ONNXSession] = [settings.batch: session]
        let accuracy = source.classNames == nil ? nil : try labelledAccuracy({ images in
            let n = images.shape[0]
            let runner = try sessions[n] ?? ONNXSession(imported.model, batch: n)
            sessions[n] = runner
            return try runner.run(images).outputs[0]
        }, source: source, batch: settings.batch)
        var result = RunResult(params: ledger.params, macs: ledger.macs, flops: ledger.flops, latencyMS: Stopwatch.median(times),
                               accuracy: accuracy, trainSeconds: nil, layerMetrics: probed.metrics, similarity: probed.matrices)
        result.featureMaps = probed.featureMaps
        return result
    }

    /// The redundancy of `layers` of `model` over `source`, as database records.
    static func probe(_ model: any CapturableModel, layers: LayerSelection, source: any BatchSource, settings: SweepSettings,
                      runID: Int64, progress: (Int, Int) -> Void)
        throws -> (metrics: [LayerMetricRecord], matrices: [SimilarityRecord], featureMaps: [FeatureMapRecord]) {
        var analysis = RedundancyAnalysis()
        analysis.metrics = settings.metrics
        analysis.threshold = settings.threshold
        analysis.batchSize = settings.batch
        let results = try analysis.run(model, layers: layers, source: source, progress: progress)
        var metrics: [LayerMetricRecord] = []
        var matrices: [SimilarityRecord] = []
        for layer in results {
            for metric in settings.metrics {
                guard let s = layer.summaries[metric], let m = layer.matrices[metric] else { continue }
                metrics.append(LayerMetricRecord(runID: runID, layer: layer.path, channels: s.channels, images: s.images,
                                                 metric: metric.rawValue, meanAbsOffDiagonal: s.meanAbsOffDiagonal,
                                                 fractionAboveThreshold: s.fractionAboveThreshold, threshold: s.threshold,
                                                 duplicates: s.duplicates, dead: s.dead, clusters: s.clusters,
                                                 effectiveRank: s.effectiveRank, suggestedRatio: s.suggestedRatio))
                matrices.append(SimilarityRecord(runID: runID, layer: layer.path, metric: metric.rawValue, channels: m.channels,
                                                 values: m.values))
            }
        }
        var featureMaps: [FeatureMapRecord] = []
        for layer in results {
            guard let maps = layer.exampleMaps, maps.shape.count == 3, maps.scalars.count <= settings.featureMapByteLimit else { continue }
            featureMaps.append(FeatureMapRecord(runID: runID, layer: layer.path, image: analysis.exampleImage, channels: maps.shape[0],
                                                height: maps.shape[1], width: maps.shape[2], values: Array(maps.scalars)))
        }
        return (metrics, matrices, featureMaps)
    }

    /// Top-1 accuracy of a model's logits (`[N, classes]`, from `logitsOf`) on a labelled source, batch by batch.
    static func labelledAccuracy(_ logitsOf: (Tensor) throws -> Tensor, source: any BatchSource, batch: Int) throws -> Double {
        var correct = 0
        try source.forEachBatch(size: batch) { start, images in
            let logits = try logitsOf(images)
            let classes = logits.shape[1]
            for item in 0..<images.shape[0] {
                let row = logits.scalars[(item * classes)..<((item + 1) * classes)]
                if let best = row.indices.max(by: { row[$0] < row[$1] }), best - item * classes == source.classIndex(of: start + item) {
                    correct += 1
                }
            }
        }
        return Double(correct) / Double(max(source.count, 1))
    }
}

extension RunConfiguration {
    /// The variant name of an imported ONNX model's row: `model` is the file's name,
    /// `weightsPath` its path and `weightsSHA256` its digest.
    public static let onnxVariant = "onnx"

    /// Whether this row measures an imported ONNX model rather than a zoo configuration.
    public var isONNX: Bool { variant == Self.onnxVariant && weightsPath != nil }

    /// The row of the ONNX model at `path` (read to take its input, classes and digest).
    public static func onnx(path: String, dataset: String, images: Int, batch: Int, threads: Int) throws -> RunConfiguration {
        let imported = try ONNXFeatureModel(contentsOf: path)
        let input = imported.inputSpec
        let output = try imported.model.shapes(batch: 1)[imported.model.outputNames[0]] ?? []
        return RunConfiguration(model: URL(fileURLWithPath: path).lastPathComponent, variant: onnxVariant, ratio: nil, groups: nil,
                                inChannels: input.channels, classes: output.count == 2 ? output[1] : output.last ?? 0,
                                inputSize: input.size, weightsPath: path, weightsSHA256: try SHA256.hex(ofFile: path),
                                dataset: dataset, images: images, batch: batch, threads: threads)
    }

    /// The zoo spec of this configuration.
    ///
    /// - Throws: `FeatureProbeError` for a model or variant this build does not know (a database
    ///   written by another version).
    public func makeSpec() throws -> ModelSpec {
        guard let architecture = Architecture(rawValue: model) else {
            throw FeatureProbeError("The stored model '\(model)' is not in this build's zoo (\(Architecture.allCases.map(\.rawValue).joined(separator: ", "))).")
        }
        guard let modelVariant = ModelVariant(name: variant, ratio: ratio, groups: groups) else {
            throw FeatureProbeError("The stored variant '\(variant)' with ratio \(ratio.map { "\($0)" } ?? "none") and groups \(groups.map(String.init) ?? "none") is not a valid configuration; vanilla has neither, spconv has a ratio in (0, 1) and groups >= 1.")
        }
        return ModelSpec(architecture, variant: modelVariant, inputChannels: inChannels, classes: classes, inputSize: inputSize)
    }
}

import Foundation
import SPConvLab

/// What a sweep was asked for, in the user's terms; ``SweepPlan`` checks it and works out the rest.
///
/// A front end (probe-cli's `sweep`) fills it from its flags, resolves the images to probe (the
/// default depends on what is installed) and loads the training data; everything that follows
/// from the request (validity, the configurations of a shard, checkpoint lookup, the default
/// sweep name) is here.
public struct SweepRequest: Sendable {
    /// A zoo architecture swept over the grid, or an ONNX file's baseline row.
    public enum Subject: Sendable, Equatable {
        case zoo(Architecture)
        case onnx(path: String)
    }

    /// Training before measuring: epochs and the seeds to train each configuration with.
    public struct Training: Sendable {
        public var epochs: Int
        public var seeds: [UInt64]
        /// The dataset as the user named it (`fashion-mnist`, `idx:DIR`, `cifar10:DIR`).
        public var dataset: String
        public var trainLimit: Int?
        public var testLimit: Int?
        /// A single seed given the old way (`--train-seed`), kept in the default name.
        public var legacySeed: UInt64?

        public init(epochs: Int, seeds: [UInt64] = [0], dataset: String = "fashion-mnist", trainLimit: Int? = nil,
                    testLimit: Int? = nil, legacySeed: UInt64? = nil) {
            (self.epochs, self.seeds, self.dataset, self.trainLimit, self.testLimit, self.legacySeed)
                = (epochs, seeds, dataset, trainLimit, testLimit, legacySeed)
        }
    }

    public var subject: Subject
    public var ratios = "1/4,1/2,3/4"
    public var groups = "2"
    public var inChannels = 3
    public var classes: Int?
    public var inputSize: Int?
    /// The images to probe: as stored in the database (stable across folders) and as a path.
    public var input: (label: String, path: String)
    public var limit = 256
    public var layers = "convs"
    public var batch = 32
    /// Threads each worker runs with (stored per run).
    public var threads = 1
    /// A folder of trained checkpoints named as ``SweepPlan/checkpointPath(in:model:variant:)`` says.
    public var weightsDirectory: String?
    public var training: Training?
    public var shard = Shard.whole

    public init(subject: Subject, input: (label: String, path: String)) {
        self.subject = subject
        self.input = input
    }
}

/// A checked sweep: its configurations (this shard's, in grid order), its default name, and the
/// base model of a zoo sweep.
public struct SweepPlan: Sendable {
    public let request: SweepRequest
    public let configurations: [RunConfiguration]
    /// The name a sweep gets without `--name`: the grid, the input and what training it does (not
    /// the shard: shards of one grid are one sweep once merged).
    public let defaultName: String

    /// Checks `request` and lists its configurations.
    ///
    /// - Parameters:
    ///   - trainingShape: the training images' shape when the sweep trains (the loaded dataset's;
    ///     the grid must take them), nil otherwise.
    ///   - imageCount: how many images `request.input` holds, up to its limit (stored per run).
    /// - Throws: ``FeatureProbeError`` naming the flag and what is accepted.
    public init(_ request: SweepRequest, trainingShape: (channels: Int, size: Int, classes: Int)? = nil, imageCount: Int) throws {
        self.request = request
        switch request.subject {
        case .onnx(let path):
            let row = try RunConfiguration.onnx(path: path, dataset: request.input.label, images: imageCount, batch: request.batch,
                                                threads: request.threads)
            configurations = request.shard.contains(0) ? [row] : []
            defaultName = "\(URL(fileURLWithPath: path).lastPathComponent) onnx input=\(request.input.label) limit=\(request.limit) layers=\(request.layers)"
        case .zoo(let architecture):
            let grid = try SweepGrid(ratios: request.ratios, groups: request.groups)
            if let trainingShape { try Self.checkTrainingShape(request, trainingShape) }
            let base = Self.baseSpec(request, trainingSize: trainingShape?.size)
            try Self.checkLayers(request.layers, base: base, grid: grid)
            let seeds: [UInt64?] = request.training.map { $0.seeds.map { Optional($0) } } ?? [nil]
            let cells = grid.variants.flatMap { variant in seeds.map { (variant, $0) } }
            configurations = try cells.enumerated().filter { request.shard.contains($0.offset) }.map { _, cell in
                let (variant, seed) = cell
                let checkpoint = request.weightsDirectory.map { Self.checkpointPath(in: $0, model: architecture.rawValue, variant: variant) }
                    .flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
                return RunConfiguration(model: architecture.rawValue, variant: variant.name, ratio: variant.spconvConfiguration?.ratio,
                                        groups: variant.spconvConfiguration?.groups, inChannels: request.inChannels, classes: base.classes,
                                        inputSize: base.inputSize, weightsPath: checkpoint,
                                        weightsSHA256: try checkpoint.map(SHA256.hex(ofFile:)), dataset: request.input.label,
                                        images: imageCount, batch: request.batch, threads: request.threads,
                                        trainEpochs: request.training?.epochs, trainSeed: seed)
            }
            let training = request.training.map { t in
                " train=\(t.epochs)" + (t.trainLimit.map { " train-limit=\($0)" } ?? "") + (t.testLimit.map { " test-limit=\($0)" } ?? "")
                    + (t.legacySeed.map { " train-seed=\($0)" } ?? "")
            } ?? ""
            defaultName = "\(architecture.rawValue) ratios=\(request.ratios) groups=\(request.groups) input=\(request.input.label) limit=\(request.limit) layers=\(request.layers)\(training)"
        }
    }

    /// The zoo sweep's base model (vanilla): `--input-size` defaults to the training images' size
    /// when training (`trainingSize`, else the named dataset's, else Fashion-MNIST's 28), else to
    /// the architecture's.
    public static func baseSpec(_ request: SweepRequest, trainingSize: Int? = nil) -> ModelSpec {
        guard case .zoo(let architecture) = request.subject else { preconditionFailure("an ONNX sweep has no zoo spec") }
        let size = trainingSize ?? request.training.flatMap { ImageDataset.knownShape($0.dataset)?.size } ?? FashionMNIST.imageSize
        return ModelSpec(architecture, inputChannels: request.inChannels, classes: request.classes,
                         inputSize: request.inputSize ?? (request.training != nil ? size : nil))
    }

    /// Refuses a grid whose networks cannot be trained on images of `shape`.
    public static func checkTrainingShape(_ request: SweepRequest, _ shape: (channels: Int, size: Int, classes: Int)) throws {
        let spec = baseSpec(request, trainingSize: shape.size)
        guard request.inChannels == shape.channels, spec.inputSize == shape.size, spec.classes >= shape.classes else {
            let dataset = request.training?.dataset ?? "fashion-mnist"
            let shown = dataset == "fashion-mnist" ? "Fashion-MNIST" : dataset
            throw FeatureProbeError("--train-epochs trains on \(shown), whose images have \(shape.channels) channel(s), are \(shape.size)x\(shape.size) and fall into \(shape.classes) classes, but this sweep builds \(spec.architecture.rawValue) for \(request.inChannels) channel(s), \(spec.inputSize)x\(spec.inputSize) inputs and \(spec.classes) classes. Pass --in-channels \(shape.channels), leave --input-size out (it defaults to \(shape.size) when training) or give --input-size \(shape.size), and leave --classes out or give at least \(shape.classes); or drop --train-epochs to measure untrained networks of any shape.")
        }
    }

    /// Where a configuration's checkpoint would be in a `--weights-dir` folder:
    /// `<model>_vanilla.safetensors` or `<model>_spconv_r<ratio>_g<groups>.safetensors`.
    public static func checkpointPath(in folder: String, model: String, variant: ModelVariant) -> String {
        let name = variant.spconvConfiguration.map { "\(model)_spconv_r\(CSVWriter.formatG6($0.ratio))_g\($0.groups)" } ?? "\(model)_vanilla"
        return URL(fileURLWithPath: folder).appendingPathComponent(name + ".safetensors").path
    }

    /// Checks the layer list before any work: it must name modules of the baseline or of an SPConv
    /// configuration, and only modules with feature-map outputs.
    public static func checkLayers(_ layers: String, base: ModelSpec, grid: SweepGrid) throws {
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

    /// Checks an ONNX sweep's layer list: node names, module paths, globs, `convs` or `all`, of
    /// feature-map outputs only.
    public static func checkLayers(_ layers: String, onnx imported: ONNXFeatureModel) throws {
        let selection = try LayerSelection(onnx: layers, in: imported.model, featureMapsOnly: true)
        let shapes = try imported.outputShapes()
        for path in selection.paths where shapes[path]?.count != 4 {
            throw FeatureProbeError("--layers '\(layers)' includes '\(path)', whose output is not a feature map [N, C, H, W]; a sweep probes feature maps. Choose convolution nodes (convs) or node names of 4-D outputs.")
        }
    }
}

import SPConvCore
import SPConvKernels

/// A built zoo model: its spec, its module tree, and whole-network operations.
///
/// Building validates the whole configuration (every SPConv layer's split and groups, and every
/// layer's shape at the spec's input size) and throws before anything runs. Weights start as a
/// seeded Kaiming initialisation; `load(_:source:)` replaces them from a PyTorch `state_dict`.
public final class Network {
    public let spec: ModelSpec
    public let root: any Layer
    /// The model's ops, built once from its layers; every pass, cost and capture runs it.
    public let graph: Graph
    /// Every module by its dotted path (`""` is the root), which the training interpreter reads.
    public let modulesByPath: [String: any Layer]
    /// Compiled graphs by input shape and captured paths, for the weights of `revision`.
    private let compiled = LockedBox<(revision: Int, graphs: [CompiledKey: CompiledGraph])>((-1, [:]))
    /// Reads each weight-holding module's revision counter; their sum changes with any weight.
    private let revisions: [() -> Int]

    private struct CompiledKey: Hashable {
        var shape: [Int]
        var captures: Set<String>
        /// The task's SPConv kernel override (``Engine/spconvKernelOverride``), which changes the compiled steps.
        var spconvKernels: Engine.SPConvKernelChoice?
        /// The task's own-Winograd and own-direct overrides (``Engine/ownWinogradOverride``), likewise.
        var ownWinograd: Bool?
        var ownDirect: Bool?
    }
    /// Compiled graphs kept per network: each holds packed weights, so this bounds their memory.
    private static let compiledLimit = 8

    /// Builds the model and initialises its weights from `seed`.
    ///
    /// - Throws: `SPConvLabError.invalidConfiguration` for a configuration that cannot work.
    public init(_ spec: ModelSpec, seed: UInt64 = 0) throws {
        guard ModelSpec.inputChannelRange.contains(spec.inputChannels), ModelSpec.classRange.contains(spec.classes),
              ModelSpec.inputSizeRange.contains(spec.inputSize) else {
            throw SPConvLabError(.invalidConfiguration, "\(spec.architecture.rawValue) cannot be built with \(spec.inputChannels) input channel(s), \(spec.classes) classes and input size \(spec.inputSize): input channels must lie in \(ModelSpec.inputChannelRange), classes in \(ModelSpec.classRange) and the input size in \(ModelSpec.inputSizeRange).")
        }
        self.spec = spec
        switch spec.architecture {
        case .vgg16: root = try VGG(spec: spec)
        default: root = try ResNet(spec: spec)
        }
        graph = try GraphBuilder.build(layer: root)
        modulesByPath = root.modulesByPath
        revisions = modulesByPath.values.compactMap { module -> (() -> Int)? in
            switch module {
            case let conv as Conv2D: { conv.revision }
            case let norm as BatchNorm2D: { norm.revision }
            case let linear as Linear: { linear.revision }
            default: nil
            }
        }
        do {
            _ = try cost()
        } catch let error as SPConvLabError {
            let minimum = spec.architecture == .vgg16 ? "at least 32" : spec.architecture.isCIFAR ? "a multiple of 4 (for example 28 or 32)" : "a multiple of 32 (for example 224)"
            throw SPConvLabError(.invalidConfiguration, "\(spec.displayName) cannot run on \(spec.inputSize)x\(spec.inputSize) inputs: \(error.message) Input sizes that work for this model: \(minimum).")
        }
        initializeWeights(seed: seed)
    }

    /// Runs the network on a batch `[N, C_in, S, S]` and returns the logits `[N, classes]`.
    public func callAsFunction(_ input: Tensor, backend: Backend = .fast) throws -> Tensor {
        try forward(input, backend: backend).output
    }

    /// Runs the network and returns the logits with the outputs of the modules at `paths`
    /// (row-major, by dotted path; paths that name no module are left out).
    ///
    /// The fast backend compiles the graph once per input shape and set of captures (and again
    /// after the weights change); a captured module's output is computed even where a fused
    /// kernel would otherwise skip it.
    public func forward(_ input: Tensor, backend: Backend = .fast,
                        capturing paths: Set<String> = []) throws -> (output: Tensor, captured: [String: Tensor]) {
        guard input.rank == 4, input.shape[1] == spec.inputChannels, input.shape[0] >= 1 else {
            throw SPConvLabError(.invalidInput, "\(spec.displayName) expects an input of shape [N, \(spec.inputChannels), H, W] with N >= 1; got \(input.shape).")
        }
        switch backend {
        case .reference:
            return try graph.runReference(input, weights: weights, capturing: paths)
        case .fast:
            return try compiledGraph(for: input.shape, capturing: paths).run(input)
        }
    }

    /// The compiled graph for an input shape and captures, compiled on first use.
    public func compiledGraph(for shape: [Int], capturing paths: Set<String> = []) throws -> CompiledGraph {
        let revision = revisions.reduce(0) { $0 &+ $1() }
        let key = CompiledKey(shape: shape, captures: paths, spconvKernels: Engine.spconvKernelOverride,
                              ownWinograd: Engine.ownWinogradOverride, ownDirect: Engine.ownDirectOverride)
        return try compiled.withLock {
            if compiled.value.revision != revision || compiled.value.graphs.count >= Self.compiledLimit {
                compiled.value = (revision, [:])
            }
            if let hit = compiled.value.graphs[key] { return hit }
            let made = try CompiledGraph(graph, weights: weights, inputShape: shape, capturing: paths)
            compiled.value.graphs[key] = made
            return made
        }
    }

    /// The `state_dict` by name.
    public var weights: [String: Tensor] {
        Dictionary(stateDict().map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
    }

    /// Parameters, MACs and FLOPs per image at the spec's input size, per layer and in total.
    public func cost() throws -> CostLedger {
        try graph.trace(inputShape: [1, spec.inputChannels, spec.inputSize, spec.inputSize], weights: weights).ledger
    }

    /// The output shape of every module for a batch of one at the spec's input size, by dotted path.
    public func outputShapes() throws -> [String: [Int]] {
        try graph.moduleShapes(inputShape: [1, spec.inputChannels, spec.inputSize, spec.inputSize], weights: weights)
    }

    /// The dotted module paths of the model, parents before children.
    public var modulePaths: [String] { root.namedModules().map(\.path).filter { !$0.isEmpty } }

    /// The `state_dict`: every parameter and buffer with its PyTorch name, in PyTorch's order.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        var list: [(String, Tensor)] = []
        root.visitTensors { name, _, tensor in list.append((name, tensor)) }
        return list
    }

    /// Number of parameters (weights and biases; not running statistics).
    public var parameterCount: Int {
        var total = 0
        root.visitTensors { _, role, tensor in if role == .parameter { total += tensor.count } }
        return total
    }

    /// Replaces every weight from a PyTorch `state_dict`.
    ///
    /// `num_batches_tracked` entries are accepted and ignored. Nothing changes unless every key
    /// matches: missing, unexpected and mis-shaped keys are all reported in one error. Weights
    /// holding NaN or infinity are refused too (naming the tensors): the fused kernels would turn
    /// them into finite, confident and meaningless predictions, where PyTorch gives NaN.
    public func load(_ tensors: [String: Tensor], source: String) throws {
        var missing: [String] = [], misshaped: [String] = [], nonFinite: [String] = []
        var expected = Set<String>()
        root.visitTensors { name, _, tensor in
            expected.insert(name)
            guard let given = tensors[name] else { missing.append(name); return }
            if given.shape != tensor.shape { misshaped.append("\(name) is \(given.shape) in the file, \(tensor.shape) in the model") }
            let bad = given.scalars.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            if bad > 0 { nonFinite.append("\(name) (\(bad) of \(given.count))") }
        }
        let unexpected = tensors.keys.filter { !expected.contains($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
        if !missing.isEmpty || !unexpected.isEmpty || !misshaped.isEmpty {
            var parts: [String] = []
            func list(_ items: [String]) -> String {
                items.prefix(8).joined(separator: ", ") + (items.count > 8 ? ", and \(items.count - 8) more" : "")
            }
            if !missing.isEmpty { parts.append("missing \(missing.count) key(s): \(list(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count) key(s): \(list(unexpected))") }
            if !misshaped.isEmpty { parts.append("mis-shaped \(misshaped.count) key(s): \(list(misshaped))") }
            throw SPConvLabError(.invalidWeights, "The weights in \(source) do not fit \(spec.displayName) (\(spec.inputChannels) input channel(s), \(spec.classes) classes): \(parts.joined(separator: "; ")). Check --model, --variant, --ratio, --groups, --in-channels and --classes against the checkpoint.")
        }
        if !nonFinite.isEmpty {
            let shown = nonFinite.prefix(5).joined(separator: ", ") + (nonFinite.count > 5 ? ", and \(nonFinite.count - 5) more" : "")
            throw SPConvLabError(.invalidWeights, "The weights in \(source) hold NaN or infinite values in \(nonFinite.count) tensor(s): \(shown). A network with such weights gives meaningless outputs; the checkpoint is damaged or comes from a diverged training run (retrain with a lower learning rate).")
        }
        root.visitTensors { name, _, tensor in tensor = tensors[name]! }
    }

    /// Seeded Kaiming initialisation: convs `N(0, 2 / fan_out)` (PyTorch's `kaiming_normal_`,
    /// mode fan_out, ReLU), conv biases 0, BN weight 1 / bias 0, linear `U(-1/sqrt(in), 1/sqrt(in))`.
    public func initializeWeights(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for (_, module) in root.namedModules() {
            if let conv = module as? Conv2D {
                let fanOut = conv.outputChannels * conv.geometry.kernelSize * conv.geometry.kernelSize
                conv.weight = .gaussian(conv.weight.shape, standardDeviation: Float((2.0 / Double(fanOut)).squareRoot()),
                                        generator: &generator)
                if let bias = conv.bias { conv.bias = .zeros(bias.shape) }
            } else if let linear = module as? Linear {
                let bound = Float(1 / Double(linear.inputFeatures).squareRoot())
                linear.weight = .uniform(linear.weight.shape, in: -bound...bound, generator: &generator)
                linear.bias = .uniform(linear.bias.shape, in: -bound...bound, generator: &generator)
            }
        }
    }
}

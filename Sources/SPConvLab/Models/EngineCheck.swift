import SPConvCore
import SPConvKernels

/// The fast backend against the op-by-op reference backend, on this machine and instruction set.
///
/// Three kinds of case, all with seeded random weights and inputs: single convolutions of random
/// shape (groups, stride 2, odd sizes, batch 1, and shapes where oneDNN picks Winograd), SPConv
/// layers of random shape and configuration (with non-trivial BatchNorm statistics), and whole
/// zoo networks at small input sizes. A case passes when `max |fast - reference| / max |reference|`
/// is at most `tolerance`. `probe-cli check-engine` prints them; setting `SPCONVLAB_MAX_ISA=avx2`
/// before the process starts runs the same cases on oneDNN's AVX2 kernels.
public enum EngineCheck {
    public struct Case: Sendable, Codable {
        public var kind: String
        public var name: String
        public var maxRelativeDifference: Float
        public var passed: Bool

        enum CodingKeys: String, CodingKey {
            case kind, name, passed
            case maxRelativeDifference = "max_relative_difference"
        }
    }

    public static let tolerance: Float = 1e-4

    /// The instruction set oneDNN dispatches to (`avx512`, `avx2`, ...).
    public static var instructionSet: String { DNNL.isaName }

    /// Whole networks checked, at input sizes small enough for the reference backend.
    public static let modelSpecs: [ModelSpec] = [
        ModelSpec(.resnet20, inputSize: 16),
        ModelSpec(.resnet20, variant: .spconv(.init(ratio: 0.5, groups: 2)), inputSize: 16),
        ModelSpec(.resnet20, variant: .spconv(.init(ratio: 0.25, groups: 4)), inputChannels: 1, inputSize: 12),
        ModelSpec(.resnet18, variant: .spconv(.init(ratio: 0.5, groups: 2)), classes: 5, inputSize: 32),
        ModelSpec(.resnet50, variant: .spconv(.init(ratio: 0.5, groups: 2)), classes: 5, inputSize: 32),
        ModelSpec(.resnet50, classes: 5, inputSize: 32),
        ModelSpec(.vgg16, variant: .spconv(.init(ratio: 0.5, groups: 2)), inputSize: 32),
    ]

    /// Runs every case, calling `progress` after each, and returns them in order.
    public static func run(seed: UInt64 = 1, convolutions: Int = 16, spconvLayers: Int = 12,
                           progress: (Case) -> Void = { _ in }) throws -> [Case] {
        var generator = SeededGenerator(seed: seed)
        var cases: [Case] = []
        func record(_ kind: String, _ name: String, _ fast: Tensor, _ reference: Tensor) {
            let difference = maxRelativeDifference(fast, reference)
            let made = Case(kind: kind, name: name, maxRelativeDifference: difference, passed: difference <= tolerance)
            cases.append(made)
            progress(made)
        }
        for shape in winogradShapes + (0..<convolutions).map({ _ in randomConvolution(&generator) }) {
            let x = Tensor.uniform(shape.input, generator: &generator)
            let w = Tensor.uniform([shape.outputChannels, shape.input[1] / shape.geometry.groups,
                                    shape.geometry.kernelSize, shape.geometry.kernelSize], generator: &generator)
            let b = Tensor.uniform([shape.outputChannels], generator: &generator)
            let reference = ReferenceOps.conv2d(x, weight: w, bias: b, geometry: shape.geometry)
            record("conv", shape.description, try Ops.conv2d(x, weight: w, bias: b, geometry: shape.geometry), reference)
            // The engine's own Winograd, where it applies, forced (the compiler would time it).
            if WinogradConvolution.applies(shape.geometry, inputChannels: shape.input[1], outputChannels: shape.outputChannels,
                                           block: DNNL.shared.channelBlock) {
                let conv = try Engine.$ownWinogradOverride.withValue(true) {
                    try PackedConvolution(weight: w, bias: b, geometry: shape.geometry, inputShape: shape.input)
                }
                record("conv", shape.description + " (own Winograd)", try conv.run(x).rowMajor(), reference)
            }
            // The engine's own direct convolution, where it applies, forced: reading a row-major
            // input (the graph's) where it lies, and a blocked one.
            if shape.geometry.groups == 1 && DirectConvolution.isAvailable(block: DNNL.shared.channelBlock) {
                for rowMajor in [true, false] {
                    let conv = try KernelSet.ownDirect.with {
                        try PackedConvolution(weight: w, bias: b, geometry: shape.geometry, inputShape: shape.input, inputIsRowMajor: rowMajor)
                    }
                    let input = rowMajor ? x : x.channelBlocked(DNNL.shared.channelBlock)
                    record("conv", shape.description + " (own direct, \(rowMajor ? "row-major" : "blocked") input)", try conv.run(input).rowMajor(),
                           reference)
                }
            }
        }
        var made = 0
        while made < spconvLayers {
            guard let (layer, input) = randomSPConv(&generator) else { continue }
            made += 1
            let x = Tensor.uniform(input, generator: &generator)
            let name = "SPConv \(layer.inputChannels)->\(layer.outputChannels) s\(layer.stride) ratio \(layer.configuration.ratio) "
                + "g\(layer.configuration.groups) on \(input)"
            let reference = try layer(x, backend: .reference)
            for set in KernelSet.spconv {
                try set.with { record("spconv", name + set.label, try layer(x), reference) }
            }
        }
        for spec in modelSpecs {
            let network = try Network(spec, seed: 42)
            randomizeBatchNorm(network.root, generator: &generator)
            let x = Tensor.uniform([2, spec.inputChannels, spec.inputSize, spec.inputSize], generator: &generator)
            let reference = try network(x, backend: .reference)
            for set in spec.variant == .vanilla ? KernelSet.vanilla : KernelSet.spconv {
                try set.with { record("model", "\(spec.displayName) on \(x.shape)" + set.label, try network(x), reference) }
            }
        }
        return cases
    }

    /// One way the fast interpreter can run a network: the kernel overrides a graph is compiled
    /// under (``Engine/spconvKernelOverride``, ``Engine/ownWinogradOverride``,
    /// ``Engine/ownDirectOverride``), so every way is checked, whatever the timing would choose.
    struct KernelSet: Sendable {
        var spconv: Engine.SPConvKernelChoice?
        var winograd: Bool
        var direct: Bool
        var label: String

        /// `body` with the overrides set.
        func with<T>(_ body: () throws -> T) rethrows -> T {
            try Engine.$spconvKernelOverride.withValue(spconv) {
                try Engine.$ownWinogradOverride.withValue(winograd) { try Engine.$ownDirectOverride.withValue(direct, operation: body) }
            }
        }

        static let ownDirect = KernelSet(spconv: nil, winograd: false, direct: true, label: " (own direct)")

        /// Vanilla networks: the engine's own Winograd where it applies (oneDNN elsewhere), its own
        /// direct convolution wherever it applies, and oneDNN's convolutions only.
        static let vanilla = [
            KernelSet(spconv: nil, winograd: true, direct: false, label: " (own Winograd)"), ownDirect,
            KernelSet(spconv: nil, winograd: false, direct: false, label: " (oneDNN)"),
        ]

        /// SPConv layers: the engine's own kernels where they apply, with the representative
        /// branch as a direct conv or (at stride 1) by the own Winograd; oneDNN's convolutions
        /// with a split and a fusion pass; and that path with the own direct convolution for its
        /// dense convolutions (and for the network's other convolutions).
        static let spconv = [
            KernelSet(spconv: .own, winograd: false, direct: false, label: " (own kernels, direct)"),
            KernelSet(spconv: .own, winograd: true, direct: false, label: " (own kernels, Winograd)"),
            KernelSet(spconv: .onednn, winograd: false, direct: false, label: " (oneDNN)"),
            KernelSet(spconv: .onednn, winograd: false, direct: true, label: " (oneDNN path, own direct convs)"),
        ]
    }

    /// `max |actual - expected| / max |expected|`.
    static func maxRelativeDifference(_ actual: Tensor, _ expected: Tensor) -> Float {
        let (actual, expected) = (actual.rowMajor(), expected.rowMajor())
        let scale = expected.scalars.lazy.map(abs).max() ?? 0
        let difference = zip(actual.scalars, expected.scalars).lazy.map { abs($0 - $1) }.max() ?? 0
        return difference / max(scale, 1e-12)
    }

    struct ConvolutionShape: CustomStringConvertible {
        var input: [Int]
        var outputChannels: Int
        var geometry: Conv2DGeometry
        var description: String {
            let g = geometry
            return "conv \(g.kernelSize)x\(g.kernelSize) \(input[1])->\(outputChannels) s\(g.stride) p\(g.padding) g\(g.groups) on \(input)"
        }
    }

    /// Shapes where oneDNN's heuristic picks Winograd on AVX-512 (the resnet56 and resnet18 3x3s),
    /// and where the engine's own Winograd applies (sides not multiples of its 4x4 tile).
    static let winogradShapes = [
        ConvolutionShape(input: [4, 64, 8, 8], outputChannels: 64, geometry: Conv2DGeometry(kernelSize: 3, padding: 1)),
        ConvolutionShape(input: [1, 64, 15, 15], outputChannels: 64, geometry: Conv2DGeometry(kernelSize: 3, padding: 1)),
        ConvolutionShape(input: [2, 16, 9, 13], outputChannels: 32, geometry: Conv2DGeometry(kernelSize: 3, padding: 1)),
        ConvolutionShape(input: [3, 32, 5, 7], outputChannels: 48, geometry: Conv2DGeometry(kernelSize: 3, padding: 1)),
    ]

    static func randomConvolution(_ g: inout SeededGenerator) -> ConvolutionShape {
        let groups = [1, 1, 2, 4].randomElement(using: &g)!
        let input = [4, 8, 16, 32, 48, 64].randomElement(using: &g)! / 4 * 4
        let output = [4, 8, 16, 24, 32, 64].randomElement(using: &g)!
        let kernel = [1, 3, 3].randomElement(using: &g)!
        let geometry = Conv2DGeometry(kernelSize: kernel, stride: Int.random(in: 1...2, using: &g),
                                      padding: kernel / 2, groups: groups)
        let shape = [[1, 2, 3].randomElement(using: &g)!, input, Int.random(in: 5...17, using: &g), Int.random(in: 5...17, using: &g)]
        return ConvolutionShape(input: shape, outputChannels: output, geometry: geometry)
    }

    /// A random SPConv layer that validates, with random weights and BatchNorm statistics, and its input shape.
    static func randomSPConv(_ g: inout SeededGenerator) -> (SPConv, [Int])? {
        let (input, output) = ([16, 32, 64].randomElement(using: &g)!, [16, 32, 64].randomElement(using: &g)!)
        let configuration = SPConvConfiguration(ratio: [0.5, 0.25, 0.75].randomElement(using: &g)!,
                                                groups: [1, 2, 4].randomElement(using: &g)!)
        let stride = Int.random(in: 1...2, using: &g)
        guard let layer = try? SPConv(inputChannels: input, outputChannels: output, stride: stride,
                                      configuration: configuration, path: "check") else { return nil }
        for conv in [layer.gwc, layer.pwc, layer.conv1x1] {
            conv.weight = .uniform(conv.weight.shape, in: -0.5...0.5, generator: &g)
            if conv.bias != nil { conv.bias = .uniform([conv.outputChannels], generator: &g) }
        }
        randomizeBatchNorm(layer, generator: &g)
        // Stride 2 needs even sizes (the 2x2 pool and the strided 3x3 must agree); stride 1 takes odd ones.
        let side = stride == 2 ? 2 * Int.random(in: 3...8, using: &g) : Int.random(in: 5...16, using: &g)
        return (layer, [[1, 2, 3].randomElement(using: &g)!, input, side, side + (stride == 2 ? 2 : 1)])
    }

    /// Gives every BatchNorm under `root` non-trivial statistics, so folding is really exercised.
    static func randomizeBatchNorm(_ root: any Layer, generator g: inout SeededGenerator) {
        for (_, module) in root.namedModules() {
            guard let bn = module as? BatchNorm2D else { continue }
            bn.weight = .uniform([bn.channels], in: 0.5...1.5, generator: &g)
            bn.bias = .uniform([bn.channels], in: -0.2...0.2, generator: &g)
            bn.runningMean = .uniform([bn.channels], in: -0.2...0.2, generator: &g)
            bn.runningVariance = .uniform([bn.channels], in: 0.5...2, generator: &g)
        }
    }
}

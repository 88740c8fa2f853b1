import Foundation
import Testing
@testable import SPConvLab

// MARK: - Float64 reference

/// A row-major float64 array with its shape: the values the float64 twins read and write.
struct DoubleTensor {
    var shape: [Int]
    var values: [Double]

    init(shape: [Int], values: [Double]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    init(_ tensor: Tensor) {
        self.init(shape: tensor.shape, values: tensor.rowMajor().scalars.map(Double.init))
    }

    static func zeros(_ shape: [Int]) -> DoubleTensor {
        DoubleTensor(shape: shape, values: [Double](repeating: 0, count: shape.reduce(1, *)))
    }

    var nchw: (n: Int, c: Int, h: Int, w: Int) {
        precondition(shape.count == 4, "expected [N, C, H, W]; got \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }
}

/// Naive float64 twins of the tape's ops, written from PyTorch's definitions and sharing no code
/// with the engine, so that their finite differences check the engine's backward closures.
///
/// Feature maps are `[N, C, H, W]`; convolution weights `[C_out, C_in / groups, K, K]`.
enum Float64Reference {
    /// PyTorch's `F.conv2d(x, weight, bias, stride, padding, groups=groups)`.
    static func conv2d(_ x: DoubleTensor, weight: DoubleTensor, bias: DoubleTensor?, stride: Int, padding: Int,
                       groups: Int) -> DoubleTensor {
        let (n, c, h, w) = x.nchw
        let (outputChannels, perGroup, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        precondition(perGroup * groups == c, "weight \(weight.shape) does not fit \(c) channels in \(groups) groups")
        let (ho, wo) = ((h + 2 * padding - k) / stride + 1, (w + 2 * padding - k) / stride + 1)
        let outputsPerGroup = outputChannels / groups
        var out = DoubleTensor.zeros([n, outputChannels, ho, wo])
        for b in 0..<n {
            for o in 0..<outputChannels {
                let group = o / outputsPerGroup
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var sum = bias?.values[o] ?? 0
                        for i in 0..<perGroup {
                            let channel = group * perGroup + i
                            for ky in 0..<k {
                                let y = oy * stride - padding + ky
                                guard y >= 0 && y < h else { continue }
                                for kx in 0..<k {
                                    let xx = ox * stride - padding + kx
                                    guard xx >= 0 && xx < w else { continue }
                                    sum += x.values[((b * c + channel) * h + y) * w + xx]
                                        * weight.values[((o * perGroup + i) * k + ky) * k + kx]
                                }
                            }
                        }
                        out.values[((b * outputChannels + o) * ho + oy) * wo + ox] = sum
                    }
                }
            }
        }
        return out
    }

    /// The batch mean and biased variance (divided by `M = N*H*W`) of each channel.
    static func batchStatistics(_ x: DoubleTensor) -> (mean: [Double], variance: [Double]) {
        let (n, c, h, w) = x.nchw
        let count = Double(n * h * w)
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            var sum = 0.0
            for b in 0..<n { for i in 0..<(h * w) { sum += x.values[(b * c + ch) * h * w + i] } }
            mean[ch] = sum / count
            var squares = 0.0
            for b in 0..<n {
                for i in 0..<(h * w) { let d = x.values[(b * c + ch) * h * w + i] - mean[ch]; squares += d * d }
            }
            variance[ch] = squares / count
        }
        return (mean, variance)
    }

    /// Training-mode `nn.BatchNorm2d`: `(x - batch mean) / sqrt(biased batch variance + eps) * weight + bias`.
    static func batchNorm(_ x: DoubleTensor, weight: DoubleTensor, bias: DoubleTensor, epsilon: Double = 1e-5) -> DoubleTensor {
        let (n, c, h, w) = x.nchw
        let (mean, variance) = batchStatistics(x)
        var out = x
        for b in 0..<n {
            for ch in 0..<c {
                let scale = weight.values[ch] / (variance[ch] + epsilon).squareRoot()
                for i in 0..<(h * w) {
                    let at = (b * c + ch) * h * w + i
                    out.values[at] = (x.values[at] - mean[ch]) * scale + bias.values[ch]
                }
            }
        }
        return out
    }

    static func relu(_ x: DoubleTensor) -> DoubleTensor {
        DoubleTensor(shape: x.shape, values: x.values.map { max($0, 0) })
    }

    static func add(_ a: DoubleTensor, _ b: DoubleTensor) -> DoubleTensor {
        precondition(a.shape == b.shape, "add: \(a.shape) and \(b.shape) differ")
        return DoubleTensor(shape: a.shape, values: zip(a.values, b.values).map { $0 + $1 })
    }

    /// `x[n, c, :, :] * factors[n, c]`.
    static func scalePlanes(_ x: DoubleTensor, by factors: DoubleTensor) -> DoubleTensor {
        let (n, c, h, w) = x.nchw
        precondition(factors.values.count == n * c, "factors \(factors.shape) do not fit \(x.shape)")
        var out = x
        for i in 0..<out.values.count { out.values[i] *= factors.values[i / (h * w)] }
        return out
    }

    /// `MaxPool2d` / `AvgPool2d` in floor mode; padding never wins a max and counts in an average.
    static func pool(_ x: DoubleTensor, isMax: Bool, kernelSize k: Int, stride: Int, padding: Int) -> DoubleTensor {
        let (n, c, h, w) = x.nchw
        let (ho, wo) = ((h + 2 * padding - k) / stride + 1, (w + 2 * padding - k) / stride + 1)
        var out = DoubleTensor.zeros([n, c, ho, wo])
        for p in 0..<(n * c) {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var result = isMax ? -Double.infinity : 0
                    for ky in 0..<k {
                        let y = oy * stride - padding + ky
                        guard y >= 0 && y < h else { continue }
                        for kx in 0..<k {
                            let xx = ox * stride - padding + kx
                            guard xx >= 0 && xx < w else { continue }
                            let v = x.values[(p * h + y) * w + xx]
                            result = isMax ? max(result, v) : result + v
                        }
                    }
                    out.values[(p * ho + oy) * wo + ox] = isMax ? result : result / Double(k * k)
                }
            }
        }
        return out
    }

    /// `[N, C, H, W] -> [N, C]`, the mean of each plane.
    static func globalAveragePool(_ x: DoubleTensor) -> DoubleTensor {
        let (n, c, h, w) = x.nchw
        var out = DoubleTensor.zeros([n, c])
        for p in 0..<(n * c) {
            out.values[p] = x.values[(p * h * w)..<((p + 1) * h * w)].reduce(0, +) / Double(h * w)
        }
        return out
    }

    /// `x W^T + b` on `[N, in]` with `W` `[out, in]`.
    static func linear(_ x: DoubleTensor, weight: DoubleTensor, bias: DoubleTensor) -> DoubleTensor {
        let (n, inputs, outputs) = (x.shape[0], x.shape[1], weight.shape[0])
        var out = DoubleTensor.zeros([n, outputs])
        for b in 0..<n {
            for o in 0..<outputs {
                var sum = bias.values[o]
                for i in 0..<inputs { sum += x.values[b * inputs + i] * weight.values[o * inputs + i] }
                out.values[b * outputs + o] = sum
            }
        }
        return out
    }

    static func sliceChannels(_ x: DoubleTensor, _ range: Range<Int>) -> DoubleTensor {
        let (n, c, h, w) = x.nchw
        var values: [Double] = []
        for b in 0..<n { values += x.values[((b * c + range.lowerBound) * h * w)..<((b * c + range.upperBound) * h * w)] }
        return DoubleTensor(shape: [n, range.count, h, w], values: values)
    }

    static func concatChannels(_ xs: [DoubleTensor]) -> DoubleTensor {
        let (n, _, h, w) = xs[0].nchw
        var values: [Double] = []
        for b in 0..<n {
            for x in xs { values += x.values[(b * x.shape[1] * h * w)..<((b + 1) * x.shape[1] * h * w)] }
        }
        return DoubleTensor(shape: [n, xs.map { $0.shape[1] }.reduce(0, +), h, w], values: values)
    }

    /// `k` tensors of shape `S` -> `[k] + S`.
    static func stack(_ xs: [DoubleTensor]) -> DoubleTensor {
        DoubleTensor(shape: [xs.count] + xs[0].shape, values: xs.flatMap(\.values))
    }

    /// Entry `index` of the leading axis.
    static func select(_ x: DoubleTensor, _ index: Int) -> DoubleTensor {
        let shape = Array(x.shape.dropFirst())
        let size = shape.reduce(1, *)
        return DoubleTensor(shape: shape, values: Array(x.values[(index * size)..<((index + 1) * size)]))
    }

    static func softmax(_ x: DoubleTensor, axis: Int) -> DoubleTensor {
        let outer = x.shape[..<axis].reduce(1, *), extent = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        var out = x
        for o in 0..<outer {
            for i in 0..<inner {
                let indices = (0..<extent).map { (o * extent + $0) * inner + i }
                let largest = indices.map { x.values[$0] }.max()!
                let total = indices.map { exp(x.values[$0] - largest) }.reduce(0, +)
                for at in indices { out.values[at] = exp(x.values[at] - largest) / total }
            }
        }
        return out
    }

    static func reshape(_ x: DoubleTensor, _ shape: [Int]) -> DoubleTensor {
        DoubleTensor(shape: shape, values: x.values)
    }

    /// PyTorch's `F.cross_entropy(logits, labels, label_smoothing: ε)` with mean reduction: the target
    /// is `(1 - ε) one_hot + ε / K`.
    static func crossEntropy(_ logits: DoubleTensor, labels: [Int], labelSmoothing epsilon: Double) -> Double {
        let (n, k) = (logits.shape[0], logits.shape[1])
        var loss = 0.0
        for b in 0..<n {
            let row = Array(logits.values[(b * k)..<((b + 1) * k)])
            let largest = row.max()!
            let logTotal = log(row.map { exp($0 - largest) }.reduce(0, +)) + largest
            for j in 0..<k {
                let target = (j == labels[b] ? 1 - epsilon : 0) + epsilon / Double(k)
                loss -= target * (row[j] - logTotal)
            }
        }
        return loss / Double(n)
    }

    /// SPConv's fusion by the authors' definition: softmax over the stacked global means of the
    /// two maps, then the weighted sum.
    static func spconvFusion(_ representative: DoubleTensor, _ redundant: DoubleTensor) -> DoubleTensor {
        let weights = softmax(stack([globalAveragePool(representative), globalAveragePool(redundant)]), axis: 0)
        return add(scalePlanes(representative, by: select(weights, 0)), scalePlanes(redundant, by: select(weights, 1)))
    }
}

// MARK: - The graph in float64

extension Graph {
    /// Runs the graph in training mode on the float64 twins of its ops (batch norm with the
    /// batch's statistics, as the tape does): the reference of the layer-level gradient checks.
    /// Layers are not written again here; their graph (`Layer.build`) is the one the engine uses.
    ///
    /// - Parameter parameters: the trainable tensors by the graph's `state_dict` keys (running
    ///   statistics are not read).
    func runFloat64(_ input: DoubleTensor, parameters: [String: DoubleTensor]) -> DoubleTensor {
        var values: [DoubleTensor?] = Array(repeating: nil, count: nodes.count + 1)
        values[0] = input
        for node in nodes {
            func parameter(_ position: Int) -> DoubleTensor {
                guard let tensor = parameters[node.parameters[position]] else {
                    preconditionFailure("node \(node.module) needs \(node.parameters[position]), which the parameters lack")
                }
                return tensor
            }
            let x = values[node.inputs[0].id]!
            let result: DoubleTensor
            switch node.op {
            case .conv2d(let geometry, _):
                precondition(geometry.dilation == 1, "the float64 convolution has no dilation; got \(geometry)")
                result = Float64Reference.conv2d(x, weight: parameter(0), bias: node.parameters.count > 1 ? parameter(1) : nil,
                                                 stride: geometry.stride, padding: geometry.padding, groups: geometry.groups)
            case .batchNorm(let epsilon):
                result = Float64Reference.batchNorm(x, weight: parameter(0), bias: parameter(1), epsilon: Double(epsilon))
            case .relu:
                result = Float64Reference.relu(x)
            case .add:
                result = Float64Reference.add(x, values[node.inputs[1].id]!)
            case .sliceChannels(let range):
                result = Float64Reference.sliceChannels(x, range)
            case .maxPool(let kernelSize, let stride, let padding):
                result = Float64Reference.pool(x, isMax: true, kernelSize: kernelSize, stride: stride, padding: padding)
            case .avgPool(let kernelSize, let stride, let padding):
                result = Float64Reference.pool(x, isMax: false, kernelSize: kernelSize, stride: stride, padding: padding)
            case .globalAveragePool:
                result = Float64Reference.reshape(Float64Reference.globalAveragePool(x), [x.shape[0], x.shape[1], 1, 1])
            case .linear:
                let flat = Float64Reference.reshape(x, [x.shape[0], x.values.count / x.shape[0]])
                result = Float64Reference.linear(flat, weight: parameter(0), bias: parameter(1))
            case .spconvFusion:
                result = Float64Reference.spconvFusion(x, values[node.inputs[1].id]!)
            }
            values[node.output.id] = result
        }
        return values[output.id]!
    }
}

// MARK: - Finite differences

/// The gradient of `f` at `x` by central differences, `(f(x + h e_i) - f(x - h e_i)) / 2h`, in float64.
///
/// With `h = 1e-6` the truncation error (`~h² f'''`) and the rounding error (`~1e-16 |f| / h`) are
/// both far below the float32 noise of the gradients this is compared with.
func numericGradient(of f: ([Double]) -> Double, at x: [Double], step h: Double = 1e-6) -> [Double] {
    var point = x
    return (0..<x.count).map { i in
        point[i] = x[i] + h
        let above = f(point)
        point[i] = x[i] - h
        let below = f(point)
        point[i] = x[i]
        return (above - below) / (2 * h)
    }
}

/// Checks float32 values against float64 ones element by element:
/// `|actual - expected| <= 2e-3 * max|expected| + 1e-4`.
///
/// The analytic gradients come from the engine in float32 (oneDNN, BLAS, float accumulators), so
/// they carry relative errors of about 1e-6 to 1e-5 of the largest gradient, amplified a little by
/// batch norm and softmax; the numeric ones are float64 central differences, exact to ~1e-9. A
/// tolerance relative to the largest element (not each element) lets tiny entries that are sums of
/// cancelling terms through; 2e-3 still catches any wrong term, a missing factor or a mis-routed
/// index, which change gradients by O(1) of their scale.
func expectGradientMatches(_ actual: Tensor?, _ expected: [Double], _ what: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        #expect(expected.allSatisfy { $0 == 0 }, "\(what): no gradient recorded", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let scale = expected.map(abs).max() ?? 0
    let tolerance = 2e-3 * scale + 1e-4
    let values = actual.rowMajor().scalars
    var worst: (index: Int, error: Double) = (-1, 0)
    for (i, (a, e)) in zip(values, expected).enumerated() {
        let error = abs(Double(a) - e)
        if !(error <= tolerance) && (worst.index < 0 || error > worst.error || error.isNaN) { worst = (i, error) }
    }
    if worst.index >= 0 {
        Issue.record("\(what): element \(worst.index) is \(values[worst.index]), expected \(expected[worst.index]) (error \(worst.error) > tolerance \(tolerance))",
                     sourceLocation: sourceLocation)
    }
}

/// One op or module checked against its float64 twin.
///
/// Runs `forward` on a tape with `inputs` as constants, back-propagates a random upstream gradient
/// `g` and compares the gradient of every input and of every parameter of `module` (found by
/// `ParameterKey`, named by `state_dict` path) with the finite differences of
/// `L = Σ g * reference(inputs, parameters)`. It also compares the forward values.
struct GradientCheck {
    var inputs: [Tensor]
    var module: (any Layer)?
    var forward: (Tape, [Variable]) throws -> Variable
    var reference: (_ inputs: [DoubleTensor], _ parameters: [String: DoubleTensor]) -> DoubleTensor

    init(inputs: [Tensor], module: (any Layer)? = nil, forward: @escaping (Tape, [Variable]) throws -> Variable,
         reference: @escaping (_ inputs: [DoubleTensor], _ parameters: [String: DoubleTensor]) -> DoubleTensor) {
        self.inputs = inputs
        self.module = module
        self.forward = forward
        self.reference = reference
    }

    /// - Returns: the tape, for checks of its side effects.
    @discardableResult
    func run(seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws -> Tape {
        var parameters: [(name: String, key: ParameterKey, value: Tensor)] = []
        for (path, owner) in module?.namedModules() ?? [] {
            owner.visitOwnTensors { local, role, tensor in
                guard role == .parameter else { return }
                parameters.append((path.isEmpty ? local : path + "." + local, ParameterKey(owner, local), tensor))
            }
        }
        let inputs64 = inputs.map(DoubleTensor.init)
        let parameters64 = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, DoubleTensor($0.value)) })

        let tape = Tape()
        let variables = inputs.map { tape.constant($0) }
        let output = try forward(tape, variables)
        let value = tape.value(output)
        let expected = reference(inputs64, parameters64)
        #expect(value.shape == expected.shape, "forward shape", sourceLocation: sourceLocation)
        expectGradientMatches(value, expected.values, "forward value", sourceLocation: sourceLocation)

        var generator = SeededGenerator(seed: seed)
        let upstream = Tensor.gaussian(value.shape, generator: &generator)
        let g = upstream.scalars.map(Double.init)
        let gradients = try tape.backward(from: output, seed: upstream)
        func loss(_ inputs: [DoubleTensor], _ parameters: [String: DoubleTensor]) -> Double {
            zip(g, reference(inputs, parameters).values).reduce(0) { $0 + $1.0 * $1.1 }
        }

        for (i, input) in inputs64.enumerated() {
            let numeric = numericGradient(of: { values in
                var perturbed = inputs64
                perturbed[i].values = values
                return loss(perturbed, parameters64)
            }, at: input.values)
            expectGradientMatches(gradients[variables[i]], numeric, "input \(i)", sourceLocation: sourceLocation)
        }
        for parameter in parameters {
            let numeric = numericGradient(of: { values in
                var perturbed = parameters64
                perturbed[parameter.name]!.values = values
                return loss(inputs64, perturbed)
            }, at: parameters64[parameter.name]!.values)
            expectGradientMatches(tape.parameterGradients[parameter.key], numeric, parameter.name, sourceLocation: sourceLocation)
        }
        #expect(tape.parameterGradients.count == parameters.count, "parameter gradients", sourceLocation: sourceLocation)
        return tape
    }
}

// MARK: - Inputs

extension Tensor {
    /// Normal values with every `|x| >= margin`: away from ReLU's kink by far more than the step `h`.
    static func gaussianAwayFromZero(_ shape: [Int], margin: Float = 0.05, generator: inout SeededGenerator) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in
            var value = generator.nextGaussian()
            while abs(value) < margin { value = generator.nextGaussian() }
            return value
        })
    }

    /// Distinct values `spacing` apart in random order, so no max-pool window has a near tie.
    static func distinctShuffled(_ shape: [Int], spacing: Float = 0.05, generator: inout SeededGenerator) -> Tensor {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { (Float($0) - Float(count) / 2) * spacing }
        return Tensor(shape: shape, scalars: values.shuffled(using: &generator))
    }
}

/// Gives every parameter of `module` random values: convolution and linear weights normal with
/// standard deviation 0.5, biases uniform in ±0.5, batch-norm weights uniform in 0.3...1.2 (not 1,
/// so that a missing or misplaced `γ` shows).
func randomizeParameters(of module: any Layer, generator: inout SeededGenerator) {
    for (_, owner) in module.namedModules() {
        let isBatchNorm = owner is BatchNorm2D
        owner.visitOwnTensors { local, role, tensor in
            guard role == .parameter else { return }
            switch (isBatchNorm, local) {
            case (true, "weight"): tensor = .uniform(tensor.shape, in: 0.3...1.2, generator: &generator)
            case (_, "bias"): tensor = .uniform(tensor.shape, in: -0.5...0.5, generator: &generator)
            default: tensor = .gaussian(tensor.shape, standardDeviation: 0.5, generator: &generator)
            }
        }
    }
}

// MARK: - Tests

/// The backward of every tape op, and of whole SPConv layers and BasicBlocks, against central
/// finite differences of independent float64 forwards on small shapes (tolerance: see
/// `expectGradientMatches`).
@Suite struct GradientCheckTests {
    struct ConvCase: CustomTestStringConvertible, Sendable {
        var batch: Int, inputChannels: Int, outputChannels: Int, height: Int, width: Int
        var kernelSize: Int, stride: Int, padding: Int, groups: Int, bias: Bool
        var testDescription: String {
            "N\(batch) \(inputChannels)->\(outputChannels) \(height)x\(width) k\(kernelSize) s\(stride) p\(padding) g\(groups)\(bias ? " bias" : "")"
        }
    }

    static let convCases = [
        ConvCase(batch: 2, inputChannels: 3, outputChannels: 4, height: 5, width: 5, kernelSize: 3, stride: 1, padding: 1, groups: 1, bias: false),
        ConvCase(batch: 2, inputChannels: 4, outputChannels: 4, height: 6, width: 6, kernelSize: 3, stride: 2, padding: 1, groups: 2, bias: true),
        ConvCase(batch: 1, inputChannels: 3, outputChannels: 2, height: 4, width: 4, kernelSize: 1, stride: 1, padding: 0, groups: 1, bias: true),
        ConvCase(batch: 1, inputChannels: 2, outputChannels: 3, height: 5, width: 7, kernelSize: 3, stride: 1, padding: 1, groups: 1, bias: true),
        ConvCase(batch: 2, inputChannels: 2, outputChannels: 4, height: 5, width: 7, kernelSize: 3, stride: 2, padding: 1, groups: 2, bias: false),
        ConvCase(batch: 1, inputChannels: 4, outputChannels: 4, height: 6, width: 6, kernelSize: 1, stride: 2, padding: 0, groups: 1, bias: false),
    ]

    @Test(arguments: convCases)
    func conv2d(_ c: ConvCase) throws {
        var generator = SeededGenerator(seed: 1)
        let layer = Conv2D(inputChannels: c.inputChannels, outputChannels: c.outputChannels, kernelSize: c.kernelSize,
                           stride: c.stride, padding: c.padding, groups: c.groups, bias: c.bias)
        randomizeParameters(of: layer, generator: &generator)
        let x = Tensor.gaussian([c.batch, c.inputChannels, c.height, c.width], generator: &generator)
        try GradientCheck(inputs: [x], module: layer, forward: { tape, v in try tape.conv2d(v[0], layer) }) { x, p in
            Float64Reference.conv2d(x[0], weight: p["weight"]!, bias: p["bias"], stride: c.stride, padding: c.padding, groups: c.groups)
        }.run(seed: 2)
    }

    /// One layer applied twice: `Tape.accumulate` must add the two weight and bias gradients.
    @Test func conv2dSharedWeights() throws {
        var generator = SeededGenerator(seed: 43)
        let layer = Conv2D(inputChannels: 3, outputChannels: 3, kernelSize: 3, stride: 1, padding: 1, bias: true)
        randomizeParameters(of: layer, generator: &generator)
        let x = Tensor.gaussian([1, 3, 4, 5], generator: &generator)
        try GradientCheck(inputs: [x], module: layer, forward: { tape, v in try tape.conv2d(try tape.conv2d(v[0], layer), layer) }) { x, p in
            let once = Float64Reference.conv2d(x[0], weight: p["weight"]!, bias: p["bias"], stride: 1, padding: 1, groups: 1)
            return Float64Reference.conv2d(once, weight: p["weight"]!, bias: p["bias"], stride: 1, padding: 1, groups: 1)
        }.run(seed: 44)
    }

    struct BatchNormCase: CustomTestStringConvertible, Sendable {
        var shape: [Int], spread: Float
        var testDescription: String { "\(shape) spread \(spread)" }
    }

    /// The last case has a batch variance near `eps` (`1e-4` against `1e-5`), so a wrong epsilon shows.
    @Test(arguments: [BatchNormCase(shape: [2, 3, 3, 3], spread: 1.5), BatchNormCase(shape: [1, 2, 4, 5], spread: 1.5),
                      BatchNormCase(shape: [2, 4, 1, 2], spread: 1.5), BatchNormCase(shape: [2, 3, 2, 2], spread: 0.01)])
    func batchNorm(_ c: BatchNormCase) throws {
        let shape = c.shape
        var generator = SeededGenerator(seed: 3)
        let layer = BatchNorm2D(channels: shape[1])
        randomizeParameters(of: layer, generator: &generator)
        let initialMean = Tensor.uniform([shape[1]], generator: &generator)
        let initialVariance = Tensor.uniform([shape[1]], in: 0.5...2, generator: &generator)
        layer.runningMean = initialMean
        layer.runningVariance = initialVariance
        // Shifted and scaled so the statistics are far from the running ones.
        let x = Tensor(shape: shape, scalars: Tensor.gaussian(shape, generator: &generator).scalars.map { c.spread * $0 + 0.7 })
        try GradientCheck(inputs: [x], module: layer, forward: { tape, v in try tape.batchNorm(v[0], layer) }) { x, p in
            Float64Reference.batchNorm(x[0], weight: p["weight"]!, bias: p["bias"]!)
        }.run(seed: 4)

        // One forward moved the running statistics once, by PyTorch's rule.
        let (mean, variance) = Float64Reference.batchStatistics(DoubleTensor(x))
        let count = Double(shape[0] * shape[2] * shape[3])
        let expectedMean = (0..<shape[1]).map { 0.9 * Double(initialMean.scalars[$0]) + 0.1 * mean[$0] }
        let expectedVariance = (0..<shape[1]).map { 0.9 * Double(initialVariance.scalars[$0]) + 0.1 * variance[$0] * count / (count - 1) }
        expectGradientMatches(layer.runningMean, expectedMean, "running_mean")
        expectGradientMatches(layer.runningVariance, expectedVariance, "running_var")
    }

    @Test func relu() throws {
        var generator = SeededGenerator(seed: 5)
        let x = Tensor.gaussianAwayFromZero([2, 3, 3, 4], generator: &generator)
        try GradientCheck(inputs: [x], forward: { tape, v in tape.relu(v[0]) }) { x, _ in
            Float64Reference.relu(x[0])
        }.run(seed: 6)
    }

    @Test func addRelu() throws {
        var generator = SeededGenerator(seed: 7)
        let a = Tensor.gaussian([2, 3, 3, 4], generator: &generator)
        var b = Tensor.gaussian([2, 3, 3, 4], generator: &generator).scalars
        for i in b.indices { while abs(a.scalars[i] + b[i]) < 0.05 { b[i] = generator.nextGaussian() } }
        try GradientCheck(inputs: [a, Tensor(shape: a.shape, scalars: b)], forward: { tape, v in tape.addRelu(v[0], v[1]) }) { x, _ in
            Float64Reference.relu(Float64Reference.add(x[0], x[1]))
        }.run(seed: 8)
    }

    @Test func add() throws {
        var generator = SeededGenerator(seed: 9)
        let a = Tensor.gaussian([2, 3, 2, 3], generator: &generator), b = Tensor.gaussian([2, 3, 2, 3], generator: &generator)
        try GradientCheck(inputs: [a, b], forward: { tape, v in tape.add(v[0], v[1]) }) { x, _ in
            Float64Reference.add(x[0], x[1])
        }.run(seed: 10)
    }

    @Test func scalePlanes() throws {
        var generator = SeededGenerator(seed: 11)
        let x = Tensor.gaussian([2, 3, 3, 2], generator: &generator), factors = Tensor.gaussian([2, 3], generator: &generator)
        try GradientCheck(inputs: [x, factors], forward: { tape, v in tape.scalePlanes(v[0], by: v[1]) }) { x, _ in
            Float64Reference.scalePlanes(x[0], by: x[1])
        }.run(seed: 12)
    }

    /// A value read by two ops: the tape must add both gradients (`x * mean(x)` per plane).
    @Test func reusedValueAccumulatesGradients() throws {
        var generator = SeededGenerator(seed: 13)
        let x = Tensor.gaussian([2, 2, 3, 3], generator: &generator)
        try GradientCheck(inputs: [x], forward: { tape, v in tape.scalePlanes(v[0], by: tape.globalAveragePool(v[0])) }) { x, _ in
            Float64Reference.scalePlanes(x[0], by: Float64Reference.globalAveragePool(x[0]))
        }.run(seed: 14)
    }

    struct PoolCase: CustomTestStringConvertible, Sendable {
        var isMax: Bool, shape: [Int], kernelSize: Int, stride: Int, padding: Int
        var testDescription: String { "\(isMax ? "max" : "avg") \(shape) k\(kernelSize) s\(stride) p\(padding)" }
    }

    static let poolCases = [
        PoolCase(isMax: true, shape: [2, 2, 4, 6], kernelSize: 2, stride: 2, padding: 0),
        PoolCase(isMax: true, shape: [1, 2, 5, 5], kernelSize: 2, stride: 2, padding: 0),
        PoolCase(isMax: true, shape: [2, 2, 5, 5], kernelSize: 3, stride: 2, padding: 1),
        PoolCase(isMax: true, shape: [1, 3, 6, 7], kernelSize: 3, stride: 2, padding: 1),
        PoolCase(isMax: false, shape: [2, 2, 4, 4], kernelSize: 2, stride: 2, padding: 0),
        PoolCase(isMax: false, shape: [1, 2, 5, 7], kernelSize: 2, stride: 2, padding: 0),
        PoolCase(isMax: false, shape: [2, 2, 5, 5], kernelSize: 3, stride: 2, padding: 1),
    ]

    @Test(arguments: poolCases)
    func pool(_ c: PoolCase) throws {
        var generator = SeededGenerator(seed: 15)
        let x = c.isMax ? Tensor.distinctShuffled(c.shape, generator: &generator) : Tensor.gaussian(c.shape, generator: &generator)
        try GradientCheck(inputs: [x], forward: { tape, v in
            try tape.pool(v[0], kind: c.isMax ? .max : .average, kernelSize: c.kernelSize, stride: c.stride, padding: c.padding)
        }) { x, _ in
            Float64Reference.pool(x[0], isMax: c.isMax, kernelSize: c.kernelSize, stride: c.stride, padding: c.padding)
        }.run(seed: 16)
    }

    @Test func globalAveragePool() throws {
        var generator = SeededGenerator(seed: 17)
        let x = Tensor.gaussian([2, 3, 3, 5], generator: &generator)
        try GradientCheck(inputs: [x], forward: { tape, v in tape.globalAveragePool(v[0]) }) { x, _ in
            Float64Reference.globalAveragePool(x[0])
        }.run(seed: 18)
    }

    @Test func linear() throws {
        var generator = SeededGenerator(seed: 19)
        let layer = Linear(inputFeatures: 5, outputFeatures: 4)
        randomizeParameters(of: layer, generator: &generator)
        let x = Tensor.gaussian([3, 5], generator: &generator)
        try GradientCheck(inputs: [x], module: layer, forward: { tape, v in try tape.linear(v[0], layer) }) { x, p in
            Float64Reference.linear(x[0], weight: p["weight"]!, bias: p["bias"]!)
        }.run(seed: 20)
    }

    /// `Linear.trainingForward` flattens `[N, C, H, W]` through the tape's `reshape`.
    @Test func linearOnFeatureMaps() throws {
        var generator = SeededGenerator(seed: 21)
        let layer = Linear(inputFeatures: 12, outputFeatures: 3)
        randomizeParameters(of: layer, generator: &generator)
        let x = Tensor.gaussian([2, 3, 2, 2], generator: &generator)
        try GradientCheck(inputs: [x], module: layer, forward: { tape, v in try layer.trainingForward(v[0], tape: tape) }) { x, p in
            Float64Reference.linear(Float64Reference.reshape(x[0], [2, 12]), weight: p["weight"]!, bias: p["bias"]!)
        }.run(seed: 22)
    }

    @Test func sliceChannels() throws {
        var generator = SeededGenerator(seed: 23)
        let x = Tensor.gaussian([2, 4, 2, 3], generator: &generator)
        try GradientCheck(inputs: [x], forward: { tape, v in tape.sliceChannels(v[0], 1..<3) }) { x, _ in
            Float64Reference.sliceChannels(x[0], 1..<3)
        }.run(seed: 24)
    }

    @Test func concatChannels() throws {
        var generator = SeededGenerator(seed: 25)
        let xs = [1, 2, 3].map { Tensor.gaussian([2, $0, 2, 3], generator: &generator) }
        try GradientCheck(inputs: xs, forward: { tape, v in tape.concatChannels(v) }) { x, _ in
            Float64Reference.concatChannels(x)
        }.run(seed: 26)
    }

    @Test func stack() throws {
        var generator = SeededGenerator(seed: 27)
        let xs = (0..<3).map { _ in Tensor.gaussian([2, 3], generator: &generator) }
        try GradientCheck(inputs: xs, forward: { tape, v in tape.stack(v) }) { x, _ in
            Float64Reference.stack(x)
        }.run(seed: 28)
    }

    @Test(arguments: [0, 1, 2])
    func select(_ index: Int) throws {
        var generator = SeededGenerator(seed: 29)
        let x = Tensor.gaussian([3, 2, 2, 2], generator: &generator)
        try GradientCheck(inputs: [x], forward: { tape, v in tape.select(v[0], index) }) { x, _ in
            Float64Reference.select(x[0], index)
        }.run(seed: 30)
    }

    /// Stack then select both entries and add them back: gradients split, route and accumulate.
    @Test func stackThenSelect() throws {
        var generator = SeededGenerator(seed: 31)
        let a = Tensor.gaussian([2, 3, 2, 2], generator: &generator), b = Tensor.gaussian([2, 3, 2, 2], generator: &generator)
        try GradientCheck(inputs: [a, b], forward: { tape, v in
            let s = tape.stack([v[0], v[1]])
            return tape.scalePlanes(tape.select(s, 1), by: tape.globalAveragePool(tape.select(s, 0)))
        }) { x, _ in
            let s = Float64Reference.stack([x[0], x[1]])
            return Float64Reference.scalePlanes(Float64Reference.select(s, 1),
                                                by: Float64Reference.globalAveragePool(Float64Reference.select(s, 0)))
        }.run(seed: 32)
    }

    struct SoftmaxCase: CustomTestStringConvertible, Sendable {
        var shape: [Int], axis: Int
        var testDescription: String { "\(shape) axis \(axis)" }
    }

    @Test(arguments: [SoftmaxCase(shape: [2, 2, 3], axis: 0), SoftmaxCase(shape: [3, 4], axis: 1),
                      SoftmaxCase(shape: [2, 3, 4], axis: 1), SoftmaxCase(shape: [2, 3, 4], axis: 2)])
    func softmax(_ c: SoftmaxCase) throws {
        var generator = SeededGenerator(seed: 33)
        let x = Tensor.gaussian(c.shape, generator: &generator)
        try GradientCheck(inputs: [x], forward: { tape, v in tape.softmax(v[0], axis: c.axis) }) { x, _ in
            Float64Reference.softmax(x[0], axis: c.axis)
        }.run(seed: 34)
    }

    @Test func reshape() throws {
        var generator = SeededGenerator(seed: 35)
        let x = Tensor.gaussian([2, 3, 2, 2], generator: &generator)
        // A softmax after the reshape makes the check see where each element went.
        try GradientCheck(inputs: [x], forward: { tape, v in tape.softmax(tape.reshape(v[0], [4, 6]), axis: 1) }) { x, _ in
            Float64Reference.softmax(Float64Reference.reshape(x[0], [4, 6]), axis: 1)
        }.run(seed: 36)
    }

    @Test(arguments: [0, 0.1] as [Float])
    func crossEntropy(_ labelSmoothing: Float) throws {
        var generator = SeededGenerator(seed: 37)
        let logits = Tensor.gaussian([4, 5], standardDeviation: 2, generator: &generator)
        let labels = [3, 0, 4, 3]
        try GradientCheck(inputs: [logits], forward: { tape, v in
            try tape.crossEntropy(v[0], labels: labels, labelSmoothing: labelSmoothing)
        }) { x, _ in
            DoubleTensor(shape: [1], values: [Float64Reference.crossEntropy(x[0], labels: labels,
                                                                            labelSmoothing: Double(labelSmoothing))])
        }.run(seed: 38)
    }

    @Test(arguments: [1, 2])
    func spconvLayer(_ stride: Int) throws {
        var generator = SeededGenerator(seed: 39)
        let configuration = SPConvConfiguration(ratio: 0.5, groups: 2)
        let layer = try SPConv(inputChannels: 4, outputChannels: 4, stride: stride, configuration: configuration, path: "t")
        randomizeParameters(of: layer, generator: &generator)
        let x = Tensor.gaussian([2, 4, 4, 4], generator: &generator)
        let graph = try GraphBuilder.build(layer: layer)
        let tape = try GradientCheck(inputs: [x], module: layer, forward: { tape, v in try layer.trainingForward(v[0], tape: tape) }) { x, p in
            graph.runFloat64(x[0], parameters: p)
        }.run(seed: 40)
        #expect(tape.parameterGradients.count == 8)
    }

    struct BlockCase: CustomTestStringConvertible, Sendable {
        var variant: ModelVariant, inputChannels: Int, outputChannels: Int, stride: Int
        var testDescription: String { "\(variant.name) \(inputChannels)->\(outputChannels) s\(stride)" }
    }

    /// A whole residual block, with ReLUs inside: the random data keep every pre-activation well
    /// away from zero for these seeds (a kink within `h` would show as a single-element mismatch).
    @Test(arguments: [BlockCase(variant: .vanilla, inputChannels: 2, outputChannels: 4, stride: 2),
                      BlockCase(variant: .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), inputChannels: 4, outputChannels: 4, stride: 1)])
    func basicBlock(_ c: BlockCase) throws {
        var generator = SeededGenerator(seed: 41)
        let block = try BasicBlock(variant: c.variant, inputChannels: c.inputChannels, outputChannels: c.outputChannels,
                                   stride: c.stride, path: "b")
        randomizeParameters(of: block, generator: &generator)
        let x = Tensor.gaussian([2, c.inputChannels, 4, 4], generator: &generator)
        let graph = try GraphBuilder.build(layer: block)
        try GradientCheck(inputs: [x], module: block, forward: { tape, v in try block.trainingForward(v[0], tape: tape) }) { x, p in
            graph.runFloat64(x[0], parameters: p)
        }.run(seed: 42)
    }
}

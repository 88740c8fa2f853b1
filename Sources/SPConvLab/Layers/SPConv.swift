import SPConvCore
import SPConvKernels

/// The split ratio and group count of an SPConv layer.
public struct SPConvConfiguration: Hashable, Sendable, Codable {
    /// Fraction of input channels in the representative part; `c_rep = floor(C_in * ratio)`.
    public var ratio: Double
    /// Groups of the representative branch's 3x3 group-wise convolution (the paper fixes 2).
    public var groups: Int

    public init(ratio: Double = 0.5, groups: Int = 2) {
        self.ratio = ratio
        self.groups = groups
    }

    /// Representative channels for `inputChannels`, floored exactly as Python's `int(C * ratio)`.
    public func representativeChannels(of inputChannels: Int) -> Int {
        Int((Double(inputChannels) * ratio).rounded(.down))
    }
}

/// SPConv (Zhang et al., "Split to Be Slim", IJCAI 2020), the drop-in replacement of a 3x3 conv.
///
/// Input `[N, C_in, H, W]` -> output `[N, C_out, H/s, W/s]`. The first `c_rep = floor(C_in * ratio)`
/// channels go through a group-wise 3x3 conv (`gwc`, stride s, padding 1, `groups`) plus a
/// point-wise 1x1 conv (`pwc`, reading `AvgPool2d(2, 2)` of them when s = 2), then `bn1`; the other
/// channels through `AvgPool2d(2, 2)` when s = 2, a 1x1 conv with bias (`conv1x1`) and `bn2`.
/// The two are merged per sample and channel with weights `softmax(GAP(U_rep), GAP(U_red))`.
///
/// On the fast backend BN is folded into the convolutions; `pwc` accumulates into `gwc`'s output or
/// sits inside one merged dense 3x3 conv with it; at stride 2 one pooling of the whole input feeds
/// both 1x1s; and the fusion, plus any epilogue the enclosing block asks for, is one sweep over the
/// output.
public final class SPConv: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let stride: Int
    public let configuration: SPConvConfiguration
    public let representativeChannels: Int
    public var redundantChannels: Int { inputChannels - representativeChannels }

    public let gwc: Conv2D
    public let pwc: Conv2D
    public let conv1x1: Conv2D
    public let bn1: BatchNorm2D
    public let bn2: BatchNorm2D
    private var fused: FusedSPConv?
    private let fusedLock = CacheLock()

    public var typeName: String { "SPConv" }

    /// Builds the layer, refusing configurations that cannot work.
    ///
    /// - Parameter path: the module's dotted path, named in errors.
    /// - Throws: `SPConvLabError.invalidConfiguration` naming the layer, the numbers, and the
    ///   nearest ratios or group counts that would work.
    public init(inputChannels: Int, outputChannels: Int, stride: Int, configuration: SPConvConfiguration,
                path: String) throws {
        try SPConv.validate(inputChannels: inputChannels, outputChannels: outputChannels,
                            configuration: configuration, path: path)
        let rep = configuration.representativeChannels(of: inputChannels)
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.stride = stride
        self.configuration = configuration
        self.representativeChannels = rep
        gwc = Conv2D(inputChannels: rep, outputChannels: outputChannels, kernelSize: 3, stride: stride, padding: 1,
                     groups: configuration.groups, bias: false)
        pwc = Conv2D(inputChannels: rep, outputChannels: outputChannels, kernelSize: 1, bias: false)
        conv1x1 = Conv2D(inputChannels: inputChannels - rep, outputChannels: outputChannels, kernelSize: 1, bias: true)
        bn1 = BatchNorm2D(channels: outputChannels)
        bn2 = BatchNorm2D(channels: outputChannels)
    }

    public var children: [(name: String, layer: any Layer)] {
        [("gwc", gwc), ("pwc", pwc), ("conv1x1", conv1x1), ("bn1", bn1), ("bn2", bn2)]
    }

    static func validate(inputChannels: Int, outputChannels: Int, configuration: SPConvConfiguration, path: String) throws {
        let (ratio, groups) = (configuration.ratio, configuration.groups)
        let rep = configuration.representativeChannels(of: inputChannels)
        let red = inputChannels - rep
        let name = path.isEmpty ? "SPConv" : "SPConv layer \(path)"
        guard ratio > 0, ratio < 1, groups >= 1 else {
            throw SPConvLabError(.invalidConfiguration, "\(name): ratio \(ratio) and groups \(groups) are out of range; the ratio must lie strictly between 0 and 1 and the groups must be a positive integer.")
        }
        if rep < 1 || red < 1 || rep % groups != 0 || outputChannels % groups != 0 {
            var problems: [String] = []
            if rep < 1 { problems.append("floor(\(inputChannels) * \(ratio)) = \(rep) leaves no representative channel") }
            if red < 1 { problems.append("it leaves no redundant channel (c_rep = \(rep) of \(inputChannels))") }
            if rep >= 1 && rep % groups != 0 { problems.append("c_rep = \(rep) is not divisible by groups \(groups)") }
            if outputChannels % groups != 0 { problems.append("C_out = \(outputChannels) is not divisible by groups \(groups)") }
            let nearestRatios = nearestWorkingRatios(inputChannels: inputChannels, outputChannels: outputChannels,
                                                     ratio: ratio, groups: groups)
            let goodGroups = rep >= 1 && red >= 1
                ? nearestWorkingGroups(representative: rep, outputChannels: outputChannels, groups: groups) : []
            var hint: [String] = []
            if !nearestRatios.isEmpty { hint.append("ratios \(nearestRatios.joined(separator: " or ")) work with groups \(groups)") }
            if !goodGroups.isEmpty { hint.append("groups \(goodGroups.joined(separator: ", ")) work with ratio \(ratio)") }
            if hint.isEmpty { hint.append("no ratio works with groups \(groups) for \(inputChannels) -> \(outputChannels) channels") }
            throw SPConvLabError(.invalidConfiguration, "\(name) (\(inputChannels) -> \(outputChannels) channels, ratio \(ratio), groups \(groups)) cannot be built: \(problems.joined(separator: "; ")). Nearest that would work: \(hint.joined(separator: "; ")).")
        }
    }

    /// Up to two ratios `k / C_in` nearest to `ratio` whose split works with `groups`.
    private static func nearestWorkingRatios(inputChannels: Int, outputChannels: Int, ratio: Double, groups: Int) -> [String] {
        guard outputChannels % groups == 0 else { return [] }
        let candidates = (1..<max(inputChannels, 1)).filter { k in
            k % groups == 0 && SPConvConfiguration(ratio: Double(k) / Double(inputChannels), groups: groups)
                .representativeChannels(of: inputChannels) == k
        }
        let distance: (Int) -> Double = { abs(Double($0) / Double(inputChannels) - ratio) }
        return candidates.sorted { distance($0) < distance($1) }.prefix(2).sorted().map { "\($0)/\(inputChannels)" }
    }

    /// Up to three group counts nearest to `groups` that divide both `c_rep` and `C_out`.
    private static func nearestWorkingGroups(representative: Int, outputChannels: Int, groups: Int) -> [String] {
        let candidates = (1...representative).filter { representative % $0 == 0 && outputChannels % $0 == 0 }
        return candidates.sorted { abs($0 - groups) < abs($1 - groups) }.prefix(3).sorted().map { String($0) }
    }

    func checkSpatial(_ shape: [Int], path: String) throws {
        guard shape.count == 4, shape[1] == inputChannels else {
            throw SPConvLabError(.invalidInput, "SPConv layer \(path) expects [N, \(inputChannels), H, W]; got \(shape).")
        }
        if stride == 2 && (shape[2] % 2 != 0 || shape[3] % 2 != 0) {
            throw SPConvLabError(.invalidConfiguration, "SPConv layer \(path) has stride 2 but its input is \(shape[2])x\(shape[3]): an odd size makes the 2x2 average pool (\(shape[2] / 2)) and the strided 3x3 conv (\((shape[2] + 1) / 2)) disagree. Choose an input size that keeps this layer's input even (for the CIFAR ResNets a multiple of 4, for example 28 or 32).")
        }
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        try forward(input, context: context, epilogue: nil)
    }

    /// Runs the layer; on the fast backend, `epilogue` (the block's BN, ReLU, residual) is fused in.
    func forward(_ input: Tensor, context: ForwardContext, epilogue: FusionEpilogue?) throws -> Tensor {
        try checkSpatial(input.shape, path: context.currentPath)
        if context.backend == .fast && !context.wantsCaptureInside {
            return try fastForward(input, epilogue: epilogue)
        }
        var output = try modularForward(input.rowMajor(), context: context)
        if let epilogue { output = epilogue.apply(to: output) }
        return output
    }

    /// The module graph of the authors' `SPConv_3x3.forward`, step by step.
    private func modularForward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        let reference = context.backend == .reference
        func slice(_ x: Tensor, _ range: Range<Int>) -> Tensor {
            reference ? ReferenceOps.sliceChannels(x, range) : Ops.sliceChannels(x, range)
        }
        func pool(_ x: Tensor) -> Tensor {
            reference ? ReferenceOps.avgPool2d(x, kernelSize: 2, stride: 2) : Ops.avgPool2d(x, kernelSize: 2, stride: 2)
        }
        var xRep = slice(input, 0..<representativeChannels)
        var xRed = slice(input, representativeChannels..<inputChannels)
        let gwcOut = try context.call(gwc, "gwc", xRep)
        if stride == 2 { xRep = pool(xRep) }
        let pwcOut = try context.call(pwc, "pwc", xRep)
        let uRep = try context.call(bn1, "bn1", reference ? ReferenceOps.add(gwcOut, pwcOut) : Ops.add(gwcOut, pwcOut))
        if stride == 2 { xRed = pool(xRed) }
        let uRed = try context.call(bn2, "bn2", try context.call(conv1x1, "conv1x1", xRed))
        if !reference { return ElementwiseKernels.softmaxFusion(representative: uRep, redundant: uRed) }
        // Reference: stack the two pooled means on a trailing axis, softmax, weight and sum (the graph's op).
        return Graph.referenceFusion(uRep, uRed)
    }

    private func fastForward(_ input: Tensor, epilogue: FusionEpilogue?) throws -> Tensor {
        let fused = try fusedLayers()
        let block = DNNL.shared.channelBlock
        let x = input.channelBlocked(block)
        // Each part is sliced straight into the layout its reader wants (oneDNN runs convs whose
        // channels are not whole blocks from a row-major source). When the split falls inside a
        // block, the redundant conv reads the whole input instead (zero weights on the
        // representative channels): the block's lanes are computed either way, and a gather is saved.
        // At stride 2 the 1x1s read one AvgPool2d(2, 2) of the whole input.
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let repLayout = try fused.merged?.preferredSourceLayout(for: [n, representativeChannels, h, w]) ?? .channelBlocked(block)
        let pooled = stride == 2 ? try fused.pool.forward(x, context: ForwardContext(backend: .fast)) : x
        let (ph, pw) = (pooled.shape[2], pooled.shape[3])
        func slice(_ t: Tensor, _ range: Range<Int>, _ layout: TensorLayout) -> Tensor {
            layout == .rowMajor ? LayoutKernels.sliceToRowMajor(t, range, block: block)
                                : LayoutKernels.sliceChannels(t, range, block: block)
        }
        let redIsWhole = fused.red.inputChannels == inputChannels
        let redLayout = redIsWhole ? x.layout : try fused.red.preferredSourceLayout(for: [n, redundantChannels, ph, pw])
        let (xRep, xRed) = OpProfiler.measure("spconv split") {
            (slice(x, 0..<representativeChannels, repLayout),
             redIsWhole ? pooled : slice(pooled, representativeChannels..<inputChannels, redLayout))
        }
        let uRep: Tensor
        if let merged = fused.merged {
            uRep = try merged.runFast(xRep)
        } else {
            let gwcOut = try fused.gwc.runFast(xRep)
            let pooledRep = stride == 1 ? xRep : OpProfiler.measure("spconv split") {
                slice(pooled, 0..<representativeChannels, .channelBlocked(block))
            }
            uRep = try fused.pwc.runFast(pooledRep, postOps: [.sum], residual: gwcOut)
        }
        let uRed = try fused.red.runFast(xRed)
        var epilogue = epilogue
        if let residual = epilogue?.residual { epilogue?.residual = residual.channelBlocked(block) }
        return OpProfiler.measure("spconv fusion + BN/residual/ReLU") {
            LayoutKernels.softmaxFusion(representative: uRep, redundant: uRed, epilogue: epilogue, block: block)
        }
    }

    /// The BN-folded convolutions, rebuilt whenever a weight of this layer changed.
    private func fusedLayers() throws -> FusedSPConv {
        try fusedLock.withLock {
            let revisions = [gwc.revision, pwc.revision, conv1x1.revision, bn1.revision, bn2.revision]
            if let fused, fused.revisions == revisions { return fused }
            let made = FusedSPConv(self, revisions: revisions)
            fused = made
            return made
        }
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        try checkSpatial(inputShape, path: context.currentPath)
        let n = inputShape[0]
        let repShape = [n, representativeChannels, inputShape[2], inputShape[3]]
        let redShape = [n, redundantChannels, inputShape[2], inputShape[3]]
        let gwcOut = try context.call(gwc, "gwc", repShape)
        var pooledRep = repShape, pooledRed = redShape
        if stride == 2 {
            pooledRep = [n, representativeChannels, inputShape[2] / 2, inputShape[3] / 2]
            pooledRed = [n, redundantChannels, inputShape[2] / 2, inputShape[3] / 2]
            context.record(type: "AvgPool2d", step: "avgpool_s2_3", outputShape: pooledRep, flops: 4 * pooledRep.dropFirst().reduce(1, *))
        }
        _ = try context.call(pwc, "pwc", pooledRep)
        let elements = gwcOut.dropFirst().reduce(1, *)
        context.record(type: "add", step: "add", outputShape: gwcOut, flops: elements)
        _ = try context.call(bn1, "bn1", gwcOut)
        if stride == 2 {
            context.record(type: "AvgPool2d", step: "avgpool_s2_1", outputShape: pooledRed, flops: 4 * pooledRed.dropFirst().reduce(1, *))
        }
        let redOut = try context.call(conv1x1, "conv1x1", pooledRed)
        _ = try context.call(bn2, "bn2", redOut)
        // Two global means (H*W each per channel), a softmax of two (5*2 - 2), and 3 per element.
        let plane = gwcOut[2] * gwcOut[3]
        context.record(type: "fusion", step: "fusion", outputShape: gwcOut,
                       flops: outputChannels * (2 * plane + 8) + 3 * elements)
        return gwcOut
    }
}

/// BN-folded copies of an SPConv layer's convolutions for the fast backend.
private struct FusedSPConv {
    let revisions: [Int]
    /// `bn1.scale * gwc`.
    let gwc: Conv2D
    /// `bn1.scale * pwc` with bias `bn1.shift` (at stride 2 it reads `pool`'s output).
    let pwc: Conv2D
    /// `bn2.scale * conv1x1` with bias `bn2.scale * b + bn2.shift` (at stride 2 reading `pool`'s output); when
    /// the split falls inside a channel block, over all the layer's input channels, with zero
    /// weights on the representative ones.
    let red: Conv2D
    /// When the group-wise conv would run dense anyway (one group, or groups that are not whole
    /// channel blocks, for which oneDNN has no JIT kernel) or Winograd makes a dense one cheaper,
    /// `gwc` and `pwc` as one dense 3x3 conv:
    /// `pwc` sits in the centre tap at stride 1, and at stride 2 (where it reads `AvgPool2d(2, 2)`)
    /// it is a quarter in each of the four taps that window covers. One conv instead of two plus a sum.
    let merged: Conv2D?
    /// `AvgPool2d(2, 2)` of the whole input, read by the 1x1s at stride 2: pooling first costs a
    /// quarter of the FLOPs of the 2x2 stride-2 conv equal to pooling then 1x1.
    let pool = Pool2D(.average, kernelSize: 2, stride: 2)

    init(_ layer: SPConv, revisions: [Int]) {
        self.revisions = revisions
        let (a1, b1) = layer.bn1.folded
        let (a2, b2) = layer.bn2.folded
        let stride = layer.stride
        gwc = Conv2D(inputChannels: layer.representativeChannels, outputChannels: layer.outputChannels, kernelSize: 3,
                     stride: stride, padding: 1, groups: layer.configuration.groups, bias: false)
        gwc.weight = scaleRows(layer.gwc.weight, by: a1)
        pwc = FusedSPConv.pointwise(layer.pwc.weight, scale: a1, bias: b1)
        let redBias = zip(zip(a2, b2), layer.conv1x1.bias!.scalars).map { ab, bias in ab.0 * bias + ab.1 }
        let (groups, block) = (layer.configuration.groups, DNNL.shared.channelBlock)
        let splitInsideBlock = layer.representativeChannels % block != 0
        red = FusedSPConv.pointwise(splitInsideBlock ? zeroPrefixed(layer.conv1x1.weight, channels: layer.representativeChannels)
                                                     : layer.conv1x1.weight,
                                    scale: a2, bias: redBias)
        let runsDense = groups == 1 || (layer.representativeChannels / groups) % block != 0
            || (layer.outputChannels / groups) % block != 0
        // Where oneDNN has Winograd (AVX-512), the merged dense 3x3 at stride 1 runs it and beats the
        // grouped direct conv plus the 1x1 (resnet56 b32 27.5 -> 26.9 ms, vgg16 b32 47 -> 41 ms,
        // resnet50 b8 267 -> 253 ms); with AVX2 only, the grouped pair is faster (resnet56 28.5 against 31 ms).
        let winogradPays = stride == 1 && ConvolutionKernel.mayUseWinograd(inputChannels: layer.representativeChannels)
        merged = runsDense || winogradPays ? FusedSPConv.mergedRepresentative(layer, scale: a1, shift: b1) : nil
    }

    /// The dense 3x3 conv equal to `bn1(gwc(x) + pwc(x or AvgPool2d(2, 2)(x)))`.
    static func mergedRepresentative(_ layer: SPConv, scale: [Float], shift: [Float]) -> Conv2D {
        let (out, rep, groups) = (layer.outputChannels, layer.representativeChannels, layer.configuration.groups)
        let (inPerGroup, outPerGroup) = (rep / groups, out / groups)
        var w = [Float](repeating: 0, count: out * rep * 9)
        let (gwc, pwc) = (layer.gwc.weight.scalars, layer.pwc.weight.scalars)
        let pointwiseTaps = layer.stride == 1 ? [(1, 1, Float(1))] : [(1, 1, Float(0.25)), (1, 2, 0.25), (2, 1, 0.25), (2, 2, 0.25)]
        for o in 0..<out {
            let group = o / outPerGroup
            for i in 0..<rep {
                let base = (o * rep + i) * 9
                if i / inPerGroup == group {
                    for t in 0..<9 { w[base + t] = gwc[(o * inPerGroup + i % inPerGroup) * 9 + t] }
                }
                for (ky, kx, share) in pointwiseTaps { w[base + ky * 3 + kx] += share * pwc[o * rep + i] }
                for t in 0..<9 { w[base + t] *= scale[o] }
            }
        }
        let conv = Conv2D(inputChannels: rep, outputChannels: out, kernelSize: 3, stride: layer.stride, padding: 1, bias: true)
        conv.weight = Tensor(shape: [out, rep, 3, 3], scalars: w)
        conv.bias = Tensor(shape: [out], scalars: shift)
        return conv
    }

    /// A 1x1 conv with rows scaled and a bias.
    static func pointwise(_ weight: Tensor, scale: [Float], bias: [Float]) -> Conv2D {
        let conv = Conv2D(inputChannels: weight.shape[1], outputChannels: weight.shape[0], kernelSize: 1, bias: true)
        conv.weight = scaleRows(weight, by: scale)
        conv.bias = Tensor(shape: [weight.shape[0]], scalars: bias)
        return conv
    }
}

/// An OIHW weight with `channels` all-zero input channels put before its own.
func zeroPrefixed(_ weight: Tensor, channels: Int) -> Tensor {
    let (o, i, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let taps = kh * kw
    var scalars = [Float](repeating: 0, count: o * (channels + i) * taps)
    for oc in 0..<o {
        let from = oc * i * taps, to = (oc * (channels + i) + channels) * taps
        scalars.replaceSubrange(to..<(to + i * taps), with: weight.scalars[from..<(from + i * taps)])
    }
    return Tensor(shape: [o, channels + i, kh, kw], scalars: scalars)
}

/// Multiplies each output-channel slice of an OIHW weight by a per-channel factor.
func scaleRows(_ weight: Tensor, by factors: [Float]) -> Tensor {
    let perRow = weight.count / weight.shape[0]
    var scalars = weight.scalars
    for o in 0..<weight.shape[0] {
        for i in (o * perRow)..<((o + 1) * perRow) { scalars[i] *= factors[o] }
    }
    return Tensor(shape: weight.shape, scalars: scalars)
}

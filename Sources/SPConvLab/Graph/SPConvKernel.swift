import SPConvCore
import SPConvKernels

/// The fast interpreter's rewrite of an SPConv module (and the batch norm, residual add and ReLU
/// after it): the ops of ``SPConv/build(_:builder:)`` as few kernel calls, for one input shape.
///
/// Both batch norms are folded into the convolutions. `pwc` accumulates into `gwc`'s output, or
/// sits inside one merged dense 3x3 conv with it. At stride 2 one pooling of the whole input
/// feeds both 1x1s. The fusion, with the epilogue, is one sweep over the output.
struct SPConvKernel {
    /// The module's parameters, with both batch norms as `(a, b)` of `a * x + b`.
    struct Weights {
        var gwc: Tensor
        var pwc: Tensor
        var conv1x1: Tensor
        var conv1x1Bias: Tensor
        var bn1: (scale: [Float], shift: [Float])
        var bn2: (scale: [Float], shift: [Float])
    }

    let inputChannels: Int
    let representativeChannels: Int
    let stride: Int
    let block: Int
    /// `bn1.scale * gwc`, run grouped (nil when `merged` is used).
    private(set) var gwc: PackedConvolution?
    /// `bn1.scale * pwc` with bias `bn1.shift`, summing into `gwc`'s output (nil when `merged` is used).
    private(set) var pwc: PackedConvolution?
    /// When the group-wise conv would run dense anyway (one group, or groups that are not whole
    /// channel blocks, for which oneDNN has no JIT kernel) or Winograd makes a dense one cheaper,
    /// `gwc` and `pwc` as one dense 3x3 conv: `pwc` sits in the centre tap at stride 1, and at
    /// stride 2 (where it reads `AvgPool2d(2, 2)`) it is a quarter in each of the four taps that
    /// window covers. One conv instead of two plus a sum.
    private(set) var merged: PackedConvolution?
    /// `bn2.scale * conv1x1` with bias `bn2.scale * b + bn2.shift`. When the split falls inside a
    /// channel block, it reads all the layer's input channels, with zero weights on the
    /// representative ones: the block's lanes are computed either way, and a gather is saved.
    private(set) var redundant_: PackedConvolution?
    let redundantReadsWholeInput: Bool
    /// `AvgPool2d(2, 2)` of the whole input at stride 2, read by both 1x1s: pooling first costs a
    /// quarter of the FLOPs of the 2x2 stride-2 conv equal to pooling then 1x1.
    private(set) var pool: PoolingKernel?
    let representativeLayout: TensorLayout
    let redundantLayout: TensorLayout
    /// Whether a ReLU follows (the batch norm after the layer is in `laneScale` and `laneShift`).
    let relu: Bool
    /// The engine's own kernels for the whole layer, where they run and pay (``usesDirectKernels``):
    /// then the oneDNN convolutions above are not made and `run` does not touch them.
    private(set) var direct: SPConvDirect?

    init(_ weights: Weights, inputShape: [Int], representativeChannels rep: Int, stride: Int, groups: Int,
         epilogue: (norm: (scale: [Float], shift: [Float])?, residual: Bool, relu: Bool)) throws {
        let (n, channels, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let out = weights.gwc.shape[0]
        let block = DNNL.shared.channelBlock
        (inputChannels, representativeChannels, self.stride, self.block) = (channels, rep, stride, block)
        relu = epilogue.relu
        let (a1, b1) = weights.bn1
        let (ph, pw) = stride == 2 ? (h / 2, w / 2) : (h, w)

        let (ho, wo) = (Conv2DGeometry(kernelSize: 3, stride: stride, padding: 1).outputExtent(h),
                        Conv2DGeometry(kernelSize: 3, stride: stride, padding: 1).outputExtent(w))
        outputShape = [n, out, ho, wo]
        let epilogueLanes = FusionEpilogue(scale: epilogue.norm?.scale, shift: epilogue.norm?.shift, relu: epilogue.relu)
        (laneScale, laneShift) = FusionLanes.make(channels: out, block: block, epilogue: epilogueLanes)
        var candidate: SPConvDirect?
        let choice = Self.directKernelChoice(inputChannels: channels, representative: rep, outputChannels: out, block: block)
        if choice != .onednn {
            // At stride 2 (even extents) with the grouped representative conv, both 1x1s read
            // AvgPool2d(2, 2) of the input, pooled first as in the module; else the redundant conv
            // is the equal 2x2 stride-2 conv and pwc four taps (four times the multiply-adds).
            let poolFirst = stride == 2 && h % 2 == 0 && w % 2 == 0 && rep % groups == 0
                && DirectConvolution.groupLanes(outputChannels: out, representative: rep, groups: groups, block: block) != nil
            let (redWeight, redBias) = Self.redundantConvolution(weights, stride: poolFirst ? 1 : stride)
            let redundant = poolFirst
                ? DirectConvolution(weight: redWeight, bias: redBias, channels: rep..<channels, inputChannels: channels, height: ph, width: pw,
                                    stride: 1, padding: 0, block: block)
                : DirectConvolution(weight: redWeight, bias: redBias, channels: rep..<channels, inputChannels: channels, height: h,
                                    width: w, stride: stride, padding: 0, block: block)
            func layer(_ representative: SPConvDirect.Representative) -> SPConvDirect {
                SPConvDirect(representative: representative, redundant: redundant, inputChannels: channels, height: h, width: w,
                             padding: 1, batch: n, threads: max(1, DNNL.maxThreads), pooled: poolFirst)
            }
            // At stride 1 the representative branch may run as the merged dense 3x3 by the own
            // Winograd, straight from the input's representative channels.
            let winogradChoice = Engine.ownWinogradChoice
            var winograd: SPConvDirect?
            let tiles = n * ((h + 3) / 4) * ((w + 3) / 4)
            if stride == 1, winogradChoice != .never, WinogradConvolution.isAvailable(block: block),
               winogradChoice == .forced || WinogradConvolution.paysOff(tiles: tiles, inputChannels: rep, outputChannels: out) {
                let (weight, bias) = Self.mergedRepresentative(weights, stride: 1, groups: groups)
                // Several images per run where the transformed weights (36 per input and output
                // channel) would not stay in cache from one image to the next, or where an image
                // has fewer than 32 tiles (each transformed weight is read once per run's tiles).
                let imageBytes = 2 * out * h * w * MemoryLayout<Float>.stride, threads = max(1, DNNL.maxThreads)
                let byWeights = SPConvDirect.imagesPerChunk(weightBytes: 36 * rep * out * MemoryLayout<Float>.stride + redundant.weightBytes,
                                                            imageBytes: imageBytes, batch: n, threads: threads)
                let byTiles = min((n + threads - 1) / threads, (32 + tiles / n - 1) / (tiles / n), max(1, (1 << 20) / imageBytes))
                let images = max(byWeights, byTiles)
                winograd = layer(.winograd(WinogradConvolution(weight: weight, bias: bias.scalars, channels: 0..<rep, inputChannels: channels,
                                                               batch: images, height: h, width: w, block: block, sum: false, relu: false,
                                                               threads: 1)))
            }
            // Otherwise a bordered copy of the representative blocks, read in grouped mode (gwc's
            // taps read only their group's channels, pwc added in the same pass), or where that
            // does not apply as the dense merged conv.
            var direct: SPConvDirect?
            if winograd == nil || winogradChoice != .forced {
                let representative = DirectConvolution(spconvRepresentative: weights.gwc, pointwise: weights.pwc, scale: a1, shift: b1,
                                                       groups: groups, stride: stride, height: h + 2, width: w + 2, block: block,
                                                       pooledPointwise: poolFirst)
                    ?? {
                        let (weight, bias) = Self.mergedRepresentative(weights, stride: stride, groups: groups)
                        return DirectConvolution(weight: weight, bias: bias, channels: 0..<rep, inputChannels: (rep + block - 1) / block * block,
                                                 height: h + 2, width: w + 2, stride: stride, padding: 0, block: block)
                    }()
                direct = layer(.direct(representative))
            }
            candidate = direct ?? winograd
            if let direct, let winograd {
                candidate = Self.winogradIsFaster(direct, winograd, inputShape: inputShape, outputShape: outputShape,
                                                      residual: epilogue.residual, relu: relu, laneScale: laneScale, laneShift: laneShift)
                    ? winograd : direct
            }
        }
        if choice == .own, let candidate {
            direct = candidate
            (pool, gwc, pwc, merged) = (nil, nil, nil, nil)
            redundant_ = nil
            (representativeLayout, redundantLayout, redundantReadsWholeInput) = (.channelBlocked(block), .channelBlocked(block), false)
            scratchShapes = [.images: ([max(1, DNNL.maxThreads), candidate.scratchPerThread], .rowMajor)]
            return
        }
        pool = stride == 2 ? try PoolingKernel(.init(inputShape: inputShape, kernelSize: 2, stride: 2, padding: 0, isMax: false)) : nil
        let runsDense = groups == 1 || (rep / groups) % block != 0 || (out / groups) % block != 0
        // Where oneDNN has Winograd (AVX-512), the merged dense 3x3 at stride 1 runs it and beats the
        // grouped direct conv plus the 1x1 (resnet56 b32 27.5 -> 26.9 ms, vgg16 b32 47 -> 41 ms,
        // resnet50 b8 267 -> 253 ms); with AVX2 only, the grouped pair is faster (resnet56 28.5 against 31 ms).
        let winogradPays = stride == 1 && ConvolutionKernel.mayUseWinograd(inputChannels: rep)
        let representativeShape = [n, rep, h, w]
        if runsDense || winogradPays {
            let (weight, bias) = Self.mergedRepresentative(weights, stride: stride, groups: groups)
            let merged = try PackedConvolution(weight: weight, bias: bias, geometry: Conv2DGeometry(kernelSize: 3, stride: stride, padding: 1),
                                               inputShape: representativeShape)
            (self.merged, gwc, pwc) = (merged, nil, nil)
            representativeLayout = merged.sourceLayout
        } else {
            merged = nil
            gwc = try PackedConvolution(weight: scaleRows(weights.gwc, by: a1), bias: nil,
                                        geometry: Conv2DGeometry(kernelSize: 3, stride: stride, padding: 1, groups: groups),
                                        inputShape: representativeShape)
            pwc = try PackedConvolution(weight: scaleRows(weights.pwc, by: a1), bias: Tensor(shape: [out], scalars: b1),
                                        geometry: Conv2DGeometry(kernelSize: 1), inputShape: [n, rep, ph, pw], postOps: [.sum])
            representativeLayout = .channelBlocked(block)
        }
        redundantReadsWholeInput = rep % block != 0
        // bn2 folded as for the own kernels; at stride 2 the pooling runs first, so the 1x1 form.
        let (folded, redundantBias) = Self.redundantConvolution(weights, stride: 1)
        let redundantWeight = redundantReadsWholeInput ? zeroPrefixed(folded, channels: rep) : folded
        let redundant = try PackedConvolution(weight: redundantWeight, bias: redundantBias,
                                              geometry: Conv2DGeometry(kernelSize: 1),
                                              inputShape: [n, redundantReadsWholeInput ? channels : channels - rep, ph, pw])
        redundant_ = redundant
        redundantLayout = redundantReadsWholeInput ? .channelBlocked(block) : redundant.sourceLayout
        var scratch: [Role: (shape: [Int], layout: TensorLayout)] = [
            .representative: (representativeShape, representativeLayout),
            .representativeOutput: (outputShape, .channelBlocked(block)),
            .redundantOutput: (outputShape, .channelBlocked(block)),
        ]
        if stride == 2 { scratch[.pooled] = ([n, channels, ph, pw], .channelBlocked(block)) }
        if !redundantReadsWholeInput { scratch[.redundant] = ([n, channels - rep, ph, pw], redundantLayout) }
        if stride == 2 && merged == nil { scratch[.pooledRepresentative] = ([n, rep, ph, pw], .channelBlocked(block)) }
        if let merged, merged.scratchCount > 0 { scratch[.winograd] = ([1, merged.scratchCount], .rowMajor) }
        scratchShapes = scratch
        if let candidate, try directIsFaster(candidate, residual: epilogue.residual) {
            direct = candidate
            scratchShapes = [.images: ([max(1, DNNL.maxThreads), candidate.scratchPerThread], .rowMajor)]
            // The oneDNN path lost: drop its packed weights and primitives.
            (pool, gwc, pwc, merged, redundant_) = (nil, nil, nil, nil, nil)
        }
    }

    /// Where the engine's own kernels (``SPConvDirect``) may run a layer of this shape: output
    /// channels whole blocks and a C build with the registers for the block. `own` and `onednn`
    /// are `SPCONVLAB_SPCONV_KERNEL` forcing either; `auto` (the default) times both.
    enum DirectChoice { case own, onednn, measure }

    static func directKernelChoice(inputChannels: Int, representative rep: Int, outputChannels out: Int, block: Int) -> DirectChoice {
        guard out % block == 0, rep > 0, rep < inputChannels, DirectConvolution.isAvailable(block: block) else { return .onednn }
        switch Engine.spconvKernelChoice {
        case .own: return .own
        case .onednn: return .onednn
        case .auto: return .measure
        }
    }

    /// Times this layer both ways on a random input of its shape (``KernelTiming``) and says
    /// whether the own kernels were faster.
    private func directIsFaster(_ candidate: SPConvDirect, residual hasResidual: Bool) throws -> Bool {
        let key = "spconv \(inputChannels) \(representativeChannels) \(outputShape) s\(stride) b\(block) residual \(hasResidual)"
        if let known = KernelTiming.known(key) { return known }
        let n = outputShape[0]
        let inputShape = [n, inputChannels, stride * outputShape[2], stride * outputShape[3]]
        var generator = SeededGenerator(seed: 1)
        let x = Tensor.gaussian(inputShape, standardDeviation: 1, generator: &generator).channelBlocked(block)
        let residual = hasResidual ? Tensor(zeroedShape: outputShape, layout: .channelBlocked(block)) : nil
        var output = Tensor(zeroedShape: outputShape, layout: .channelBlocked(block))
        var scratch: [Tensor] = [], slots = [Int](repeating: -1, count: Role.allCases.count)
        for (role, spec) in scratchShapes {
            slots[role.rawValue] = scratch.count
            scratch.append(Tensor(zeroedShape: spec.shape, layout: spec.layout))
        }
        var own = self
        own.direct = candidate
        own.scratchShapes = [.images: ([max(1, DNNL.maxThreads), candidate.scratchPerThread], .rowMajor)]
        var ownScratch = [Tensor(zeroedShape: [max(1, DNNL.maxThreads), candidate.scratchPerThread], layout: .rowMajor)]
        var ownSlots = [Int](repeating: -1, count: Role.allCases.count)
        ownSlots[Role.images.rawValue] = 0
        func oneDNNRun() throws { try run(x, residual: residual, scratch: &scratch, slots: slots, into: &output) }
        func ownRun() throws { try own.run(x, residual: residual, scratch: &ownScratch, slots: ownSlots, into: &output) }
        // The medians decide here: a layer the timing called a tie measured 5-15% slower in a whole
        // vgg16 SPConv pass on its own kernels (docs/PERFORMANCE.md, tenth session).
        return try KernelTiming.ownWins(key: key, incumbent: oneDNNRun, own: ownRun, tieToOwn: false, names: ("oneDNN", "own kernels"))
    }

    /// Runs the own kernels' layer with the fusion's lanes.
    private static func run(_ direct: SPConvDirect, _ x: Tensor, residual: Tensor?, laneScale: [Float], laneShift: [Float], relu: Bool,
                            scratch: inout Tensor, into output: inout Tensor) {
        laneScale.withUnsafeBufferPointer { sc in
            laneShift.withUnsafeBufferPointer { sh in
                let fusion = FusionLanes(scale: sc.baseAddress!, shift: sh.baseAddress!, relu: relu)
                direct.run(x, residual: residual, lanes: fusion, scratch: &scratch, into: &output)
            }
        }
    }

    /// Times the own kernels' layer with the direct representative conv and with Winograd's on a
    /// random input of its shape (``KernelTiming``), and says whether Winograd's was faster.
    private static func winogradIsFaster(_ direct: SPConvDirect, _ winograd: SPConvDirect, inputShape: [Int], outputShape: [Int],
                                         residual hasResidual: Bool, relu: Bool, laneScale: [Float], laneShift: [Float]) -> Bool {
        let key = "spconv own Winograd \(inputShape) -> \(outputShape) rep \(winograd.redundant.descriptor.c0) residual \(hasResidual)"
        if let known = KernelTiming.known(key) { return known }
        let block = direct.block
        var generator = SeededGenerator(seed: 1)
        let x = Tensor.gaussian(inputShape, standardDeviation: 1, generator: &generator).channelBlocked(block)
        let residual = hasResidual ? Tensor(zeroedShape: outputShape, layout: .channelBlocked(block)) : nil
        var output = Tensor(zeroedShape: outputShape, layout: .channelBlocked(block))
        let threads = max(1, DNNL.maxThreads)
        var scratch = Tensor(zeroedShape: [threads, max(direct.scratchPerThread, winograd.scratchPerThread)], layout: .rowMajor)
        func time(_ layer: SPConvDirect) {
            run(layer, x, residual: residual, laneScale: laneScale, laneShift: laneShift, relu: relu, scratch: &scratch, into: &output)
        }
        return KernelTiming.ownWins(key: key, incumbent: { time(direct) }, own: { time(winograd) }, tieToOwn: false,
                                    names: ("own direct", "own Winograd"))
    }

    /// The intermediate buffers of one run, by role; ``CompiledGraph`` shares them between the
    /// SPConv steps of a pass (they run one after another), keyed by role, shape and layout.
    enum Role: Int, CaseIterable {
        /// `AvgPool2d(2, 2)` of the whole input (stride 2).
        case pooled
        /// The representative channels in the layout their conv reads.
        case representative
        /// The redundant channels (when the redundant conv does not read the whole input).
        case redundant
        /// The pooled representative channels, read by `pwc` (stride 2, unmerged).
        case pooledRepresentative
        /// `bn1(gwc + pwc)`.
        case representativeOutput
        /// `bn2(conv1x1)`.
        case redundantOutput
        /// ``SPConvDirect``'s per-thread maps of one image's two branches and its bordered input.
        case images
        /// The merged representative conv's scratch, when the engine's own Winograd runs it.
        case winograd
    }

    /// The shape and layout of each role this layer uses (nil for roles it does not).
    private(set) var scratchShapes: [Role: (shape: [Int], layout: TensorLayout)]
    /// The output's shape (channel-blocked by `block`).
    let outputShape: [Int]
    /// The epilogue's per-lane scale and shift (``FusionLanes/make``), made once.
    let laneScale: [Float]
    let laneShift: [Float]

    /// Runs the layer into `output` with its intermediate maps in `scratch` (`slots[role]` is each
    /// role's index there): no allocation when the buffers are not shared.
    func run(_ input: Tensor, residual: Tensor?, scratch: inout [Tensor], slots: [Int], into output: inout Tensor) throws {
        let x = input.channelBlocked(block)
        func slot(_ role: Role) -> Int { slots[role.rawValue] }
        if let direct {
            let kind = if case .winograd = direct.representative { "own kernels, Winograd" } else { "own kernels" }
            OpProfiler.measure("spconv \(inputChannels)->\(outputShape[1]) s\(stride) \(outputShape[2])x\(outputShape[3]) (\(kind))") {
                Self.run(direct, x, residual: residual?.channelBlocked(block), laneScale: laneScale, laneShift: laneShift, relu: relu,
                         scratch: &scratch[slot(.images)], into: &output)
            }
            return
        }
        // Each part is sliced straight into the layout its reader wants (oneDNN runs convs whose
        // channels are not whole blocks from a row-major source).
        func slice(_ t: Tensor, _ range: Range<Int>, into role: Role) {
            if scratch[slot(role)].layout == .rowMajor {
                LayoutKernels.sliceToRowMajor(t, range, block: block, into: &scratch[slot(role)])
            } else {
                LayoutKernels.sliceChannels(t, range, block: block, into: &scratch[slot(role)])
            }
        }
        if let pool { try pool.run(x, into: &scratch[slot(.pooled)]) }
        let pooled = pool == nil ? x : scratch[slot(.pooled)]
        OpProfiler.measure("spconv split") {
            slice(x, 0..<representativeChannels, into: .representative)
            if !redundantReadsWholeInput { slice(pooled, representativeChannels..<inputChannels, into: .redundant) }
        }
        let xRep = scratch[slot(.representative)]
        if let merged {
            if slot(.winograd) >= 0 {
                try merged.run(xRep, in: &scratch, output: slot(.representativeOutput), scratch: slot(.winograd))
            } else {
                try merged.run(xRep, into: &scratch[slot(.representativeOutput)])
            }
        } else {
            try gwc!.run(xRep, into: &scratch[slot(.representativeOutput)])
            let pooledRep: Tensor
            if stride == 1 {
                pooledRep = xRep
            } else {
                OpProfiler.measure("spconv split") { slice(pooled, 0..<representativeChannels, into: .pooledRepresentative) }
                pooledRep = scratch[slot(.pooledRepresentative)]
            }
            // The sum post-op adds pwc into gwc's output where it lies.
            try pwc!.run(pooledRep, into: &scratch[slot(.representativeOutput)])
        }
        try redundant_!.run(redundantReadsWholeInput ? pooled : scratch[slot(.redundant)], into: &scratch[slot(.redundantOutput)])
        let (uRep, uRed) = (scratch[slot(.representativeOutput)], scratch[slot(.redundantOutput)])
        OpProfiler.measure("spconv fusion + BN/residual/ReLU") {
            LayoutKernels.softmaxFusion(representative: uRep, redundant: uRed, residual: residual?.channelBlocked(block),
                                        laneScale: laneScale, laneShift: laneShift, relu: relu, block: block, into: &output)
        }
    }

    /// The redundant branch as one conv (weight and bias) on the redundant channels: `bn2(conv1x1(x))`,
    /// and at stride 2, where it reads `AvgPool2d(2, 2)(x)`, a 2x2 stride-2 conv with a quarter of
    /// the weight in each tap.
    static func redundantConvolution(_ weights: Weights, stride: Int) -> (Tensor, Tensor) {
        let (out, k) = (weights.conv1x1.shape[0], weights.conv1x1.shape[1])
        let (scale, shift) = weights.bn2
        let taps = stride == 2 ? 4 : 1, share: Float = stride == 2 ? 0.25 : 1
        var w = [Float](repeating: 0, count: out * k * taps)
        for o in 0..<out {
            for i in 0..<k {
                for t in 0..<taps { w[(o * k + i) * taps + t] = scale[o] * (share * weights.conv1x1.scalars[o * k + i]) }
            }
        }
        let bias = (0..<out).map { scale[$0] * weights.conv1x1Bias.scalars[$0] + shift[$0] }
        let side = stride == 2 ? 2 : 1
        return (Tensor(shape: [out, k, side, side], scalars: w), Tensor(shape: [out], scalars: bias))
    }

    /// The dense 3x3 conv (weight and bias) equal to `bn1(gwc(x) + pwc(x or AvgPool2d(2, 2)(x)))`.
    static func mergedRepresentative(_ weights: Weights, stride: Int, groups: Int) -> (Tensor, Tensor) {
        let (out, rep) = (weights.gwc.shape[0], weights.pwc.shape[1])
        let (scale, shift) = weights.bn1
        let (inPerGroup, outPerGroup) = (rep / groups, out / groups)
        var w = [Float](repeating: 0, count: out * rep * 9)
        let (gwc, pwc) = (weights.gwc.scalars, weights.pwc.scalars)
        let pointwiseTaps = stride == 1 ? [(1, 1, Float(1))] : [(1, 1, Float(0.25)), (1, 2, 0.25), (2, 1, 0.25), (2, 2, 0.25)]
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
        return (Tensor(shape: [out, rep, 3, 3], scalars: w), Tensor(shape: [out], scalars: shift))
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

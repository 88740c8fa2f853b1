import SPConvCore
import SPConvKernels

/// The fast interpreter: a ``Graph`` compiled for one input shape into a list of kernel calls.
///
/// Compiling applies the inference rewrites. Each is a pattern on the graph whose result equals
/// the ops it replaces, and each is checked against ``Graph/runReference(_:weights:)`` by the twin
/// tests and `check-engine`:
/// - **BN folding**: a conv whose only reader is a batch norm becomes one conv with scaled
///   weights and a bias.
/// - **Post-ops**: a residual add and a ReLU after a conv run inside it (oneDNN's sum and eltwise
///   post-ops; the sum writes over the residual's buffer when the add is its last reader).
/// - **SPConv**: the ops an `SPConv` module writes become one fused step (``SPConvKernel``), which
///   takes the following batch norm, residual add and ReLU into its fusion pass.
/// - A batch norm or an add followed by a ReLU run as one element-wise pass.
///
/// A rewrite never hides a value the caller captures or the graph's output: one whose
/// intermediate value is captured is not applied, and that value is computed op by op. Weights
/// are folded and packed once, here; while running, each value is released after its last reader.
public final class CompiledGraph: @unchecked Sendable {
    /// The input shape the graph was compiled for.
    public let inputShape: [Int]
    private let steps: [Step]
    /// Per step, the values whose last reader it is.
    private let releases: [[Int]]
    private let valueCount: Int
    private let outputID: Int
    /// Paths captured at each value.
    private let captures: [Int: [String]]
    /// Values that must survive their readers (captured, or the output).
    private let pinned: Set<Int>
    private let lastUse: [Int]
    private let plan: MemoryPlan
    /// The buffers of the last pass, taken by the next (a concurrent pass makes its own).
    private let keptArena = LockedBox<Arena?>(nil)

    /// Compiles `graph` for inputs of `inputShape`.
    ///
    /// - Parameters:
    ///   - weights: every parameter the nodes name, by `state_dict` key.
    ///   - paths: module outputs the caller wants back from ``run(_:)``.
    /// - Throws: ``SPConvLabError`` when an op cannot run on its input (from ``Graph/trace(inputShape:weights:)``),
    ///   a parameter is missing, or oneDNN refuses a kernel.
    public init(_ graph: Graph, weights: [String: Tensor], inputShape: [Int], capturing paths: Set<String> = []) throws {
        let shapes = try graph.trace(inputShape: inputShape, weights: weights).shapes
        var captures: [Int: [String]] = [:]
        for (path, value) in graph.captureValues(paths) { captures[value.id, default: []].append(path) }
        let pinned = Set(captures.keys).union([graph.output.id])
        var compiler = Compiler(graph: graph, weights: weights, shapes: shapes, pinned: pinned)
        let steps = try compiler.compile()
        var lastUse = [Int](repeating: -1, count: graph.nodes.count + 1)
        for (index, step) in steps.enumerated() { for id in step.reads { lastUse[id] = index } }
        var releases = [[Int]](repeating: [], count: steps.count)
        for (id, index) in lastUse.enumerated() where index >= 0 && !pinned.contains(id) { releases[index].append(id) }
        (self.inputShape, self.steps, self.releases, self.valueCount) = (inputShape, steps, releases, graph.nodes.count + 1)
        (self.outputID, self.captures, self.pinned, self.lastUse) = (graph.output.id, captures, pinned, lastUse)
        plan = MemoryPlan(steps: steps, shapes: shapes, valueCount: graph.nodes.count + 1, lastUse: lastUse, pinned: pinned)
    }

    /// Runs the compiled graph.
    ///
    /// The values of planned steps (convolutions, SPConv layers, pools, the global pool and the
    /// classifier) are written into the buffers of ``MemoryPlan``, kept from pass to pass, so a
    /// pass without captures allocates no feature map. Values of the other steps (ops left unfused
    /// by a capture) are allocated and released after their last reader.
    ///
    /// - Parameter input: `[N, C, H, W]` of the compiled shape, in any layout.
    /// - Returns: the output, row-major, and each captured module's output, row-major, by path.
    ///   The output shares the buffer the next pass writes: a caller that keeps it keeps a copy
    ///   (the next pass copies the buffer first), so holding results is safe, only not free.
    public func run(_ input: Tensor) throws -> (output: Tensor, captured: [String: Tensor]) {
        precondition(input.shape == inputShape, "compiled for \(inputShape), got \(input.shape)")
        var arena = keptArena.withLock { keptArena.value.take() } ?? plan.makeArena(valueCount: valueCount)
        defer { keptArena.withLock { if keptArena.value == nil { keptArena.value = arena } } }
        var captured: [String: Tensor] = [:]
        for path in captures[0] ?? [] { captured[path] = input.rowMajor() }
        for (index, step) in steps.enumerated() {
            let outputSlot = plan.slotOf[step.output]
            if outputSlot >= 0 {
                try runPlanned(step, input: input, into: outputSlot, arena: &arena)
            } else {
                arena.dynamic[step.output] = try runAllocating(step, index: index, input: input, arena: &arena)
            }
            for path in captures[step.output] ?? [] { captured[path] = value(step.output, input, arena).rowMajor() }
            for id in releases[index] where plan.slotOf[id] < 0 { arena.dynamic[id] = nil }
        }
        return (value(outputID, input, arena).rowMajor(), captured)
    }

    /// The value `id` during a pass on `input`.
    private func value(_ id: Int, _ input: Tensor, _ arena: Arena) -> Tensor {
        id == 0 ? input : plan.slotOf[id] >= 0 ? arena.slots[plan.slotOf[id]] : arena.dynamic[id]!
    }

    /// Runs a step whose output has a buffer in the plan.
    private func runPlanned(_ step: Step, input: Tensor, into slot: Int, arena: inout Arena) throws {
        func read(_ id: Int) -> Tensor { value(id, input, arena) }
        switch step.kind {
        case .convolution(let conv, let input, let residual):
            if let residual, plan.slotOf[residual] != slot {
                let r = read(residual)
                arena.slots[slot].overwrite(with: r)
            }
            let x = read(input)
            if let scratch = plan.scratchSlots[step.output] {
                try conv.run(x, into: &arena.slots[slot], scratch: &arena.scratch[scratch[0]])
            } else {
                try conv.run(x, into: &arena.slots[slot])
            }
        case .spconv(let kernel, let input, let residual):
            let (x, r) = (read(input), residual.map(read))
            try kernel.run(x, residual: r, scratch: &arena.scratch, slots: plan.scratchSlots[step.output]!, into: &arena.slots[slot])
        case .pool(let pooling, let input):
            let x = read(input)
            try pooling.blocked.run(x, into: &arena.slots[slot])
        case .globalAveragePool(let input):
            let x = read(input)
            guard case .channelBlocked(let block) = x.layout else { preconditionFailure("the plan gives the global pool a blocked input") }
            OpProfiler.measure("global average pool") { LayoutKernels.globalAveragePool(x, block: block, into: &arena.slots[slot]) }
        case .linear(let weight, let bias, let input):
            let x = read(input)
            OpProfiler.measure("linear") { ElementwiseKernels.linearByRows(x, weight: weight, bias: bias, into: &arena.slots[slot]) }
        case .batchNorm, .relu, .add, .slice, .fusion:
            preconditionFailure("the plan gives element-wise steps no buffer")
        }
    }

    /// Runs a step whose output is allocated (a value the plan leaves out).
    private func runAllocating(_ step: Step, index: Int, input: Tensor, arena: inout Arena) throws -> Tensor {
        func read(_ id: Int) -> Tensor { value(id, input, arena) }
        /// A residual the step may write over: handed over when this step is its last reader.
        func residual(_ id: Int?) -> Tensor? {
            guard let id else { return nil }
            return lastUse[id] == index && !pinned.contains(id) && plan.slotOf[id] < 0 && id != 0 ? arena.dynamic[id].take() : read(id)
        }
        switch step.kind {
        case .convolution(let conv, let input, let residualID):
            return try conv.run(read(input), residual: residual(residualID))
        case .spconv:
            preconditionFailure("the plan gives every SPConv step a buffer")
        case .batchNorm(let scale, let shift, let relu, let input):
            return ElementwiseKernels.channelAffine(read(input).rowMajor(), scale: scale, shift: shift, relu: relu)
        case .relu(let input):
            return ElementwiseKernels.relu(read(input).rowMajor())
        case .add(let a, let b, let relu):
            let (x, y) = (read(a).rowMajor(), read(b).rowMajor())
            return relu ? ElementwiseKernels.add(x, y, relu: true) : Ops.add(x, y)
        case .slice(let range, let input):
            return Ops.sliceChannels(read(input).rowMajor(), range)
        case .pool(let pooling, let input):
            return try pooling.run(read(input))
        case .globalAveragePool(let input):
            let x = read(input)
            if case .channelBlocked(let block) = x.layout {
                return OpProfiler.measure("global average pool") { LayoutKernels.globalAveragePool(x, block: block) }
            }
            return Ops.adaptiveAvgPool2d(x, outputSize: 1)
        case .linear(let weight, let bias, let input):
            let x = read(input).rowMajor()
            let flat = x.reshaped(to: [x.shape[0], x.count / x.shape[0]])
            return OpProfiler.measure("linear") { Ops.linear(flat, weight: weight, bias: bias) }
        case .fusion(let a, let b):
            return ElementwiseKernels.softmaxFusion(representative: read(a).rowMajor(), redundant: read(b).rowMajor())
        }
    }

    /// Bytes of the buffers the plan keeps between passes (feature maps and SPConv scratch).
    public var plannedBytes: Int { plan.bytes }

    /// The number of kernel steps (after the rewrites), for tests and profiles.
    public var stepCount: Int { steps.count }

    /// One call of the compiled graph: what runs, on which values, and the value it sets.
    struct Step {
        enum Kind {
            case convolution(PackedConvolution, input: Int, residual: Int?)
            case spconv(SPConvKernel, input: Int, residual: Int?)
            case batchNorm(scale: [Float], shift: [Float], relu: Bool, input: Int)
            case relu(input: Int)
            case add(Int, Int, relu: Bool)
            case slice(Range<Int>, input: Int)
            case pool(Pooling, input: Int)
            case globalAveragePool(input: Int)
            case linear(weight: Tensor, bias: Tensor, input: Int)
            case fusion(Int, Int)
        }
        let kind: Kind
        let output: Int

        var reads: [Int] {
            switch kind {
            case .convolution(_, let input, let residual), .spconv(_, let input, let residual): [input] + (residual.map { [$0] } ?? [])
            case .batchNorm(_, _, _, let input), .relu(let input), .slice(_, let input), .pool(_, let input),
                 .globalAveragePool(let input), .linear(_, _, let input): [input]
            case .add(let a, let b, _), .fusion(let a, let b): [a, b]
            }
        }
    }
}

/// The buffers of one pass.
struct Arena {
    /// The planned values' buffers (``MemoryPlan/slotOf``).
    var slots: [Tensor]
    /// Buffers for SPConv's intermediate maps, shared by its steps.
    var scratch: [Tensor]
    /// The other values, by id, while they are live.
    var dynamic: [Tensor?]
}

/// Where each value of a compiled graph lives: planned once per (graph, input shape).
///
/// A step whose output shape and layout are known when compiling (a convolution's or SPConv's
/// channel-blocked output, a oneDNN pool of a blocked map, the global pool of a blocked map, the
/// classifier) writes into a buffer ("slot"). Slots are reused by liveness: once a value's last
/// reader has run, its slot serves the next value of the same shape and layout. A convolution that
/// adds a residual whose last reader it is writes over the residual's slot. SPConv's intermediate
/// maps live in scratch buffers keyed by role, shape and layout, which all its steps share.
struct MemoryPlan {
    /// The slot of each value, or -1 (the input, and values of unplanned steps).
    let slotOf: [Int]
    let slotSpecs: [(shape: [Int], layout: TensorLayout)]
    let scratchSpecs: [(shape: [Int], layout: TensorLayout)]
    /// For each SPConv step's output value, its roles' scratch indices (by ``SPConvKernel/Role``).
    let scratchSlots: [Int: [Int]]

    init(steps: [CompiledGraph.Step], shapes: [[Int]], valueCount: Int, lastUse: [Int], pinned: Set<Int>) {
        var slotOf = [Int](repeating: -1, count: valueCount)
        var layoutOf: [Int: TensorLayout] = [:]
        var specs: [(shape: [Int], layout: TensorLayout)] = []
        var free: [Int] = []
        var scratchSpecs: [(shape: [Int], layout: TensorLayout)] = []
        var scratchIndex: [String: Int] = [:]
        var scratchSlots: [Int: [Int]] = [:]
        // The own Winograd convolutions run one after another and share one scratch buffer, of
        // the largest size any needs.
        let winogradScratch = steps.reduce(0) { most, step in
            guard case .convolution(let conv, _, _) = step.kind else { return most }
            return max(most, conv.scratchCount)
        }
        if winogradScratch > 0 { scratchSpecs.append(([1, winogradScratch], .rowMajor)) }
        for (index, step) in steps.enumerated() {
            var spec: (shape: [Int], layout: TensorLayout)?
            var inPlace: Int?
            switch step.kind {
            case .convolution(let conv, _, let residual):
                let output = conv.output
                if conv.scratchCount > 0 { scratchSlots[step.output] = [0] }
                if let residual {
                    // The residual is copied into (or already is) the output's buffer: it must share its layout.
                    if layoutOf[residual] == output.layout { spec = output }
                    if spec != nil, lastUse[residual] == index, !pinned.contains(residual), slotOf[residual] >= 0,
                       specs[slotOf[residual]].shape == output.shape { inPlace = slotOf[residual] }
                } else {
                    spec = output
                }
            case .spconv(let kernel, _, _):
                spec = (kernel.outputShape, .channelBlocked(kernel.block))
                var roles = [Int](repeating: -1, count: SPConvKernel.Role.allCases.count)
                for (role, scratch) in kernel.scratchShapes {
                    let key = "\(role.rawValue) \(scratch.shape) \(scratch.layout)"
                    if scratchIndex[key] == nil {
                        scratchIndex[key] = scratchSpecs.count
                        scratchSpecs.append(scratch)
                    }
                    roles[role.rawValue] = scratchIndex[key]!
                }
                scratchSlots[step.output] = roles
            case .pool(let pooling, let input):
                if layoutOf[input] == .channelBlocked(pooling.blocked.block) {
                    spec = (pooling.blocked.outputShape, .channelBlocked(pooling.blocked.block))
                }
            case .globalAveragePool(let input):
                if case .channelBlocked? = layoutOf[input] { spec = (shapes[step.output], .rowMajor) }
            case .linear(_, _, let input):
                if layoutOf[input] == .rowMajor { spec = (shapes[step.output], .rowMajor) }
            case .batchNorm, .relu, .add, .slice, .fusion:
                break
            }
            if let spec {
                let slot: Int
                if let inPlace {
                    slot = inPlace
                } else if let reuse = free.firstIndex(where: { specs[$0].shape == spec.shape && specs[$0].layout == spec.layout }) {
                    slot = free.remove(at: reuse)
                } else {
                    slot = specs.count
                    specs.append(spec)
                }
                slotOf[step.output] = slot
                layoutOf[step.output] = spec.layout
            }
            // Values whose last reader this step is give their slot back (not the one just taken over).
            for id in step.reads where lastUse[id] == index && !pinned.contains(id) && slotOf[id] >= 0
                && slotOf[id] != slotOf[step.output] && !free.contains(slotOf[id]) {
                free.append(slotOf[id])
            }
        }
        (self.slotOf, self.slotSpecs, self.scratchSpecs, self.scratchSlots) = (slotOf, specs, scratchSpecs, scratchSlots)
    }

    func makeArena(valueCount: Int) -> Arena {
        Arena(slots: slotSpecs.map { Tensor(zeroedShape: $0.shape, layout: $0.layout) },
              scratch: scratchSpecs.map { Tensor(zeroedShape: $0.shape, layout: $0.layout) },
              dynamic: Array(repeating: nil, count: valueCount))
    }

    var bytes: Int {
        (slotSpecs + scratchSpecs).reduce(0) { total, spec in
            let channels = if case .channelBlocked(let b) = spec.layout { (spec.shape[1] + b - 1) / b * b } else { spec.shape[1] }
            return total + 4 * spec.shape.reduce(1, *) / spec.shape[1] * channels
        }
    }
}

/// A convolution with its weights packed for one input shape and set of post-ops: one of the
/// engine's own kernels where it applies (by default, `SPCONVLAB_CONV_ALGO=own`; with `auto`
/// where, timed against oneDNN's choice when the graph is compiled (``KernelTiming``), it was
/// not measurably slower), else oneDNN's:
/// its Winograd (``WinogradConvolution``: 3x3, stride 1, whole channel blocks), tried first, or
/// its direct convolution (``DirectConvolution``: any dense convolution with a square kernel).
package struct PackedConvolution {
    /// The engine's own kernel for a convolution.
    enum Own {
        case winograd(WinogradConvolution)
        case direct(DirectConvolution)
    }

    let kernel: ConvolutionKernel
    /// oneDNN's packed weights (empty when ``own`` runs the convolution).
    let packed: [Float]
    let bias: Tensor?
    /// The engine's own kernel, when it runs this convolution.
    let own: Own?

    /// - Parameter inputIsRowMajor: whether the input arrives row-major (the graph's input), which
    ///   an own direct convolution then reads where it lies.
    package init(weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry, inputShape: [Int],
                 postOps: [ConvolutionKernel.PostOp] = [], inputIsRowMajor: Bool = false) throws {
        let kernel = try ConvolutionKernel(.init(inputShape: inputShape, outputChannels: weight.shape[0], geometry: geometry,
                                                 hasBias: bias != nil, postOps: postOps))
        let packed = try kernel.packWeights(weight)
        var chosen: Own?
        if let candidate = Self.ownWinograd(weight: weight, bias: bias, geometry: geometry, inputShape: inputShape, postOps: postOps) {
            switch Engine.ownWinogradChoice {
            case .forced:
                chosen = .winograd(candidate)
            case .preferred:
                // The allocation-free default: the own Winograd against the own direct convolution
                // (Winograd's 4x4 tiles are mostly padding on a 2x2 map: vgg16's 512-channel 2x2
                // layers ran 1.6x slower on it than on a direct kernel).
                chosen = .winograd(candidate)
                if let direct = Self.ownDirect(weight: weight, bias: bias, geometry: geometry, inputShape: inputShape, postOps: postOps,
                                               block: kernel.block, rowMajor: false),
                   !Self.winogradBeatsDirect(candidate, direct, kernel: kernel, bias: bias, postOps: postOps) {
                    chosen = .direct(direct)
                }
            case .measured, .never:
                if try Self.ownWins(.winograd(candidate), than: kernel, packed: packed, bias: bias, postOps: postOps, rowMajor: false) {
                    chosen = .winograd(candidate)
                }
            }
        }
        if chosen == nil,
           let candidate = Self.ownDirect(weight: weight, bias: bias, geometry: geometry, inputShape: inputShape, postOps: postOps,
                                          block: kernel.block, rowMajor: inputIsRowMajor),
           try Engine.ownDirectChoice == .forced
            || Self.ownWins(.direct(candidate), than: kernel, packed: packed, bias: bias, postOps: postOps, rowMajor: inputIsRowMajor) {
            chosen = .direct(candidate)
        }
        // The losing path's weights are dropped.
        (self.kernel, self.packed, self.bias, own) = (kernel, chosen == nil ? packed : [], bias, chosen)
    }

    /// The engine's Winograd for this convolution, where it applies and may run.
    private static func ownWinograd(weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry, inputShape: [Int],
                                    postOps: [ConvolutionKernel.PostOp]) -> WinogradConvolution? {
        let block = DNNL.shared.channelBlock
        let choice = Engine.ownWinogradChoice
        let tiles = inputShape[0] * ((inputShape[2] + 3) / 4) * ((inputShape[3] + 3) / 4)
        guard choice != .never, postOps == [] || postOps == [.sum] || postOps == [.relu] || postOps == [.sum, .relu],
              WinogradConvolution.applies(geometry, inputChannels: inputShape[1], outputChannels: weight.shape[0], block: block),
              choice == .forced || WinogradConvolution.paysOff(tiles: tiles, inputChannels: inputShape[1], outputChannels: weight.shape[0])
        else { return nil }
        return WinogradConvolution(weight: weight, bias: bias?.scalars, channels: 0..<inputShape[1], inputChannels: inputShape[1],
                                   batch: inputShape[0], height: inputShape[2], width: inputShape[3], block: block,
                                   sum: postOps.contains(.sum), relu: postOps.contains(.relu), threads: max(1, DNNL.maxThreads))
    }

    /// The engine's direct convolution for this convolution, where it applies (one group, no
    /// dilation, the build has the registers for `block` lanes) and may run; reading a row-major
    /// input with `rowMajor`.
    private static func ownDirect(weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry, inputShape: [Int],
                                  postOps: [ConvolutionKernel.PostOp], block: Int, rowMajor: Bool) -> DirectConvolution? {
        guard Engine.ownDirectChoice != .never, geometry.groups == 1, geometry.dilation == 1, DirectConvolution.isAvailable(block: block),
              postOps == [] || postOps == [.sum] || postOps == [.relu] || postOps == [.sum, .relu]
        else { return nil }
        let (height, width) = pointwise(geometry, inputShape: inputShape)
        return DirectConvolution(weight: weight, bias: bias, channels: 0..<inputShape[1], inputChannels: inputShape[1],
                                 height: height, width: width, stride: geometry.stride, padding: geometry.padding,
                                 block: block, sum: postOps.contains(.sum), relu: postOps.contains(.relu), rowGroups: false,
                                 rowMajorInput: rowMajor)
    }

    /// The extent the direct convolution sees the map as: a 1x1 convolution with stride 1 and no
    /// padding in long rows (``DirectConvolution/pointwiseRows(channels:height:width:)``), any
    /// other its own.
    package static func pointwise(_ geometry: Conv2DGeometry, inputShape: [Int]) -> (height: Int, width: Int) {
        let (c, h, w) = (inputShape[1], inputShape[2], inputShape[3])
        guard geometry.kernelSize == 1, geometry.stride == 1, geometry.padding == 0 else { return (h, w) }
        let threads = max(1, DNNL.maxThreads)
        return DirectConvolution.pointwiseRows(channels: c, height: h, width: w, parts: inputShape[0] < threads ? threads : 1)
    }

    /// Times oneDNN's convolution and `candidate` on a random input of this shape (``KernelTiming/ownWins(key:incumbent:own:)``; row-major
    /// where the graph's input is, so a conversion oneDNN makes is timed too).
    private static func ownWins(_ candidate: Own, than kernel: ConvolutionKernel, packed: [Float], bias: Tensor?,
                                postOps: [ConvolutionKernel.PostOp], rowMajor: Bool) throws -> Bool {
        let shape = kernel.key.inputShape, geometry = kernel.key.geometry
        let post = timingLabel(postOps)
        let key = switch candidate {
        case .winograd: "winograd \(shape) -> \(kernel.outputShape[1])\(post) bias \(bias != nil) oneDNN \(kernel.implementationName)"
        case .direct: "direct \(geometry.kernelSize)x\(geometry.kernelSize) s\(geometry.stride) p\(geometry.padding) \(shape)"
            + (rowMajor ? " nchw" : "") + " -> \(kernel.outputShape[1])\(post) bias \(bias != nil) oneDNN \(kernel.implementationName)"
        }
        if let known = KernelTiming.known(key) { return known }
        var generator = SeededGenerator(seed: 1)
        let x0 = Tensor.gaussian(shape, standardDeviation: 1, generator: &generator)
        let x = rowMajor ? x0 : x0.channelBlocked(kernel.block)
        var output = Tensor(zeroedShape: kernel.outputShape, layout: .channelBlocked(kernel.block))
        let contender = PackedConvolution(kernel: kernel, bias: bias, own: candidate)
        var scratch = Tensor(zeroedShape: [1, max(1, contender.scratchCount)], layout: .rowMajor)
        return try KernelTiming.ownWins(key: key, incumbent: { try kernel.run(input: x, packedWeights: packed, bias: bias, into: &output) },
                                        own: { contender.runOwn(x, into: &output, scratch: &scratch) })
    }

    /// ` + sum + relu` and the like, for a timing key: the post-ops the own kernels take (sum, relu).
    private static func timingLabel(_ postOps: [ConvolutionKernel.PostOp]) -> String {
        postOps.isEmpty ? "" : " + " + postOps.map { $0 == .sum ? "sum" : "relu" }.joined(separator: " + ")
    }

    /// Times the own direct convolution and the own Winograd on a random input of this shape
    /// (``KernelTiming/ownWins(key:incumbent:own:tieToOwn:names:)``, the medians deciding) and
    /// says whether Winograd was faster.
    private static func winogradBeatsDirect(_ winograd: WinogradConvolution, _ direct: DirectConvolution, kernel: ConvolutionKernel,
                                            bias: Tensor?, postOps: [ConvolutionKernel.PostOp]) -> Bool {
        let shape = kernel.key.inputShape
        let post = timingLabel(postOps)
        let key = "own winograd or direct \(shape) -> \(kernel.outputShape[1])\(post) bias \(bias != nil)"
        if let known = KernelTiming.known(key) { return known }
        var generator = SeededGenerator(seed: 1)
        let x = Tensor.gaussian(shape, standardDeviation: 1, generator: &generator).channelBlocked(kernel.block)
        var output = Tensor(zeroedShape: kernel.outputShape, layout: .channelBlocked(kernel.block))
        let (byWinograd, byDirect) = (PackedConvolution(kernel: kernel, bias: bias, own: .winograd(winograd)),
                                      PackedConvolution(kernel: kernel, bias: bias, own: .direct(direct)))
        var scratch = Tensor(zeroedShape: [1, max(1, byWinograd.scratchCount, byDirect.scratchCount)], layout: .rowMajor)
        return KernelTiming.ownWins(key: key, incumbent: { byDirect.runOwn(x, into: &output, scratch: &scratch) },
                                    own: { byWinograd.runOwn(x, into: &output, scratch: &scratch) }, tieToOwn: false,
                                    names: ("own direct", "own Winograd"))
    }

    /// An own kernel's convolution, for timing it.
    private init(kernel: ConvolutionKernel, bias: Tensor?, own: Own) {
        (self.kernel, packed, self.bias, self.own) = (kernel, [], bias, own)
    }

    /// The layout the kernel reads, so a producer can write its input in it.
    var sourceLayout: TensorLayout {
        switch own {
        case nil: kernel.sourceLayout
        case .direct(let direct) where direct.readsRowMajor: .rowMajor
        default: .channelBlocked(kernel.block)
        }
    }

    /// Floats of scratch a call needs (the own Winograd's; 0 for the other kernels).
    var scratchCount: Int {
        switch own {
        case .winograd(let winograd): max(1, DNNL.maxThreads) * winograd.scratchPerThread
        case .direct(let direct): direct.scratchCount(batch: kernel.key.inputShape[0])
        case nil: 0
        }
    }

    package func run(_ input: Tensor, residual: consuming Tensor? = nil) throws -> Tensor {
        guard own != nil else { return try kernel.run(input: input, packedWeights: packed, bias: bias, residual: residual) }
        var output = residual.take()?.channelBlocked(kernel.block)
            ?? Tensor(zeroedShape: kernel.outputShape, layout: .channelBlocked(kernel.block))
        try run(input, into: &output)
        return output
    }

    /// Runs into `output` (channel-blocked, the kernel's output shape; holding the residual
    /// when the kernel sums one), with scratch made for the call where it needs any.
    func run(_ input: Tensor, into output: inout Tensor) throws {
        switch own {
        case nil: try kernel.run(input: input, packedWeights: packed, bias: bias, into: &output)
        case .direct(let direct) where scratchCount == 0:
            OpProfiler.measure(profileLabel) { Self.runDirect(direct, input, into: &output, scratch: nil) }
        case .direct, .winograd:
            var scratch = Tensor(zeroedShape: [1, scratchCount], layout: .rowMajor)
            try run(input, into: &output, scratch: &scratch)
        }
    }

    /// Runs into `output` with `scratch` holding at least ``scratchCount`` floats: no allocation
    /// when `input` is in ``sourceLayout`` and `output`'s storage is not shared.
    func run(_ input: Tensor, into output: inout Tensor, scratch: inout Tensor) throws {
        guard own != nil else { return try kernel.run(input: input, packedWeights: packed, bias: bias, into: &output) }
        OpProfiler.measure(profileLabel) { runOwn(input, into: &output, scratch: &scratch) }
    }

    /// Runs into `tensors[output]` with `tensors[scratch]` as the scratch (two buffers of one
    /// array, such as an SPConv layer's).
    func run(_ input: Tensor, in tensors: inout [Tensor], output: Int, scratch: Int) throws {
        switch own {
        case nil: try kernel.run(input: input, packedWeights: packed, bias: bias, into: &tensors[output])
        case .winograd(let winograd):
            OpProfiler.measure(profileLabel) { winograd.run(input.channelBlocked(winograd.block), in: &tensors, output: output, scratch: scratch) }
        case .direct(let direct):
            // (SPConv's merged convs: never a strided 1x1, the one direct conv that uses scratch.)
            OpProfiler.measure(profileLabel) { Self.runDirect(direct, input, into: &tensors[output], scratch: nil) }
        }
    }

    private func runOwn(_ input: Tensor, into output: inout Tensor, scratch: inout Tensor) {
        switch own {
        case nil: preconditionFailure("runOwn without an own kernel")
        case .winograd(let winograd): winograd.run(input.channelBlocked(winograd.block), into: &output, scratch: &scratch)
        case .direct(let direct):
            let fits = scratch.count >= direct.scratchCount(batch: input.shape[0])
            scratch.withUnsafeMutableBufferPointer { s in Self.runDirect(direct, input, into: &output, scratch: fits ? s.baseAddress : nil) }
        }
    }

    /// The direct convolution of `input` (converted to the layout it reads where it is not in
    /// it) into `output`, with `scratch` (nil, or the conv's ``DirectConvolution/scratchCount(batch:)`` floats).
    private static func runDirect(_ conv: DirectConvolution, _ input: Tensor, into output: inout Tensor,
                                  scratch: UnsafeMutablePointer<Float>?) {
        let (n, block) = (input.shape[0], Int(conv.descriptor.block))
        precondition(output.layout == .channelBlocked(block) && output.count == n * conv.outputImage,
                     "direct convolution: output \(output.shape) \(output.layout) for \(n) images")
        let x = conv.readsRowMajor ? input.rowMajor() : input.channelBlocked(block)
        x.withUnsafeBufferPointer { xs in
            output.withUnsafeMutableBufferPointer { y in conv.run(batch: n, from: xs.baseAddress!, into: y.baseAddress!, scratch: scratch) }
        }
    }

    /// The output's shape and layout.
    var output: (shape: [Int], layout: TensorLayout) { (kernel.outputShape, .channelBlocked(kernel.block)) }

    /// `conv 3x3 64->64 s1 winograd (own)`, `conv 1x1 64->256 s1 direct (own)`, or oneDNN's
    /// kernel's label (``ConvolutionKernel/profileLabel``).
    var profileLabel: String {
        let k = kernel.key.geometry.kernelSize
        let shape = "conv \(k)x\(k) \(kernel.key.inputShape[1])->\(kernel.outputShape[1]) s\(kernel.key.geometry.stride)"
        return switch own {
        case nil: kernel.profileLabel
        case .winograd: shape + " winograd (own)"
        case .direct(let direct): shape + " direct (own)" + (direct.readsRowMajor ? " (nchw src)" : "")
        }
    }
}

/// Max or average pooling: ``PoolingKernel`` (the engine's own loop for these square windows) on
/// channel-blocked maps, the element-wise loop otherwise.
package struct Pooling {
    let kernelSize: Int, stride: Int, padding: Int, isMax: Bool
    let blocked: PoolingKernel

    package init(inputShape: [Int], kernelSize: Int, stride: Int, padding: Int, isMax: Bool) throws {
        (self.kernelSize, self.stride, self.padding, self.isMax) = (kernelSize, stride, padding, isMax)
        blocked = try PoolingKernel(.init(inputShape: inputShape, kernelSize: kernelSize, stride: stride, padding: padding, isMax: isMax))
    }

    package func run(_ input: Tensor) throws -> Tensor {
        if case .channelBlocked = input.layout { return try blocked.run(input) }
        return isMax ? Ops.maxPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding)
                     : Ops.avgPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// Turns a graph into steps: walks the nodes in order, applies the rewrites where their
/// patterns match, and places each step at the node that produces its output (so every value a
/// step reads is made by an earlier step).
private struct Compiler {
    let graph: Graph
    let weights: [String: Tensor]
    let shapes: [[Int]]
    let pinned: Set<Int>
    /// The nodes reading each value.
    let readers: [[Int]]
    var done: [Bool]

    init(graph: Graph, weights: [String: Tensor], shapes: [[Int]], pinned: Set<Int>) {
        (self.graph, self.weights, self.shapes, self.pinned) = (graph, weights, shapes, pinned)
        readers = graph.readers
        done = Array(repeating: false, count: graph.nodes.count)
    }

    private var nodes: [Graph.Node] { graph.nodes }

    mutating func compile() throws -> [CompiledGraph.Step] {
        var placed: [(position: Int, step: CompiledGraph.Step)] = []
        let spconvStarts = graph.moduleCalls(ofType: "SPConv")
        for index in nodes.indices where !done[index] {
            if let module = spconvStarts[index], let step = try spconv(module) {
                placed.append(step)
                continue
            }
            placed.append(try single(index))
        }
        return placed.sorted { $0.position < $1.position }.map(\.step)
    }

    /// The one node reading `value`, when `value` may become the inside of a fused step.
    private func soleReader(_ value: Graph.Value) -> Int? {
        guard !pinned.contains(value.id), readers[value.id].count == 1, !done[readers[value.id][0]] else { return nil }
        return readers[value.id][0]
    }

    private func parameter(_ node: Graph.Node, _ position: Int) throws -> Tensor {
        let key = node.parameters[position]
        guard let tensor = weights[key] else {
            throw SPConvLabError(.invalidWeights, "the graph node '\(node.module)' (\(node.type)) needs the parameter '\(key)', which the weights lack")
        }
        return tensor
    }

    /// `(a, b)` with `bn(x) = a * x + b` for a batch-norm node.
    private func folded(_ node: Graph.Node) throws -> (scale: [Float], shift: [Float]) {
        guard case .batchNorm(let epsilon) = node.op else { preconditionFailure("\(node.module) is not a batch norm") }
        return Ops.foldBatchNorm(mean: try parameter(node, 2), variance: try parameter(node, 3), scale: try parameter(node, 0),
                                 shift: try parameter(node, 1), epsilon: epsilon)
    }

    /// What follows a conv (or SPConv) and can run inside it: a batch norm, then a residual add,
    /// then a ReLU, each only where the value before it has no other reader and is not captured.
    private struct Epilogue {
        var batchNorm: (scale: [Float], shift: [Float])?
        var residual: Int?
        var relu = false
        var output: Graph.Value
        var nodes: [Int] = []
    }

    private mutating func epilogue(after value: Graph.Value) throws -> Epilogue {
        var result = Epilogue(output: value)
        if let reader = soleReader(result.output), case .batchNorm = nodes[reader].op {
            result.batchNorm = try folded(nodes[reader])
            take(reader, into: &result)
        }
        if let reader = soleReader(result.output), case .add = nodes[reader].op {
            let inputs = nodes[reader].inputs
            let other = inputs[0] == result.output ? inputs[1] : inputs[0]
            if other != result.output {
                result.residual = other.id
                take(reader, into: &result)
            }
        }
        if let reader = soleReader(result.output), case .relu = nodes[reader].op {
            result.relu = true
            take(reader, into: &result)
        }
        return result
    }

    private mutating func take(_ node: Int, into epilogue: inout Epilogue) {
        done[node] = true
        epilogue.nodes.append(node)
        epilogue.output = nodes[node].output
    }

    /// The step of one node (a conv with its epilogue, or a node run alone).
    private mutating func single(_ index: Int) throws -> (position: Int, step: CompiledGraph.Step) {
        let node = nodes[index]
        done[index] = true
        let input = node.inputs[0].id
        let x = shapes[input]
        func alone(_ kind: CompiledGraph.Step.Kind) -> (Int, CompiledGraph.Step) { (index, .init(kind: kind, output: node.output.id)) }
        switch node.op {
        case .conv2d(let geometry, _):
            let epilogue = try epilogue(after: node.output)
            var weight = try parameter(node, 0)
            var bias = node.parameters.count > 1 ? try parameter(node, 1) : nil
            if let (a, b) = epilogue.batchNorm {
                weight = scaleRows(weight, by: a)
                let own = bias?.scalars ?? [Float](repeating: 0, count: a.count)
                bias = Tensor(shape: [a.count], scalars: (0..<a.count).map { a[$0] * own[$0] + b[$0] })
            }
            var postOps: [ConvolutionKernel.PostOp] = epilogue.residual == nil ? [] : [.sum]
            if epilogue.relu { postOps.append(.relu) }
            // The graph's input (value 0) is the caller's tensor, row-major.
            let conv = try PackedConvolution(weight: weight, bias: bias, geometry: geometry, inputShape: x, postOps: postOps,
                                             inputIsRowMajor: input == 0)
            return ((epilogue.nodes.last ?? index), .init(kind: .convolution(conv, input: input, residual: epilogue.residual),
                                                          output: epilogue.output.id))
        case .batchNorm:
            let (a, b) = try folded(node)
            if let reader = soleReader(node.output), case .relu = nodes[reader].op {
                done[reader] = true
                return (reader, .init(kind: .batchNorm(scale: a, shift: b, relu: true, input: input), output: nodes[reader].output.id))
            }
            return alone(.batchNorm(scale: a, shift: b, relu: false, input: input))
        case .relu:
            return alone(.relu(input: input))
        case .add:
            if shapes[node.inputs[1].id] == x, let reader = soleReader(node.output), case .relu = nodes[reader].op {
                done[reader] = true
                return (reader, .init(kind: .add(input, node.inputs[1].id, relu: true), output: nodes[reader].output.id))
            }
            return alone(.add(input, node.inputs[1].id, relu: false))
        case .sliceChannels(let range):
            return alone(.slice(range, input: input))
        case .maxPool(let kernelSize, let stride, let padding), .avgPool(let kernelSize, let stride, let padding):
            let isMax = if case .maxPool = node.op { true } else { false }
            return alone(.pool(try Pooling(inputShape: x, kernelSize: kernelSize, stride: stride, padding: padding, isMax: isMax),
                               input: input))
        case .globalAveragePool:
            return alone(.globalAveragePool(input: input))
        case .linear:
            return alone(.linear(weight: try parameter(node, 0), bias: try parameter(node, 1), input: input))
        case .spconvFusion:
            return alone(.fusion(input, node.inputs[1].id))
        }
    }

    /// The fused step of an SPConv module with its epilogue, or nil (the nodes then run one by one)
    /// when a value inside it is captured or its nodes are not the ones `SPConv.build` writes.
    private mutating func spconv(_ module: Graph.Module) throws -> (position: Int, step: CompiledGraph.Step)? {
        let inside = module.nodes.dropLast().map { nodes[$0].output.id }
        guard !inside.contains(where: pinned.contains) else { return nil }
        let all = graph.nodes
        func node(_ name: String) -> Graph.Node? {
            all[module.nodes].first { $0.module == module.path + "." + name }
        }
        guard let split = node("split_rep"), case .sliceChannels(let representative) = split.op, representative.lowerBound == 0,
              let gwc = node("gwc"), case .conv2d(let geometry, _) = gwc.op, let pwc = node("pwc"), let red = node("conv1x1"),
              red.parameters.count == 2, let bn1 = node("bn1"), let bn2 = node("bn2"),
              case .spconvFusion = nodes[module.nodes.upperBound - 1].op else { return nil }
        for index in module.nodes { done[index] = true }
        let epilogue = try epilogue(after: module.output)
        let weights = SPConvKernel.Weights(
            gwc: try parameter(gwc, 0), pwc: try parameter(pwc, 0), conv1x1: try parameter(red, 0), conv1x1Bias: try parameter(red, 1),
            bn1: try folded(bn1), bn2: try folded(bn2))
        let kernel = try SPConvKernel(weights, inputShape: shapes[module.input.id], representativeChannels: representative.count,
                                      stride: geometry.stride, groups: geometry.groups,
                                      epilogue: (epilogue.batchNorm, epilogue.residual != nil, epilogue.relu))
        return ((epilogue.nodes.last ?? module.nodes.upperBound - 1),
                .init(kind: .spconv(kernel, input: module.input.id, residual: epilogue.residual), output: epilogue.output.id))
    }
}

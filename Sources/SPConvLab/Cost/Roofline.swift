import SPConvCore
import SPConvKernels

/// The time a perfect engine would need for a forward pass on this machine, op by op, and how
/// far a measured time is from it (issue 14's roofline).
///
/// Per op of the network's graph (``Graph``): its FLOPs (docs/COST.md) over the attainable compute
/// rate, or the bytes it must move over the bandwidth, whichever is larger; summed over the ops.
/// Bytes are the float32 values the op reads and writes for the batch plus its parameters, once.
/// A perfect engine fuses what it can, as ours does with oneDNN's post-ops: a value read only by
/// one element-wise op (batch norm, ReLU, add) never goes to memory, so neither its producer's
/// write nor that op's read is counted. Channel slices are free (read in place). An op whose
/// bytes fit in half the last-level cache moves them at the cache's bandwidth, others at main
/// memory's.
///
/// It is a bound for engines that compute convolutions directly: Winograd does fewer
/// multiplications than the FLOPs docs/COST.md counts, so an engine using it can beat the
/// compute term.
public struct Roofline: Sendable {
    /// One op's bound.
    public struct Row: Sendable, Equatable {
        public var module: String
        public var type: String
        public var flops: Double
        public var bytes: Double
        /// `max(flops / compute rate, bytes / bandwidth)`, seconds.
        public var seconds: Double
        /// Whether the memory term is the larger one.
        public var memoryBound: Bool
    }

    public var rows: [Row]
    public var limits: MachineLimits
    public var batch: Int

    /// The whole pass's bound, milliseconds.
    public var milliseconds: Double { rows.reduce(0) { $0 + $1.seconds } * 1e3 }

    /// The roofline of `graph` for a batch of `batch` images of `inputShape` (`[C, H, W]`).
    public init(graph: Graph, weights: [String: Tensor], inputShape: [Int], batch: Int, limits: MachineLimits) throws {
        precondition(batch >= 1 && inputShape.count == 3, "Roofline needs a batch of at least 1 and a [C, H, W] input shape")
        let (ledger, shapes) = try graph.trace(inputShape: [1] + inputShape, weights: weights)
        let valueBytes = shapes.map { 4 * Double($0.dropFirst().reduce(1, *)) * Double(batch) }
        var readers = Array(repeating: 0, count: shapes.count)
        for node in graph.nodes { for value in node.inputs { readers[value.id] += 1 } }
        // Values that stay in registers: read by exactly one element-wise op, made by an op.
        var fused = Set<Int>()
        for node in graph.nodes {
            switch node.op {
            case .batchNorm, .relu, .add:
                let value = node.inputs[0].id
                if value != graph.input.id && readers[value] == 1 { fused.insert(value) }
            default: break
            }
        }
        var rows: [Row] = []
        var ledgerIndex = 0
        for node in graph.nodes {
            if case .sliceChannels = node.op { continue }  // free, and without a ledger row
            let cost = ledger.layers[ledgerIndex]
            ledgerIndex += 1
            let moved = (node.inputs.map(\.id) + [node.output.id]).filter { !fused.contains($0) }.reduce(0) { $0 + valueBytes[$1] }
            let bytes = moved + 4 * node.parameters.reduce(0) { $0 + Double(weights[$1]?.count ?? 0) }
            let flops = Double(cost.flops) * Double(batch)
            let inCache = limits.cacheBytes > 0 && bytes <= Double(limits.cacheBytes) / 2
            let bandwidth = inCache ? limits.cacheGigabytesPerSecond : limits.memoryGigabytesPerSecond
            let compute = flops / (limits.gigaflopsPerSecond * 1e9), memory = bytes / (bandwidth * 1e9)
            rows.append(Row(module: node.module, type: node.type, flops: flops, bytes: bytes, seconds: max(compute, memory),
                            memoryBound: memory > compute))
        }
        self.rows = rows
        self.limits = limits
        self.batch = batch
    }
}

extension Network {
    /// The roofline of a forward pass of `batch` images at the spec's input size.
    public func roofline(batch: Int, limits: MachineLimits) throws -> Roofline {
        try Roofline(graph: graph, weights: weights,
                            inputShape: [spec.inputChannels, spec.inputSize, spec.inputSize], batch: batch, limits: limits)
    }
}

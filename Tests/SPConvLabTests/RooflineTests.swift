import Testing
@testable import SPConvLab

/// The roofline's arithmetic on a graph small enough to count by hand.
@Suite struct RooflineTests {
    /// conv 2->3 (3x3, padding 1, no bias) -> batch norm -> ReLU on a batch of 2 images of 2x4x4.
    static func graphAndWeights() throws -> (Graph, [String: Tensor]) {
        let conv = Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: 1, bias: false)
        let layers = Sequential([conv, BatchNorm2D(channels: 3), ReLU()])
        var weights: [String: Tensor] = [:]
        layers.visitTensors { name, _, tensor in weights[name] = tensor }
        return (try GraphBuilder.build(layer: layers), weights)
    }

    @Test func countsFLOPsAndTheBytesAFusingEngineMoves() throws {
        let (graph, weights) = try Self.graphAndWeights()
        // 1 GFLOP/s and 1 GB/s in a 1 KiB cache (ops of up to 512 bytes), 0.5 GB/s beyond it: one
        // nanosecond per FLOP, per cached byte and per two bytes from memory.
        let limits = MachineLimits(gigaflopsPerSecond: 1, memoryGigabytesPerSecond: 0.5, cacheGigabytesPerSecond: 1, cacheBytes: 1024)
        let roofline = try Roofline(graph: graph, weights: weights, inputShape: [2, 4, 4], batch: 2, limits: limits)
        #expect(roofline.rows.map(\.type) == ["Conv2d", "BatchNorm2d", "ReLU"])
        // conv: 3 x 16 outputs x 18 MACs = 864 MACs, 1,728 FLOPs per image; reads the input
        // (2 x 16 floats x 2 images = 256 bytes) and its 54 weights (216 bytes); its output goes
        // straight into the batch norm (read by nothing else), so it is not written: 472 bytes.
        #expect(roofline.rows[0].flops == 3456 && roofline.rows[0].bytes == 472)
        // batch norm: 2 FLOPs per element (96 per image); input and output stay in registers;
        // its four 3-channel tensors are 48 bytes.
        #expect(roofline.rows[1].flops == 192 && roofline.rows[1].bytes == 48)
        // ReLU: 1 FLOP per element; writes the network's output, 3 x 16 floats x 2 = 384 bytes.
        #expect(roofline.rows[2].flops == 96 && roofline.rows[2].bytes == 384)
        // max(3456, 472) + max(192, 48) + max(96, 384) nanoseconds.
        #expect(roofline.rows.map(\.memoryBound) == [false, false, true])
        #expect(abs(roofline.milliseconds - 4032e-6) < 1e-12)
    }

    @Test func opsBeyondHalfTheCacheMoveAtMemorysBandwidth() throws {
        let (graph, weights) = try Self.graphAndWeights()
        let limits = MachineLimits(gigaflopsPerSecond: 1, memoryGigabytesPerSecond: 0.5, cacheGigabytesPerSecond: 1, cacheBytes: 512)
        let roofline = try Roofline(graph: graph, weights: weights, inputShape: [2, 4, 4], batch: 2, limits: limits)
        // Only the batch norm's 48 bytes fit in 256: conv max(3456, 944), bn max(192, 48), ReLU max(96, 768).
        #expect(abs(roofline.milliseconds - (3456 + 192 + 768) * 1e-6) < 1e-12)
    }

    @Test func aValueReadTwiceIsNotFused() throws {
        // A residual block's input is read by conv1 and by the shortcut's add: written and read.
        let block = try BasicBlock(variant: .vanilla, inputChannels: 4, outputChannels: 4, stride: 1, path: "b")
        var weights: [String: Tensor] = [:]
        block.visitTensors { name, _, tensor in weights[name] = tensor }
        let graph = try GraphBuilder.build(layer: block)
        let limits = MachineLimits(gigaflopsPerSecond: 1, memoryGigabytesPerSecond: 1, cacheGigabytesPerSecond: 1, cacheBytes: 0)
        let roofline = try Roofline(graph: graph, weights: weights, inputShape: [4, 2, 2], batch: 1, limits: limits)
        let map = 4 * 4 * 2 * 2.0  // one 4x2x2 map in bytes
        let add = try #require(roofline.rows.first { $0.type == "add" })
        // The add reads bn2's output in registers and the block input from memory, and its own
        // output goes on into relu2 in registers.
        #expect(add.bytes == map)
        let conv1 = try #require(roofline.rows.first { $0.module == "conv1" })
        #expect(conv1.bytes == map + 4 * 4 * 4 * 9)
    }

    @Test func measuredLimitsArePositive() {
        let limits = MachineLimits.measure()
        #expect(limits.gigaflopsPerSecond > 0 && limits.memoryGigabytesPerSecond > 0 && limits.cacheGigabytesPerSecond > 0)
        #expect(limits.cacheBytes >= 0)
    }
}

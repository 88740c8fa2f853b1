import ArgumentParser
import SPConvLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time whole-network forward passes: median ms per batch after warm-up.",
        discussion: "Build in release mode for real numbers: swift build -c release, then .build/release/probe-cli bench ...")

    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model to time instead of a zoo --model (without --profile and --roofline).", valueName: "file"))
    var onnx: String?

    @Option(help: "Images per batch.")
    var batch: Int = 1

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Untimed runs before timing.")
    var warmup: Int = 3

    @Option(help: "Timed runs; the median is reported.")
    var runs: Int = 10

    @OptionGroup var memory: MemoryOptions

    @Flag(help: "Print JSON (key ms_per_batch) instead of a line of text.")
    var json = false

    @Flag(help: "Also show where the time goes, op by op (time per pass, calls, share).")
    var profile = false

    @Flag(help: """
        Also give the roofline: the time a perfect engine would need for the batch on this machine \
        (per op, the larger of FLOPs / attainable compute and bytes moved / memory bandwidth, summed; \
        both limits measured first, about a second), and the measured time as a multiple of it.
        """)
    var roofline = false

    func validate() throws {
        try model.validateChoice(onnx: onnx)
        if onnx != nil && (profile || roofline) {
            throw ValidationError("--profile and --roofline work on zoo models only for now; drop them with --onnx.")
        }
        guard batch >= 1 else { throw ValidationError("--batch \(batch) must be at least 1.") }
        try ThreadLimit.validate(threads)
        // A million timed passes is already days for the large models; beyond is a typo.
        guard (0...100_000).contains(warmup) else { throw ValidationError("--warmup \(warmup) is out of range; give 0 to 100000 untimed runs.") }
        guard (1...1_000_000).contains(runs) else { throw ValidationError("--runs \(runs) is out of range; give 1 to 1000000 timed runs.") }
    }

    struct Result: Encodable {
        var model: String
        var variant: String
        var ratio: Double?
        var groups: Int?
        var batch: Int
        var threads: Int
        var inputSize: Int
        var msPerBatch: Double
        var msMin: Double
        var gflopsPerSecond: Double
        var runs: Int
        /// The instruction set the kernels ran on (`avx512`, `avx2`): what SPCONVLAB_MAX_ISA left of this CPU's.
        var isa: String = EngineCheck.instructionSet
        /// Bytes of the feature-map buffers the compiled graph's memory plan keeps for this batch
        /// (every activation of a pass, reused by liveness, plus SPConv's scratch maps).
        var activationBytes: Int
        var ops: [OpTime]?
        var roofline: RooflineSummary?

        struct RooflineSummary: Encodable {
            /// What a perfect engine needs, ms per batch.
            var ms: Double
            /// ms_per_batch divided by ms: how many times the bound ours takes.
            var timesBound: Double
            var memoryBoundOps: Int
            var ops: Int
            var sgemmGflopsPerSecond: Double
            var memoryGigabytesPerSecond: Double
            var cacheGigabytesPerSecond: Double
            var cacheBytes: Int
            enum CodingKeys: String, CodingKey {
                case ms, ops
                case timesBound = "times_bound", memoryBoundOps = "memory_bound_ops"
                case sgemmGflopsPerSecond = "sgemm_gflops_per_second", memoryGigabytesPerSecond = "memory_gb_per_second"
                case cacheGigabytesPerSecond = "cache_gb_per_second", cacheBytes = "cache_bytes"
            }
        }

        struct OpTime: Encodable {
            var op: String
            var callsPerPass: Double
            var msPerPass: Double
            enum CodingKeys: String, CodingKey { case op, callsPerPass = "calls_per_pass", msPerPass = "ms_per_pass" }
        }

        enum CodingKeys: String, CodingKey {
            case model, variant, ratio, groups, batch, threads, runs, ops, roofline, isa
            case inputSize = "input_size", msPerBatch = "ms_per_batch", msMin = "ms_min", gflopsPerSecond = "gflops_per_second"
            case activationBytes = "activation_bytes"
        }
    }

    struct ONNXResult: Encodable {
        var onnx: String
        var batch: Int
        var threads: Int
        var msPerBatch: Double
        var msMin: Double
        var gflopsPerSecond: Double
        var runs: Int
        var isa: String = EngineCheck.instructionSet
        enum CodingKeys: String, CodingKey {
            case onnx, batch, threads, runs, isa
            case msPerBatch = "ms_per_batch", msMin = "ms_min", gflopsPerSecond = "gflops_per_second"
        }
    }

    /// Times an ONNX model on a seeded uniform batch.
    private func benchONNX(_ path: String) throws {
        let imported = try ONNXModel(contentsOf: path)
        try memory.checkInference(imported, batch: batch)
        let session = try ONNXSession(imported, batch: batch)
        let shape = [batch] + imported.inputShape.dropFirst().map { $0! }
        var generator = SeededGenerator(seed: 1)
        let input = Tensor.uniform(shape, generator: &generator)
        let times = try Stopwatch.measure(warmup: warmup, runs: runs) { _ = try session.run(input) }
        let median = Stopwatch.median(times)
        let flops = Double(try imported.cost().flops) * Double(batch)
        let result = ONNXResult(onnx: path, batch: batch, threads: Engine.threads, msPerBatch: median, msMin: times.min()!,
                                gflopsPerSecond: flops / median / 1e6, runs: runs)
        if json {
            print(try jsonText(result))
        } else {
            print(String(format: "%@ (ONNX), batch %d, %d threads, %@ path: %.2f ms per batch (median of %d, min %.2f), %.1f GFLOP/s",
                         path, batch, Engine.threads, result.isa, median, runs, times.min()!, result.gflopsPerSecond))
        }
    }

    func run() throws {
        try reportingFailures {
            if let threads { Engine.setThreads(threads) }
            if let onnx { return try benchONNX(onnx) }
            let network = try model.makeNetwork()
            try memory.checkInference(network, batch: batch)
            let spec = network.spec
            var generator = SeededGenerator(seed: 1)
            let input = Tensor.uniform([batch, spec.inputChannels, spec.inputSize, spec.inputSize], generator: &generator)
            let times = try Stopwatch.measure(warmup: warmup, runs: runs) { _ = try network(input) }
            var ops: [Result.OpTime]?
            if profile {
                // A separate profiled pass series, so the timing above is not disturbed by the bookkeeping.
                OpProfiler.start()
                for _ in 0..<runs { _ = try network(input) }
                ops = OpProfiler.stop().map { Result.OpTime(op: $0.label, callsPerPass: Double($0.calls) / Double(runs),
                                                            msPerPass: Double($0.nanoseconds) / 1e6 / Double(runs)) }
            }
            let median = Stopwatch.median(times)
            let flops = Double(try network.cost().flops) * Double(batch)
            let c = spec.variant.spconvConfiguration
            var summary: Result.RooflineSummary?
            if roofline {
                let bound = try network.roofline(batch: batch, limits: MachineLimits.measure())
                summary = Result.RooflineSummary(ms: bound.milliseconds, timesBound: median / bound.milliseconds,
                                                 memoryBoundOps: bound.rows.filter(\.memoryBound).count, ops: bound.rows.count,
                                                 sgemmGflopsPerSecond: bound.limits.gigaflopsPerSecond,
                                                 memoryGigabytesPerSecond: bound.limits.memoryGigabytesPerSecond,
                                                 cacheGigabytesPerSecond: bound.limits.cacheGigabytesPerSecond, cacheBytes: bound.limits.cacheBytes)
            }
            let result = Result(model: spec.architecture.rawValue, variant: spec.variant.name, ratio: c?.ratio, groups: c?.groups,
                                batch: batch, threads: Engine.threads, inputSize: spec.inputSize, msPerBatch: median,
                                msMin: times.min()!, gflopsPerSecond: flops / median / 1e6, runs: runs,
                                activationBytes: try network.compiledGraph(for: input.shape).plannedBytes, ops: ops, roofline: summary)
            if json {
                print(try jsonText(result))
            } else {
                print(String(format: "%@, batch %d, %d threads, %@ path: %.2f ms per batch (median of %d, min %.2f), %.1f GFLOP/s, %.1f MB of activation buffers",
                             spec.displayName, batch, Engine.threads, result.isa, median, runs, times.min()!, result.gflopsPerSecond,
                             Double(result.activationBytes) / 1e6))
                if let summary {
                    print(String(format: "roofline: a perfect direct-convolution engine needs %.2f ms per batch here (%d of %d ops memory-bound; measured now: sgemm %.0f GFLOP/s, copy %.0f GB/s in cache, %.0f GB/s from memory); this run takes %.2fx that",
                                 summary.ms, summary.memoryBoundOps, summary.ops, summary.sgemmGflopsPerSecond, summary.cacheGigabytesPerSecond,
                                 summary.memoryGigabytesPerSecond, summary.timesBound))
                }
                if let ops {
                    let accounted = ops.reduce(0) { $0 + $1.msPerPass }
                    print("\nwhere the time goes (mean per pass over \(runs) profiled passes):")
                    print("  " + "op".padding(toLength: 44, withPad: " ", startingAt: 0) + "calls      ms   share")
                    for op in ops + [Result.OpTime(op: "everything else (Swift glue, allocation)", callsPerPass: 0, msPerPass: max(median - accounted, 0))] {
                        print("  " + op.op.padding(toLength: 44, withPad: " ", startingAt: 0)
                              + String(format: "%5.0f %7.2f %6.1f%%", op.callsPerPass, op.msPerPass, 100 * op.msPerPass / median))
                    }
                }
            }
        }
    }
}

import Foundation
import Testing

/// `probe-cli bench`: timing output in JSON (values are not asserted beyond sanity; benchmarks
/// belong in release builds, not in `swift test`).
@Suite("probe-cli bench")
struct BenchCommandTests {
    struct Report: Decodable {
        var model: String
        var batch: Int
        var runs: Int
        var msPerBatch: Double
        var activationBytes: Int

        enum CodingKeys: String, CodingKey {
            case model, batch, runs
            case msPerBatch = "ms_per_batch", activationBytes = "activation_bytes"
        }
    }

    @Test func jsonReportsAPositiveTimePerBatch() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["bench", "--model", "resnet20", "--batch", "2", "--runs", "2", "--warmup", "1",
                                                  "--json"], in: directory.url)
            expectSuccess(result)
            let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
            #expect(report.model == "resnet20" && report.batch == 2 && report.runs == 2)
            #expect(report.msPerBatch > 0 && report.msPerBatch.isFinite)
            // The memory plan's buffers: at least a conv's input and output of the first stage live
            // at once (2 images x 16 x 32 x 32 floats each, 131,072 bytes), and far less than
            // resnet20's 19 convolution outputs kept without reuse (most of them that size or less).
            #expect(report.activationBytes >= 2 * 131_072 && report.activationBytes < 19 * 131_072, "\(report.activationBytes) bytes")
        }
    }

    struct RooflineReport: Decodable {
        struct Roofline: Decodable {
            var ms: Double
            var timesBound: Double
            var ops: Int
            var memoryBoundOps: Int
            enum CodingKeys: String, CodingKey { case ms, ops, timesBound = "times_bound", memoryBoundOps = "memory_bound_ops" }
        }
        var msPerBatch: Double
        var roofline: Roofline
        enum CodingKeys: String, CodingKey { case roofline, msPerBatch = "ms_per_batch" }
    }

    /// `--roofline` adds the bound to the JSON; its arithmetic is RooflineTests', here only that
    /// it is there and consistent with the measured time.
    @Test func rooflineReportsABoundAndTheRatioToIt() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["bench", "--model", "resnet20", "--variant", "spconv", "--batch", "1", "--runs", "2",
                                                  "--warmup", "1", "--roofline", "--json"], in: directory.url)
            expectSuccess(result)
            let report = try JSONDecoder().decode(RooflineReport.self, from: Data(result.stdout.utf8))
            // resnet20 SPConv's ops besides its free channel slices, counted by hand: stem conv, bn,
            // relu (3); 18 SPConv layers of gwc, pwc, add, bn1, conv1x1, bn2, fusion (7), the two at
            // stride 2 with two average pools more (16 x 7 + 2 x 9 = 130); per block bn1, relu1, bn2,
            // add, relu2 (9 x 5 = 45); two downsamples of conv and bn (4); pool and fc (2): 184.
            #expect(report.roofline.ops == 184 && report.roofline.memoryBoundOps <= 184)
            #expect(report.roofline.ms > 0 && report.roofline.ms.isFinite)
            #expect(abs(report.roofline.timesBound - report.msPerBatch / report.roofline.ms) < 1e-9 * report.roofline.timesBound)
        }
    }
}

@Suite("probe-cli bench with engine switches")
struct EngineSwitchTests {
    /// An unknown value of an engine switch is named on stderr with what is accepted; the run goes on
    /// with the default (a benchmark is not worth failing over a typo, but it must not pass silently).
    @Test func unknownSwitchValuesAreNamed() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["bench", "--model", "resnet20", "--runs", "1", "--warmup", "0"], in: directory.url,
                                                 environment: ["SPCONVLAB_CONV_ALGO": "fast", "SPCONVLAB_MAX_ISA": "avx3"])
            expectSuccess(result)
            #expect(result.stderr.contains("SPCONVLAB_CONV_ALGO='fast'") && result.stderr.contains("own (the default), auto, direct, winograd, own-winograd and own-direct"))
            #expect(result.stderr.contains("SPCONVLAB_MAX_ISA='avx3'") && result.stderr.contains("avx2 and sse41"))
        }
    }

    /// `SPCONVLAB_CONV_ALGO=own` runs every convolution and SPConv layer of the zoo's networks on
    /// the engine's own kernels (their profile labels say "(own"), vanilla and SPConv, at a batch
    /// of one and more, on every instruction-set path the CPU has: no oneDNN call, so no heap
    /// allocation in a pass (`allocation-bench` counts them; docs/PERFORMANCE.md).
    @Test func ownRunsEveryConvolutionOnTheEnginesKernels() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        try #require(cpuinfo.contains(" avx2"), "the own kernels need AVX2 or AVX-512")
        try withTemporaryDirectory { directory in
            for (variant, batch, isa) in [("vanilla", "1", nil), ("spconv", "3", nil), ("spconv", "1", "avx2"), ("vanilla", "2", "avx2")] {
                var environment = ["SPCONVLAB_CONV_ALGO": "own", "SPCONVLAB_TIMING_CACHE": "off"]
                if let isa { environment["SPCONVLAB_MAX_ISA"] = isa }
                let result = try ProbeCLIProcess.run(["bench", "--model", "resnet20", "--variant", variant, "--batch", batch, "--runs", "1",
                                                      "--warmup", "0", "--profile", "--json"], in: directory.url, environment: environment)
                expectSuccess(result)
                let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                let labels = (json?["ops"] as? [[String: Any]] ?? []).compactMap { $0["op"] as? String }
                #expect(labels.contains { $0.hasPrefix("conv") }, "\(variant) b\(batch): \(labels)")
                for label in labels where label.hasPrefix("conv") || label.hasPrefix("spconv") {
                    #expect(label.contains("(own"), "\(variant) b\(batch) \(isa ?? "widest"): \(label) is not one of the engine's kernels")
                }
            }
        }
    }

    /// `bench` says which instruction set its kernels ran on, so a table of its numbers can say it
    /// too: the CPU's widest (AVX-512 when /proc/cpuinfo lists avx512f), or AVX2 when held there.
    @Test func theReportNamesTheISAPathThatRan() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let widest = cpuinfo.contains(" avx512f") && ProcessInfo.processInfo.environment["SPCONVLAB_MAX_ISA"] == nil ? "avx512" : "avx2"
        try withTemporaryDirectory { directory in
            for (environment, expected) in [([String: String](), widest), (["SPCONVLAB_MAX_ISA": "avx2"], "avx2")] {
                let result = try ProbeCLIProcess.run(["bench", "--model", "resnet20", "--runs", "1", "--warmup", "0", "--json"],
                                                     in: directory.url, environment: environment)
                expectSuccess(result)
                let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                #expect(json?["isa"] as? String == expected, "\(environment): \(result.stdout)")
            }
        }
    }
}

@Suite("probe-cli bench --profile")
struct BenchProfileTests {
    /// The SPConv kernel set and the convolution algorithm are pinned: by default the compiler
    /// times the candidates per layer shape.
    @Test func theProfileNamesTheOpsOfAnSPConvNetwork() throws {
        try withTemporaryDirectory { directory in
            func profile(_ kernels: String, algorithm: String = "direct") throws -> [[String: Any]] {
                let result = try ProbeCLIProcess.run(["bench", "--model", "resnet20", "--variant", "spconv", "--batch", "2",
                                                      "--runs", "2", "--warmup", "1", "--json", "--profile"], in: directory.url,
                                                     environment: ["SPCONVLAB_SPCONV_KERNEL": kernels, "SPCONVLAB_CONV_ALGO": algorithm])
                expectSuccess(result)
                let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                return json?["ops"] as? [[String: Any]] ?? []
            }
            // oneDNN's convolutions: resnet20 has 18 SPConv layers, one fusion and one split per layer and pass.
            let oneDNN = try profile("onednn")
            let labels = oneDNN.compactMap { $0["op"] as? String }
            #expect(labels.contains("spconv fusion + BN/residual/ReLU") && labels.contains("spconv split"))
            #expect(labels.contains { $0.hasPrefix("conv 3x3") } && labels.contains("linear"))
            let fusion = oneDNN.first { $0["op"] as? String == "spconv fusion + BN/residual/ReLU" }
            #expect(fusion?["calls_per_pass"] as? Double == 18)
            // The engine's own kernels: one step per SPConv layer, named by its shape (6 + 1 + 5 + 1 + 5 layers).
            let own = try profile("own")
            let layers = own.filter { ($0["op"] as? String)?.hasSuffix("(own kernels)") == true }
            #expect(layers.map { $0["calls_per_pass"] as? Double ?? 0 }.reduce(0, +) == 18)
            #expect(layers.contains { $0["op"] as? String == "spconv 16->16 s1 32x32 (own kernels)" && $0["calls_per_pass"] as? Double == 6 })
            #expect(!own.contains { $0["op"] as? String == "spconv split" })
            // With the own Winograd forced, the 16 stride-1 layers' representative branch runs by it.
            let winograd = try profile("own", algorithm: "own-winograd")
            func calls(_ suffix: String) -> Double {
                winograd.filter { ($0["op"] as? String)?.hasSuffix(suffix) == true }.map { $0["calls_per_pass"] as? Double ?? 0 }.reduce(0, +)
            }
            #expect(calls("(own kernels, Winograd)") == 16 && calls("(own kernels)") == 2)
            #expect(winograd.contains { $0["op"] as? String == "spconv 16->16 s1 32x32 (own kernels, Winograd)" })
        }
    }

    @Test func onnxModelIsTimedAndProfilingItIsRefused() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SPConvLabTests/Fixtures/onnx/mixed.onnx").path
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["bench", "--onnx", fixture, "--batch", "2", "--warmup", "0", "--runs", "2", "--json"],
                                                 in: directory.url)
            expectSuccess(result)
            struct Timing: Decodable { var ms_per_batch: Double, batch: Int }
            let timing = try JSONDecoder().decode(Timing.self, from: Data(result.stdout.utf8))
            #expect(timing.ms_per_batch > 0 && timing.batch == 2)
            expectFailure(try ProbeCLIProcess.run(["bench", "--onnx", fixture, "--profile"], in: directory.url), exitCode: 64,
                          mentions: ["--profile", "--onnx"])
        }
    }
}


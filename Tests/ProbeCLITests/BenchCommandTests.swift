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

        enum CodingKeys: String, CodingKey {
            case model, batch, runs
            case msPerBatch = "ms_per_batch"
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
            #expect(result.stderr.contains("SPCONVLAB_CONV_ALGO='fast'") && result.stderr.contains("auto (the default), direct and winograd"))
            #expect(result.stderr.contains("SPCONVLAB_MAX_ISA='avx3'") && result.stderr.contains("avx2 and sse41"))
        }
    }
}

@Suite("probe-cli bench --profile")
struct BenchProfileTests {
    @Test func theProfileNamesTheOpsOfAnSPConvNetwork() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["bench", "--model", "resnet20", "--variant", "spconv", "--batch", "2",
                                                  "--runs", "2", "--warmup", "1", "--json", "--profile"], in: directory.url)
            expectSuccess(result)
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let ops = json?["ops"] as? [[String: Any]] ?? []
            let labels = ops.compactMap { $0["op"] as? String }
            #expect(labels.contains("spconv fusion + BN/residual/ReLU") && labels.contains("spconv split"))
            #expect(labels.contains { $0.hasPrefix("conv 3x3") } && labels.contains("linear"))
            // resnet20 has 18 SPConv layers: one fusion and one split per layer and pass.
            let fusion = ops.first { $0["op"] as? String == "spconv fusion + BN/residual/ReLU" }
            #expect(fusion?["calls_per_pass"] as? Double == 18)
        }
    }
}

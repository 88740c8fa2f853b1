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

import Foundation
import Testing

/// `probe-cli tune`: every kernel choice of a network timed again and written to the timing
/// store the environment names (times are not asserted beyond their order: a debug build's say
/// nothing about a release build's).
@Suite("probe-cli tune")
struct TuneCommandTests {
    struct Report: Decodable {
        struct Row: Decodable {
            var choice: String
            var rounds: Int
            var medianRatio: Double
            var ratioLow: Double
            var ratioHigh: Double
            var before: String?
            var now: String
            enum CodingKeys: String, CodingKey {
                case choice, rounds, before, now
                case medianRatio = "median_ratio", ratioLow = "ratio_ci_low", ratioHigh = "ratio_ci_high"
            }
        }
        var batch: Int
        var store: String?
        var choices: [Row]
    }

    @Test func timesEveryChoiceAndStoresTheNewOnes() throws {
        try withTemporaryDirectory { directory in
            let store = directory.url.appendingPathComponent("timing.tsv").path
            let arguments = ["tune", "--model", "resnet20", "--batch", "2", "--milliseconds", "1", "--json"]
            let result = try ProbeCLIProcess.run(arguments, in: directory.url, environment: ["SPCONVLAB_TIMING_CACHE": store])
            expectSuccess(result)
            let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
            #expect(report.batch == 2 && report.store == store)
            // resnet20's 3x3 convolutions have the own Winograd or direct kernel next to oneDNN's.
            #expect(report.choices.count >= 5)
            let lines = try String(contentsOfFile: store, encoding: .utf8).split(separator: "\n")
            for row in report.choices {
                #expect(row.rounds >= 3 && row.ratioLow <= row.medianRatio && row.medianRatio <= row.ratioHigh, "\(row)")
                // A fresh store had no choice before; each new one is its own line.
                #expect(row.before == nil)
                let stored = lines.filter { $0.contains(row.choice + " isa ") }
                #expect(stored.count == 1 && stored.first?.hasSuffix(row.now == "oneDNN" ? "\t0" : "\t1") == true, "\(row.choice)")
            }

            // Again on the same store: each choice timed again, with the first run's as the one
            // before. (Which choices come up can differ: where the own Winograd loses, the own
            // direct convolution is timed next.)
            let again = try ProbeCLIProcess.run(arguments, in: directory.url, environment: ["SPCONVLAB_TIMING_CACHE": store])
            expectSuccess(again)
            let second = try JSONDecoder().decode(Report.self, from: Data(again.stdout.utf8))
            let firstChoices = Dictionary(report.choices.map { ($0.choice, $0.now) }, uniquingKeysWith: { $1 })
            #expect(second.choices.count >= 5)
            for row in second.choices { #expect(row.before == firstChoices[row.choice], "\(row.choice)") }
        }
    }

    @Test func refusesARoundBudgetOutOfRange() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["tune", "--model", "resnet20", "--milliseconds", "0"], in: directory.url)
            expectFailure(result, exitCode: 64, mentions: ["--milliseconds 0", "1 to 10000"])
        }
    }

    /// A batch whose activations would not fit the memory budget is refused before anything is
    /// compiled (resnet50 at batch 100000 needs terabytes).
    @Test func refusesABatchBeyondTheMemoryBudget() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["tune", "--model", "resnet50", "--batch", "100000", "--max-memory", "1G"], in: directory.url)
            #expect(result.exitCode != 0 && !result.killedBySignal, "\(result)")
            #expect(result.stdout.isEmpty && result.stderr.contains("100000"), "\(result)")
            expectNoCrash(result)
        }
    }
}

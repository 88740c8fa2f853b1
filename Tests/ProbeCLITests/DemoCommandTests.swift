import FeatureProbe
import Foundation
import Testing

/// `probe-cli demo`, the README's first command: a small resnet20 sweep and its report.
@Suite("probe-cli demo")
struct DemoCommandTests {
    @Test func sweepsResNet20AndWritesTheReport() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["demo", "--out", "demo"], in: directory.url, timeout: 300)
            expectSuccess(result)
            let database = directory.file("demo/demo.sqlite").path
            let store = try ExperimentDatabase(path: database, mode: .readOnly)
            let runs = try store.sweeps().flatMap { try store.runs(sweepID: $0.id) }
            // Vanilla plus ratios 1/4, 1/2, 3/4 x groups 1, 2.
            #expect(runs.count == 7)
            #expect(runs.filter { $0.variant == "vanilla" }.count == 1)
            #expect(runs.allSatisfy { $0.status == .done }, "\(runs.map { "\($0.status) \($0.reason ?? "")" })")
            #expect(Set(runs.compactMap(\.ratio)) == [0.25, 0.5, 0.75] && Set(runs.compactMap(\.groups)) == [1, 2])
            #expect(try store.layerMetrics(runID: runs[0].id).count == 9, "the nine residual blocks")
            #expect(result.stdout.contains("Report:") && result.stdout.contains("demo/report/index.html"))
            let html = try String(contentsOf: directory.file("demo/report/index.html"), encoding: .utf8)
            for file in SweepReport.referencedFiles(in: html) {
                #expect(FileManager.default.fileExists(atPath: directory.file("demo/report/\(file)").path), "\(file)")
            }
            // A second demo starts afresh rather than piling runs into the old database.
            expectSuccess(try ProbeCLIProcess.run(["demo", "--out", "demo"], in: directory.url, timeout: 300))
            let again = try ExperimentDatabase(path: database, mode: .readOnly)
            #expect(try again.sweeps().flatMap { try again.runs(sweepID: $0.id) }.count == 7)
        }
    }
}

import Foundation
import Testing
@testable import FeatureProbe

/// Read-only queries, their formats and the canned questions.
@Suite struct StorageQueryTests {
    static let refused = [
        "DELETE FROM runs",
        "DROP TABLE runs",
        "DROP VIEW run_summary",
        "INSERT INTO sweeps (name, command_line, created_at) VALUES ('x', 'y', 'z')",
        "UPDATE runs SET status = 'failed', reason = 'x'",
        "ATTACH DATABASE 'ATTACHED_PATH' AS other",
        "DETACH DATABASE main",
        "PRAGMA writable_schema = ON",
        "PRAGMA writable_schema = 1",
        "PRAGMA user_version = 5",
        "PRAGMA journal_mode = DELETE",
        "CREATE TABLE t (x)",
        "CREATE TEMP TABLE t (x)",
        "CREATE INDEX i ON runs (model)",
        "ALTER TABLE runs ADD COLUMN x",
        "SELECT 1; DELETE FROM runs",
        "SELECT 1; SELECT 2",
        "WITH doomed AS (SELECT id FROM runs) DELETE FROM runs WHERE id IN doomed",
        "BEGIN IMMEDIATE",
        "VACUUM",
        "REINDEX",
        "ANALYZE",
        "SELECT load_extension('/tmp/nothing.so')",
    ]

    /// A database of sweep `grid` with every run done: vanilla 0.5/100 MACs, ratio 0.5 0.3/60,
    /// ratio 0.25 0.4/40, ratio 0.75 0.45/80 (mean_abs_offdiag of its two layers / MACs).
    static func makeDoneDatabase(_ path: String, accuracies: [Double?] = [nil, nil, nil, nil]) throws -> [RunRecord] {
        let (database, sweep, runs) = try makeGridDatabase(path)
        let costs = [(100, 0.45), (60, 0.25), (40, 0.35), (80, 0.4)]
        try completeAll(database, sweepID: sweep.id) { run in
            let index = runs.firstIndex { $0.id == run.id }!
            return storageResult(macs: costs[index].0, accuracy: accuracies[index], redundancy: costs[index].1)
        }
        return try database.runs(sweepID: sweep.id)
    }

    @Test(arguments: refused)
    func writesAreRefusedAndChangeNothing(sql: String) throws {
        let folder = try TemporaryFolder()
        _ = try Self.makeDoneDatabase(folder.file())
        let attached = folder.file("attached.sqlite")
        let before = try storageChecksum(folder.file())
        let error = #expect(throws: FeatureProbeError.self) {
            try ReadOnlyQuery.run(path: folder.file(), sql: sql.replacingOccurrences(of: "ATTACHED_PATH", with: attached))
        }
        #expect(error?.message.contains(folder.file()) == true, "\(error?.message ?? "")")
        #expect(try storageChecksum(folder.file()) == before)
        #expect(!FileManager.default.fileExists(atPath: attached))
        #expect(try ExperimentDatabase(path: folder.file()).integrityCheck() == ["ok"])
    }

    @Test func aWriteIsRefusedWithAClearMessage() throws {
        let folder = try TemporaryFolder()
        _ = try Self.makeDoneDatabase(folder.file())
        let error = #expect(throws: FeatureProbeError.self) { try ReadOnlyQuery.run(path: folder.file(), sql: "DELETE FROM runs") }
        #expect(error?.message.contains("not authorized") == true)
        #expect(error?.message.contains("Only reading statements are accepted") == true)
        #expect(error?.message.contains("DELETE FROM runs") == true)
        let multiple = #expect(throws: FeatureProbeError.self) { try ReadOnlyQuery.run(path: folder.file(), sql: "SELECT 1; SELECT 2") }
        #expect(multiple?.message.contains("more than one statement") == true)
    }

    @Test(arguments: [
        "SELECT count(*) FROM runs",
        "SELECT 1; -- a trailing comment",
        "PRAGMA table_info(runs)",
        "PRAGMA user_version",
        "PRAGMA integrity_check",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) FROM n",
        "SELECT * FROM run_summary JOIN layer_redundancy USING (run_id)",
    ])
    func readingIsAllowed(sql: String) throws {
        let folder = try TemporaryFolder()
        _ = try Self.makeDoneDatabase(folder.file())
        let result = try ReadOnlyQuery.run(path: folder.file(), sql: sql)
        #expect(!result.columns.isEmpty)
    }

    @Test func queryReadsTheNumbersBack() throws {
        let folder = try TemporaryFolder()
        _ = try Self.makeDoneDatabase(folder.file())
        let result = try ReadOnlyQuery.run(path: folder.file(), sql: "SELECT count(*) AS n, sum(macs) AS macs FROM runs WHERE status = ?",
                                           bindings: [.text("done")])
        #expect(result == QueryResult(columns: ["n", "macs"], rows: [[.integer(4), .integer(280)]]))
    }

    @Test func csvQuotesByRFC4180() {
        let result = QueryResult(columns: ["name", "note"], rows: [
            [.text("a,b"), .text("say \"hi\"\nbye")],
            [.integer(3), .real(0.1)],
            [.null, .blob([1, 2, 3])],
        ])
        let expected = "name,note\r\n\"a,b\",\"say \"\"hi\"\"\nbye\"\r\n3,0.1\r\n,<blob 3 bytes>\r\n"
        #expect(QueryFormatter.csv(result) == expected)
    }

    @Test func tableIsAlignedForPeople() {
        let result = QueryResult(columns: ["model", "macs", "acc"], rows: [
            [.text("resnet18"), .integer(5), .null],
            [.text("vgg"), .integer(12345), .real(0.1234567)],
        ])
        let expected = """
            model      macs       acc
            --------  -----  --------
            resnet18      5      NULL
            vgg       12345  0.123457
            (2 rows)

            """
        #expect(QueryFormatter.table(result) == expected)
    }

    @Test func jsonParsesWithJSONSerialization() throws {
        let result = QueryResult(columns: ["id", "ratio", "name", "missing", "matrix"], rows: [
            [.integer(1), .real(0.25), .text("tab\there \"q\" \\ \u{1}"), .null, .blob([0, 0, 128, 63])],
        ])
        let text = QueryFormatter.json(result)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(parsed.count == 1)
        #expect(parsed[0]["id"] as? Int == 1)
        #expect(parsed[0]["ratio"] as? Double == 0.25)
        #expect(parsed[0]["name"] as? String == "tab\there \"q\" \\ \u{1}")
        #expect(parsed[0]["missing"] is NSNull)
        #expect((parsed[0]["matrix"] as? [String: Any])?["blob_bytes"] as? Int == 4)
        #expect(QueryFormatter.json(QueryResult(columns: ["x"], rows: [])) == "[]\n")
    }

    @Test func cannedRunsShowAndCompare() throws {
        let folder = try TemporaryFolder()
        let runs = try Self.makeDoneDatabase(folder.file())
        let list = try CannedQuery.runs(path: folder.file(), sweep: "grid")
        #expect(list.rows.count == 4)
        #expect(list.columns.contains("mean_abs_offdiag"))
        #expect(try CannedQuery.runs(path: folder.file(), sweep: "nothing").rows.isEmpty)

        let show = try CannedQuery.show(path: folder.file(), runID: runs[1].id)
        #expect(show.columns == ["field", "value"])
        #expect(show.rows.contains([.text("ratio"), .real(0.5)]))
        #expect(show.rows.contains([.text("sweep"), .text("grid")]))
        let missing = #expect(throws: FeatureProbeError.self) { try CannedQuery.show(path: folder.file(), runID: 99) }
        #expect(missing?.message.contains("no run 99") == true)

        let compare = try CannedQuery.compare(path: folder.file(), runA: runs[0].id, runB: runs[1].id)
        #expect(compare.rows.map { $0[0] } == [.text("conv1"), .text("layer1.0.conv1")])
        let meanA = try #require(compare.columns.firstIndex(of: "a_mean_abs_offdiag"))
        #expect(compare.rows[0][meanA] == .real(0.45) && compare.rows[0][meanA + 1] == .real(0.25))
        #expect(throws: FeatureProbeError.self) { try CannedQuery.compare(path: folder.file(), runA: runs[0].id, runB: 99) }
    }

    @Test func topRedundantOrdersLayers() throws {
        let folder = try TemporaryFolder()
        let runs = try Self.makeDoneDatabase(folder.file())
        let top = try CannedQuery.topRedundant(path: folder.file(), limit: 3)
        let mean = try #require(top.columns.firstIndex(of: "mean_abs_offdiag"))
        #expect(top.rows.count == 3)
        // The vanilla run's layer1.0.conv1 (0.45 + 0.1) leads.
        #expect(top.rows[0][0] == .integer(runs[0].id) && top.rows[0][mean].double.map { abs($0 - 0.55) < 1e-12 } == true)
        #expect(top.rows.map { $0[mean].double ?? 0 } == top.rows.map { $0[mean].double ?? 0 }.sorted(by: >))
        #expect(throws: FeatureProbeError.self) { try CannedQuery.topRedundant(path: folder.file(), limit: 0) }
    }

    @Test func paretoUsesRedundancyWithoutAccuracy() throws {
        // MACs / mean redundancy: vanilla 100/0.5, r0.5 60/0.3, r0.25 40/0.4, r0.75 80/0.45.
        // r0.5 beats vanilla and r0.75; r0.25 is the cheapest.
        let folder = try TemporaryFolder()
        let runs = try Self.makeDoneDatabase(folder.file())
        let pareto = try CannedQuery.pareto(path: folder.file())
        #expect(Set(pareto.rows.map { $0[0] }) == [.integer(runs[1].id), .integer(runs[2].id)])
        #expect(pareto.rows.allSatisfy { $0[pareto.columns.firstIndex(of: "criterion")!] == .text("mean_abs_offdiag") })
    }

    @Test func paretoUsesAccuracyWhenKnown() throws {
        // MACs / accuracy: vanilla 100/0.95, r0.5 60/0.90, r0.25 40/0.80, r0.75 80/0.89 (beaten by r0.5).
        let folder = try TemporaryFolder()
        let runs = try Self.makeDoneDatabase(folder.file(), accuracies: [0.95, 0.90, 0.80, 0.89])
        let pareto = try CannedQuery.pareto(path: folder.file())
        #expect(pareto.rows.map { $0[0] } == [runs[2].id, runs[1].id, runs[0].id].map { .integer($0) })
    }
}

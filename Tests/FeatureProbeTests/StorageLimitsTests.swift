import Foundation
import Testing
@testable import FeatureProbe

/// Hostile queries and hostile databases: time, row, size and memory limits, damaged BLOBs read
/// by their length first, one-paragraph errors, and databases on read-only mounts.
@Suite struct StorageLimitsTests {
    static let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
    static let endlessCount = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"

    @Test func anEndlessStatementStopsAtItsDeadline() throws {
        let folder = try TemporaryFolder()
        _ = try StorageQueryTests.makeDoneDatabase(folder.file())
        let started = ContinuousClock.now
        let error = #expect(throws: FeatureProbeError.self) {
            try ReadOnlyQuery.run(path: folder.file(), sql: Self.endlessCount,
                                  limits: .init(deadline: .now + .milliseconds(300)))
        }
        #expect(error?.message.contains("time limit") == true, "\(error?.message ?? "")")
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    /// SQLite's result code travels as a field, not only in the text: SQLITE_ERROR (1) for a
    /// syntax error, SQLITE_NOTADB (26) for a file of other bytes, SQLITE_CANTOPEN (14) for a
    /// missing folder; errors that are not SQLite's carry none.
    @Test func sqliteFailuresCarryTheirResultCode() throws {
        let folder = try TemporaryFolder()
        let connection = try SQLiteConnection(path: folder.file("a.sqlite"), mode: .readWrite(create: true))
        let syntax = #expect(throws: FeatureProbeError.self) { try connection.execute("SELEC 1") }
        #expect(syntax?.sqliteResultCode == 1)
        let text = folder.file("not-a-database.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: text))
        let notADatabase = #expect(throws: FeatureProbeError.self) {
            _ = try SQLiteConnection(path: text, mode: .readOnly).scalar("SELECT count(*) FROM sqlite_master")
        }
        #expect(notADatabase?.sqliteResultCode.map { $0 & 0xff } == 26)
        #expect(notADatabase.map(SQLiteConnection.resultCode(of:)) == 26)
        let missing = #expect(throws: FeatureProbeError.self) {
            _ = try SQLiteConnection(path: folder.file("no/such/folder.sqlite"), mode: .readWrite(create: true))
        }
        #expect(missing?.sqliteResultCode.map { $0 & 0xff } == 14)
        #expect(FeatureProbeError("a flag was wrong").sqliteResultCode == nil)
    }

    /// Rows are decoded by column name, and a value of the wrong kind is an error naming the run,
    /// the column, the value and what would be accepted, not a default (an unknown status once
    /// read as pending, a text batch as 0).
    @Test(arguments: [("status", "'weird'", ["run 2", "'status'", "'weird'", "'pending'", "'skipped'"]),
                      ("batch", "'eight'", ["run 2", "'batch'", "'eight'", "an integer"]),
                      ("weights_source", "'borrowed'", ["run 2", "'weights_source'", "'trained'", "'random'"]),
                      ("params", "X'00'", ["run 2", "'params'", "a BLOB of 1 bytes", "an integer or NULL"])])
    func aRunRowOfTheWrongKindIsAnErrorNamingIt(column: String, value: String, mentions: [String]) throws {
        let folder = try TemporaryFolder()
        _ = try StorageQueryTests.makeDoneDatabase(folder.file())
        let connection = try SQLiteConnection(path: folder.file(), mode: .readWrite(create: false))
        try connection.execute("PRAGMA ignore_check_constraints = ON")
        try connection.execute("UPDATE runs SET \(column) = \(value) WHERE id = 2")
        let database = try ExperimentDatabase(path: folder.file(), mode: .readOnly)
        let sweep = try #require(try database.sweeps().first)
        let error = #expect(throws: FeatureProbeError.self) { _ = try database.runs(sweepID: sweep.id) }
        for text in mentions { #expect(error?.message.contains(text) == true, "\(text) in: \(error?.message ?? "")") }
        #expect(error?.message.contains(folder.file()) == true)
    }

    @Test func aCancelledStatementSaysItWasInterrupted() throws {
        let folder = try TemporaryFolder()
        _ = try StorageQueryTests.makeDoneDatabase(folder.file())
        let error = #expect(throws: FeatureProbeError.self) {
            try ReadOnlyQuery.run(path: folder.file(), sql: Self.endlessCount, limits: .init(isCancelled: { true }))
        }
        #expect(error?.message.contains("interrupted (Ctrl-C)") == true, "\(error?.message ?? "")")
    }

    @Test func anEndlessResultIsCutAtTheRowLimitAndSaysSo() throws {
        let folder = try TemporaryFolder()
        _ = try StorageQueryTests.makeDoneDatabase(folder.file())
        let result = try ReadOnlyQuery.run(path: folder.file(), sql: Self.endless, maximumRows: 5)
        #expect(result.rows == (1...5).map { [.integer(Int64($0))] })
        #expect(result.isTruncated)
        let all = try ReadOnlyQuery.run(path: folder.file(), sql: "SELECT id FROM runs", maximumRows: 4)
        #expect(all.rows.count == 4)
        #expect(!all.isTruncated, "exactly the limit is not truncated")
    }

    @Test func aValueOverTheSizeLimitIsRefusedWithAHint() throws {
        let folder = try TemporaryFolder()
        _ = try StorageQueryTests.makeDoneDatabase(folder.file())
        // The stored matrices are 4 x 4 floats: 64 bytes.
        let error = #expect(throws: FeatureProbeError.self) {
            try ReadOnlyQuery.run(path: folder.file(), sql: "SELECT matrix FROM similarity", limits: .init(maximumValueBytes: 32))
        }
        #expect(error?.message.contains("leave that column out") == true, "\(error?.message ?? "")")
        let others = try ReadOnlyQuery.run(path: folder.file(), sql: "SELECT DISTINCT channels FROM similarity",
                                           limits: .init(maximumValueBytes: 32))
        #expect(others.rows == [[.integer(4)]])
    }

    @Test func errorsShowMultiLineSQLOnOneLine() throws {
        let folder = try TemporaryFolder()
        _ = try StorageQueryTests.makeDoneDatabase(folder.file())
        let error = #expect(throws: FeatureProbeError.self) {
            try ReadOnlyQuery.run(path: folder.file(), sql: "SELECT\n   nosuch\n\tFROM    runs\n")
        }
        #expect(error?.message.contains("`SELECT nosuch FROM runs`") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
        let long = "SELECT " + Array(repeating: "nosuch", count: 200).joined(separator: ", ") + " FROM runs"
        let longError = #expect(throws: FeatureProbeError.self) { try ReadOnlyQuery.run(path: folder.file(), sql: long) }
        #expect((longError?.message.count ?? .max) < 600)
    }

    @Test func aDamagedSimilarityBlobIsRefusedByItsLength() throws {
        let folder = try TemporaryFolder()
        let runs = try StorageQueryTests.makeDoneDatabase(folder.file())
        let writer = try SQLiteConnection(path: folder.file(), mode: .readWrite(create: false))
        try writer.execute("PRAGMA ignore_check_constraints = ON")
        try writer.run("UPDATE similarity SET matrix = zeroblob(4000000) WHERE run_id = ? AND layer = 'conv1'", [.integer(runs[0].id)])
        let database = try ExperimentDatabase(path: folder.file(), mode: .readOnly)
        let error = #expect(throws: FeatureProbeError.self) {
            try database.similarity(runID: runs[0].id, layer: "conv1", metric: "cosine")
        }
        #expect(error?.message.contains("4000000 bytes for 4 channels") == true, "\(error?.message ?? "")")
        #expect(try database.similarity(runID: runs[0].id, layer: "layer1.0.conv1", metric: "cosine")?.channels == 4)
    }

    /// Runs a command; returns its exit status.
    @discardableResult
    static func shell(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Whether this process may make read-only bind mounts (root in a container that allows it).
    static let canMountReadOnly: Bool = {
        guard getuid() == 0, let folder = try? TemporaryFolder() else { return false }
        let (source, target) = (folder.file("src"), folder.file("ro"))
        try? FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        guard (try? shell(["mount", "--bind", source, target])) == 0 else { return false }
        defer { _ = try? shell(["umount", target]) }
        return (try? shell(["mount", "-o", "remount,bind,ro", target])) == 0
    }()

    @Test(.enabled(if: canMountReadOnly, "needs root and bind mounts"))
    func aWALDatabaseOnAReadOnlyMountIsReadWithoutLeavingFiles() throws {
        let folder = try TemporaryFolder()
        let (source, target) = (folder.file("src"), folder.file("ro"))
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        _ = try StorageQueryTests.makeDoneDatabase(source + "/grid.sqlite")
        let before = try FileManager.default.contentsOfDirectory(atPath: source).sorted()
        #expect(before == ["grid.sqlite"], "closing the writer merged its WAL")
        try #require(try Self.shell(["mount", "--bind", source, target]) == 0)
        defer { try? Self.shell(["umount", target]) }
        try #require(try Self.shell(["mount", "-o", "remount,bind,ro", target]) == 0)

        let result = try ReadOnlyQuery.run(path: target + "/grid.sqlite", sql: "SELECT count(*) FROM runs")
        #expect(result.rows == [[.integer(4)]])
        let database = try ExperimentDatabase(path: target + "/grid.sqlite", mode: .readOnly)
        #expect(try database.runs(sweepID: 1).count == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: source).sorted() == before)
    }
}

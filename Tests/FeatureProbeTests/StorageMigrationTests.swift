import Foundation
import Testing
@testable import FeatureProbe

/// Opening, creating and migrating the experiment database, and the files it refuses.
@Suite struct StorageMigrationTests {
    @Test func migrationsCreateTheSchemaAndVersion() throws {
        let folder = try TemporaryFolder()
        let database = try ExperimentDatabase(path: folder.file())
        #expect(try database.schemaVersion() == Migration.currentVersion)
        #expect(try database.appliedMigrations() == Migration.all.map(\.name))
        #expect(Migration.all.first?.name == "v1_initial_schema")
        let objects = try database.connection.query("SELECT type || ':' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            .rows.compactMap { $0[0].string }
        for expected in ["table:sweeps", "table:runs", "table:layer_metrics", "table:similarity", "table:schema_migrations",
                         "index:runs_configuration", "view:run_summary", "view:run_redundancy", "view:layer_redundancy",
                         "view:pareto_candidates"] {
            #expect(objects.contains(expected), "missing \(expected)")
        }
        #expect(try database.connection.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try database.connection.scalar("PRAGMA foreign_keys") == .integer(1))
        #expect(try database.integrityCheck() == ["ok"])
    }

    @Test func reopeningIsIdempotent() throws {
        let folder = try TemporaryFolder()
        _ = try makeGridDatabase(folder.file())
        let before = try storageChecksum(folder.file())
        let again = try ExperimentDatabase(path: folder.file())
        #expect(try again.schemaVersion() == Migration.currentVersion)
        #expect(try storageChecksum(folder.file()) == before)
    }

    @Test func constraintsLiveInTheSchema() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, runs) = try makeGridDatabase(folder.file())
        // A ratio without groups, a ratio above 1, a metric row of a run that does not exist.
        #expect(throws: FeatureProbeError.self) {
            try database.ensureRuns(sweepID: sweep.id, configurations: [
                RunConfiguration(model: "resnet18", variant: "spconv", ratio: 0.5, groups: nil, inChannels: 3, classes: 10,
                                 inputSize: 32, dataset: "d", images: 1, batch: 1, threads: 1)], toolVersion: "0")
        }
        #expect(throws: FeatureProbeError.self) {
            try database.ensureRuns(sweepID: sweep.id, configurations: [storageConfiguration(ratio: 1.5)], toolVersion: "0")
        }
        #expect(throws: FeatureProbeError.self) {
            try database.connection.run("""
                INSERT INTO layer_metrics VALUES (9999, 'conv1', 'cosine', 4, 1, 0.1, 0.1, 0.9, 0, 0, 4, 4, 1)
                """)
        }
        // A done run needs its costs.
        #expect(throws: FeatureProbeError.self) {
            try database.connection.run("UPDATE runs SET status = 'done' WHERE id = ?", [.integer(runs[0].id)])
        }
    }

    @Test func aNewerSchemaIsRefusedUnchanged() throws {
        let folder = try TemporaryFolder()
        do {
            _ = try makeGridDatabase(folder.file())
            let connection = try SQLiteConnection(path: folder.file(), mode: .readWrite(create: false))
            try connection.execute("PRAGMA user_version = 99")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: folder.file()))
        let error = #expect(throws: FeatureProbeError.self) { try ExperimentDatabase(path: folder.file()) }
        #expect(error?.message.contains("schema version 99") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("version \(Migration.currentVersion)") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file())) == bytes)
        #expect(throws: FeatureProbeError.self) { try ExperimentDatabase.merge(into: folder.file("out.sqlite"), from: [folder.file()]) }
    }

    @Test func anUnknownMigrationIsRefused() throws {
        let folder = try TemporaryFolder()
        do {
            let database = try ExperimentDatabase(path: folder.file())
            try database.connection.run("INSERT INTO schema_migrations VALUES ('v2_from_the_future', 'now')")
        }
        let before = try storageChecksum(folder.file())
        let error = #expect(throws: FeatureProbeError.self) { try ExperimentDatabase(path: folder.file()) }
        #expect(error?.message.contains("v2_from_the_future") == true)
        #expect(try storageChecksum(folder.file()) == before)
    }

    @Test func aTextFileIsRefusedAsNotSQLite() throws {
        let folder = try TemporaryFolder()
        let text = String(repeating: "model,ratio,accuracy\nresnet18,0.5,0.9\n", count: 20)
        try text.write(toFile: folder.file("notes.sqlite"), atomically: true, encoding: .utf8)
        let error = #expect(throws: FeatureProbeError.self) { try ExperimentDatabase(path: folder.file("notes.sqlite")) }
        #expect(error?.message.contains("not a SQLite database") == true, "\(error?.message ?? "")")
        #expect(try String(contentsOfFile: folder.file("notes.sqlite"), encoding: .utf8) == text)
        #expect(throws: FeatureProbeError.self) { try ReadOnlyQuery.run(path: folder.file("notes.sqlite"), sql: "SELECT 1") }
        #expect(!FileManager.default.fileExists(atPath: folder.file("notes.sqlite-wal")))
    }

    @Test func aSQLiteFileOfAnotherProgramIsRefused() throws {
        let folder = try TemporaryFolder()
        do {
            let connection = try SQLiteConnection(path: folder.file(), mode: .readWrite(create: true))
            try connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        }
        let before = try storageChecksum(folder.file())
        let error = #expect(throws: FeatureProbeError.self) { try ExperimentDatabase(path: folder.file()) }
        #expect(error?.message.contains("not an experiment database") == true)
        #expect(try storageChecksum(folder.file()) == before)
    }

    @Test func aMissingFolderIsAClearError() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/missing/experiments.sqlite"
        let error = #expect(throws: FeatureProbeError.self) { try ExperimentDatabase(path: path) }
        #expect(error?.message.contains("does not exist") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/missing"))
    }

    @Test func aParentThatIsAFileIsAClearError() throws {
        // Works for root too, unlike a folder without write permission.
        let folder = try TemporaryFolder()
        try "x".write(toFile: folder.file("plain"), atomically: true, encoding: .utf8)
        let error = #expect(throws: FeatureProbeError.self) { try ExperimentDatabase(path: folder.file("plain") + "/db.sqlite") }
        #expect(error?.message.contains("is a file, not a folder") == true, "\(error?.message ?? "")")
    }

    @Test func aFolderPathAndAMissingReadOnlyFileAreClearErrors() throws {
        let folder = try TemporaryFolder()
        let folderError = #expect(throws: FeatureProbeError.self) { try ExperimentDatabase(path: folder.path) }
        #expect(folderError?.message.contains("is a folder") == true)
        let missingError = #expect(throws: FeatureProbeError.self) {
            try ExperimentDatabase(path: folder.file("none.sqlite"), mode: .readOnly)
        }
        #expect(missingError?.message.contains("no experiment database") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.file("none.sqlite")))
    }
}

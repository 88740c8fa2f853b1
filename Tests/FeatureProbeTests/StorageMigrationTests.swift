import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

/// Opening, creating and migrating the experiment database, and the files it refuses.
@Suite struct StorageMigrationTests {
    @Test func migrationsCreateTheSchemaAndVersion() throws {
        let folder = try TemporaryFolder()
        let database = try ExperimentDatabase(path: folder.file())
        #expect(try database.schemaVersion() == Migration.currentVersion)
        #expect(try database.appliedMigrations() == Migration.all.map(\.name))
        #expect(Migration.all.map(\.name) == ["v1_initial_schema", "v2_training", "v3_provenance_seeds_epochs", "v4_feature_maps"])
        let objects = try database.connection.query("SELECT type || ':' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            .rows.compactMap { $0[0].string }
        for expected in ["table:sweeps", "table:runs", "table:layer_metrics", "table:similarity", "table:schema_migrations",
                         "index:runs_configuration", "view:run_summary", "view:run_redundancy", "view:layer_redundancy",
                         "view:pareto_candidates", "table:epochs", "table:feature_maps"] {
            #expect(objects.contains(expected), "missing \(expected)")
        }
        #expect(try database.connection.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try database.connection.scalar("PRAGMA foreign_keys") == .integer(1))
        #expect(try database.integrityCheck() == ["ok"])
    }

    /// A database as a build that knew only `v1_initial_schema` wrote it: one sweep with a done
    /// baseline (accuracy 0.5) and a pending SPConv run.
    static func makeVersion1Database(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: true))
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)")
        try connection.execute(Migration.v1InitialSchema)
        try connection.execute("INSERT INTO schema_migrations VALUES ('v1_initial_schema', '2026-01-31T12:00:00Z')")
        try connection.execute("PRAGMA user_version = 1")
        try connection.execute("""
            INSERT INTO sweeps (id, name, command_line, created_at) VALUES (1, 'old', 'probe-cli sweep', '2026-01-31T12:00:00Z');
            INSERT INTO runs (sweep_id, model, variant, in_channels, classes, input_size, dataset, images, status,
                              params, macs, flops, latency_ms, batch, threads, accuracy, finished_at, tool_version)
            VALUES (1, 'resnet18', 'vanilla', 3, 10, 32, 'synthetic:64', 64, 'done', 100, 1000, 2000, 1.5, 8, 1, 0.5,
                    '2026-01-31T12:05:00Z', '0.1.0');
            INSERT INTO runs (sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, dataset, images,
                              batch, threads, tool_version)
            VALUES (1, 'resnet18', 'spconv', 0.5, 2, 3, 10, 32, 'synthetic:64', 64, 8, 1, '0.1.0');
            """)
    }

    @Test func aVersion1DatabaseIsReadAsItIsThenMigratesAndKeepsWorking() throws {
        let folder = try TemporaryFolder()
        try Self.makeVersion1Database(folder.file())
        // Read-only (query, report, merge inputs): the old schema as is, training columns NULL.
        let before = try storageChecksum(folder.file())
        let old = try ExperimentDatabase(path: folder.file(), mode: .readOnly)
        #expect(try old.schemaVersion() == 1)
        #expect(try old.runs(sweepID: 1).map(\.trainEpochs) == [nil, nil])
        #expect(try CannedQuery.runs(path: folder.file()).columns.contains("train_epochs"))
        #expect(try storageChecksum(folder.file()) == before)

        #expect(try old.runs(sweepID: 1).map(\.weightsSource) == [.random, .random], "no weights file, not trained")
        let database = try ExperimentDatabase(path: folder.file())
        #expect(try database.schemaVersion() == Migration.currentVersion)
        #expect(try database.appliedMigrations() == Migration.all.map(\.name))
        #expect(try database.integrityCheck() == ["ok"])
        let runs = try database.runs(sweepID: 1)
        #expect(runs.count == 2)
        #expect(runs.allSatisfy { $0.trainEpochs == nil && $0.trainSeconds == nil }, "old rows were not trained by a sweep")
        #expect(runs[0].status == .done && runs[0].accuracy == 0.5 && runs[0].macs == 1000)
        #expect(try database.connection.query("SELECT train_epochs FROM run_summary").rows == [[.null], [.null]])
        // The old configurations are found again (no duplicate), and the pending run completes.
        let again = try database.ensureRuns(sweepID: 1, configurations: [storageConfiguration(), storageConfiguration(ratio: 0.5)],
                                            toolVersion: "0.2.0")
        #expect(again.map(\.id) == runs.map(\.id))
        let claimed = try #require(try database.claimNext(sweepID: 1))
        #expect(claimed.id == runs[1].id)
        try database.complete(runID: claimed.id, result: storageResult(macs: 500))
        #expect(try database.run(id: claimed.id)?.status == .done)
        // A trained run of the same configuration is a new row beside the old one.
        let trained = try database.ensureRuns(sweepID: 1, configurations: [storageConfiguration(trainEpochs: 2)], toolVersion: "0.2.0")
        #expect(trained.count == 1 && !runs.map(\.id).contains(trained[0].id) && trained[0].trainEpochs == 2)
        #expect(try database.runs(sweepID: 1).count == 3)
    }

    /// A database as a build that knew `v2_training` wrote it: a trained run, a run from a
    /// weights file and a run with seeded random weights.
    @Test func aVersion2DatabaseMigratesWithTheProvenanceItImplies() throws {
        let folder = try TemporaryFolder()
        let connection = try SQLiteConnection(path: folder.file(), mode: .readWrite(create: true))
        try connection.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)")
        try connection.execute(Migration.v1InitialSchema)
        try connection.execute(Migration.v2Training)
        try connection.execute("""
            INSERT INTO schema_migrations VALUES ('v1_initial_schema', '2026-01-31T12:00:00Z'), ('v2_training', '2026-02-01T12:00:00Z');
            PRAGMA user_version = 2;
            INSERT INTO sweeps (id, name, command_line, created_at) VALUES (1, 'old', 'probe-cli sweep', '2026-01-31T12:00:00Z');
            INSERT INTO runs (sweep_id, model, variant, in_channels, classes, input_size, dataset, images, batch, threads, tool_version, train_epochs)
            VALUES (1, 'resnet20', 'vanilla', 1, 10, 28, 'fashion-mnist', 16, 8, 1, '0.3.0', 3);
            INSERT INTO runs (sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, dataset, images, batch, threads, tool_version, weights_path)
            VALUES (1, 'resnet20', 'spconv', 0.5, 2, 1, 10, 28, 'fashion-mnist', 16, 8, 1, '0.3.0', 'm.safetensors');
            INSERT INTO runs (sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, dataset, images, batch, threads, tool_version)
            VALUES (1, 'resnet20', 'spconv', 0.25, 2, 1, 10, 28, 'fashion-mnist', 16, 8, 1, '0.3.0');
            INSERT INTO sweeps (id, name, command_line, created_at)
            VALUES (2, 'seeded', 'probe-cli sweep --model resnet20 --train-epochs 3 --train-seed 4 --db x.sqlite', '2026-02-01T12:00:00Z');
            INSERT INTO runs (sweep_id, model, variant, in_channels, classes, input_size, dataset, images, batch, threads, tool_version, train_epochs)
            VALUES (2, 'resnet20', 'vanilla', 1, 10, 28, 'fashion-mnist', 16, 8, 1, '0.3.0', 3);
            """)
        let old = try ExperimentDatabase(path: folder.file(), mode: .readOnly)
        #expect(try old.runs(sweepID: 1).map(\.weightsSource) == [.trained, .file, .random], "read as the columns imply, before migrating")
        let database = try ExperimentDatabase(path: folder.file())
        let runs = try database.runs(sweepID: 1)
        #expect(runs.map(\.weightsSource) == [.trained, .file, .random])
        #expect(runs.map(\.trainSeed) == [0, nil, nil], "a trained run's seed is its sweep's --train-seed, 0 by default")
        #expect(runs.map(\.weightsSeed) == [0, nil, 0], "untrained runs were built with seed 0")
        #expect(try database.runs(sweepID: 2).map(\.trainSeed) == [4], "read from the sweep's command line")
        // The old rows are found again by a sweep of this version (no duplicate run).
        let again = try database.ensureRuns(sweepID: 2, configurations: [RunConfiguration(
            model: "resnet20", variant: "vanilla", ratio: nil, groups: nil, inChannels: 1, classes: 10, inputSize: 28,
            dataset: "fashion-mnist", images: 16, batch: 8, threads: 1, trainEpochs: 3, trainSeed: 4)], toolVersion: "0.5.0")
        #expect(again.map(\.id) == (try database.runs(sweepID: 2)).map(\.id))
        #expect(try database.integrityCheck() == ["ok"])
        #expect(try database.connection.query("SELECT weights_source FROM run_summary WHERE sweep = 'old' ORDER BY run_id").rows
                == [[.text("trained")], [.text("file")], [.text("random")]])
    }

    @Test func trainedRunsDifferingOnlyInSeedCoexistAndKeepTheirHistory() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, _) = try makeGridDatabase(folder.file())
        let seeds = [storageConfiguration(ratio: 0.5, trainEpochs: 2, trainSeed: 0), storageConfiguration(ratio: 0.5, trainEpochs: 2, trainSeed: 1)]
        let rows = try database.ensureRuns(sweepID: sweep.id, configurations: seeds, toolVersion: "0.5.0")
        #expect(Set(rows.map(\.id)).count == 2 && rows.map(\.trainSeed) == [0, 1])
        #expect(rows.allSatisfy { $0.weightsSource == .trained } && rows.map(\.weightsSeed) == [0, 1])
        #expect(try database.ensureRuns(sweepID: sweep.id, configurations: seeds, toolVersion: "0.5.0").map(\.id) == rows.map(\.id))
        let claimed = try #require(try database.claimNext(sweepID: sweep.id, isEligible: { $0.id == rows[1].id }))
        var result = storageResult(accuracy: 0.75)
        result.storeKey = "0123456789abcdef"
        result.checkpointSHA256 = String(repeating: "ab", count: 32)
        result.epochs = [EpochRecord(epoch: 1, learningRate: 0.1, trainLoss: 2.0, trainAccuracy: 0.3, testLoss: 1.5, testAccuracy: 0.5,
                                     trainSeconds: 3, imagesPerSecond: 100),
                         EpochRecord(epoch: 2, learningRate: 0.0, trainLoss: .nan, trainAccuracy: 0.4, testLoss: 1.2, testAccuracy: 0.75,
                                     trainSeconds: 3, imagesPerSecond: 110)]
        try database.complete(runID: claimed.id, result: result)
        let done = try #require(try database.run(id: rows[1].id))
        #expect(done.storeKey == "0123456789abcdef" && done.checkpointSHA256 == result.checkpointSHA256)
        let history = try database.epochs(runID: done.id)
        #expect(history.map(\.epoch) == [1, 2] && history.map(\.testAccuracy) == [0.5, 0.75])
        #expect(history[1].trainLoss.isNaN, "a NaN loss is stored as NULL and read back as NaN")
        // The schema refuses a checkpoint hash that is not 64 hex digits and an unknown source.
        #expect(throws: FeatureProbeError.self) {
            try database.connection.run("UPDATE runs SET checkpoint_sha256 = 'abc' WHERE id = ?", [.integer(done.id)])
        }
        #expect(throws: FeatureProbeError.self) {
            try database.connection.run("UPDATE runs SET weights_source = 'guessed' WHERE id = ?", [.integer(done.id)])
        }
    }

    @Test func runsDifferingOnlyInTrainingEpochsCoexist() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, _) = try makeGridDatabase(folder.file())
        let variants = [storageConfiguration(ratio: 0.5), storageConfiguration(ratio: 0.5, trainEpochs: 1),
                        storageConfiguration(ratio: 0.5, trainEpochs: 3)]
        let rows = try database.ensureRuns(sweepID: sweep.id, configurations: variants, toolVersion: "0.1.0")
        #expect(Set(rows.map(\.id)).count == 3, "untrained, 1 and 3 epochs: three runs")
        #expect(rows.map(\.trainEpochs) == [nil, 1, 3])
        #expect(rows.map { ExperimentDatabase.configuration(of: $0) } == variants)
        // Inserting them again finds the same rows.
        #expect(try database.ensureRuns(sweepID: sweep.id, configurations: variants, toolVersion: "0.1.0").map(\.id) == rows.map(\.id))
        #expect(try database.runs(sweepID: sweep.id).count == storageGrid.count + 2)
        // The schema refuses 0 epochs and negative training time.
        #expect(throws: FeatureProbeError.self) {
            try database.ensureRuns(sweepID: sweep.id, configurations: [storageConfiguration(trainEpochs: 0)], toolVersion: "0")
        }
        #expect(throws: FeatureProbeError.self) {
            try database.connection.run("UPDATE runs SET train_seconds = -1 WHERE id = ?", [.integer(rows[1].id)])
        }
        // Completing a trained run stores its accuracy and training time.
        let claimed = try #require(try database.claimNext(sweepID: sweep.id, isEligible: { $0.id == rows[2].id }))
        var result = storageResult(accuracy: 0.75)
        result.trainSeconds = 12.5
        try database.complete(runID: claimed.id, result: result)
        let done = try #require(try database.run(id: rows[2].id))
        #expect(done.status == .done && done.accuracy == 0.75 && done.trainEpochs == 3 && done.trainSeconds == 12.5)
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

import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

/// Feature maps of the probed image: quantisation, the `v4_feature_maps` table, reading and merging.
@Suite struct StorageFeatureMapTests {
    /// Three channels of 2 x 2, worked by hand:
    /// - `[0, 1, 2, 4]`: range 0...4, codes `round(v / 4 * 255)` = 0, 63.75 -> 64, 127.5 -> 128, 255;
    /// - `[3, 3, 3, 3]`: an empty range, codes 0, read back as 3;
    /// - `[-1, 0.5, NaN, 1]`: range -1...1 over the finite values, 0.5 -> 1.5 / 2 * 255 = 191.25 -> 191,
    ///   NaN -> 0.
    static func handCase(runID: Int64 = 0, layer: String = "layer1.0") -> FeatureMapRecord {
        FeatureMapRecord(runID: runID, layer: layer, image: 0, channels: 3, height: 2, width: 2,
                         values: [0, 1, 2, 4, 3, 3, 3, 3, -1, 0.5, .nan, 1])
    }

    @Test func quantisationMatchesTheHandDerivedCodes() {
        let record = Self.handCase()
        #expect(record.minimum == [0, 3, -1])
        #expect(record.maximum == [4, 3, 1])
        #expect(record.codes == [0, 64, 128, 255, 0, 0, 0, 0, 0, 191, 0, 255])
        #expect(record.storedBytes == 12 + 24)
        // Read back within half a step of the range (4 / 510 for channel 0).
        #expect(record.values(channel: 0) == [0, Float(64.0 / 255 * 4), Float(128.0 / 255 * 4), 4])
        #expect(record.values(channel: 1) == [3, 3, 3, 3])
        for (read, original) in zip(record.values(channel: 0), [Float(0), 1, 2, 4]) { #expect(Double(abs(read - original)) <= 4.0 / 510 + 1e-6) }
        #expect(record.values(channel: 2)[1] == Float(-1 + 191.0 / 255 * 2))
    }

    @Test func aCompletedRunStoresAndReadsItsFeatureMaps() throws {
        let folder = try TemporaryFolder()
        let database = try ExperimentDatabase(path: folder.file())
        let sweep = try database.findOrCreateSweep(name: "grid", commandLine: "")
        let run = try #require(try database.ensureRuns(sweepID: sweep.id, configurations: [storageGrid[0]], toolVersion: "0").first)
        _ = try database.claimNext(sweepID: sweep.id)
        var result = storageResult()
        result.featureMaps = [Self.handCase(layer: "conv1"), Self.handCase(layer: "layer1.0.conv1")]
        try database.complete(runID: run.id, result: result)

        let stored = try database.featureMaps(runID: run.id)
        #expect(stored == [Self.handCase(runID: run.id, layer: "conv1"), Self.handCase(runID: run.id, layer: "layer1.0.conv1")])
        #expect(try database.featureMaps(runID: run.id, layers: ["layer1.0.conv1"]).map(\.layer) == ["layer1.0.conv1"])
        // The BLOBs as docs/SCHEMA.md describes them.
        let row = try #require(try database.connection.query(
            "SELECT channels, height, width, minimum, maximum, maps FROM feature_maps WHERE run_id = ? AND layer = 'conv1'",
            [.integer(run.id)]).rows.first)
        #expect(row[0] == .integer(3) && row[1] == .integer(2) && row[2] == .integer(2))
        #expect(row[3] == .blob(SQLValue.encodeFloat32LittleEndian([0, 3, -1])))
        #expect(row[4] == .blob(SQLValue.encodeFloat32LittleEndian([4, 3, 1])))
        #expect(row[5] == .blob([0, 64, 128, 255, 0, 0, 0, 0, 0, 191, 0, 255]))

        // Deleting the run deletes its maps (foreign key, ON DELETE CASCADE).
        try database.connection.run("DELETE FROM runs WHERE id = ?", [.integer(run.id)])
        #expect(try database.connection.scalar("SELECT count(*) FROM feature_maps") == .integer(0))
    }

    @Test func theSchemaRefusesBlobsThatDoNotMatchTheShape() throws {
        let folder = try TemporaryFolder()
        let database = try ExperimentDatabase(path: folder.file())
        let sweep = try database.findOrCreateSweep(name: "grid", commandLine: "")
        let run = try #require(try database.ensureRuns(sweepID: sweep.id, configurations: [storageGrid[0]], toolVersion: "0").first)
        var values = ExperimentDatabase.featureMapValues(Self.handCase(), runID: run.id)
        values[8] = .blob([UInt8](repeating: 0, count: 11))
        #expect(throws: FeatureProbeError.self) {
            try database.connection.run("""
                INSERT INTO feature_maps (run_id, layer, image, channels, height, width, minimum, maximum, maps)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values)
        }
        values = ExperimentDatabase.featureMapValues(Self.handCase(), runID: run.id)
        values[6] = .blob([0, 0, 0, 0])
        #expect(throws: FeatureProbeError.self) {
            try database.connection.run("""
                INSERT INTO feature_maps (run_id, layer, image, channels, height, width, minimum, maximum, maps)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values)
        }
    }

    @Test func mergeCarriesTheFeatureMaps() throws {
        let folder = try TemporaryFolder()
        do {
            let shard = try ExperimentDatabase(path: folder.file("shard.sqlite"))
            let sweep = try shard.findOrCreateSweep(name: "grid", commandLine: "")
            let runs = try shard.ensureRuns(sweepID: sweep.id, configurations: [storageGrid[0], storageGrid[1]], toolVersion: "0")
            for run in runs {
                _ = try shard.claimNext(sweepID: sweep.id, isEligible: { $0.id == run.id })
                var result = storageResult()
                result.featureMaps = [Self.handCase(layer: "conv\(run.id)")]
                try shard.complete(runID: run.id, result: result)
            }
        }
        // An output with a run already, so the ids are remapped.
        try StorageMergeTests.makeShard(folder.file("out.sqlite"), [storageGrid[3]], done: 1)
        try ExperimentDatabase.merge(into: folder.file("out.sqlite"), from: [folder.file("shard.sqlite")])
        let merged = try ExperimentDatabase(path: folder.file("out.sqlite"), mode: .readOnly)
        let sweep = try #require(try merged.sweep(named: "grid"))
        let runs = try merged.runs(sweepID: sweep.id)
        let byConfiguration = Dictionary(uniqueKeysWithValues: runs.map { (ExperimentDatabase.configuration(of: $0), $0.id) })
        for (index, configuration) in [storageGrid[0], storageGrid[1]].enumerated() {
            let id = try #require(byConfiguration[configuration])
            #expect(try merged.featureMaps(runID: id) == [Self.handCase(runID: id, layer: "conv\(index + 1)")])
        }
        let other = try #require(byConfiguration[storageGrid[3]])
        #expect(try merged.featureMaps(runID: other) == [])
    }

    @Test func aVersion3FileReadOnlyHasNoFeatureMapsAndMigrates() throws {
        let folder = try TemporaryFolder()
        try StorageMigrationTests.makeVersion1Database(folder.file())
        do {
            // Bring it to v3 as a build of that time would, by hand: the later migrations' SQL.
            let connection = try SQLiteConnection(path: folder.file(), mode: .readWrite(create: false))
            for (index, migration) in Migration.all.enumerated() where (1...2).contains(index) {
                try connection.execute(migration.sql)
                try connection.run("INSERT INTO schema_migrations VALUES (?, '2026-02-01T00:00:00Z')", [.text(migration.name)])
                try connection.execute("PRAGMA user_version = \(index + 1)")
            }
        }
        let old = try ExperimentDatabase(path: folder.file(), mode: .readOnly)
        #expect(try old.schemaVersion() == 3)
        #expect(!old.hasFeatureMapsTable)
        #expect(try old.featureMaps(runID: 1) == [])
        let migrated = try ExperimentDatabase(path: folder.file())
        #expect(try migrated.schemaVersion() == 4 && migrated.hasFeatureMapsTable)
        #expect(try migrated.integrityCheck() == ["ok"])
    }
}

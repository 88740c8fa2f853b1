import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

/// Merging shard databases: sweeps by name, runs by configuration, ids remapped, no duplicates.
@Suite struct StorageMergeTests {
    /// A shard database of sweep `grid` with `configurations`, the first `done` of them completed.
    static func makeShard(_ path: String, _ configurations: [RunConfiguration], done: Int) throws {
        let database = try ExperimentDatabase(path: path)
        let sweep = try database.findOrCreateSweep(name: "grid", commandLine: "probe-cli sweep --shard K/2")
        let runs = try database.ensureRuns(sweepID: sweep.id, configurations: configurations, toolVersion: "0.1.0")
        for run in runs.prefix(done) {
            _ = try database.claimNext(sweepID: sweep.id, isEligible: { $0.id == run.id })
            try database.complete(runID: run.id, result: storageResult(macs: 100 * Int(run.id), redundancy: 0.2))
        }
    }

    @Test func twoShardsMergeWithoutDuplicates() throws {
        let folder = try TemporaryFolder()
        let (a, b, c, d) = (storageGrid[0], storageGrid[1], storageGrid[2], storageGrid[3])
        try Self.makeShard(folder.file("shard1.sqlite"), [a, b], done: 2)
        // Shard 2 repeats b (pending here, done in shard 1) and has c done and d pending.
        try Self.makeShard(folder.file("shard2.sqlite"), [c, b, d], done: 1)
        let out = folder.file("merged.sqlite")
        let summary = try ExperimentDatabase.merge(into: out, from: [folder.file("shard1.sqlite"), folder.file("shard2.sqlite")])
        #expect(summary == ExperimentDatabase.MergeSummary(inserted: 4, updated: 0, unchanged: 1))

        let merged = try ExperimentDatabase(path: out)
        #expect(try merged.sweeps().map(\.name) == ["grid"])
        let sweep = try #require(try merged.sweep(named: "grid"))
        let runs = try merged.runs(sweepID: sweep.id)
        #expect(runs.count == 4)
        #expect(Set(runs.map { ExperimentDatabase.configuration(of: $0) }) == Set([a, b, c, d]))
        let byConfiguration = Dictionary(uniqueKeysWithValues: runs.map { (ExperimentDatabase.configuration(of: $0), $0) })
        #expect(byConfiguration[b]?.status == .done)
        #expect(byConfiguration[d]?.status == .pending)
        #expect(try merged.connection.scalar("SELECT count(*) FROM layer_metrics") == .integer(6))
        #expect(try merged.connection.scalar("SELECT count(*) FROM similarity") == .integer(6))
        let cRun = try #require(byConfiguration[c])
        #expect(try merged.similarity(runID: cRun.id, layer: "conv1", metric: "cosine")?.values == storageResult().similarity[0].values)
        #expect(try merged.integrityCheck() == ["ok"])

        // Merging again changes nothing.
        let before = try storageChecksum(out)
        let again = try ExperimentDatabase.merge(into: out, from: [folder.file("shard1.sqlite"), folder.file("shard2.sqlite")])
        #expect(again.inserted == 0 && again.updated == 0)
        #expect(try storageChecksum(out) == before)
    }

    @Test func aDoneRunReplacesAnUnfinishedOneAndARunningOneArrivesPending() throws {
        let folder = try TemporaryFolder()
        try Self.makeShard(folder.file("out.sqlite"), [storageGrid[1]], done: 0)
        try Self.makeShard(folder.file("done.sqlite"), [storageGrid[1]], done: 1)
        do {
            let crashed = try ExperimentDatabase(path: folder.file("crashed.sqlite"))
            let sweep = try crashed.findOrCreateSweep(name: "grid", commandLine: "")
            _ = try crashed.ensureRuns(sweepID: sweep.id, configurations: [storageGrid[2]], toolVersion: "0")
            _ = try crashed.claimNext(sweepID: sweep.id)
        }
        let summary = try ExperimentDatabase.merge(into: folder.file("out.sqlite"),
                                                   from: [folder.file("done.sqlite"), folder.file("crashed.sqlite")])
        #expect(summary == ExperimentDatabase.MergeSummary(inserted: 1, updated: 1, unchanged: 0))
        let out = try ExperimentDatabase(path: folder.file("out.sqlite"))
        let runs = try out.runs(sweepID: try #require(try out.sweep(named: "grid")).id)
        #expect(runs.map(\.status) == [.done, .pending])
        #expect(try out.layerMetrics(runID: runs[0].id).count == 2)
    }

    @Test func trainedRunsKeepTheirEpochsAndAVersion1InputMerges() throws {
        let folder = try TemporaryFolder()
        let untrained = storageConfiguration(ratio: 0.5), trained = storageConfiguration(ratio: 0.5, trainEpochs: 2, trainSeed: 3)
        do {
            let shard = try ExperimentDatabase(path: folder.file("trained.sqlite"))
            let sweep = try shard.findOrCreateSweep(name: "grid", commandLine: "probe-cli sweep --train-epochs 2")
            _ = try shard.ensureRuns(sweepID: sweep.id, configurations: [untrained, trained], toolVersion: "0.2.0")
            let run = try #require(try shard.claimNext(sweepID: sweep.id, isEligible: { $0.trainEpochs == 2 }))
            var result = storageResult(accuracy: 0.8)
            result.trainSeconds = 3.25
            result.storeKey = "fedcba9876543210"
            result.checkpointSHA256 = String(repeating: "0f", count: 32)
            result.epochs = [EpochRecord(epoch: 1, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.6,
                                         trainSeconds: 1, imagesPerSecond: 64),
                             EpochRecord(epoch: 2, learningRate: 0, trainLoss: 0.5, trainAccuracy: 0.7, testLoss: 0.8, testAccuracy: 0.8,
                                         trainSeconds: 1, imagesPerSecond: 64)]
            try shard.complete(runID: run.id, result: result)
        }
        try StorageMigrationTests.makeVersion1Database(folder.file("old.sqlite"))
        let out = folder.file("out.sqlite")
        let summary = try ExperimentDatabase.merge(into: out, from: [folder.file("trained.sqlite"), folder.file("old.sqlite")])
        #expect(summary == ExperimentDatabase.MergeSummary(inserted: 4, updated: 0, unchanged: 0))
        let merged = try ExperimentDatabase(path: out)
        let grid = try merged.runs(sweepID: try #require(try merged.sweep(named: "grid")).id)
        #expect(grid.map(\.trainEpochs) == [nil, 2])
        #expect(grid[1].status == .done && grid[1].accuracy == 0.8 && grid[1].trainSeconds == 3.25)
        #expect(grid[0].status == .pending && grid[0].trainSeconds == nil)
        #expect(grid[1].trainSeed == 3 && grid[1].weightsSource == .trained && grid[1].storeKey == "fedcba9876543210"
                && grid[1].checkpointSHA256 == String(repeating: "0f", count: 32), "provenance travels with the run")
        #expect(try merged.epochs(runID: grid[1].id).map(\.testAccuracy) == [0.6, 0.8], "and so does its history")
        #expect(grid[0].weightsSource == .random && grid[0].weightsSeed == 0)
        let old = try merged.runs(sweepID: try #require(try merged.sweep(named: "old")).id)
        #expect(old.count == 2 && old.allSatisfy { $0.trainEpochs == nil } && old[0].accuracy == 0.5)
        // Merging again changes nothing: the epochs are part of the key.
        let before = try storageChecksum(out)
        #expect(try ExperimentDatabase.merge(into: out, from: [folder.file("trained.sqlite"), folder.file("old.sqlite")]).inserted == 0)
        #expect(try storageChecksum(out) == before)
    }

    @Test func badInputsAreRefusedBeforeAnythingIsWritten() throws {
        let folder = try TemporaryFolder()
        try Self.makeShard(folder.file("good.sqlite"), [storageGrid[0]], done: 1)
        try "not a database, just text that is long enough to be read as a header. ".write(
            toFile: folder.file("bad.sqlite"), atomically: true, encoding: .utf8)
        let out = folder.file("out.sqlite")
        #expect(throws: FeatureProbeError.self) {
            try ExperimentDatabase.merge(into: out, from: [folder.file("good.sqlite"), folder.file("bad.sqlite")])
        }
        #expect(throws: FeatureProbeError.self) {
            try ExperimentDatabase.merge(into: out, from: [folder.file("missing.sqlite")])
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

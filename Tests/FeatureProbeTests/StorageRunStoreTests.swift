import Foundation
import Testing
@testable import FeatureProbe

/// Sweeps and runs: one row per configuration, exclusive claims, reclaiming dead workers, atomic completion.
@Suite struct StorageRunStoreTests {
    /// The pid of a process that has exited and been reaped.
    static func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func theSameConfigurationIsStoredOnceIncludingTheBaseline() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, first) = try makeGridDatabase(folder.file())
        let second = try database.ensureRuns(sweepID: sweep.id, configurations: storageGrid + [storageConfiguration()],
                                             toolVersion: "0.2.0")
        #expect(second.map(\.id) == first.map(\.id) + [first[0].id])
        #expect(try database.connection.scalar("SELECT count(*) FROM runs") == .integer(Int64(storageGrid.count)))
        #expect(first[0].ratio == nil && first[0].groups == nil && first[0].status == .pending)
        // The schema itself refuses a second vanilla row, NULL ratio and all.
        let error = #expect(throws: FeatureProbeError.self) {
            try database.connection.run("""
                INSERT INTO runs (sweep_id, model, variant, in_channels, classes, input_size, dataset, images, batch, threads, tool_version)
                VALUES (?, 'resnet18', 'vanilla', 3, 10, 32, 'synthetic:64', 64, 8, 1, 'x')
                """, [.integer(sweep.id)])
        }
        #expect(error?.message.contains("UNIQUE") == true)
        // Another sweep may hold the same configuration.
        let other = try database.findOrCreateSweep(name: "other", commandLine: "")
        #expect(try database.ensureRuns(sweepID: other.id, configurations: [storageConfiguration()], toolVersion: "0")[0].id != first[0].id)
        #expect(try database.findOrCreateSweep(name: "grid", commandLine: "ignored") == sweep)
    }

    @Test func concurrentClaimsNeverOverlap() throws {
        let folder = try TemporaryFolder()
        let path = folder.file()
        let configurations = (1...40).map { storageConfiguration(ratio: Double($0) / 40, groups: 1) }
        let sweepID: Int64
        do {
            let database = try ExperimentDatabase(path: path)
            sweepID = try database.findOrCreateSweep(name: "many", commandLine: "").id
            _ = try database.ensureRuns(sweepID: sweepID, configurations: configurations, toolVersion: "0")
        }
        final class Claims: @unchecked Sendable {
            let lock = NSLock()
            var ids: [Int64] = []
            var errors: [String] = []
        }
        let claims = Claims()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                let database = try ExperimentDatabase(path: path)
                while let run = try database.claimNext(sweepID: sweepID) {
                    try database.complete(runID: run.id, result: storageResult(macs: 10))
                    claims.lock.withLock { claims.ids.append(run.id) }
                }
            } catch {
                claims.lock.withLock { claims.errors.append("\(error)") }
            }
        }
        #expect(claims.errors.isEmpty, "\(claims.errors)")
        #expect(claims.ids.count == 40)
        #expect(Set(claims.ids).count == 40)
        let database = try ExperimentDatabase(path: path)
        #expect(try database.runs(sweepID: sweepID).allSatisfy { $0.status == .done })
        #expect(try database.connection.scalar("SELECT count(*) FROM layer_metrics") == .integer(80))
        #expect(try database.integrityCheck() == ["ok"])
    }

    @Test func runningRowsOfADeadProcessAreReclaimedThoseOfALiveOneAreNot() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, runs) = try makeGridDatabase(folder.file())
        let host = Worker.current.host
        let dead = Worker(host: host, pid: try Self.deadPID())
        let live = Worker(host: host, pid: 1)
        let remote = Worker(host: "another-host.invalid", pid: dead.pid)
        #expect(try database.claimNext(sweepID: sweep.id, worker: live)?.id == runs[0].id)
        #expect(try database.claimNext(sweepID: sweep.id, worker: remote)?.id == runs[1].id)
        #expect(try database.claimNext(sweepID: sweep.id, worker: dead)?.id == runs[2].id)
        #expect(!dead.mayBeAlive && live.mayBeAlive && remote.mayBeAlive)

        let me = Worker.current
        let reclaimed = try database.claimNext(sweepID: sweep.id, worker: me)
        #expect(reclaimed?.id == runs[2].id)
        #expect(reclaimed?.status == .running && reclaimed?.host == host)
        #expect(try database.claimNext(sweepID: sweep.id, worker: me)?.id == runs[3].id)
        #expect(try database.claimNext(sweepID: sweep.id, worker: me) == nil)
        // The dead worker's late completion is refused: the run is no longer its own.
        #expect(throws: FeatureProbeError.self) { try database.complete(runID: runs[2].id, worker: dead, result: storageResult()) }
    }

    @Test func releaseRunningFreesEligibleClaimsOfAnyHostAndKeepsFinishedRuns() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, runs) = try makeGridDatabase(folder.file())
        let remote = Worker(host: "another-host.invalid", pid: 1)
        let live = Worker(host: Worker.current.host, pid: 1)
        #expect(try database.claimNext(sweepID: sweep.id, worker: remote)?.id == runs[0].id)
        #expect(try database.claimNext(sweepID: sweep.id, worker: live)?.id == runs[1].id)
        #expect(try database.claimNext(sweepID: sweep.id, worker: remote)?.id == runs[2].id)
        try database.complete(runID: runs[2].id, worker: remote, result: storageResult())
        // Neither claim may be taken over by the liveness check: pid 1 lives, the other host cannot be asked.
        #expect(try database.claimNext(sweepID: sweep.id)?.id == runs[3].id)
        #expect(try database.claimNext(sweepID: sweep.id) == nil)

        #expect(try database.releaseRunning(sweepID: sweep.id, isEligible: { $0.id != runs[1].id }) == 2)
        #expect(try database.runs(sweepID: sweep.id).map(\.status) == [.pending, .running, .done, .pending])
        #expect(try database.run(id: runs[2].id)?.finishedAt != nil, "a finished run stays as it was")
        // The remote worker's late completion is refused: the run is no longer its own.
        #expect(throws: FeatureProbeError.self) { try database.complete(runID: runs[0].id, worker: remote, result: storageResult()) }
        var claimed: [Int64] = []
        while let next = try database.claimNext(sweepID: sweep.id) { claimed.append(next.id) }
        #expect(claimed == [runs[0].id, runs[3].id])
        #expect(try database.releaseRunning(sweepID: sweep.id, isEligible: { _ in false }) == 0)
    }

    @Test func aShardFilterLimitsClaims() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, runs) = try makeGridDatabase(folder.file())
        let mine = Set([runs[1].id, runs[3].id])
        var claimed: [Int64] = []
        while let run = try database.claimNext(sweepID: sweep.id, isEligible: { mine.contains($0.id) }) { claimed.append(run.id) }
        #expect(claimed == [runs[1].id, runs[3].id])
    }

    @Test func completeWritesEverythingInOneTransaction() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, _) = try makeGridDatabase(folder.file())
        let run = try #require(try database.claimNext(sweepID: sweep.id))
        // The second matrix has 15 values for 4 channels: the BLOB CHECK fails after the run row,
        // both metric rows and the first matrix were written, and all of it is rolled back.
        var broken = storageResult()
        broken.similarity[1].values.removeLast()
        #expect(throws: FeatureProbeError.self) { try database.complete(runID: run.id, result: broken) }
        #expect(try database.run(id: run.id)?.status == .running)
        #expect(try database.run(id: run.id)?.macs == nil)
        #expect(try database.layerMetrics(runID: run.id).isEmpty)
        #expect(try database.connection.scalar("SELECT count(*) FROM similarity") == .integer(0))
        #expect(!database.connection.isInTransaction)

        let result = storageResult(macs: 1234, accuracy: 0.875)
        try database.complete(runID: run.id, result: result)
        let done = try #require(try database.run(id: run.id))
        #expect(done.status == .done && done.macs == 1234 && done.flops == 2468 && done.accuracy == 0.875 && done.finishedAt != nil)
        #expect(try database.layerMetrics(runID: run.id).map(\.layer) == ["conv1", "layer1.0.conv1"])
        var expected = result.layerMetrics[1]
        expected.runID = run.id
        #expect(try database.layerMetrics(runID: run.id)[1] == expected)
        // Completing twice is refused.
        #expect(throws: FeatureProbeError.self) { try database.complete(runID: run.id, result: result) }
    }

    @Test func similarityBlobsRoundTrip() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, _) = try makeGridDatabase(folder.file())
        let run = try #require(try database.claimNext(sweepID: sweep.id))
        var result = storageResult(channels: 3)
        result.similarity[0].values = [1, 0.5, -0.25, 0.5, 1, .leastNormalMagnitude, -0.25, .leastNormalMagnitude, 1]
        try database.complete(runID: run.id, result: result)
        let stored = try #require(try database.similarity(runID: run.id, layer: "conv1", metric: "cosine"))
        #expect(stored.values == result.similarity[0].values && stored.channels == 3 && stored.runID == run.id)
        // The raw BLOB is 36 bytes, little-endian: 1.0 first.
        let blob = try database.connection.scalar("SELECT matrix FROM similarity WHERE run_id = ? AND layer = 'conv1'", [.integer(run.id)])
        #expect(blob?.bytes?.count == 36)
        #expect(blob?.bytes?.prefix(4).map { $0 } == [0x00, 0x00, 0x80, 0x3F])
        #expect(try database.similarity(runID: run.id, layer: "missing", metric: "cosine") == nil)
        #expect(try database.similarityKeys(runID: run.id).map(\.layer) == ["conv1", "layer1.0.conv1"])
    }

    @Test func failedAndSkippedRunsKeepTheirReasonAndAreNotClaimedAgain() throws {
        let folder = try TemporaryFolder()
        let (database, sweep, runs) = try makeGridDatabase(folder.file())
        let run = try #require(try database.claimNext(sweepID: sweep.id))
        try database.fail(runID: run.id, reason: "out of memory")
        try database.skip(runID: runs[1].id, reason: "ratio 0.5 with 2 groups does not divide 3 channels")
        #expect(try database.run(id: run.id)?.reason == "out of memory")
        #expect(try database.run(id: runs[1].id)?.status == .skipped)
        #expect(throws: FeatureProbeError.self) { try database.fail(runID: runs[1].id, reason: "again") }
        var claimed: [Int64] = []
        while let next = try database.claimNext(sweepID: sweep.id) { claimed.append(next.id) }
        #expect(claimed == [runs[2].id, runs[3].id])
        #expect(try database.retryFailed(sweepID: sweep.id) == 1)
        #expect(try database.claimNext(sweepID: sweep.id)?.id == run.id)
    }
}

import FeatureProbe
import Foundation
import Testing

/// scripts/slurm/sweep.sbatch and merge.sbatch: run by hand as Slurm would run them (the
/// environment variables of an array task) for their checks and a two-shard sweep, and on a real
/// single-node Slurm cluster by `tools/slurm_e2e.sh` behind `SPCONVLAB_SLURM_TESTS=1`.
@Suite("scripts/slurm", .serialized)
struct SlurmScriptTests {
    static let isClusterEnabled = ProcessInfo.processInfo.environment["SPCONVLAB_SLURM_TESTS"] == "1"
    static let sweepScript = repositoryFile("scripts/slurm/sweep.sbatch").path
    static let mergeScript = repositoryFile("scripts/slurm/merge.sbatch").path
    static let grid = ["--model", "resnet20", "--ratios", "1/2", "--groups", "2", "--in-channels", "1", "--input-size", "28",
                       "--input", "synthetic:8", "--layers", "layer1.0", "--batch", "8"]

    /// Runs `bash script arguments` in `directory` with no Slurm variable of the caller, then these.
    static func runScript(_ script: String, _ arguments: [String] = [], in directory: URL, task: Int? = nil,
                          environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let probe = try #require(ProbeCLIProcess.executableURL, "probe-cli is not built: run `swift build --build-tests` first",
                                 sourceLocation: sourceLocation)
        let inherited = ProcessInfo.processInfo.environment.keys.filter { $0.hasPrefix("SLURM_") || ["SHARDS", "PROBE_CLI", "SWEEP_DIR", "RETRY_FAILED"].contains($0) }
        var settings = ["PROBE_CLI": probe.path, "SLURM_SUBMIT_DIR": directory.path]
        if let task { settings["SLURM_ARRAY_TASK_ID"] = String(task) }
        settings.merge(environment) { _, new in new }
        let envArguments = inherited.sorted().flatMap { ["-u", $0] } + settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return try ProbeCLIProcess.runExecutable(URL(fileURLWithPath: "/usr/bin/env"), envArguments + ["bash", script] + arguments,
                                                 program: "bash \(URL(fileURLWithPath: script).lastPathComponent)",
                                                 in: directory, timeout: 900, sourceLocation: sourceLocation)
    }

    @Test func sweepRefusesBadShardsTasksBinariesAndFlagsItSetsItself() throws {
        try withTemporaryDirectory { directory in
            let url = directory.url
            expectFailure(try Self.runScript(Self.sweepScript, in: url, task: 5), exitCode: 64,
                          mentions: ["array task id '5'", "SHARDS=4", "1 to 4"])
            expectFailure(try Self.runScript(Self.sweepScript, in: url, task: 1, environment: ["SHARDS": "four"]), exitCode: 64,
                          mentions: ["SHARDS 'four'", "whole number"])
            expectFailure(try Self.runScript(Self.sweepScript, in: url), exitCode: 64,
                          mentions: ["SLURM_ARRAY_TASK_ID is not set", "--array=K"])
            expectFailure(try Self.runScript(Self.sweepScript, in: url, task: 1, environment: ["PROBE_CLI": "/nonexistent/probe-cli"]),
                          exitCode: 1, mentions: ["PROBE_CLI '/nonexistent/probe-cli'", "swift build -c release"])
            expectFailure(try Self.runScript(Self.sweepScript, Self.grid + ["--db", "x.sqlite"], in: url, task: 1), exitCode: 64,
                          mentions: ["argument '--db'", "--shard K/SHARDS"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }.isEmpty,
                    "a refused task writes nothing")
        }
    }

    @Test func aRerunMustContinueTheSameShardOfTheSameGrid() throws {
        try withTemporaryDirectory { directory in
            FileManager.default.createFile(atPath: directory.file("shard-2.sqlite").path, contents: Data())
            try "shard=2/4\narguments=--model resnet20\n".write(to: directory.file("shard-2.args"), atomically: true, encoding: .utf8)
            expectFailure(try Self.runScript(Self.sweepScript, ["--model", "resnet56"], in: directory.url, task: 2), exitCode: 64,
                          mentions: ["started with the arguments '--model resnet20'", "'--model resnet56'", "shard-2.args"])
            expectFailure(try Self.runScript(Self.sweepScript, ["--model", "resnet20"], in: directory.url, task: 2, environment: ["SHARDS": "3"]),
                          exitCode: 64, mentions: ["holds shard 2/4", "shard 2/3", "SHARDS=4"])
        }
    }

    @Test func twoShardsByHandThenMergeTwiceCoverTheGridOnce() throws {
        try withTemporaryDirectory { directory in
            let url = directory.url
            let early = try Self.runScript(Self.mergeScript, in: url, environment: ["SHARDS": "2"])
            expectFailure(early, exitCode: 1, mentions: ["shard 1/2 has no shard-1.sqlite", "shard 2/2 has no shard-2.sqlite",
                                                         "--array=1,2", "sweep.sbatch", "--dependency=afterany:$rerun"])
            for task in 1...2 {
                let shard = try Self.runScript(Self.sweepScript, Self.grid, in: url, task: task, environment: ["SHARDS": "2"])
                expectSuccess(shard)
                #expect(shard.stderr.contains("shard \(task)/2 on "), "\(shard)")
                #expect(FileManager.default.fileExists(atPath: directory.file("shard-\(task).finished").path))
            }
            for _ in 1...2 {
                let merge = try Self.runScript(Self.mergeScript, in: url, environment: ["SHARDS": "2"])
                expectSuccess(merge)
                #expect(merge.stderr.contains("merged 2 configuration(s) of 2 shard(s)"), "\(merge)")
                let runs = try SweepCommandTests.runs(directory.file("all.sqlite").path)
                #expect(runs.count == 2 && runs.allSatisfy { $0.status == .done }, "\(runs.map(SweepCommandTests.key))")
                #expect(FileManager.default.fileExists(atPath: directory.file("report/index.html").path))
                #expect(!FileManager.default.fileExists(atPath: directory.file("all.sqlite.partial").path))
            }
            // A shard that lost its end marker (its task was killed after the last configuration) is not merged.
            try FileManager.default.removeItem(at: directory.file("shard-2.finished"))
            expectFailure(try Self.runScript(Self.mergeScript, in: url, environment: ["SHARDS": "2"]), exitCode: 1,
                          mentions: ["shard 2/2 (shard-2.sqlite) has no shard-2.finished", "--array=2 "])
        }
    }

    /// The whole documented recovery on a real cluster: see tools/slurm_e2e.sh.
    @Test(.enabled(if: isClusterEnabled, "set SPCONVLAB_SLURM_TESTS=1 (as root on Debian 12: installs slurm-wlm and munge, runs munged, slurmctld and slurmd)"))
    func aCancelledTaskIsRerunAsItsShardAndTheMergeCoversTheGridOnce() throws {
        let probe = try #require(ProbeCLIProcess.executableURL, "probe-cli is not built: run `swift build --build-tests` first")
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.runExecutable(URL(fileURLWithPath: "/bin/bash"),
                                                           [repositoryFile("tools/slurm_e2e.sh").path, probe.path],
                                                           program: "tools/slurm_e2e.sh", in: directory.url, timeout: 5400)
            #expect(result.exitCode == 0 && !result.killedBySignal, "\(result)")
            #expect(result.stderr.contains("slurm_e2e: passed"), "\(result)")
        }
    }
}

import Foundation
import SPConvLab
import Testing

/// The command line under hostile input: queries that never end, folders that are not the
/// command's own, special files, a folder of images run batch by batch, and workers whose
/// parent was killed.
@Suite("probe-cli hostile input")
struct HostileInputTests {
    /// A small finished sweep database in `directory` (`s.sqlite`), random weights.
    private static func makeDatabase(in directory: TemporaryDirectory) throws {
        expectSuccess(try ProbeCLIProcess.run(["sweep", "--model", "resnet20", "--ratios", "1/2", "--groups", "2", "--db", "s.sqlite",
                                               "--in-channels", "1", "--input-size", "28", "--input", "synthetic:4", "--limit", "4",
                                               "--layers", "layer3.2", "--batch", "4"], in: directory.url, timeout: 240))
    }

    @Test func queriesStopAtTheirTimeAndRowLimits() throws {
        try withTemporaryDirectory { directory in
            try Self.makeDatabase(in: directory)
            let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
            let slow = try ProbeCLIProcess.run(["query", "--db", "s.sqlite", "--timeout", "1", "\(endless) SELECT count(*) FROM c"],
                                               in: directory.url)
            expectFailure(slow, exitCode: 1, mentions: ["SQLite error 9", "time limit", "nothing was changed"])
            let many = try ProbeCLIProcess.run(["query", "--db", "s.sqlite", "--max-rows", "3", "--format", "csv", "\(endless) SELECT x FROM c"],
                                               in: directory.url)
            expectSuccess(many)
            #expect(many.stdout == "x\r\n1\r\n2\r\n3\r\n")
            #expect(many.stderr.contains("only the first 3 rows"))
            let big = try ProbeCLIProcess.run(["query", "--db", "s.sqlite", "SELECT zeroblob(300000000)"], in: directory.url)
            expectFailure(big, exitCode: 1, mentions: ["string or blob too big", "leave that column out"])
            let hungry = try ProbeCLIProcess.run(["query", "--db", "s.sqlite", "--max-memory", "16M",
                                                  "\(endless) SELECT length(group_concat(x)) FROM (SELECT x FROM c LIMIT 20000000)"],
                                                 in: directory.url, timeout: 120)
            expectFailure(hungry, exitCode: 1, mentions: ["out of memory", "--max-memory"])
            for bad in [["--timeout", "0"], ["--timeout", "nan"], ["--max-rows", "0"], ["--max-rows", "100000000"], ["--max-memory", "lots"]] {
                let result = try ProbeCLIProcess.run(["query", "--db", "s.sqlite"] + bad + ["SELECT 1"], in: directory.url)
                expectFailure(result, exitCode: 64, mentions: [bad[0]])
            }
        }
    }

    @Test func aFolderNotWrittenByTheCommandIsRefusedWithoutForce() throws {
        try withTemporaryDirectory { directory in
            try Self.makeDatabase(in: directory)
            let folder = directory.file("mine")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("keep me".utf8).write(to: folder.appendingPathComponent("index.html"))
            let refused = try ProbeCLIProcess.run(["report", "--db", "s.sqlite", "--out", "mine"], in: directory.url)
            expectFailure(refused, exitCode: 1, mentions: ["--out 'mine'", "index.html", "--force"])
            #expect(try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8) == "keep me")
            expectSuccess(try ProbeCLIProcess.run(["report", "--db", "s.sqlite", "--out", "mine", "--force"], in: directory.url))
            // Its own folder now: a second report replaces its own files without --force.
            expectSuccess(try ProbeCLIProcess.run(["report", "--db", "s.sqlite", "--out", "mine"], in: directory.url))
            // Another command's folder is not the report's.
            let other = try ProbeCLIProcess.run(["similarity", "--model", "resnet20", "--input", "synthetic:2", "--layers", "conv1",
                                                 "--out", "mine"], in: directory.url)
            expectFailure(other, exitCode: 1, mentions: ["written by probe-cli report", "--force"])
        }
    }

    @Test func runReadsAFolderBatchByBatchAndWritesAllLogits() throws {
        try withTemporaryDirectory { directory in
            let folder = directory.file("images")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for index in 0..<5 {
                try FileManager.default.copyItem(at: repositoryFile("assets/images/horse.png"),
                                                 to: folder.appendingPathComponent("horse\(index).png"))
            }
            let result = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--input", "images", "--batch", "2", "--output", "logits.npy"],
                                                 in: directory.url)
            expectSuccess(result)
            #expect(result.outputLines.map { String($0.prefix(11)) } == (0..<5).map { "horse\($0).png:" })
            let logits = try NPYFile.read(contentsOf: directory.file("logits.npy").path)
            #expect(logits.shape == [5, 10])
            // The same image gives the same logits whichever batch it was in, up to rounding: the
            // compiler chooses kernels per input shape (the last batch holds one image), and the
            // candidates (oneDNN's convolutions, the own Winograd) round differently.
            let first = Array(logits.scalars[0..<10])
            let scale = first.map(abs).max() ?? 1
            for row in 1..<5 {
                let worst = zip(logits.scalars[(row * 10)..<(row * 10 + 10)], first).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-5 * scale, "row \(row) differs from row 0 by \(worst)")
            }
        }
    }

    @Test func specialFilesAreNamedNotRead() throws {
        try withTemporaryDirectory { directory in
            #expect(mkfifo(directory.file("pipe.npy").path, 0o600) == 0)
            let fifo = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--in-channels", "1", "--input", "pipe.npy"],
                                               in: directory.url, timeout: 30)
            expectFailure(fifo, exitCode: 1, mentions: ["pipe.npy", "FIFO", "not a regular file"])
            let device = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--weights", "/dev/zero", "--input", "synthetic:1"],
                                                 in: directory.url, timeout: 30)
            expectFailure(device, exitCode: 1, mentions: ["/dev/zero", "device"])
        }
    }

    @Test func sweepLayersAllProbesEveryFeatureMapLayer() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["sweep", "--model", "resnet20", "--ratios", "1/2", "--groups", "2", "--db", "s.sqlite",
                                                  "--in-channels", "1", "--input-size", "28", "--input", "synthetic:2", "--limit", "2",
                                                  "--layers", "all", "--batch", "2"], in: directory.url, timeout: 300)
            expectSuccess(result)
            let layers = try ProbeCLIProcess.run(["query", "--db", "s.sqlite", "--format", "csv",
                                                  "SELECT count(DISTINCT layer), sum(layer = 'fc'), sum(layer = 'layer3.2') FROM layer_metrics"],
                                                 in: directory.url)
            expectSuccess(layers)
            let counts = layers.stdout.components(separatedBy: "\r\n").dropLast().last?.split(separator: ",").map(String.init) ?? []
            #expect(counts.count == 3 && (Int(counts[0]) ?? 0) > 20 && counts[1] == "0" && counts[2] != "0", "\(layers)")
        }
    }

    @Test func sweepWorkersEndWhenTheirParentIsKilled() throws {
        try withTemporaryDirectory { directory in
            let process = Process()
            process.executableURL = try #require(ProbeCLIProcess.executableURL)
            process.currentDirectoryURL = directory.url
            process.arguments = ["sweep", "--model", "resnet20", "--ratios", "1/4,1/2,3/4", "--groups", "1,2", "--db", "s.sqlite",
                                 "--in-channels", "1", "--input-size", "28", "--input", "synthetic:64", "--limit", "64",
                                 "--layers", "convs", "--batch", "8", "--jobs", "3", "--threads", "1"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until both workers have claimed a run (they are the other 'running' rows).
            let deadline = Date().addingTimeInterval(120)
            var workers: [Int32] = []
            while Date() < deadline, workers.count < 2 {
                Thread.sleep(forTimeInterval: 0.5)
                workers = Self.children(of: process.processIdentifier)
            }
            try #require(workers.count == 2, "the sweep started its two workers")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let gone = Date().addingTimeInterval(20)
            while Date() < gone, workers.contains(where: Self.isRunning) { Thread.sleep(forTimeInterval: 0.2) }
            #expect(!workers.contains(where: Self.isRunning), "workers \(workers) outlived their parent")
        }
    }

    /// Whether `pid` is a live process (a zombie waiting for its new parent to reap it is not).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.split(separator: "\n").contains { $0.hasPrefix("State:") && $0.contains("Z") }
    }

    /// The pids whose parent is `parent` (from /proc).
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
            return status.split(separator: "\n").contains { $0.hasPrefix("PPid:") && $0.split(separator: "\t").last.map(String.init) == String(parent) }
        }
    }
}

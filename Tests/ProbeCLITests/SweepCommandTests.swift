import FeatureProbe
import Foundation
import SPConvLab
import Testing

/// sweep, query, merge and report end to end, including crashes and concurrent workers.
@Suite("probe-cli sweep and the experiment database", .serialized)
struct SweepCommandTests {
    /// A quick grid: resnet20, 1 channel 28x28, 16 synthetic images, block outputs only.
    static func sweepArguments(db: String, ratios: String = "1/4,1/2,3/4", groups: String = "1,2,4") -> [String] {
        ["sweep", "--model", "resnet20", "--ratios", ratios, "--groups", groups, "--db", db, "--in-channels", "1",
         "--input-size", "28", "--input", "synthetic:16", "--limit", "16", "--layers", "layer1.0,layer3.2", "--batch", "8"]
    }

    static func runs(_ path: String) throws -> [RunRecord] {
        let database = try ExperimentDatabase(path: path, mode: .readOnly)
        return try database.sweeps().flatMap { try database.runs(sweepID: $0.id) }
    }

    static func key(_ run: RunRecord) -> String { "\(run.variant) \(run.ratio.map { "\($0)" } ?? "-") \(run.groups.map(String.init) ?? "-")" }

    @Test func aSweepStoresEveryConfigurationWithTheCostsOfProbeCliCost() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(Self.sweepArguments(db: "s.sqlite"), in: directory.url, timeout: 240)
            expectSuccess(result)
            let runs = try Self.runs(directory.file("s.sqlite").path)
            #expect(runs.count == 10, "the baseline and 3 x 3 pairs")
            #expect(Set(runs.map(Self.key)).count == 10)
            for run in runs {
                #expect(run.status == .done || (run.status == .skipped && run.reason?.isEmpty == false), "\(Self.key(run)): \(run.status)")
                guard run.status == .done else { continue }
                var arguments = ["cost", "--model", "resnet20", "--in-channels", "1", "--input-size", "28", "--json"]
                if run.variant == "spconv" { arguments += ["--variant", "spconv", "--ratio", "\(run.ratio!)", "--groups", "\(run.groups!)"] }
                let cost = try ProbeCLIProcess.run(arguments, in: directory.url)
                let json = try JSONSerialization.jsonObject(with: Data(cost.stdout.utf8)) as! [String: Any]
                #expect(run.params == json["params"] as? Int && run.macs == json["macs"] as? Int, "\(Self.key(run))")
                #expect((run.latencyMS ?? 0) > 0)
            }
            let database = try ExperimentDatabase(path: directory.file("s.sqlite").path, mode: .readOnly)
            #expect(try database.integrityCheck() == ["ok"])
            #expect(try database.layerMetrics(runID: runs[0].id).count == 2)
            let matrix = try #require(try database.similarity(runID: runs[0].id, layer: "layer3.2", metric: "cosine"))
            #expect(matrix.channels == 64 && matrix.values.count == 64 * 64)
        }
    }

    /// `sweep --onnx`: one baseline row for the file, with the costs the fixture script counted
    /// in PyTorch (tools/make_onnx_fixtures.py), one layer row per Conv node, the file's digest
    /// as its weights, and nothing added when the same command runs again.
    @Test func anONNXSweepStoresTheFilesBaselineRowOnce() throws {
        struct Facts: Decodable { var file_parameters: Int, macs: Int, nodes: [[String]] }
        let fixture = ONNXFixtures.path("resnet18.onnx")
        let facts = try JSONDecoder().decode(Facts.self, from: Data(contentsOf: URL(fileURLWithPath: ONNXFixtures.path("resnet18.json"))))
        try withTemporaryDirectory { directory in
            let arguments = ["sweep", "--onnx", fixture, "--db", "o.sqlite", "--input", "synthetic:8", "--limit", "8", "--batch", "4"]
            expectSuccess(try ProbeCLIProcess.run(arguments, in: directory.url, timeout: 240))
            expectSuccess(try ProbeCLIProcess.run(arguments, in: directory.url, timeout: 240))
            let runs = try Self.runs(directory.file("o.sqlite").path)
            let run = try #require(runs.first)
            #expect(runs.count == 1 && run.status == .done && run.variant == "onnx" && run.model == "resnet18.onnx")
            #expect(run.params == facts.file_parameters && run.macs == facts.macs)
            #expect(run.weightsSHA256 == (try SHA256.hex(ofFile: fixture)) && run.weightsSource == .file && (run.latencyMS ?? 0) > 0)
            let database = try ExperimentDatabase(path: directory.file("o.sqlite").path, mode: .readOnly)
            #expect(try database.layerMetrics(runID: run.id).count == facts.nodes.filter { $0[1] == "Conv" }.count)
            expectFailure(try ProbeCLIProcess.run(["sweep", "--onnx", fixture, "--db", "p.sqlite", "--ratios", "1/2", "--train-epochs", "1"],
                                                  in: directory.url), exitCode: 64, mentions: ["--ratios and --train-epochs", "--onnx"])
            #expect(!FileManager.default.fileExists(atPath: directory.file("p.sqlite").path))
        }
    }

    @Test func aSweepKilledWithSIGKILLResumesAndStoresEachConfigurationOnce() throws {
        try withTemporaryDirectory { directory in
            let db = directory.file("k.sqlite").path
            let process = Process()
            process.executableURL = try #require(ProbeCLIProcess.executableURL)
            process.arguments = Self.sweepArguments(db: db)
            process.currentDirectoryURL = directory.url
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill it as soon as some, but not all, configurations are done.
            let deadline = Date().addingTimeInterval(120)
            var doneAtKill = 0
            while Date() < deadline && process.isRunning {
                if FileManager.default.fileExists(atPath: db), let runs = try? Self.runs(db) {
                    doneAtKill = runs.filter { $0.status == .done }.count
                    if doneAtKill >= 2 { break }
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            #expect(process.isRunning, "the sweep should still be running when it is killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let before = try Self.runs(db)
            #expect(before.contains { $0.status != .done }, "the kill left work undone")

            let resumed = try ProbeCLIProcess.run(Self.sweepArguments(db: db), in: directory.url, timeout: 240)
            expectSuccess(resumed)
            let after = try Self.runs(db)
            #expect(after.count == 10)
            #expect(Set(after.map(Self.key)).count == 10, "each configuration exactly once")
            #expect(after.allSatisfy { $0.status == .done || $0.status == .skipped })
            // What was done before the kill was kept, not redone.
            for run in before where run.status == .done {
                #expect(after.first { $0.id == run.id }?.finishedAt == run.finishedAt, "run \(run.id) kept")
            }
            #expect(try ExperimentDatabase(path: db, mode: .readOnly).integrityCheck() == ["ok"])
        }
    }

    @Test func twoSweepProcessesShareOneDatabase() throws {
        try withTemporaryDirectory { directory in
            let db = directory.file("c.sqlite").path
            var processes: [Process] = []
            var errors: [URL] = []
            for index in 0..<2 {
                let process = Process()
                let executable: URL? = ProbeCLIProcess.executableURL
                process.executableURL = try #require(executable, "probe-cli is not built")
                process.arguments = Self.sweepArguments(db: db) + ["--threads", "1"]
                process.currentDirectoryURL = directory.url
                process.standardOutput = FileHandle.nullDevice
                let errorFile = directory.file("err\(index).txt")
                _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
                process.standardError = try FileHandle(forWritingTo: errorFile)
                errors.append(errorFile)
                processes.append(process)
            }
            for process in processes { try process.run() }
            for process in processes { process.waitUntilExit() }
            for (process, errorFile) in zip(processes, errors) {
                let text = try String(contentsOf: errorFile, encoding: .utf8)
                #expect(process.terminationStatus == 0, "\(text)")
                #expect(!text.contains("locked"), "\(text)")
            }
            let runs = try Self.runs(db)
            #expect(runs.count == 10 && Set(runs.map(Self.key)).count == 10)
            #expect(runs.allSatisfy { $0.status == .done || $0.status == .skipped })
            #expect(Set(runs.compactMap(\.host)).count == 1)
        }
    }

    @Test func jobsAndShardsThenMergeCoverTheGridOnce() throws {
        try withTemporaryDirectory { directory in
            expectSuccess(try ProbeCLIProcess.run(Self.sweepArguments(db: "j.sqlite", ratios: "1/2,3/4", groups: "1,2") + ["--jobs", "2"],
                                                  in: directory.url, timeout: 240))
            let jobs = try Self.runs(directory.file("j.sqlite").path)
            #expect(jobs.count == 5 && jobs.allSatisfy { $0.status == .done })
            for k in 1...2 {
                expectSuccess(try ProbeCLIProcess.run(Self.sweepArguments(db: "shard\(k).sqlite", ratios: "1/2,3/4", groups: "1,2")
                                                          + ["--shard", "\(k)/2"], in: directory.url, timeout: 240))
            }
            #expect(try Self.runs(directory.file("shard1.sqlite").path).count == 3)
            #expect(try Self.runs(directory.file("shard2.sqlite").path).count == 2)
            expectSuccess(try ProbeCLIProcess.run(["merge", "all.sqlite", "shard1.sqlite", "shard2.sqlite"], in: directory.url))
            let again = try ProbeCLIProcess.run(["merge", "all.sqlite", "shard1.sqlite", "shard2.sqlite"], in: directory.url)
            #expect(again.exitCode == 64 && again.stderr.contains("--force"), "an existing OUT is not merged into silently")
            expectSuccess(try ProbeCLIProcess.run(["merge", "--force", "all.sqlite", "shard1.sqlite", "shard2.sqlite"], in: directory.url))
            let merged = try Self.runs(directory.file("all.sqlite").path)
            #expect(merged.filter { $0.status == .done }.count == 5, "merged twice, still once each")
        }
    }

    @Test func releaseRunningRerunsWhatAnotherHostLeftRunningAndKeepsDoneRuns() throws {
        try withTemporaryDirectory { directory in
            let db = directory.file("r.sqlite").path
            // Generous timeouts: three sweeps, on machines much slower than usual too.
            let arguments = Self.sweepArguments(db: db, ratios: "1/2", groups: "2")
            expectSuccess(try ProbeCLIProcess.run(arguments, in: directory.url, timeout: 900))
            // As a Slurm task killed on another node leaves it: the spconv run still claimed there.
            let before = try Self.runs(db)
            let spconv = try #require(before.first { $0.variant == "spconv" })
            _ = try ExperimentDatabase(path: db).connection.run("""
                UPDATE runs SET status = 'running', worker = 'node7:4242', worker_pid = 4242, host = 'node7', finished_at = NULL WHERE id = ?
                """, [.integer(spconv.id)])

            let plain = try ProbeCLIProcess.run(arguments, in: directory.url, timeout: 900)
            expectSuccess(plain)
            #expect(plain.stderr.contains("1 running") && plain.stderr.contains("--release-running"), "\(plain)")
            #expect(try Self.runs(db).first { $0.id == spconv.id }?.status == .running, "another host's claim is left alone")

            let released = try ProbeCLIProcess.run(arguments + ["--release-running"], in: directory.url, timeout: 900)
            expectSuccess(released)
            #expect(released.stderr.contains("1 configuration(s) left running in \(db)"), "\(released)")
            let after = try Self.runs(db)
            #expect(after.count == 2 && after.allSatisfy { $0.status == .done }, "\(after.map(\.status))")
            #expect(after.first { $0.id == spconv.id }?.host == Worker.current.host)
            let vanilla = try #require(before.first { $0.variant == "vanilla" })
            #expect(after.first { $0.id == vanilla.id }?.finishedAt == vanilla.finishedAt, "the finished baseline is not measured again")
        }
    }

    @Test func queryIsReadOnlyAndItsCSVIsRFC4180() throws {
        try withTemporaryDirectory { directory in
            expectSuccess(try ProbeCLIProcess.run(Self.sweepArguments(db: "q.sqlite", ratios: "1/2", groups: "2"), in: directory.url, timeout: 240))
            let checksum = { () throws -> String in
                try ProbeCLIProcess.run(["query", "--db", "q.sqlite", "--format", "csv",
                                         "SELECT * FROM runs ORDER BY id"], in: directory.url).stdout
                    + ProbeCLIProcess.run(["query", "--db", "q.sqlite", "--format", "csv",
                                           "SELECT count(*), sum(length(matrix)) FROM similarity"], in: directory.url).stdout
            }
            let original = try checksum()
            for statement in ["DELETE FROM runs", "DROP TABLE runs", "INSERT INTO sweeps (name, command_line, created_at) VALUES ('x', 'y', 'z')",
                              "ATTACH DATABASE 'other.sqlite' AS other", "PRAGMA writable_schema = ON", "UPDATE runs SET params = 0",
                              "SELECT 1; DELETE FROM runs"] {
                let result = try ProbeCLIProcess.run(["query", "--db", "q.sqlite", statement], in: directory.url)
                expectFailure(result, exitCode: 1, mentions: ["q.sqlite"])
                #expect(try checksum() == original, "data unchanged after \(statement)")
            }
            #expect(!FileManager.default.fileExists(atPath: directory.file("other.sqlite").path))
            // The CSV has a header, CRLF rows, and quotes the sweep name (it contains commas).
            let csv = try ProbeCLIProcess.run(["query", "runs", "--db", "q.sqlite", "--format", "csv"], in: directory.url)
            expectSuccess(csv)
            let lines = csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 3 && lines[0].hasPrefix("run_id,sweep,"))
            #expect(lines[1].contains("\"resnet20 ratios=1/2 groups=2"))
            if FileManager.default.fileExists(atPath: "/usr/bin/python3") {
                let check = Process()
                check.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
                check.arguments = ["-c", "import csv,sys; rows=list(csv.reader(open(sys.argv[1], newline=''))); "
                                   + "assert len(rows)==3 and all(len(r)==len(rows[0]) for r in rows), rows", directory.file("q.csv").path]
                try Data(csv.stdout.utf8).write(to: directory.file("q.csv"))
                try check.run()
                check.waitUntilExit()
                #expect(check.terminationStatus == 0, "Python's csv module reads the output back")
            }
            let json = try ProbeCLIProcess.run(["query", "--db", "q.sqlite", "--format", "json", "SELECT id, variant, ratio FROM runs"],
                                               in: directory.url)
            let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
            #expect(rows?.count == 2 && rows?[1]["ratio"] as? Double == 0.5)
        }
    }

    @Test func reportWritesIndexAndChartsReferencingOnlyExistingFiles() throws {
        try withTemporaryDirectory { directory in
            expectSuccess(try ProbeCLIProcess.run(Self.sweepArguments(db: "r.sqlite", ratios: "1/4,1/2", groups: "1,2"), in: directory.url, timeout: 240))
            let result = try ProbeCLIProcess.run(["report", "--db", "r.sqlite", "--out", "report"], in: directory.url)
            expectSuccess(result)
            let index = directory.file("report/index.html")
            let html = try String(contentsOf: index, encoding: .utf8)
            let referenced = SweepReport.referencedFiles(in: html)
            #expect(referenced.contains("macs_vs_ratio.png") && referenced.contains("latency_vs_ratio.png")
                    && referenced.contains("redundancy_per_layer.png"))
            for file in referenced {
                #expect(FileManager.default.fileExists(atPath: directory.file("report/\(file)").path), "\(file) exists")
            }
            #expect(!referenced.contains("accuracy_vs_macs.png"), "no accuracy without training")
        }
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var exitCode: Int32
        var mentions: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let badCases = [
        BadCase(arguments: sweepArguments(db: "db.sqlite", ratios: ","), exitCode: 64, mentions: ["--ratios", "empty"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite", ratios: "1/4,1.5"), exitCode: 64, mentions: ["'1.5'", "(0, 1)"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite", groups: "2,x"), exitCode: 64, mentions: ["'x'", "positive integer"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite", groups: "0"), exitCode: 64, mentions: ["'0'"]),
        BadCase(arguments: sweepArguments(db: "notes.sqlite"), exitCode: 1, mentions: ["notes.sqlite", "not"]),
        BadCase(arguments: sweepArguments(db: "newer.sqlite"), exitCode: 1, mentions: ["newer.sqlite", "99"]),
        BadCase(arguments: sweepArguments(db: "plain/db.sqlite"), exitCode: 1, mentions: ["plain/db.sqlite"]),
        BadCase(arguments: ["query", "--db", "notes.sqlite", "SELECT 1"], exitCode: 1, mentions: ["notes.sqlite"]),
        BadCase(arguments: ["report", "--db", "newer.sqlite", "--out", "rep"], exitCode: 1, mentions: ["newer.sqlite"]),
        BadCase(arguments: ["query", "--db", "missing.sqlite", "SELECT 1"], exitCode: 1, mentions: ["missing.sqlite"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite") + ["--train-epochs", "0"], exitCode: 64, mentions: ["--train-epochs 0", "at least 1"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite") + ["--train-epochs", "1", "--train-limit", "1"], exitCode: 64,
                mentions: ["--train-limit 1", "at least 2"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite") + ["--train-epochs", "1", "--test-limit", "0"], exitCode: 64,
                mentions: ["--test-limit 0"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite") + ["--train-limit", "64"], exitCode: 64, mentions: ["--train-limit", "--train-epochs"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite") + ["--seeds", "0,1"], exitCode: 64, mentions: ["--seeds", "--train-epochs"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite") + ["--train-epochs", "1", "--seeds", "0,x"], exitCode: 64, mentions: ["--seeds item 'x'", "0,1,2"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite") + ["--train-epochs", "1", "--weights-dir", "."], exitCode: 64,
                mentions: ["--weights-dir", "training identity"]),
        BadCase(arguments: sweepArguments(db: "db.sqlite").map { $0 == "28" ? "32" : $0 } + ["--train-epochs", "1"], exitCode: 64,
                mentions: ["Fashion-MNIST", "32x32", "--input-size 28"]),
        BadCase(arguments: ["sweep", "--model", "resnet20", "--db", "db.sqlite", "--train-epochs", "1"], exitCode: 64,
                mentions: ["3 channel(s)", "--in-channels 1"]),
    ]

    @Test(arguments: badCases)
    func badInputFailsAndChangesNoDatabase(_ bad: BadCase) throws {
        try withTemporaryDirectory { directory in
            try Data("this is not a database".utf8).write(to: directory.file("notes.sqlite"))
            try Data("a plain file".utf8).write(to: directory.file("plain"))
            // A database from a newer schema: a real one whose user_version claims 99 migrations.
            // Closed before the snapshot, so its write-ahead log is checkpointed into the file.
            do {
                let newer = try ExperimentDatabase(path: directory.file("newer.sqlite").path)
                try newer.connection.execute("PRAGMA user_version = 99")
            }
            let snapshot = { (name: String) in try? Data(contentsOf: directory.file(name)) }
            let before = ["notes.sqlite", "newer.sqlite"].map(snapshot)
            let result = try ProbeCLIProcess.run(bad.arguments, in: directory.url)
            expectFailure(result, exitCode: bad.exitCode, mentions: bad.mentions)
            #expect(["notes.sqlite", "newer.sqlite"].map(snapshot) == before, "existing databases unchanged")
            #expect(!FileManager.default.fileExists(atPath: directory.file("db.sqlite").path))
            #expect(!FileManager.default.fileExists(atPath: directory.file("missing.sqlite").path))
        }
    }
}

/// probe-cli sweep --train-epochs: each configuration trained on Fashion-MNIST, its accuracy stored.
@Suite("probe-cli sweep with training")
struct SweepTrainingCommandTests {
    @Test(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
    func aTrainedSweepStoresAccuracyAndEpochsAndResumes() throws {
        try withTemporaryDirectory { directory in
            // Two configurations (the baseline, 1/2 with 2 groups), each trained on 64 images for one epoch.
            // One thread: beside other test processes, more threads than cores slow training down many times.
            let arguments = ["sweep", "--model", "resnet20", "--in-channels", "1", "--ratios", "1/2", "--train-epochs", "1",
                             "--train-limit", "64", "--test-limit", "64", "--limit", "16", "--batch", "16",
                             "--layers", "layer1.0,layer3.2", "--threads", "1", "--db", "t.sqlite", "--store", "store"]
            expectSuccess(try ProbeCLIProcess.run(arguments, in: directory.url, timeout: 240))
            let query = try ProbeCLIProcess.run(["query", "--db", "t.sqlite", "--format", "json",
                                                 "SELECT r.variant, r.status, r.accuracy, r.train_epochs, r.train_seconds, r.input_size, s.name, "
                                                     + "r.weights_source, r.train_seed, r.store_key, r.checkpoint_sha256, "
                                                     + "(SELECT count(*) FROM epochs e WHERE e.run_id = r.id) AS epochs "
                                                     + "FROM runs r JOIN sweeps s ON s.id = r.sweep_id ORDER BY r.id"], in: directory.url)
            expectSuccess(query)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(query.stdout.utf8)) as? [[String: Any]])
            #expect(rows.count == 2)
            for row in rows {
                #expect(row["status"] as? String == "done", "\(row)")
                let accuracy = try #require(row["accuracy"] as? Double, "\(row)")
                #expect((0...1).contains(accuracy) && accuracy * 64 == (accuracy * 64).rounded(), "a fraction of 64 test images: \(row)")
                #expect(row["train_epochs"] as? Int == 1)
                #expect((row["train_seconds"] as? Double ?? -1) >= 0)
                #expect(row["input_size"] as? Int == 28, "--input-size defaults to Fashion-MNIST's when training")
                #expect((row["name"] as? String)?.contains("train=1 train-limit=64 test-limit=64") == true, "\(row)")
                #expect(row["weights_source"] as? String == "trained" && row["train_seed"] as? Int == 0 && row["epochs"] as? Int == 1, "\(row)")
                let key = try #require(row["store_key"] as? String)
                let stored = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.file("store").path)
                    .first { $0.hasSuffix("_\(key).safetensors") }, "the run's checkpoint is in the store under its key")
                #expect(row["checkpoint_sha256"] as? String == (try SHA256.hex(ofFile: directory.file("store/\(stored)").path)))
            }
            let summary = try ProbeCLIProcess.run(["query", "runs", "--db", "t.sqlite", "--format", "csv"], in: directory.url)
            #expect(summary.stdout.hasPrefix("run_id,sweep,model,variant,ratio,groups,weights_source,train_seed,dataset,images,status,params,macs,latency_ms,accuracy,train_epochs,"))
            // The same command again finds both done and trains nothing.
            let again = try ProbeCLIProcess.run(arguments, in: directory.url, timeout: 240)
            expectSuccess(again)
            #expect(try SweepCommandTests.runs(directory.file("t.sqlite").path).count == 2)
            // A new database reuses the store's finished runs instead of training them again.
            let reused = try ProbeCLIProcess.run(arguments.map { $0 == "t.sqlite" ? "u.sqlite" : $0 }, in: directory.url, timeout: 240)
            expectSuccess(reused)
            #expect(reused.stderr.components(separatedBy: "reused the finished checkpoint").count == 3 && !reused.stderr.contains("epoch 1 done"),
                    "\(reused.stderr)")

            // Untrained runs of the same grid in the same database: a report or comparison that
            // would mix them with the trained ones refuses, naming the runs, unless asked.
            let untrained = ["sweep", "--model", "resnet20", "--in-channels", "1", "--input-size", "28", "--ratios", "1/2", "--limit", "16",
                             "--batch", "16", "--layers", "layer1.0,layer3.2", "--threads", "1", "--db", "t.sqlite"]
            expectSuccess(try ProbeCLIProcess.run(untrained, in: directory.url, timeout: 240))
            let refused = try ProbeCLIProcess.run(["report", "--db", "t.sqlite", "--out", "mixed"], in: directory.url)
            expectFailure(refused, exitCode: 1, mentions: ["trained weights in run(s) 1, 2", "random weights in run(s) 3, 4", "--mix-weights"])
            #expect(!FileManager.default.fileExists(atPath: directory.file("mixed/index.html").path))
            let compare = try ProbeCLIProcess.run(["query", "compare", "1", "3", "--db", "t.sqlite"], in: directory.url)
            expectFailure(compare, exitCode: 1, mentions: ["run(s) 1", "run(s) 3", "--mix-weights"])
            let configurations = try ProbeCLIProcess.run(["query", "configurations", "--db", "t.sqlite"], in: directory.url)
            expectFailure(configurations, exitCode: 1, mentions: ["--mix-weights"])
            let mixed = try ProbeCLIProcess.run(["report", "--db", "t.sqlite", "--out", "mixed", "--mix-weights"], in: directory.url)
            expectSuccess(mixed)
            let html = try String(contentsOf: directory.file("mixed/index.html"), encoding: .utf8)
            #expect(html.contains("vanilla [trained]") && html.contains("vanilla [random]"))
            // One kind at a time needs no flag.
            let trainedOnly = try ProbeCLIProcess.run(["query", "configurations", "--db", "u.sqlite", "--format", "csv"], in: directory.url)
            expectSuccess(trainedOnly)
            #expect(trainedOnly.stdout.contains(",trained,1,1,0,"), "\(trainedOnly.stdout)")
        }
    }

    /// The arguments of a small trained grid: the baseline and 1/2 with 2 groups, seeds 0 and 1,
    /// three epochs of 64 training images, one thread (bit-exact).
    static func killArguments(db: String, store: String) -> [String] {
        ["sweep", "--model", "resnet20", "--in-channels", "1", "--ratios", "1/2", "--groups", "2", "--train-epochs", "3",
         "--seeds", "0,1", "--train-limit", "64", "--test-limit", "32", "--limit", "16", "--batch", "16",
         "--layers", "layer1.0,layer3.2", "--threads", "1", "--db", db, "--store", store]
    }

    @Test(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
    func aSweepKilledAtRandomMomentsResumesEveryRunAfterItsLastFinishedEpoch() throws {
        try withTemporaryDirectory { directory in
            expectSuccess(try ProbeCLIProcess.run(Self.killArguments(db: "whole.sqlite", store: "whole"), in: directory.url, timeout: 600))

            // The same sweep, killed with SIGKILL after random delays until it finishes by itself.
            var generator = SeededGenerator(seed: 11)
            var logs: [String] = [], kills = 0
            let executable = try #require(ProbeCLIProcess.executableURL)
            for attempt in 0..<12 {
                let log = directory.file("attempt\(attempt).stderr")
                FileManager.default.createFile(atPath: log.path, contents: nil)
                let process = Process()
                process.executableURL = executable
                process.arguments = Self.killArguments(db: "killed.sqlite", store: "killed")
                process.currentDirectoryURL = directory.url
                process.standardOutput = FileHandle.nullDevice
                process.standardError = try FileHandle(forWritingTo: log)
                try process.run()
                let delay = 0.5 + Double(generator.next() % 3000) / 1000
                let deadline = Date().addingTimeInterval(delay)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
                let wasRunning = process.isRunning
                if wasRunning { kill(process.processIdentifier, SIGKILL); kills += 1 }
                process.waitUntilExit()
                logs.append(try String(contentsOf: log, encoding: .utf8))
                if !wasRunning {
                    #expect(process.terminationStatus == 0, "\(logs.last!)")
                    break
                }
            }
            #expect(kills >= 2, "the sweep should have been interrupted several times (\(kills))")
            let finish = try ProbeCLIProcess.run(Self.killArguments(db: "killed.sqlite", store: "killed"), in: directory.url, timeout: 600)
            expectSuccess(finish)
            logs.append(finish.stderr)

            // Every (configuration, seed) is stored once and done.
            let runs = try SweepCommandTests.runs(directory.file("killed.sqlite").path)
            #expect(runs.count == 4 && runs.allSatisfy { $0.status == .done && $0.trainEpochs == 3 }, "\(runs)")
            #expect(Set(runs.map { "\($0.variant) \($0.trainSeed ?? 99)" }).count == 4)
            // No finished epoch was trained again: each epoch of each run is reported done at most
            // once over all attempts, and a resumed run continues after the last epoch it finished.
            var done: [String: Int] = [:], lastDone: [String: Int] = [:]
            for log in logs {
                for line in log.split(separator: "\n").map(String.init) {
                    if let match = line.firstMatch(of: /^(.*): epoch (\d+) done/) {
                        let run = String(match.output.1), epoch = Int(match.output.2)!
                        done["\(run) \(epoch)", default: 0] += 1
                        lastDone[run] = max(lastDone[run] ?? 0, epoch)
                    } else if let match = line.firstMatch(of: /^(.*): resuming after epoch (\d+)/) {
                        let run = String(match.output.1)
                        #expect(Int(match.output.2)! >= lastDone[run] ?? 0, "\(line) after epoch \(lastDone[run] ?? 0) was reported done")
                    }
                }
            }
            #expect(done.values.allSatisfy { $0 == 1 }, "\(done.filter { $0.value > 1 })")
            // The final weights equal those of the sweep that was never interrupted, bit for bit.
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("whole").path).filter { $0.hasSuffix(".safetensors") }.sorted()
            #expect(names.count == 4)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("killed").path).filter { $0.hasSuffix(".safetensors") }.sorted() == names,
                    "the same runs, under the same keys, and no optimizer state left")
            for name in names {
                let (a, b) = (try Safetensors.read(contentsOf: directory.file("whole/\(name)").path),
                              try Safetensors.read(contentsOf: directory.file("killed/\(name)").path))
                #expect(a.names == b.names)
                for tensor in a.names { #expect(a[tensor]!.scalars == b[tensor]!.scalars, "\(name): \(tensor) differs") }
            }
            let whole = try SweepCommandTests.runs(directory.file("whole.sqlite").path)
            #expect(Set(whole.map(\.checkpointSHA256)) == Set(runs.map(\.checkpointSHA256)))
            func accuracies(_ runs: [RunRecord]) -> [String: Double] {
                Dictionary(uniqueKeysWithValues: runs.map { ("\($0.variant) \($0.trainSeed ?? 99)", $0.accuracy ?? -1) })
            }
            #expect(accuracies(whole) == accuracies(runs))
        }
    }
}

/// Regression tests for review findings on sweeps and outputs.
@Suite("probe-cli sweep edge cases")
struct SweepEdgeCaseTests {
    @Test func aLayerListWithAFlatOutputIsRefusedBeforeTheDatabaseIsMade() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(SweepCommandTests.sweepArguments(db: "x.sqlite", ratios: "1/2", groups: "2")
                                                     .map { $0 == "layer1.0,layer3.2" ? "blocks,fc" : $0 }, in: directory.url)
            expectFailure(result, exitCode: 1, mentions: ["'fc'", "2-dimensional"])
            #expect(!FileManager.default.fileExists(atPath: directory.file("x.sqlite").path))
        }
    }

    @Test func resumingWithAnotherThreadCountFindsTheSameRuns() throws {
        try withTemporaryDirectory { directory in
            let arguments = SweepCommandTests.sweepArguments(db: "t.sqlite", ratios: "1/2", groups: "1,2")
            expectSuccess(try ProbeCLIProcess.run(arguments + ["--threads", "1"], in: directory.url, timeout: 240))
            expectSuccess(try ProbeCLIProcess.run(arguments + ["--threads", "2"], in: directory.url, timeout: 240))
            #expect(try SweepCommandTests.runs(directory.file("t.sqlite").path).count == 3)
        }
    }

    @Test func checkpointsFromAWeightsFolderAreUsedAndRecorded() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(at: directory.file("ckpt"), withIntermediateDirectories: false)
            let checkpoint = directory.file("ckpt/resnet20_spconv_r0.5_g2.safetensors").path
            try Network(ModelSpec(.resnet20, variant: .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), inputChannels: 1,
                                  inputSize: 28), seed: 9).saveWeights(to: checkpoint)
            let arguments = SweepCommandTests.sweepArguments(db: "w.sqlite", ratios: "1/2", groups: "1,2") + ["--weights-dir", "ckpt"]
            expectSuccess(try ProbeCLIProcess.run(arguments, in: directory.url, timeout: 240))
            let runs = try SweepCommandTests.runs(directory.file("w.sqlite").path)
            let withWeights = runs.filter { $0.weightsPath != nil }
            #expect(withWeights.count == 1 && withWeights.first?.groups == 2)
            #expect(withWeights.first?.weightsSHA256 == (try SHA256.hex(ofFile: checkpoint)))
            #expect(withWeights.first?.status == .done)
        }
    }

    @Test func aRangeWithATinyStepIsRefusedNotTrapped() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(SweepCommandTests.sweepArguments(db: "r.sqlite", ratios: "0.1:0.9:1e-300"), in: directory.url)
            expectFailure(result, exitCode: 64, mentions: ["0.1:0.9:1e-300", "1000"])
        }
    }

    @Test func aFolderInTheWayOfAnOutputFileLeavesNothingWritten() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(at: directory.file("out/layer3.2.npy/x"), withIntermediateDirectories: true)
            let capture = try ProbeCLIProcess.run(["capture", "--model", "resnet20", "--input", "synthetic:2", "--layers", "blocks",
                                                   "--out", "out"], in: directory.url)
            expectFailure(capture, exitCode: 1, mentions: ["layer3.2.npy"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("out").path) == ["layer3.2.npy"])
            try FileManager.default.createDirectory(at: directory.file("sim/layer2.0.cosine.png/x"), withIntermediateDirectories: true)
            let similarity = try ProbeCLIProcess.run(["similarity", "--model", "resnet20", "--input", "synthetic:2", "--layers", "blocks",
                                                      "--out", "sim"], in: directory.url)
            expectFailure(similarity, exitCode: 1, mentions: ["layer2.0.cosine.png"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("sim").path) == ["layer2.0.cosine.png"])
        }
    }
}

import FeatureProbe
import Foundation
import SPConvLab
import Testing

/// `tools/export_mlflow.py` on the demo's databases, read back through MLflow's Python API and
/// compared with the database as this test reads it (FeatureProbe's `ExperimentDatabase`, not the
/// exporter's Python reader).
///
/// Needs `python3` on PATH with mlflow (`pip install mlflow`), so it runs only with
/// `SPCONVLAB_MLFLOW_TESTS=1 swift test --filter MLflowExportTests`.
@Suite("tools/export_mlflow.py", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SPCONVLAB_MLFLOW_TESTS"] == "1",
                "set SPCONVLAB_MLFLOW_TESTS=1 (needs python3 with mlflow: pip install mlflow)"))
struct MLflowExportTests {
    static let exporter = repositoryFile("tools/export_mlflow.py").path

    /// Runs `python3 arguments` in `directory`.
    static func python(_ arguments: [String], in directory: URL, timeout: TimeInterval = 300,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        try ProbeCLIProcess.runExecutable(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments, program: "env",
                                          in: directory, timeout: timeout, sourceLocation: sourceLocation)
    }

    /// Reads every active run of every experiment but MLflow's "Default" back through MlflowClient
    /// and prints them as JSON: name, params, tags, latest metrics, the history of the per-epoch
    /// metrics, artifact paths, and the SHA-256 and shape of each similarity .npy.
    static let readBack = #"""
    import hashlib, json, os, sys, tempfile
    import numpy as np
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=sys.argv[1])
    history_keys = ["learning_rate", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "epoch_seconds", "images_per_second"]
    out = []
    for experiment in client.search_experiments():
        if experiment.name == "Default":
            continue
        for run in client.search_runs([experiment.experiment_id], max_results=1000):
            artifacts = []
            for folder in ["", "similarity", "heatmaps"]:
                artifacts += [a.path for a in client.list_artifacts(run.info.run_id, folder or None) if not a.is_dir]
            matrices = {}
            with tempfile.TemporaryDirectory() as scratch:
                if any(a.startswith("similarity/") for a in artifacts):
                    local = client.download_artifacts(run.info.run_id, "similarity", scratch)
                    for name in sorted(os.listdir(local)):
                        if name.endswith(".npy"):
                            array = np.load(os.path.join(local, name))
                            csv = np.loadtxt(os.path.join(local, name[:-4] + ".csv"), delimiter=",", ndmin=2)
                            matrices[name] = {"sha256": hashlib.sha256(array.astype("<f4").tobytes()).hexdigest(),
                                              "shape": list(array.shape), "dtype": str(array.dtype),
                                              "csv_equal": bool(np.array_equal(csv.astype("<f4"), array))}
            out.append({"experiment": experiment.name, "run_id": run.info.run_id, "name": run.info.run_name,
                        "status": run.info.status, "params": run.data.params, "tags": run.data.tags,
                        "metrics": run.data.metrics, "artifacts": sorted(artifacts), "matrices": matrices,
                        "history": {k: [[m.step, m.value] for m in sorted(client.get_metric_history(run.info.run_id, k), key=lambda m: m.step)]
                                    for k in history_keys if k in run.data.metrics}})
    json.dump(out, sys.stdout)
    """#

    /// One MLflow run as read back.
    struct MLflowRun {
        var experiment: String, runID: String, name: String, status: String
        var params: [String: String], tags: [String: String], metrics: [String: Double]
        var history: [String: [(step: Int, value: Double)]]
        var artifacts: [String]
        var matrices: [String: [String: Any]]
    }

    static func readRuns(trackingURI: String, in directory: URL) throws -> [MLflowRun] {
        let result = try python(["-c", readBack, trackingURI], in: directory)
        #expect(result.exitCode == 0, "\(result)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(result)")
        return rows.map { row in
            let history = (row["history"] as? [String: [[Double]]] ?? [:]).mapValues { $0.map { (step: Int($0[0]), value: $0[1]) } }
            return MLflowRun(experiment: row["experiment"] as? String ?? "", runID: row["run_id"] as? String ?? "",
                             name: row["name"] as? String ?? "", status: row["status"] as? String ?? "",
                             params: row["params"] as? [String: String] ?? [:], tags: row["tags"] as? [String: String] ?? [:],
                             metrics: (row["metrics"] as? [String: NSNumber] ?? [:]).mapValues(\.doubleValue),
                             history: history, artifacts: row["artifacts"] as? [String] ?? [],
                             matrices: row["matrices"] as? [String: [String: Any]] ?? [:])
        }
    }

    /// The float32 little-endian bytes of a stored matrix, hashed as the read-back script hashes the .npy.
    static func sha256(of values: [Float]) -> String {
        var hash = SHA256()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        hash.update(bytes)
        return hash.finalize()
    }

    static func expectEqual(_ actual: Double?, _ expected: Double, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let actual else {
            Issue.record("\(what) is missing in MLflow (expected \(expected))", sourceLocation: sourceLocation)
            return
        }
        #expect(abs(actual - expected) <= 1e-12 * max(1, abs(expected)), "\(what): MLflow \(actual), database \(expected)",
                sourceLocation: sourceLocation)
    }

    /// Exports `database` (with the report folder `report`) into a fresh sqlite tracking store,
    /// checks every run against the database, exports again and checks nothing was added.
    static func exportAndCheck(database: String, report: String, in directory: TemporaryDirectory) throws {
        let trackingURI = "sqlite:///" + directory.file("tracking/mlflow.db").path  // four slashes: an absolute path
        try FileManager.default.createDirectory(at: directory.file("tracking"), withIntermediateDirectories: true)
        let first = try python([exporter, database, "--tracking-uri", trackingURI, "--report-dir", report], in: directory.url)
        #expect(first.exitCode == 0 && first.stderr.contains("mlflow ui --backend-store-uri"), "\(first)")

        // The database as this test reads it.
        let store = try ExperimentDatabase(path: database, mode: .readOnly)
        let sweeps = try store.sweeps()
        var rows: [Int64: (sweep: SweepRecord, run: RunRecord)] = [:]
        for sweep in sweeps {
            for run in try store.runs(sweepID: sweep.id) where [.done, .failed, .skipped].contains(run.status) {
                rows[run.id] = (sweep, run)
            }
        }
        #expect(!rows.isEmpty)

        let runs = try readRuns(trackingURI: trackingURI, in: directory.url)
        #expect(runs.count == rows.count, "one MLflow run per (configuration, seed): \(runs.map(\.name)) for \(rows.count) rows")
        #expect(Set(runs.compactMap { $0.tags["spconvlab.database_run_id"] }).count == runs.count, "each row exported once")
        #expect(Set(runs.compactMap { $0.tags["spconvlab.run_key"] }).count == runs.count, "distinct run keys")
        let configurations = Set(runs.map { [$0.params["variant"], $0.params["ratio"], $0.params["groups"], $0.params["seed"]] })
        #expect(configurations.count == rows.count, "(configuration, seed) pairs are distinct")

        for mlflowRun in runs {
            let id = try #require(mlflowRun.tags["spconvlab.database_run_id"].flatMap { Int64($0) }, "\(mlflowRun.tags)")
            let (sweep, run) = try #require(rows[id], "MLflow run \(mlflowRun.name) names database run \(id)")
            let label = "run \(id) (\(mlflowRun.name))"
            #expect(mlflowRun.experiment == sweep.name)
            #expect(mlflowRun.status == ["done": "FINISHED", "failed": "FAILED", "skipped": "KILLED"][run.status.rawValue])
            #expect(mlflowRun.tags["spconvlab.export_state"] == "complete")
            #expect(mlflowRun.tags["spconvlab.sweep_id"] == String(sweep.id) && mlflowRun.tags["spconvlab.sweep_name"] == sweep.name)
            #expect(mlflowRun.tags["spconvlab.sweep_command_line"] == sweep.commandLine)
            #expect(mlflowRun.tags["spconvlab.database"] == URL(fileURLWithPath: database).standardizedFileURL.path)
            #expect(mlflowRun.tags["spconvlab.weights_source"] == run.weightsSource.rawValue)
            #expect(mlflowRun.tags["spconvlab.export_command"]?.contains("export_mlflow.py") == true)

            // Parameters: the database's values as text, absent where the column is NULL.
            let expectedParams: [String: String?] = [
                "model": run.model, "variant": run.variant, "ratio": run.ratio.map { "\($0)" }, "groups": run.groups.map(String.init),
                "in_channels": String(run.inChannels), "classes": String(run.classes), "input_size": String(run.inputSize),
                "dataset": run.dataset, "images": String(run.images), "batch": String(run.batch), "threads": String(run.threads),
                "train_epochs": run.trainEpochs.map(String.init), "seed": run.trainSeed.map(String.init),
                "weights_source": run.weightsSource.rawValue, "weights_seed": run.weightsSeed.map(String.init),
                "weights_path": run.weightsPath, "weights_sha256": run.weightsSHA256, "store_key": run.storeKey,
                "checkpoint_sha256": run.checkpointSHA256,
            ]
            for (name, value) in expectedParams {
                #expect(mlflowRun.params[name] == value, "\(label): param \(name) is \(mlflowRun.params[name] ?? "absent"), database \(value ?? "NULL")")
            }
            #expect(Set(mlflowRun.params.keys).isSubset(of: Set(expectedParams.keys)), "\(label): unexpected params \(mlflowRun.params.keys)")

            // Metrics from the runs row.
            let runMetrics: [String: Double?] = [
                "params": run.params.map(Double.init), "macs": run.macs.map(Double.init), "flops": run.flops.map(Double.init),
                "latency_ms": run.latencyMS, "accuracy": run.accuracy, "train_seconds": run.trainSeconds,
            ]
            for (name, value) in runMetrics {
                if let value { expectEqual(mlflowRun.metrics[name], value, "\(label): \(name)") } else { #expect(mlflowRun.metrics[name] == nil) }
            }
            // Each layer's redundancy summary, named by its dotted path.
            let layers = try store.layerMetrics(runID: id)
            #expect(run.status != .done || !layers.isEmpty)
            for layer in layers {
                let prefix = layer.metric == "cosine" ? "redundancy" : "redundancy_\(layer.metric)"
                let fields: [(String, Double)] = [
                    ("channels", Double(layer.channels)), ("images", Double(layer.images)),
                    ("mean_abs_offdiag", layer.meanAbsOffDiagonal), ("frac_above_threshold", layer.fractionAboveThreshold),
                    ("threshold", layer.threshold), ("duplicates", Double(layer.duplicates)), ("dead", Double(layer.dead)),
                    ("clusters", Double(layer.clusters)), ("effective_rank", layer.effectiveRank), ("suggested_ratio", layer.suggestedRatio),
                ]
                for (field, value) in fields {
                    expectEqual(mlflowRun.metrics["\(prefix).\(layer.layer).\(field)"], value, "\(label): \(prefix).\(layer.layer).\(field)")
                }
            }
            // The run-level mean over the layers (the run_redundancy view), recomputed here.
            let cosine = layers.filter { $0.metric == "cosine" }
            if !cosine.isEmpty {
                expectEqual(mlflowRun.metrics["run_redundancy.mean_abs_offdiag"],
                            cosine.map(\.meanAbsOffDiagonal).reduce(0, +) / Double(cosine.count), "\(label): run_redundancy.mean_abs_offdiag")
                expectEqual(mlflowRun.metrics["run_redundancy.layers"], Double(cosine.count), "\(label): run_redundancy.layers")
            }

            // The per-epoch history as metric steps 1...N.
            let epochs = try store.epochs(runID: id)
            #expect(epochs.count == (run.trainEpochs ?? 0) || run.weightsSource != .trained, "\(label): \(epochs.count) epochs")
            if epochs.isEmpty {
                #expect(mlflowRun.history.isEmpty, "\(label): no epochs, no history")
            } else {
                let expected: [(String, (EpochRecord) -> Double?)] = [
                    ("learning_rate", { $0.learningRate }), ("train_loss", { $0.trainLoss }), ("train_accuracy", { $0.trainAccuracy }),
                    ("test_loss", { $0.testLoss }), ("test_accuracy", { $0.testAccuracy }), ("epoch_seconds", { $0.trainSeconds }),
                    ("images_per_second", { $0.imagesPerSecond }),
                ]
                for (name, value) in expected {
                    let points = epochs.compactMap { epoch in value(epoch).flatMap { $0.isFinite ? (epoch.epoch, $0) : nil } }
                    let history = mlflowRun.history[name] ?? []
                    #expect(history.map(\.step) == points.map(\.0), "\(label): \(name) steps \(history.map(\.step))")
                    for (point, stored) in zip(history, points) { expectEqual(point.value, stored.1, "\(label): \(name) at epoch \(stored.0)") }
                }
            }

            // Every stored similarity matrix as an exact .npy (and a .csv that reads back equal).
            let keys = try store.similarityKeys(runID: id)
            #expect(keys.count == layers.count, "\(label): a matrix per layer metric")
            for key in keys {
                let matrix = try #require(try store.similarity(runID: id, layer: key.layer, metric: key.metric))
                let name = "\(key.layer).\(key.metric).npy"
                #expect(mlflowRun.artifacts.contains("similarity/\(name)") && mlflowRun.artifacts.contains("similarity/\(key.layer).\(key.metric).csv"),
                        "\(label): \(mlflowRun.artifacts)")
                let read = try #require(mlflowRun.matrices[name], "\(label): \(name) read back")
                #expect(read["sha256"] as? String == Self.sha256(of: matrix.values), "\(label): \(name) differs from the BLOB")
                #expect(read["shape"] as? [Int] == [matrix.channels, matrix.channels] && read["dtype"] as? String == "float32")
                #expect(read["csv_equal"] as? Bool == true, "\(label): \(key.layer).\(key.metric).csv differs from the .npy")
            }
            // The report's heatmaps of this run.
            let heatmaps = try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: report).appendingPathComponent("heatmaps").path)
                .filter { $0.hasPrefix("run\(id).") }.map { "heatmaps/\($0)" }.sorted()
            #expect(mlflowRun.artifacts.filter { $0.hasPrefix("heatmaps/") }.sorted() == heatmaps, "\(label): \(mlflowRun.artifacts)")
        }
        let withHeatmaps = runs.filter { $0.artifacts.contains { $0.hasPrefix("heatmaps/") } }
        #expect(!withHeatmaps.isEmpty, "the report's heatmaps are logged")

        // A second export into the same store adds nothing and keeps every run.
        let second = try python([exporter, database, "--tracking-uri", trackingURI, "--report-dir", report], in: directory.url)
        #expect(second.exitCode == 0 && second.stdout.contains("0 new, 0 replaced, \(rows.count) unchanged"), "\(second)")
        let again = try readRuns(trackingURI: trackingURI, in: directory.url)
        #expect(Set(again.map(\.runID)) == Set(runs.map(\.runID)), "the second export keeps the same \(runs.count) runs")
    }

    /// A copy of the repository's checkpoint store, so the demo reads the shipped trained runs
    /// whatever is being trained into notebooks-data/models meanwhile.
    static func copyShippedStore(to folder: URL) throws {
        let shipped = repositoryFile("notebooks-data/models")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: shipped.path)
        where name.hasSuffix(".json") || (name.hasSuffix(".safetensors") && !name.hasSuffix(".optim.safetensors")) {
            try FileManager.default.copyItem(at: shipped.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
    }

    @Test(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
    func theTrainedDemoBecomesOneMLflowRunPerConfigurationAndSeedWithItsHistory() throws {
        try withTemporaryDirectory { directory in
            try Self.copyShippedStore(to: directory.file("store"))
            expectSuccess(try ProbeCLIProcess.run(["demo", "--out", "demo", "--store", "store", "--threads", "1"], in: directory.url, timeout: 300))
            let database = directory.file("demo/demo.sqlite").path
            let store = try ExperimentDatabase(path: database, mode: .readOnly)
            let runs = try store.sweeps().flatMap { try store.runs(sweepID: $0.id) }
            #expect(runs.contains { $0.trainSeed == 1 } && runs.contains { $0.trainSeed == 0 }, "the shipped store has both seeds of one configuration")
            #expect(try runs.allSatisfy { try !store.epochs(runID: $0.id).isEmpty }, "trained runs carry their history")
            try Self.exportAndCheck(database: database, report: directory.file("demo/report").path, in: directory)
        }
    }

    @Test func theRandomDemoBecomesOneMLflowRunPerConfiguration() throws {
        try withTemporaryDirectory { directory in
            expectSuccess(try ProbeCLIProcess.run(["demo", "--random", "--out", "demo", "--threads", "1"], in: directory.url, timeout: 300))
            try Self.exportAndCheck(database: directory.file("demo/demo.sqlite").path, report: directory.file("demo/report").path, in: directory)
        }
    }

    @Test func badInputIsOneParagraphAndWritesNothing() throws {
        try withTemporaryDirectory { directory in
            let trackingURI = "sqlite:///" + directory.file("never.db").path
            try Data("id,name\n1,x\n".utf8).write(to: directory.file("table.csv"))
            // A SQLite file of another program, and one that claims a schema version from the future.
            let make = try Self.python(["-c", """
                import sqlite3
                c = sqlite3.connect("other.sqlite"); c.execute("CREATE TABLE notes (text)"); c.commit()
                c = sqlite3.connect("future.sqlite")
                for t in ["schema_migrations (name, applied_at)", "sweeps (id)", "runs (id)", "layer_metrics (run_id)", "similarity (run_id)"]:
                    c.execute("CREATE TABLE " + t)
                c.execute("PRAGMA user_version = 9"); c.commit()
                """], in: directory.url)
            #expect(make.exitCode == 0, "\(make)")
            let cases: [(arguments: [String], exitCode: Int32, mentions: [String])] = [
                (["missing.sqlite"], 1, ["'missing.sqlite'", "no such file", "experiment database"]),
                (["table.csv"], 1, ["'table.csv'", "not a SQLite file", "experiment database"]),
                (["other.sqlite"], 1, ["'other.sqlite'", "not an experiment database", "schema_migrations"]),
                (["future.sqlite"], 1, ["'future.sqlite'", "schema version 9", "1 to 4"]),
                (["future.sqlite", "--bogus"], 64, ["--bogus", "Usage:"]),
                ([], 64, ["DB", "Usage:"]),
                (["missing.sqlite", "--tracking-uri", "nope://x"], 64, ["'nope://x'", "sqlite:///"]),
            ]
            for item in cases {
                let result = try Self.python([Self.exporter] + item.arguments + ["--tracking-uri", trackingURI].filter { _ in !item.arguments.contains("--tracking-uri") },
                                             in: directory.url, timeout: 120)
                expectFailure(result, exitCode: item.exitCode, mentions: item.mentions)
                #expect(!result.stderr.contains("Traceback"), "\(result)")
            }
            #expect(!FileManager.default.fileExists(atPath: directory.file("never.db").path), "nothing written to the tracking store")
            #expect(!FileManager.default.fileExists(atPath: directory.file("mlflow.db").path))
        }
    }
}

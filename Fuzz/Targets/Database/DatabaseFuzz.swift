// libFuzzer target: the experiment database read paths of `probe-cli report` and `probe-cli
// query` on hostile files.
//
// Harness files are the only place outside Sources/SPConvLab/Kernels allowed to hold a raw
// pointer: libFuzzer hands each input over as one, and it is copied into an array at once.
import Foundation
@testable import FeatureProbe

/// An input is one of two things:
/// - a file starting with the SQLite header (`SQLite format 3\0`): written as it is to a
///   temporary database file;
/// - anything else: SQL run on a copy of an empty database of the current schema (so the input
///   can drop, recreate and fill tables and views with values and shapes the toolkit never
///   writes), refused when it names a statement that reaches outside the file or allocates
///   without bound (see `refusedWords`).
/// The file is then opened read-only and read the way `report` and every `query` subcommand read
/// it; each must return or throw `FeatureProbeError`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatabase(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    defer { Scratch.removeFiles() }
    if bytes.starts(with: Array("SQLite format 3\0".utf8)) {
        guard FileManager.default.createFile(atPath: Scratch.path, contents: Data(bytes)) else {
            fatalError("cannot write \(Scratch.path)")
        }
    } else {
        let sql = String(decoding: bytes, as: UTF8.self)
        let lowercased = sql.lowercased()
        guard !refusedWords.contains(where: { lowercased.contains($0) }) else { return -1 }  // not added to the corpus
        guard FileManager.default.createFile(atPath: Scratch.path, contents: Data(Scratch.template)) else {
            fatalError("cannot write \(Scratch.path)")
        }
        do {
            let connection = try SQLiteConnection(path: Scratch.path, mode: .readWrite(create: false))
            // A hostile file need not keep the schema's CHECK constraints, so neither does the input.
            try connection.execute("PRAGMA max_page_count = 1024; PRAGMA ignore_check_constraints = ON")
            try? connection.execute(sql)
        } catch {
            fatalError("cannot open the copy of the template database: \(error)")
        }
        // Fuzz/make_seeds.py keeps the database an SQL seed makes as a seed of the other kind.
        if let keep = ProcessInfo.processInfo.environment["SPCONVLAB_FUZZ_KEEP_DATABASE"] {
            try? FileManager.default.removeItem(atPath: keep)
            try! FileManager.default.copyItem(atPath: Scratch.path, toPath: keep)
        }
    }
    readLikeReportAndQuery(Scratch.path)
    return 0
}

/// Words that make an SQL input be skipped: ATTACH and VACUUM INTO write other files; recursive
/// CTEs can loop for ever; the rest allocate as much as a number says. A hostile file can hold
/// a view that loops for ever too, but a mutated SQLite page hardly ever spells one.
let refusedWords = ["attach", "vacuum", "recursive", "zeroblob", "randomblob", "printf", "format(", "max_page_count",
                    "replace(", "load_extension"]

/// Where each input becomes a database file.
enum Scratch {
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let folder = base + "/spconvlab-fuzz-database-\(getpid())"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }()
    static let path = folder + "/input.sqlite"

    /// An empty database of the current schema, written once by the toolkit itself, in rollback
    /// journal mode so that it is one file.
    static let template: [UInt8] = {
        let templatePath = folder + "/template.sqlite"
        do {
            let database = try ExperimentDatabase(path: templatePath)
            try database.connection.execute("PRAGMA journal_mode = DELETE")
        } catch {
            fatalError("cannot make the template database: \(error)")
        }
        guard let bytes = FileManager.default.contents(atPath: templatePath) else { fatalError("cannot read \(templatePath)") }
        return [UInt8](bytes)
    }()

    static func removeFiles() {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}

/// The most runs and matrices per run read one by one (the report readers read them all).
let maximumRuns = 16

/// What `probe-cli report` and `probe-cli query ...` read, each step on its own: a step that
/// throws does not stop the others.
func readLikeReportAndQuery(_ path: String) {
    var runs: [RunRecord] = []
    var sweepNames: [String] = []
    expectFeatureProbeError("ExperimentDatabase(.readOnly)") {
        let database = try ExperimentDatabase(path: path, mode: .readOnly)
        _ = try database.schemaVersion()
        _ = try database.appliedMigrations()
        for sweep in try database.sweeps().prefix(maximumRuns) {
            sweepNames.append(sweep.name)
            _ = try database.sweep(named: sweep.name)
            runs += try database.runs(sweepID: sweep.id).prefix(maximumRuns)
        }
        for run in runs.prefix(maximumRuns) {
            _ = try database.run(id: run.id)
            _ = try database.layerMetrics(runID: run.id)
            _ = try database.epochs(runID: run.id)
            _ = try database.featureMaps(runID: run.id)
            for key in try database.similarityKeys(runID: run.id).prefix(maximumRuns) {
                _ = try database.similarity(runID: run.id, layer: key.layer, metric: key.metric)
            }
        }
    }
    expectFeatureProbeError("SweepReportLoader.load") {
        for selection in [SweepReportLoader.HeatmapSelection.all, .perRun(4)] {
            let data = try SweepReportLoader.load(path: path, heatmaps: selection)
            let summaries = ConfigurationSummary.group(data.runs, layerMetrics: data.layerMetrics)
            _ = GridFindings.paragraph(summaries)
            _ = WeightsMixing.isMixed(data.runs)
            _ = try SweepReportLoader.epochs(path: path, runs: data.runs)
        }
        if let name = sweepNames.first {
            _ = try SweepReportLoader.load(path: path, sweep: name)
        }
    }
    let ids = Array(Set(runs.map(\.id)).sorted().prefix(2)) + [1, 2]
    let sweep = sweepNames.first ?? "grid"
    let queries: [(String, () throws -> QueryResult)] = [
        ("query runs", { try CannedQuery.runs(path: path) }),
        ("query runs --sweep", { try CannedQuery.runs(path: path, sweep: sweep) }),
        ("query configurations", { try CannedQuery.configurations(path: path, allowMixing: true) }),
        ("query show", { try CannedQuery.show(path: path, runID: ids[0]) }),
        ("query layers", { try CannedQuery.layers(path: path, runID: ids[0]) }),
        ("query compare", { try CannedQuery.compare(path: path, runA: ids[0], runB: ids[1], allowMixing: true) }),
        ("query top-redundant", { try CannedQuery.topRedundant(path: path, allowMixing: true) }),
        ("query pareto", { try CannedQuery.pareto(path: path, allowMixing: true) }),
        ("query sql", { try ReadOnlyQuery.run(path: path, sql: "SELECT * FROM runs") }),
    ]
    for (name, query) in queries {
        expectFeatureProbeError(name) {
            let result = try query()
            for format in QueryFormatter.Format.allCases { _ = QueryFormatter.format(result, as: format) }
        }
    }
}

/// Runs `body`, which may return or throw `FeatureProbeError`, nothing else.
func expectFeatureProbeError(_ what: String, _ body: () throws -> Void) {
    do {
        try body()
    } catch is FeatureProbeError {
    } catch {
        preconditionFailure("\(what) threw \(type(of: error)), not FeatureProbeError: \(error)")
    }
}

import Foundation
import Testing
@testable import FeatureProbe

/// Every committed input of the database fuzzing corpus (`Fuzz/Corpus/database/`: the seeds and
/// every input that once crashed) made into a database file and read the way `probe-cli report`
/// and `probe-cli query` read it, on every `swift test`: each read must return or throw
/// `FeatureProbeError`, never trap. Inputs are read as `Fuzz/Targets/Database/DatabaseFuzz.swift`
/// reads them (keep the two in step): a file starting with the SQLite header is the database;
/// anything else is SQL run, CHECK constraints ignored, on an empty database of the current schema.
@Suite("fuzz corpus replay (database)")
struct DatabaseFuzzCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/database")

    static let inputs = ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()

    /// The harness skips SQL with these words (other files, endless loops, unbounded allocation).
    static let refusedWords = ["attach", "vacuum", "recursive", "zeroblob", "randomblob", "printf", "format(",
                               "max_page_count", "replace(", "load_extension"]

    @Test func thereAreSeeds() {
        #expect(Self.inputs.count >= 5, "Fuzz/Corpus/database is missing or nearly empty at \(Self.corpus.path)")
    }

    @Test(arguments: inputs)
    func readsOrThrows(input: String) throws {
        let bytes = [UInt8](try Data(contentsOf: Self.corpus.appendingPathComponent(input)))
        let folder = try TemporaryFolder()
        let path = folder.file()
        if bytes.starts(with: Array("SQLite format 3\0".utf8)) {
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        } else {
            let sql = String(decoding: bytes, as: UTF8.self)
            let lowercased = sql.lowercased()
            guard !Self.refusedWords.contains(where: { lowercased.contains($0) }) else { return }
            try ExperimentDatabase(path: path).connection.execute("PRAGMA journal_mode = DELETE")
            let connection = try SQLiteConnection(path: path, mode: .readWrite(create: false))
            try connection.execute("PRAGMA max_page_count = 1024; PRAGMA ignore_check_constraints = ON")
            try? connection.execute(sql)
        }
        Self.readLikeReportAndQuery(path, input: input)
    }

    /// What `probe-cli report` and `probe-cli query ...` read, each step on its own.
    static func readLikeReportAndQuery(_ path: String, input: String) {
        let maximumRuns = 16
        var runs: [RunRecord] = []
        var sweepNames: [String] = []
        expectFeatureProbeError(input) {
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
        expectFeatureProbeError(input) {
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
        let queries: [() throws -> QueryResult] = [
            { try CannedQuery.runs(path: path) },
            { try CannedQuery.runs(path: path, sweep: sweep) },
            { try CannedQuery.configurations(path: path, allowMixing: true) },
            { try CannedQuery.show(path: path, runID: ids[0]) },
            { try CannedQuery.layers(path: path, runID: ids[0]) },
            { try CannedQuery.compare(path: path, runA: ids[0], runB: ids[1], allowMixing: true) },
            { try CannedQuery.topRedundant(path: path, allowMixing: true) },
            { try CannedQuery.pareto(path: path, allowMixing: true) },
            { try ReadOnlyQuery.run(path: path, sql: "SELECT * FROM runs") },
        ]
        for query in queries {
            expectFeatureProbeError(input) {
                let result = try query()
                for format in QueryFormatter.Format.allCases { _ = QueryFormatter.format(result, as: format) }
            }
        }
    }

    static func expectFeatureProbeError(_ input: String, sourceLocation: SourceLocation = #_sourceLocation,
                                        _ body: () throws -> Void) {
        do {
            try body()
        } catch is FeatureProbeError {
        } catch {
            Issue.record("\(input): threw \(type(of: error)), not FeatureProbeError: \(error)", sourceLocation: sourceLocation)
        }
    }
}

import Foundation
import Testing
@testable import FeatureProbe

// Shared helpers of the Storage*Tests suites: each test makes its own temporary folder and database.

/// A fresh temporary folder, removed when released.
final class TemporaryFolder: @unchecked Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("storage-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `name` inside the folder.
    func file(_ name: String = "experiments.sqlite") -> String { path + "/" + name }
}

/// A configuration of the test grid; nil ratio is the vanilla baseline.
func storageConfiguration(ratio: Double? = nil, groups: Int? = nil, model: String = "resnet18",
                          images: Int = 64, trainEpochs: Int? = nil, trainSeed: UInt64? = nil) -> RunConfiguration {
    RunConfiguration(model: model, variant: ratio == nil ? "vanilla" : "spconv", ratio: ratio,
                     groups: ratio == nil ? nil : (groups ?? 2), inChannels: 3, classes: 10, inputSize: 32,
                     dataset: "synthetic:64", images: images, batch: 8, threads: 1, trainEpochs: trainEpochs, trainSeed: trainSeed)
}

/// The test grid: the baseline and three SPConv ratios.
let storageGrid = [storageConfiguration(), storageConfiguration(ratio: 0.5), storageConfiguration(ratio: 0.25),
                   storageConfiguration(ratio: 0.75)]

/// A result with two layers (`conv1`, `layer1.0.conv1`) of `channels` channels under cosine.
func storageResult(macs: Int = 1000, accuracy: Double? = nil, redundancy: Double = 0.3,
                   channels: Int = 4) -> RunResult {
    let layers = ["conv1", "layer1.0.conv1"]
    let metrics = layers.enumerated().map { index, layer in
        LayerMetricRecord(runID: 0, layer: layer, channels: channels, images: 64, metric: "cosine",
                          meanAbsOffDiagonal: redundancy + 0.1 * Double(index), fractionAboveThreshold: 0.25,
                          threshold: 0.9, duplicates: 1, dead: 0, clusters: 3, effectiveRank: 2.5,
                          suggestedRatio: 0.75)
    }
    let matrices = layers.enumerated().map { index, layer in
        SimilarityRecord(runID: 0, layer: layer, metric: "cosine", channels: channels,
                         values: (0..<(channels * channels)).map { Float($0) / Float(channels * channels) - Float(index) })
    }
    return RunResult(params: 100, macs: macs, flops: 2 * macs, latencyMS: 1.5, accuracy: accuracy,
                     layerMetrics: metrics, similarity: matrices)
}

/// Every row of every table and the schema, as text: equal before and after means unchanged data.
func storageChecksum(_ path: String) throws -> String {
    let connection = try SQLiteConnection(path: path, mode: .readOnly)
    var text = ""
    let schema = try connection.query("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
    text += "\(schema.rows)\n"
    for table in schema.rows where table[0] == .text("table") {
        text += "\(try connection.query("SELECT * FROM \"\(table[1].string!)\" ORDER BY rowid").rows)\n"
    }
    text += "\(try connection.query("PRAGMA user_version").rows)"
    return text
}

/// A database with one sweep `grid` holding `storageGrid`, nothing claimed.
func makeGridDatabase(_ path: String) throws -> (ExperimentDatabase, SweepRecord, [RunRecord]) {
    let database = try ExperimentDatabase(path: path)
    let sweep = try database.findOrCreateSweep(name: "grid", commandLine: "probe-cli sweep --ratios 0.25,0.5,0.75")
    let runs = try database.ensureRuns(sweepID: sweep.id, configurations: storageGrid, toolVersion: "0.1.0")
    return (database, sweep, runs)
}

/// Claims every run of the sweep in order and completes it with `result(run)`.
func completeAll(_ database: ExperimentDatabase, sweepID: Int64, result: (RunRecord) -> RunResult) throws {
    while let run = try database.claimNext(sweepID: sweepID) {
        try database.complete(runID: run.id, result: result(run))
    }
}

/// SQLValue and the float32 little-endian BLOB encoding.
@Suite struct StorageValueTests {
    @Test func float32LittleEndianBytesAreHandDerived() {
        // 1.0 = 0x3F800000, -2.0 = 0xC0000000, 0.5 = 0x3F000000: least significant byte first.
        let bytes = SQLValue.encodeFloat32LittleEndian([1, -2, 0.5])
        #expect(bytes == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x3F])
        #expect(SQLValue.decodeFloat32LittleEndian(bytes) == [1, -2, 0.5])
    }

    @Test func specialFloatsRoundTripBitForBit() {
        let values: [Float] = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let decoded = SQLValue.decodeFloat32LittleEndian(SQLValue.encodeFloat32LittleEndian(values))
        #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func accessorsConvertOnlyWhatTheyShould() {
        #expect(SQLValue.integer(7).double == 7)
        #expect(SQLValue.real(3).int64 == 3)
        #expect(SQLValue.real(3.5).int64 == nil)
        #expect(SQLValue.text("7").int64 == nil)
        #expect(SQLValue(Optional<Int>.none) == .null)
    }

    @Test func valuesRoundTripThroughSQLite() throws {
        let folder = try TemporaryFolder()
        let connection = try SQLiteConnection(path: folder.file(), mode: .readWrite(create: true))
        let values: [SQLValue] = [.null, .integer(Int64.min), .real(-0.125), .text("naïve, \"quoted\"\n"), .text(""),
                                  .blob([0, 1, 255]), .blob([])]
        let row = try connection.query("SELECT ?, ?, ?, ?, ?, ?, ?", values).rows[0]
        #expect(row == values)
    }
}

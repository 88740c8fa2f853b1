import Foundation
import Testing
@testable import FeatureProbe

/// Inputs that made the database fuzz target trap (docs/RELIABILITY.md), each rebuilt here from
/// its bytes (`Fuzz/Corpus/database/crash-*.sql`: SQL run on an empty database of the current
/// schema with CHECK constraints off, as a hostile file need not keep them): reading must throw
/// `FeatureProbeError` naming the damaged row.
@Suite struct FuzzRegressionTests {
    /// One sweep, one run (id 1), then `rows`.
    static func database(_ rows: String, in folder: TemporaryFolder) throws -> ExperimentDatabase {
        let path = folder.file()
        _ = try ExperimentDatabase(path: path)
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: false))
        try connection.execute("PRAGMA ignore_check_constraints = ON")
        try connection.execute("""
            INSERT INTO sweeps VALUES (1, 'grid', '', '');
            INSERT INTO runs (id, sweep_id, model, variant, in_channels, classes, input_size, dataset, images, batch, threads, tool_version)
            VALUES (1, 1, 'resnet20', 'vanilla', 1, 10, 28, 'synthetic:1', 1, 1, 1, '0');
            """ + rows)
        return try ExperimentDatabase(path: path, mode: .readOnly)
    }

    /// `4 * channels` overflowed for 2^62 channels (crash-feature-maps-channels-overflow.sql) and
    /// `channels * height * width` for 2^32 x 2^32 maps (crash-feature-maps-shape-overflow.sql).
    @Test(arguments: [
        "INSERT INTO feature_maps VALUES (1, 'conv1', 0, 4611686018427387904, 1, 1, X'', X'', X'')",
        "INSERT INTO feature_maps VALUES (1, 'conv1', 0, 1, 4294967296, 4294967296, X'00000000', X'00000000', X'')",
        "INSERT INTO feature_maps VALUES (1, 'conv1', 0, 9223372036854775807, 9223372036854775807, 2, X'', X'', X'')",
    ])
    func featureMapsWithAnOverflowingShapeAreDamage(row: String) throws {
        let folder = try TemporaryFolder()
        let database = try Self.database(row, in: folder)
        let error = #expect(throws: FeatureProbeError.self) { try database.featureMaps(runID: 1) }
        #expect(error?.message.contains("The feature maps of run 1, layer 'conv1', image 0") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("are damaged") == true)
    }

    /// `4 * channels * channels` overflowed for 2^31 channels (crash-similarity-channels-overflow.sql),
    /// and for any count whose square fits but not four times it.
    @Test(arguments: ["2147483648", "3037000499", "9223372036854775807"])
    func aSimilarityMatrixWithAnOverflowingChannelCountIsDamage(channels: String) throws {
        let folder = try TemporaryFolder()
        let database = try Self.database("INSERT INTO similarity VALUES (1, 'conv1', 'cosine', \(channels), X'')", in: folder)
        let error = #expect(throws: FeatureProbeError.self) { try database.similarity(runID: 1, layer: "conv1", metric: "cosine") }
        #expect(error?.message.contains("The similarity matrix of run 1, layer 'conv1', metric cosine") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("is damaged: 0 bytes for \(channels) channels") == true)
        #expect(throws: FeatureProbeError.self) { try SweepReportLoader.load(path: folder.file(), heatmaps: .all) }
    }
}

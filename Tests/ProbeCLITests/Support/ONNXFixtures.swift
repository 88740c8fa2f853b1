import Foundation
import SPConvLab
import Testing

/// The ONNX fixtures of the SPConvLab tests (tools/make_onnx_fixtures.py), read by the CLI tests.
enum ONNXFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("SPConvLabTests/Fixtures/onnx")

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The `.npy` array a command wrote equals the fixture ONNX Runtime wrote, within 1e-4 of the
    /// latter's largest magnitude.
    static func expectWrittenEqualsORT(_ written: String, _ fixture: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try NPYFile.read(contentsOf: written), theirs = try NPYFile.read(contentsOf: path(fixture))
        #expect(ours.shape == theirs.shape, sourceLocation: sourceLocation)
        let scale = theirs.scalars.map(abs).max() ?? 1
        #expect(zip(ours.scalars, theirs.scalars).allSatisfy { abs($0 - $1) <= 1e-4 * scale }, sourceLocation: sourceLocation)
    }
}

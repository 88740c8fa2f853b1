import Foundation
import Testing
@testable import SPConvLab

@Suite struct NPYStreamWriterTests {
    @Test func batchesAppendToTheSameBytesAsOneWrite() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var g = SeededGenerator(seed: 4)
        let whole = Tensor.uniform([5, 2, 3, 3], generator: &g)
        let path = folder.appendingPathComponent("maps.npy").path
        let writer = try NPYStreamWriter(path: path, shape: whole.shape)
        for range in [0..<2, 2..<3, 3..<5] { try writer.append(try TensorBatchSource(whole).batch(range)) }
        #expect(!FileManager.default.fileExists(atPath: path), "nothing at the path before finish()")
        try writer.finish()
        #expect(try FileBytes.read(contentsOf: path) == NPYFile.encode(whole))
    }

    @Test func aShortStreamLeavesNoFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("short.npy").path
        let writer = try NPYStreamWriter(path: path, shape: [4, 1, 2, 2])
        try writer.append(.zeros([1, 1, 2, 2]))
        #expect(throws: SPConvLabError.self) { try writer.finish() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        #expect(throws: SPConvLabError.self) { try NPYStreamWriter(path: "/nonexistent-folder/x.npy", shape: [1]) }
    }
}

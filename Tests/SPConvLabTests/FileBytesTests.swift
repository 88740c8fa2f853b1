import Foundation
import Testing
@testable import SPConvLab

@Suite struct FileBytesTests {
    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "filebytes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func writesAndReplacesWithoutLeavingTemporaryFiles() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/summary.csv"
        try FileBytes.writeText("a,b\r\n", to: path)
        try FileBytes.writeAtomically([1, 2, 3], to: path)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["summary.csv"])
    }

    @Test func missingFolderIsNamedInTheError() throws {
        let path = "/nonexistent-\(UUID().uuidString)/x.csv"
        let error = #expect(throws: SPConvLabError.self) { try FileBytes.writeText("x", to: path) }
        #expect(error?.kind == .io)
        #expect(error?.message.contains(path) == true)
    }

    @Test func aFolderThatIsReallyAFileIsNamedInTheError() throws {
        // A parent that is a regular file cannot hold files, for root too (permission bits would not stop root).
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileBytes.writeText("not a folder", to: folder + "/plain")
        let error = #expect(throws: SPConvLabError.self) { try FileBytes.writeText("x", to: folder + "/plain/a.csv") }
        #expect(error?.message.contains(folder + "/plain/a.csv") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["plain"])
    }
}

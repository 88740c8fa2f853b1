import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct FileOutputTests {
    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "fileoutput-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func writesAndReplacesWithoutLeavingTemporaryFiles() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/summary.csv"
        try FileOutput.writeAtomically("a,b\r\n", to: path)
        try FileOutput.writeAtomically([1, 2, 3], to: path)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["summary.csv"])
    }

    @Test func missingFolderIsNamedInTheError() throws {
        let path = "/nonexistent-\(UUID().uuidString)/x.csv"
        let error = #expect(throws: SPConvLabError.self) { try FileOutput.writeAtomically("x", to: path) }
        #expect(error?.kind == .io)
        #expect(error?.message.contains(path) == true)
    }

    @Test func unwritableFolderIsNamedInTheError() throws {
        guard getuid() != 0 else { return }  // root may write anywhere
        let folder = try Self.temporaryFolder()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
            try? FileManager.default.removeItem(atPath: folder)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder)
        let error = #expect(throws: SPConvLabError.self) { try FileOutput.writeAtomically("x", to: folder + "/a.csv") }
        #expect(error?.message.contains(folder + "/a.csv") == true)
    }
}

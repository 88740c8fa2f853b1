import Foundation

/// The tool's version and, when it runs from a git checkout, the commit it was built from.
enum ToolInfo {
    static let version = "0.4.0"

    /// `git rev-parse HEAD` in the source tree this binary was built from, when git and the tree exist.
    static let gitCommit: String? = {
        let root = ProjectPaths.sourceRoot
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent(".git").path) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", root.path, "rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : nil
    }()
}

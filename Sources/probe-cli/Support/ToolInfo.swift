import Foundation

/// The tool's version and, when it runs from a git checkout, the commit it was built from.
enum ToolInfo {
    static let version = "0.4.0"

    /// `git rev-parse HEAD` of the source tree this binary was built from, read when the process
    /// starts (when git and the tree exist). A binary kept while the tree moves on reports the
    /// tree's commit at run time, not the one it was compiled from.
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

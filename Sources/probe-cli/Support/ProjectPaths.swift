import Foundation

/// Finds files of the project: relative to the working directory first, then to the source tree
/// this binary was built from (so `swift run probe-cli demo` works from any folder of the clone).
enum ProjectPaths {
    /// The root of the source tree this binary was built from (Sources/probe-cli/Support/ is three levels down).
    static let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func locate(_ relativePath: String) -> String {
        if FileManager.default.fileExists(atPath: relativePath) { return relativePath }
        return sourceRoot.appendingPathComponent(relativePath).path
    }
}

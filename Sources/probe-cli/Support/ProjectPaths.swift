import Foundation

/// Finds files of the project: relative to the working directory first, then to the source tree
/// this binary was built from (so `swift run probe-cli demo` works from any folder of the clone).
enum ProjectPaths {
    static func locate(_ relativePath: String) -> String {
        if FileManager.default.fileExists(atPath: relativePath) { return relativePath }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(relativePath).path
    }
}

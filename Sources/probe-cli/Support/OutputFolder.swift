import Foundation
import SPConvLab

/// The folder a command writes into.
///
/// No silent overwrite: a folder that already holds files is written into only when they were
/// written by the same subcommand (its marker file `.probe-cli` says which; rerunning `report`
/// into its own folder replaces its own files), or when the user gives `--force`. Anything else,
/// such as `report --out ~/Documents`, is refused before any work starts.
enum OutputFolder {
    /// The marker file naming the subcommand that wrote the folder.
    static let markerName = ".probe-cli"

    /// Creates `path` if needed and checks it is a writable folder that `command` may write into,
    /// before any work starts. ``markWritten(_:command:)`` marks it as the command's afterwards.
    static func prepare(_ path: String, command: String, force: Bool) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw SPConvLabError(.io, "--out '\(path)' is a file; give a folder (it is created if missing).")
            }
            let marker = URL(fileURLWithPath: path).appendingPathComponent(markerName).path
            let owner = (try? String(contentsOfFile: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            let entries = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            if !entries.isEmpty, !force, owner != "probe-cli \(command)" {
                let shown = entries.prefix(3).joined(separator: ", ") + (entries.count > 3 ? ", ..." : "")
                let writer = owner.map { "were written by \($0)" } ?? "were not written by probe-cli \(command)"
                throw SPConvLabError(.io, "--out '\(path)' already holds \(entries.count) entries (\(shown)) that \(writer); writing there could replace files of the same names. Give --force to write into it anyway, or name a new or empty folder.")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw SPConvLabError(.io, "--out '\(path)' cannot be created: \(error.localizedDescription). Give a folder in a writable place.")
            }
        }
        guard FileManager.default.isWritableFile(atPath: path) else {
            throw SPConvLabError(.io, "--out '\(path)' is not writable; give a folder you can write to.")
        }
    }

    /// Marks `path` as `command`'s, once it has written its files there (a failed command leaves
    /// its folder as it was).
    static func markWritten(_ path: String, command: String) throws {
        try FileBytes.writeText("probe-cli \(command)\n", to: URL(fileURLWithPath: path).appendingPathComponent(markerName).path)
    }
}

import Foundation

/// Whole-file reads and crash-safe whole-file writes, for every file the toolkit writes.
///
/// Writers in this folder are pure encoders that return bytes; this type is the edge where those
/// bytes meet the file system. Failures become `SPConvLabError(.io, ...)` naming the path.
public enum FileBytes {
    /// Reads the whole file at `path`.
    ///
    /// - Throws: `SPConvLabError(.io)` if the file is missing or cannot be read.
    public static func read(contentsOf path: String) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw SPConvLabError(.io, "cannot read '\(path)': \(error.localizedDescription); expected a readable regular file.")
        }
    }

    /// Writes `bytes` to `path` so that `path` never holds a half-written file.
    ///
    /// The bytes go to a hidden temporary file in the same folder, which is then renamed over
    /// `path` (an atomic replacement on POSIX file systems). On failure the temporary file is removed.
    ///
    /// - Throws: `SPConvLabError(.io)` naming the path and the system's reason.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let destination = URL(fileURLWithPath: path)
        let folder = destination.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw SPConvLabError(.io, "cannot write '\(path)': the folder '\(folder.path)' does not exist; create it first or choose another output folder.")
        }
        let temporary = folder.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(bytes).write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SPConvLabError(.io, "cannot write '\(path)': writing the temporary file '\(temporary.path)' failed: \(error.localizedDescription); expected a writable folder '\(folder.path)'.")
        }
        if rename(temporary.path, destination.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SPConvLabError(.io, "cannot write '\(path)': renaming the temporary file '\(temporary.path)' into place failed: \(reason); expected '\(path)' to be a replaceable file in a writable folder.")
        }
    }

    /// Writes UTF-8 text atomically (see `writeAtomically(_:to:)`).
    public static func writeText(_ text: String, to path: String) throws {
        try writeAtomically(Array(text.utf8), to: path)
    }
}

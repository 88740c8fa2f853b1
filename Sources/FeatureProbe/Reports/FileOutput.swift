import Foundation
import SPConvLab

/// Writes report files so that a reader never sees a half-written one.
///
/// The edge where the pure encoders (``CSVWriter``, `PNGCodec.encode`, the renderers) meet the
/// file system. SPConvLab's own `FileBytes` does the same but is internal to that module.
public enum FileOutput {
    /// Writes `bytes` to `path` through a hidden temporary file in the same folder that is then
    /// renamed over `path` (atomic on POSIX file systems); the temporary file is removed on failure.
    ///
    /// - Throws: `SPConvLabError(.io)` naming `path` and the reason when the folder is missing
    ///   or not writable, or the write or rename fails.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let destination = URL(fileURLWithPath: path)
        let folder = destination.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw SPConvLabError(.io, "cannot write '\(path)': the folder '\(folder.path)' does not exist; create it first or choose another output folder.")
        }
        guard FileManager.default.isWritableFile(atPath: folder.path) else {
            throw SPConvLabError(.io, "cannot write '\(path)': the folder '\(folder.path)' is not writable; choose an output folder you may write to.")
        }
        let temporary = folder.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(bytes).write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SPConvLabError(.io, "cannot write '\(path)': writing the temporary file '\(temporary.path)' failed: \(error.localizedDescription); expected a writable folder '\(folder.path)' with free space.")
        }
        if rename(temporary.path, destination.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SPConvLabError(.io, "cannot write '\(path)': renaming the temporary file '\(temporary.path)' into place failed: \(reason); expected '\(path)' to be a replaceable file in a writable folder.")
        }
    }

    /// Writes `text` as UTF-8 to `path`; see ``writeAtomically(_:to:)-([UInt8],_)``.
    public static func writeAtomically(_ text: String, to path: String) throws {
        try writeAtomically(Array(text.utf8), to: path)
    }
}

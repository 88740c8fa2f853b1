import Foundation
import SPConvLab

/// The folder a command writes into.
enum OutputFolder {
    /// Creates `path` if needed and checks it is a writable folder, before any work starts.
    static func prepare(_ path: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw SPConvLabError(.io, "--out '\(path)' is a file; give a folder (it is created if missing).")
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
}

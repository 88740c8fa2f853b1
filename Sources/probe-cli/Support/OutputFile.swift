import ArgumentParser
import Foundation
import SPConvLab

/// Checks on a file a command is about to write: never one of its own inputs, and never an
/// existing file unless the user said `--force`.
enum OutputFile {
    /// Whether `a` and `b` name the same file: the same device and inode when both exist, else
    /// the same resolved path.
    static func isSameFile(_ a: String, _ b: String) -> Bool {
        let manager = FileManager.default
        if let first = try? manager.attributesOfItem(atPath: a), let second = try? manager.attributesOfItem(atPath: b),
           let inodeA = first[.systemFileNumber] as? UInt64, let inodeB = second[.systemFileNumber] as? UInt64,
           let deviceA = first[.systemNumber] as? UInt64, let deviceB = second[.systemNumber] as? UInt64 {
            return inodeA == inodeB && deviceA == deviceB
        }
        func resolved(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
        return resolved(a) == resolved(b)
    }

    /// Refuses writing `path` (given by `flag`) onto one of `inputs`, or onto an existing file
    /// unless `force`.
    static func check(_ path: String, flag: String, inputs: [(flag: String, path: String)], force: Bool) throws {
        for input in inputs where isSameFile(path, input.path) {
            throw ValidationError("\(flag) '\(path)' is the same file as \(input.flag) '\(input.path)'; writing it would destroy the input it reads. Give another \(flag).")
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
        if isFolder.boolValue {
            throw ValidationError("\(flag) '\(path)' is a folder; give a file name.")
        }
        guard force else {
            throw ValidationError("\(flag) '\(path)' exists; add --force to replace it, or give another file name. Nothing was written.")
        }
    }

    /// Throws a runtime error when the folder `path` would be written into does not exist, so a
    /// command fails before its work instead of after it.
    static func checkFolder(of path: String, flag: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw SPConvLabError(.io, "cannot write '\(path)' (\(flag)): the folder '\(folder)' does not exist; create it first or choose another output folder.")
        }
    }
}

import Foundation

/// File reads that look before they load, and crash-safe whole-file writes, for every file the
/// toolkit reads or writes.
///
/// Readers in this folder are pure decoders of bytes; this type is the edge where those bytes meet
/// the file system. A read first checks what the path names: only a regular file is read (a
/// folder, a FIFO, a device or a socket is refused by name, so `/dev/zero` or a named pipe never
/// blocks or streams forever), and its size is known before a byte is loaded, so a decoder can
/// check a header against the file's real length and refuse before the rest is read. Whole reads
/// go in chunks into one array (no second copy of the file). Failures become
/// `SPConvLabError(.io, ...)` naming the path.
public enum FileBytes {
    /// Bytes read per system call when loading a range.
    package static let chunkSize = 8 << 20

    /// An open regular file whose size is known; reads ranges of it.
    public struct Reader {
        /// The path as given.
        public let path: String
        /// The file's length in bytes when it was opened.
        public let size: Int
        private let handle: FileHandle

        /// Opens `path` for reading after checking that it is a regular file.
        ///
        /// - Throws: `SPConvLabError(.io)` if the path does not exist, is not a regular file, or
        ///   cannot be opened.
        public init(path: String) throws {
            self.path = path
            self.size = try FileBytes.regularFileSize(path)
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw SPConvLabError(.io, "cannot open '\(path)' for reading: permission denied or the file vanished; expected a readable regular file.")
            }
            self.handle = handle
        }

        /// Reads the bytes `range` of the file (clamped to its end).
        ///
        /// - Throws: `SPConvLabError(.io)` naming the path when the read fails or comes back short
        ///   (the file shrank while it was read).
        public func read(_ range: Range<Int>) throws -> [UInt8] {
            precondition(range.lowerBound >= 0, "file ranges start at 0 or later, got \(range)")
            let upper = min(range.upperBound, size)
            guard range.lowerBound < upper else { return [] }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(upper - range.lowerBound)
            do {
                try handle.seek(toOffset: UInt64(range.lowerBound))
                while bytes.count < upper - range.lowerBound {
                    let wanted = min(FileBytes.chunkSize, upper - range.lowerBound - bytes.count)
                    guard let chunk = try handle.read(upToCount: wanted), !chunk.isEmpty else { break }
                    bytes.append(contentsOf: chunk)
                }
            } catch {
                throw SPConvLabError(.io, "cannot read '\(path)': \(error.localizedDescription); expected a readable regular file.")
            }
            guard bytes.count == upper - range.lowerBound else {
                throw SPConvLabError(.io, "cannot read '\(path)': the file ended after \(range.lowerBound + bytes.count) of \(size) bytes (was it changed while being read?); expected a file that stays the same while it is read.")
            }
            return bytes
        }

        /// Reads the whole file.
        public func readAll() throws -> [UInt8] { try read(0..<size) }
    }

    /// The size of the regular file at `path`.
    ///
    /// - Throws: `SPConvLabError(.io)` when the path does not exist, or names a folder, a FIFO, a
    ///   device, a socket or anything else that is not a regular file (symbolic links are followed).
    public static func regularFileSize(_ path: String) throws -> Int {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: (path as NSString).resolvingSymlinksInPath)
        } catch {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SPConvLabError(.io, "cannot read '\(path)': \(exists ? "its attributes cannot be read (\(error.localizedDescription))" : "no such file"); expected a readable regular file.")
        }
        let type = attributes[.type] as? FileAttributeType
        guard type == .typeRegular else {
            let kind: String
            switch type {
            case .typeDirectory?: kind = "a folder"
            case .typeCharacterSpecial?, .typeBlockSpecial?: kind = "a device"
            case .typeSocket?: kind = "a socket"
            default: kind = "a FIFO or other special file"
            }
            throw SPConvLabError(.io, "cannot read '\(path)': it is \(kind), not a regular file; expected a regular file.")
        }
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Reads the whole regular file at `path`, refusing one larger than `maximumSize` before
    /// reading any of it.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - maximumSize: The largest file accepted, or `nil` for no limit.
    ///   - what: What the file should be, for the error message ("a training sidecar").
    /// - Throws: `SPConvLabError(.io)` if the file is missing, not a regular file, unreadable or
    ///   larger than `maximumSize`.
    public static func read(contentsOf path: String, maximumSize: Int? = nil, what: String = "a readable regular file") throws -> [UInt8] {
        let reader = try Reader(path: path)
        if let maximumSize, reader.size > maximumSize {
            throw SPConvLabError(.io, "cannot read '\(path)': it is \(reader.size) bytes, more than the \(maximumSize) bytes accepted for \(what); expected \(what).")
        }
        return try reader.readAll()
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

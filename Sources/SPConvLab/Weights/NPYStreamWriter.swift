import Foundation
import SPConvCore
import SPConvKernels

/// Writes a large `.npy` array batch by batch, so a capture of 10,000 images never holds them all.
///
/// The file's shape is fixed up front; batches are appended along the first axis; `finish()`
/// checks that exactly the promised elements arrived and renames the hidden temporary file into
/// place. Until then, and after `abandon()` or a failure, no file exists at `path`.
public final class NPYStreamWriter {
    public let path: String
    public let shape: [Int]
    private let temporary: URL
    private let handle: FileHandle
    private var written = 0
    private var isOpen = true

    /// Creates the temporary file and writes the header for `shape`.
    ///
    /// - Throws: `SPConvLabError(.io)` naming the path when its folder is not writable.
    public init(path: String, shape: [Int]) throws {
        self.path = path
        self.shape = shape
        let destination = URL(fileURLWithPath: path)
        temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(NPYFile.header(forShape: shape))),
              let handle = FileHandle(forWritingAtPath: temporary.path) else {
            throw SPConvLabError(.io, "cannot write '\(path)': its folder '\(destination.deletingLastPathComponent().path)' is missing or not writable.")
        }
        self.handle = handle
        handle.seekToEndOfFile()
    }

    deinit { if isOpen { abandon() } }

    /// Appends a batch whose trailing dimensions match the file's.
    public func append(_ batch: Tensor) throws {
        let batch = batch.rowMajor()
        precondition(Array(batch.shape.dropFirst()) == Array(shape.dropFirst()), "batch \(batch.shape) does not fit \(shape)")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.count * 4)
        StoredFloatFormat.appendFloat32(batch.scalars, to: &bytes)
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            abandon()
            throw SPConvLabError(.io, "cannot write '\(path)': \(error.localizedDescription).")
        }
        written += batch.count
    }

    /// Closes the file and moves it into place.
    public func finish() throws {
        let expected = shape.reduce(1, *)
        guard written == expected else {
            abandon()
            throw SPConvLabError(.io, "'\(path)' received \(written) of \(expected) values for shape \(shape); nothing was written.")
        }
        try handle.close()
        isOpen = false
        if rename(temporary.path, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SPConvLabError(.io, "cannot write '\(path)': renaming the temporary file into place failed: \(reason).")
        }
    }

    /// Deletes the temporary file; nothing is left at `path`.
    public func abandon() {
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
        isOpen = false
    }
}

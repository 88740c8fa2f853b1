import Foundation
import SPConvCore
import SPConvKernels

/// An exclusive advisory lock on a file (`flock`), held until ``release()`` or the process ends
/// (a killed process loses its locks, so a crash never leaves a stale lock behind).
public final class FileLock {
    private var descriptor: Int32

    /// Takes the lock on `path` (creating the file), or returns nil when another process holds it.
    ///
    /// - Throws: `SPConvLabError(.io)` when the file cannot be created or opened.
    public init?(path: String) throws {
        descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SPConvLabError(.io, "cannot open the lock file '\(path)': \(String(cString: strerror(errno))); expected a writable folder.")
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            close(descriptor)
            return nil
        }
    }

    /// Releases the lock (the file stays, empty).
    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

import Synchronization

/// A minimal mutual-exclusion lock for caches inside classes.
final class CacheLock: @unchecked Sendable {
    private let mutex = Mutex<Void>(())

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        try mutex.withLock { _ in try body() }
    }
}

import Synchronization

/// A minimal mutual-exclusion lock for caches inside classes.
package final class CacheLock: @unchecked Sendable {
    private let mutex = Mutex<Void>(())

    package init() {}

    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        try mutex.withLock { _ in try body() }
    }
}

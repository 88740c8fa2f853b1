/// A value guarded by a lock, for caches shared by the threads that run a model.
package final class LockedBox<Value>: @unchecked Sendable {
    package var value: Value
    private let lock = CacheLock()

    package init(_ value: Value) { self.value = value }

    package func withLock<R>(_ body: () throws -> R) rethrows -> R { try lock.withLock(body) }
}

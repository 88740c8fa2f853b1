/// A value guarded by a lock, for caches shared by the threads that run a model.
final class LockedBox<Value>: @unchecked Sendable {
    var value: Value
    private let lock = CacheLock()

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: () throws -> R) rethrows -> R { try lock.withLock(body) }
}

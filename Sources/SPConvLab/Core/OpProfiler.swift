import Dispatch
import Synchronization

/// Where the time of a forward pass goes, op by op: off by default, switched on by benchmarks.
///
/// Kernels wrap their work in `OpProfiler.measure(label) { ... }`; while profiling is off that is one
/// atomic load. Labels name the op and its shape class (`conv 3x3 8->16 s1`, `spconv fusion`).
public enum OpProfiler {
    /// Accumulated time and calls of one label.
    public struct Entry: Sendable, Equatable {
        public var label: String
        public var calls: Int
        public var nanoseconds: UInt64
    }

    private static let enabled = Atomic<Bool>(false)
    private static let entries = Mutex<[String: Entry]>([:])

    /// Starts recording (clearing what was recorded).
    public static func start() {
        entries.withLock { $0 = [:] }
        enabled.store(true, ordering: .relaxed)
    }

    /// Stops recording and returns the entries, most time first.
    public static func stop() -> [Entry] {
        enabled.store(false, ordering: .relaxed)
        return entries.withLock { Array($0.values) }.sorted { $0.nanoseconds > $1.nanoseconds }
    }

    /// Runs `body`, adding its wall time to `label` while profiling is on.
    @inline(__always)
    package static func measure<R>(_ label: @autoclosure () -> String, _ body: () throws -> R) rethrows -> R {
        guard enabled.load(ordering: .relaxed) else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        let name = label()
        entries.withLock { table in
            var entry = table[name] ?? Entry(label: name, calls: 0, nanoseconds: 0)
            entry.calls += 1
            entry.nanoseconds += elapsed
            table[name] = entry
        }
        return result
    }
}

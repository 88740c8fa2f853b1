import Dispatch

/// Median-of-runs timing of a whole-network forward pass.
public enum Stopwatch {
    /// Milliseconds of each timed run of `body`, after `warmup` untimed runs.
    public static func measure(warmup: Int, runs: Int, _ body: () throws -> Void) rethrows -> [Double] {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times
    }

    /// A clock started now; `elapsed` reads the seconds since.
    public static func start() -> Clock { Clock() }

    /// Seconds since the clock was started.
    public struct Clock: Sendable {
        private let start = DispatchTime.now().uptimeNanoseconds
        public var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    }

    /// The median of a non-empty list.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

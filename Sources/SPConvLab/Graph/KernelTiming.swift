import SPConvCore
import SPConvKernels

/// The compiler's measurements: where the engine has its own kernel for a layer next to oneDNN's,
/// it times both on a random input of the layer's shape and keeps its own unless oneDNN's is
/// measurably faster. Which one wins depends on the CPU (AVX-512 or AVX2, Winograd in oneDNN or
/// not), the channel counts, the map and the batch, in ways a fixed rule got wrong
/// (docs/PERFORMANCE.md). A tie goes to the engine's own kernel: it runs without a heap
/// allocation (each oneDNN execution makes several) and outside oneDNN's execution lock, and on
/// a noisy machine a tie decided by the medians alone flips from one compile to the next. The
/// choices are kept per machine (``KernelTimingStore``); `probe-cli tune` times a network's
/// choices again (``Tuning``).
package enum KernelTiming {
    /// The choices made so far on this machine (``KernelTimingStore``) and in this process, by
    /// key: each layer shape is timed once.
    private static let choices = LockedBox<[String: Bool]>(KernelTimingStore.shared.load())

    /// Whether `own` should run rather than `incumbent` (oneDNN's kernel, or another of the
    /// engine's): yes unless the incumbent is measurably faster, that is unless the 95% confidence
    /// interval of the median of the rounds' time ratios (own over incumbent) lies wholly above 1
    /// (its lower end is the k-th smallest ratio of n, k = (n - 1.96 sqrt n) / 2, at least the
    /// smallest). The rounds interleave the two (so a slow spell of the machine falls on both),
    /// each run after the threads' private caches were emptied (``CacheEviction``: in a network
    /// the layers between two passes do that); as many as fit in about 4 ms of the slower one (at
    /// least 21, at most 101; a ``Tuning`` session sets its own budget), after two untimed runs of
    /// each. `key` names the layer's shape and kind; the instruction set and thread count are
    /// added to it. Between two of the engine's own
    /// kernels (`tieToOwn` false) neither avoids anything the other makes, and the lower median
    /// wins.
    static func ownWins(key: String, incumbent: () throws -> Void, own: () throws -> Void, tieToOwn: Bool = true,
                        names: (incumbent: String, own: String) = ("oneDNN", "own")) rethrows -> Bool {
        if let known = known(key) { return known }
        let tuning = Self.tuning
        // The first runs of a process pay for its thread pool and first touches: two untimed runs
        // each, then the rounds are sized by a third.
        let first = try Stopwatch.measure(warmup: 2, runs: 1, incumbent)[0] + Stopwatch.measure(warmup: 2, runs: 1, own)[0]
        let budget = tuning?.milliseconds ?? 4, most = tuning == nil ? 101 : 1001
        var ratios: [Double] = []
        for _ in 0..<(isDebugBuild ? 3 : min(most, max(21, Int(budget / max(first, 1e-3))))) {
            if !isDebugBuild { CacheEviction.evictPrivateCaches() }
            let incumbentTime = try Stopwatch.measure(warmup: 0, runs: 1, incumbent)[0]
            if !isDebugBuild { CacheEviction.evictPrivateCaches() }
            let ownTime = try Stopwatch.measure(warmup: 0, runs: 1, own)[0]
            ratios.append(ownTime / max(incumbentTime, 1e-9))
        }
        let wins = tieToOwn ? ownWins(ratios: ratios) : ratios.sorted()[ratios.count / 2] < 1
        let previous = choices.withLock {
            defer { choices.value[fullKey(key)] = wins }
            return choices.value[fullKey(key)]
        }
        KernelTimingStore.shared.record(fullKey(key), wins)
        if let tuning {
            let interval = medianInterval(ratios)
            tuning.add(Measurement(key: key, rounds: ratios.count, median: interval.median, low: interval.low, high: interval.high,
                                   tieToOwn: tieToOwn, ownWins: wins, previous: previous, names: names))
        }
        return wins
    }

    /// The rule of ``ownWins(key:incumbent:own:)`` on the rounds' ratios (own over incumbent).
    static func ownWins(ratios: [Double]) -> Bool {
        medianInterval(ratios).low <= 1
    }

    /// The median of `values` and its 95% confidence interval by order statistics: the k-th
    /// smallest and the k-th largest of n, k = (n - 1.96 sqrt n) / 2 (at least 1), which holds for
    /// any distribution of the rounds (no normality assumed).
    static func medianInterval(_ values: [Double]) -> (low: Double, median: Double, high: Double) {
        let sorted = values.sorted()
        let n = Double(sorted.count)
        let k = min(max(1, Int((n - 1.96 * n.squareRoot()) / 2)), sorted.count)
        return (sorted[k - 1], Stopwatch.median(sorted), sorted[sorted.count - k])
    }

    /// The choice made for `key` earlier in this process, if any (check it before making the
    /// inputs a measurement needs). In a ``Tuning`` session only the session's own choices
    /// count, so every choice is timed again.
    static func known(_ key: String) -> Bool? {
        if let tuning { return tuning.choice(key) }
        return choices.withLock { choices.value[fullKey(key)] }
    }

    /// One timed choice of a ``Tuning`` session.
    package struct Measurement: Sendable, Equatable {
        /// What was chosen between: the layer's kind and shape, and oneDNN's kernel where it is
        /// the incumbent (without the instruction set and thread count, which the session has).
        package var key: String
        package var rounds: Int
        /// The median of the rounds' time ratios, own kernel over incumbent, and its 95%
        /// confidence interval.
        package var median: Double
        package var low: Double
        package var high: Double
        /// Whether a tie went to the own kernel (the rule against oneDNN) or the lower median
        /// decided (between two own kernels).
        package var tieToOwn: Bool
        package var ownWins: Bool
        /// The choice this machine's store or this process had before, if any.
        package var previous: Bool?
        /// What the two candidates are called (`oneDNN` and `own`, or two own kernels).
        package var incumbentName: String
        package var ownName: String

        init(key: String, rounds: Int, median: Double, low: Double, high: Double, tieToOwn: Bool, ownWins: Bool, previous: Bool?,
             names: (incumbent: String, own: String)) {
            (self.key, self.rounds, self.median, self.low, self.high) = (key, rounds, median, low, high)
            (self.tieToOwn, self.ownWins, self.previous, incumbentName, ownName) = (tieToOwn, ownWins, previous, names.incumbent, names.own)
        }

        /// The name of the kernel a choice picks.
        package func name(_ ownWins: Bool) -> String { ownWins ? ownName : incumbentName }
    }

    /// The file the choices are kept in on this machine (nil with `SPCONVLAB_TIMING_CACHE=off`).
    package static var storePath: String? { KernelTimingStore.shared.url?.path }

    /// A re-timing session (`probe-cli tune`): while it is bound (``tuning``), every choice the
    /// compiler makes is timed again, whatever the store holds, with rounds filling about
    /// `milliseconds` of the slower kernel (at least 21, at most 1001); each new choice replaces
    /// the stored one (a later line of the store wins) and its measurement is kept here.
    package final class Tuning: Sendable {
        package let milliseconds: Double
        private let measured = LockedBox<[Measurement]>([])

        package init(milliseconds: Double) { self.milliseconds = milliseconds }

        /// The session's measurements, in the order the compiler made the choices.
        package var measurements: [Measurement] { measured.withLock { measured.value } }

        fileprivate func add(_ measurement: Measurement) { measured.withLock { measured.value.append(measurement) } }

        fileprivate func choice(_ key: String) -> Bool? {
            measured.withLock { measured.value.last { $0.key == key }?.ownWins }
        }
    }

    /// The task's re-timing session, if any.
    @TaskLocal package static var tuning: Tuning?

    private static func fullKey(_ key: String) -> String {
        key + " isa \(DNNL.isaName) threads \(DNNL.maxThreads)" + (isDebugBuild ? " debug build" : "")
    }

    /// In a debug build (the tests') the kernels are unoptimised and their times say nothing about
    /// a release build's: three rounds, no cache eviction, and choices kept apart from a release
    /// build's in the store. The choice matters only for speed; the tests that check every
    /// kernel set force each.
    #if DEBUG
    static let isDebugBuild = true
    #else
    static let isDebugBuild = false
    #endif
}

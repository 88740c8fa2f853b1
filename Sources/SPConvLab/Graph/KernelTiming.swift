import SPConvCore
import SPConvKernels

/// The compiler's measurements: where the engine has its own kernel for a layer next to oneDNN's,
/// it times both on a random input of the layer's shape and keeps its own unless oneDNN's is
/// measurably faster. Which one wins depends on the CPU (AVX-512 or AVX2, Winograd in oneDNN or
/// not), the channel counts, the map and the batch, in ways a fixed rule got wrong
/// (docs/PERFORMANCE.md). A tie goes to the engine's own kernel: it runs without a heap
/// allocation (each oneDNN execution makes several) and outside oneDNN's execution lock, and on
/// a noisy machine a tie decided by the medians alone flips from one compile to the next. The
/// choices are kept per machine (``KernelTimingStore``).
enum KernelTiming {
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
    /// least 21, at most 101), after two untimed runs of each. `key` names the layer's shape and
    /// kind; the instruction set and thread count are added to it. Between two of the engine's own
    /// kernels (`tieToOwn` false) neither avoids anything the other makes, and the lower median
    /// wins.
    static func ownWins(key: String, incumbent: () throws -> Void, own: () throws -> Void, tieToOwn: Bool = true) rethrows -> Bool {
        if let known = known(key) { return known }
        // The first runs of a process pay for its thread pool and first touches: two untimed runs
        // each, then the rounds are sized by a third.
        let first = try Stopwatch.measure(warmup: 2, runs: 1, incumbent)[0] + Stopwatch.measure(warmup: 2, runs: 1, own)[0]
        var ratios: [Double] = []
        for _ in 0..<(isDebugBuild ? 3 : min(101, max(21, Int(4 / max(first, 1e-3))))) {
            if !isDebugBuild { CacheEviction.evictPrivateCaches() }
            let incumbentTime = try Stopwatch.measure(warmup: 0, runs: 1, incumbent)[0]
            if !isDebugBuild { CacheEviction.evictPrivateCaches() }
            let ownTime = try Stopwatch.measure(warmup: 0, runs: 1, own)[0]
            ratios.append(ownTime / max(incumbentTime, 1e-9))
        }
        let wins = tieToOwn ? ownWins(ratios: ratios) : ratios.sorted()[ratios.count / 2] < 1
        choices.withLock { choices.value[fullKey(key)] = wins }
        KernelTimingStore.shared.record(fullKey(key), wins)
        return wins
    }

    /// The rule of ``ownWins(key:incumbent:own:)`` on the rounds' ratios (own over incumbent).
    static func ownWins(ratios: [Double]) -> Bool {
        let sorted = ratios.sorted()
        let n = Double(sorted.count)
        let k = max(1, Int((n - 1.96 * n.squareRoot()) / 2))
        return sorted[min(k, sorted.count) - 1] <= 1
    }

    /// The choice made for `key` earlier in this process, if any (check it before making the
    /// inputs a measurement needs).
    static func known(_ key: String) -> Bool? {
        choices.withLock { choices.value[fullKey(key)] }
    }

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

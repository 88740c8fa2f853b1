import SPConvCore
import SPConvKernels

/// The compiler's measurements: where the engine has its own kernel for a layer next to oneDNN's,
/// it times both on a random input of the layer's shape and keeps the faster. Which one wins
/// depends on the CPU (AVX-512 or AVX2, Winograd in oneDNN or not), the channel counts, the map
/// and the batch, in ways a fixed rule got wrong (docs/PERFORMANCE.md). The choices are kept per
/// machine (``KernelTimingStore``).
enum KernelTiming {
    /// The choices made so far on this machine (``KernelTimingStore``) and in this process, by
    /// key: each layer shape is timed once.
    private static let choices = LockedBox<[String: Bool]>(KernelTimingStore.shared.load())

    /// Whether `own` ran faster than `oneDNN` (or any incumbent): medians of interleaved runs (so
    /// a slow spell of the machine falls on both), each after the threads' private caches were
    /// emptied (``CacheEviction``: in a network the layers between two passes do that), as many as
    /// fit in about 4 ms of the slower one (at least 21, at most 101), after two untimed runs of
    /// each. `key` names the layer's shape and kind; the instruction set and thread count are
    /// added to it.
    static func ownIsFaster(key: String, oneDNN: () throws -> Void, own: () throws -> Void) rethrows -> Bool {
        if let known = known(key) { return known }
        // The first runs of a process pay for its thread pool and first touches: two untimed runs
        // each, then the rounds are sized by a third.
        let first = try Stopwatch.measure(warmup: 2, runs: 1, oneDNN)[0] + Stopwatch.measure(warmup: 2, runs: 1, own)[0]
        var (oneDNNTimes, ownTimes) = ([Double](), [Double]())
        for _ in 0..<(isDebugBuild ? 3 : min(101, max(21, Int(4 / max(first, 1e-3))))) {
            if !isDebugBuild { CacheEviction.evictPrivateCaches() }
            oneDNNTimes += try Stopwatch.measure(warmup: 0, runs: 1, oneDNN)
            if !isDebugBuild { CacheEviction.evictPrivateCaches() }
            ownTimes += try Stopwatch.measure(warmup: 0, runs: 1, own)
        }
        let faster = Stopwatch.median(ownTimes) < Stopwatch.median(oneDNNTimes)
        choices.withLock { choices.value[fullKey(key)] = faster }
        KernelTimingStore.shared.record(fullKey(key), faster)
        return faster
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

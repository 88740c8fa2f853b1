import CBLAS
import Foundation
import SPConvCore

/// The limits of this machine a roofline is drawn from, measured rather than taken from a data
/// sheet: the float32 multiply-add rate the best available GEMM reaches, and the rates at which
/// buffers can be copied in the last-level cache and in main memory.
public struct MachineLimits: Sendable, Equatable {
    /// Attainable float32 compute, GFLOP/s: the best of three OpenBLAS `sgemm` runs on
    /// 1536 x 1536 matrices with the engine's threads. OpenBLAS picks its kernel for the CPU at
    /// run time (AVX-512 or AVX2), so this is the machine's, not the build's, rate; it sits a few
    /// percent under the data-sheet FMA peak.
    public var gigaflopsPerSecond: Double
    /// Main-memory bandwidth, GB/s (10^9 bytes): the best of three copies of a 256 MiB buffer
    /// (bytes read plus bytes written, over the time), split over the engine's threads.
    public var memoryGigabytesPerSecond: Double
    /// The same for a buffer of a quarter of the last-level cache (source and destination stay in it).
    public var cacheGigabytesPerSecond: Double
    /// The last-level cache's size in bytes (Linux's sysfs), 0 when unknown.
    public var cacheBytes: Int

    public init(gigaflopsPerSecond: Double, memoryGigabytesPerSecond: Double, cacheGigabytesPerSecond: Double, cacheBytes: Int) {
        self.gigaflopsPerSecond = gigaflopsPerSecond
        self.memoryGigabytesPerSecond = memoryGigabytesPerSecond
        self.cacheGigabytesPerSecond = cacheGigabytesPerSecond
        self.cacheBytes = cacheBytes
    }

    /// Measures the limits (one to two seconds).
    public static func measure() -> MachineLimits {
        let cache = MachineProbe.lastLevelCacheBytes()
        let memory = MachineProbe.copyBandwidth(bytes: 256 << 20, repeats: 3)
        return MachineLimits(gigaflopsPerSecond: MachineProbe.sgemmRate(size: 1536, repeats: 3), memoryGigabytesPerSecond: memory,
                             cacheGigabytesPerSecond: cache > 0 ? MachineProbe.copyBandwidth(bytes: cache / 4, repeats: 50) : memory,
                             cacheBytes: cache)
    }
}

/// The measurements behind ``MachineLimits``.
package enum MachineProbe {
    /// The best GFLOP/s of `repeats` square `sgemm`s of `size` (after one untimed call).
    package static func sgemmRate(size: Int, repeats: Int) -> Double {
        let a = [Float](repeating: 0.5, count: size * size), b = [Float](repeating: 0.25, count: size * size)
        var c = [Float](repeating: 0, count: size * size)
        let n = Int32(size)
        func multiply() {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, pa.baseAddress, n, pb.baseAddress, n,
                                    0, pc.baseAddress, n)
                    }
                }
            }
        }
        return 2 * Double(size) * Double(size) * Double(size) / bestSeconds(repeats: repeats, multiply) / 1e9
    }

    /// The size of CPU 0's highest-level cache from `/sys/devices/system/cpu/cpu0/cache/index*/`
    /// (`size` such as `32768K`), 0 when it cannot be read.
    package static func lastLevelCacheBytes() -> Int {
        var best = (level: 0, bytes: 0)
        for index in 0..<8 {
            let folder = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = readSmallFile(folder + "level").flatMap({ Int($0) }),
                  let text = readSmallFile(folder + "size"), let value = Int(text.filter(\.isNumber)) else { continue }
            let bytes = text.hasSuffix("K") ? value << 10 : text.hasSuffix("M") ? value << 20 : value
            if level > best.level { best = (level, bytes) }
        }
        return best.bytes
    }

    /// A small text file's contents (sysfs), trimmed; nil when it cannot be read.
    private static func readSmallFile(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The best GB/s of `repeats` copies of `bytes` into another buffer, on all threads (after
    /// one untimed copy that also faults the pages in).
    package static func copyBandwidth(bytes: Int, repeats: Int) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        let chunks = 64
        let chunk = bytes / chunks
        func copy() {
            parallelFor(chunks) { range in
                for index in range {
                    (destination + index * chunk).copyMemory(from: source + index * chunk, byteCount: chunk)
                }
            }
        }
        return 2 * Double(chunk * chunks) / bestSeconds(repeats: repeats, copy) / 1e9
    }

    /// The shortest of `repeats` timed calls of `body`, after one untimed call.
    private static func bestSeconds(repeats: Int, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let clock = Stopwatch.start()
            body()
            best = min(best, clock.seconds)
        }
        return best
    }
}

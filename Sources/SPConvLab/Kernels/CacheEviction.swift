import SPConvCore

/// Pushes each kernel thread's private caches (L1 and L2) out, so a kernel timed next finds its
/// weights and inputs where a forward pass of a whole network leaves them: a layer's weights are
/// evicted by the layers between two passes, and a kernel timed in a warm loop looks faster than
/// it runs in the network, more so where its weights are larger (Winograd's transformed weights
/// are four times the direct kernel's).
package enum CacheEviction {
    /// Bytes each thread reads: twice the largest L2 of the CPUs of this kind (1 MiB on Zen 4 and 5).
    private static let bytesPerThread = 2 << 20
    private static let buffer = LockedBox<[Float]>([])

    /// Reads a buffer of twice the L2's size on every kernel thread, one load per cache line.
    package static func evictPrivateCaches() {
        let threads = max(1, DNNL.maxThreads), floats = bytesPerThread / MemoryLayout<Float>.stride
        buffer.withLock {
            if buffer.value.count < threads * floats { buffer.value = [Float](repeating: 1, count: threads * floats) }
            buffer.value.withUnsafeBufferPointer { all in
                let base = all.baseAddress!
                parallelFor(threads) { parts in
                    for part in parts {
                        var sum: Float = 0
                        for line in stride(from: part * floats, to: (part + 1) * floats, by: 16) { sum += base[line] }
                        // Keeps the loads: the sum is never NaN, so nothing is ever written.
                        if sum.isNaN { UnsafeMutablePointer(mutating: base)[part * floats] = sum }
                    }
                }
            }
        }
    }
}

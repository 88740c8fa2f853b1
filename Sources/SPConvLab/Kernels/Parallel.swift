import CDNNL
import SPConvCore

/// Splits `0..<count` over the OpenMP threads that oneDNN uses and runs `body` on each part.
///
/// oneDNN's worker threads spin for a while after each primitive; running the engine's own
/// loops on that same pool (through libgomp's `GOMP_parallel`) uses the idle core instead of
/// fighting it. `body` must only write to disjoint places for disjoint ranges. Small counts run
/// on the calling thread.
package func parallelFor(_ count: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    // The closure goes to the threads boxed (one heap allocation per call); the hot kernels pass
    // a `ParallelWork` struct instead.
    withoutActuallyEscaping(body) { body in
        parallelFor(count, minimumPerThread: minimumPerThread, work: ClosureWork(body: body))
    }
}

private struct ClosureWork: ParallelWork {
    let body: (Range<Int>) -> Void
    func run(_ range: Range<Int>) { body(range) }
}

/// Work that ``parallelFor(_:minimumPerThread:work:)`` splits without a closure: the value holds
/// what its items need (pointers, sizes), so handing it to the threads allocates nothing (a closure
/// stored for the threads is boxed on the heap on every call).
package protocol ParallelWork {
    /// Does items `range`; disjoint ranges must write to disjoint places.
    func run(_ range: Range<Int>)
}

/// ``parallelFor(_:minimumPerThread:_:)`` for a ``ParallelWork`` value, without a heap allocation.
package func parallelFor<Work: ParallelWork>(_ count: Int, minimumPerThread: Int = 1, work: Work) {
    guard count > 0 else { return }
    _ = DNNL.shared
    let threads = DNNL.maxThreads
    if threads <= 1 || count < 2 * minimumPerThread {
        work.run(0..<count)
        return
    }
    parallelRegion(work: SharedWork(count: count, work: work))
}

/// ``parallelFor(_:minimumPerThread:work:)``'s region: each thread runs its ``threadShare`` of
/// the items.
private struct SharedWork<Work: ParallelWork>: ParallelRegion {
    let count: Int
    let work: Work

    func run(thread: Int, threads: Int) {
        let part = threadShare(count, thread: thread, threads: threads)
        if !part.isEmpty { work.run(part) }
    }
}

/// Work that runs on every thread of one parallel region, which may meet at
/// ``parallelBarrier()`` between its steps: a layer's steps that would otherwise each be a
/// region of their own (each entry and exit a wake-up and a join of the pool).
package protocol ParallelRegion {
    /// The part of thread `thread` of `threads`. Every thread must reach the same barriers.
    func run(thread: Int, threads: Int)
}

/// Runs `work` once on each of the OpenMP threads oneDNN uses (or on the calling thread alone
/// when there is one), without a heap allocation.
package func parallelRegion<Work: ParallelRegion>(work: Work) {
    _ = DNNL.shared
    guard DNNL.maxThreads > 1 else {
        work.run(thread: 0, threads: 1)
        return
    }
    withUnsafePointer(to: work) { pointer in
        var task = ParallelRegionTask(type: Work.self, work: UnsafeRawPointer(pointer))
        withUnsafeMutablePointer(to: &task) { task in
            GOMP_parallel({ raw in
                let task = raw!.assumingMemoryBound(to: ParallelRegionTask.self).pointee
                task.type.run(task.work, thread: Int(omp_get_thread_num()), threads: Int(omp_get_num_threads()))
            }, task, 0, 0)
        }
    }
}

/// Waits until every thread of the enclosing ``parallelRegion(work:)`` has arrived (a no-op
/// outside one); memory written before it is visible to every thread after it.
package func parallelBarrier() { GOMP_barrier() }

/// Thread `thread`'s share of `count` items split over `threads` in contiguous parts.
package func threadShare(_ count: Int, thread: Int, threads: Int) -> Range<Int> {
    let chunk = (count + threads - 1) / max(threads, 1)
    let start = min(thread * chunk, count)
    return start..<min(start + chunk, count)
}

extension ParallelRegion {
    fileprivate static func run(_ pointer: UnsafeRawPointer, thread: Int, threads: Int) {
        pointer.assumingMemoryBound(to: Self.self).pointee.run(thread: thread, threads: threads)
    }
}

private struct ParallelRegionTask {
    let type: any ParallelRegion.Type
    let work: UnsafeRawPointer
}

import CDNNL
import SPConvCore

/// Splits `0..<count` over the OpenMP threads that oneDNN uses and runs `body` on each part.
///
/// oneDNN's worker threads spin for a while after each primitive; running the engine's own
/// loops on that same pool (through libgomp's `GOMP_parallel`) uses the idle core instead of
/// fighting it. `body` must only write to disjoint places for disjoint ranges. Small counts run
/// on the calling thread.
package func parallelFor(_ count: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    _ = DNNL.shared  // chooses the C kernels' instruction set before any of them runs
    let threads = DNNL.maxThreads
    if threads <= 1 || count < 2 * minimumPerThread {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        var task = ParallelTask(count: count, body: body)
        withUnsafeMutablePointer(to: &task) { pointer in
            GOMP_parallel({ raw in
                let task = raw!.assumingMemoryBound(to: ParallelTask.self).pointee
                let (thread, threads) = (Int(omp_get_thread_num()), Int(omp_get_num_threads()))
                let chunk = (task.count + threads - 1) / threads
                let start = min(thread * chunk, task.count), end = min(start + chunk, task.count)
                if start < end { task.body(start..<end) }
            }, pointer, 0, 0)
        }
    }
}

private struct ParallelTask {
    package let count: Int
    package let body: (Range<Int>) -> Void
}

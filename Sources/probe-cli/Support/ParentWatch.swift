import Foundation

/// Ends a worker process when the process that started it is gone.
///
/// `sweep --jobs N` starts N - 1 workers. Ctrl-C reaches them all (one process group), but a
/// parent killed on its own (kill -9, an OOM kill, a closed SSH session) would leave them running
/// to the end of the grid. Each worker is told its parent's pid in ``environmentKey`` and polls
/// `getppid()`: once it differs (the worker was re-parented), it exits at once. Ending mid-run is
/// safe: a sweep is resumable at any instant (runs are claimed in transactions and training is
/// checkpointed per epoch), and the claim of a dead process is taken over by the next sweep.
enum ParentWatch {
    static let environmentKey = "SPCONVLAB_SWEEP_PARENT_PID"

    /// The environment for a worker of this process.
    static func workerEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[environmentKey] = String(getpid())
        return environment
    }

    /// When this process is a worker (the variable is set), exits as soon as its parent is gone.
    static func exitWithParent() {
        guard let text = ProcessInfo.processInfo.environment[environmentKey], let parent = Int32(text) else { return }
        guard getppid() == parent else { _exit(3) }
        Thread.detachNewThread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.25) }
            _exit(3)
        }
    }
}

import Foundation

/// The process that claims runs: its host and pid, stored as `host:pid` in `runs.worker`.
public struct Worker: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var host: String
    public var pid: Int32

    public init(host: String, pid: Int32) {
        self.host = host
        self.pid = pid
    }

    /// This process.
    public static var current: Worker {
        Worker(host: ProcessInfo.processInfo.hostName, pid: ProcessInfo.processInfo.processIdentifier)
    }

    /// `host:pid`.
    public var description: String { "\(host):\(pid)" }

    /// Whether the process may still be running: true for another host (it cannot be checked
    /// from here), otherwise whether `kill(pid, 0)` finds it (EPERM counts as alive; only ESRCH
    /// means dead).
    public var mayBeAlive: Bool {
        guard host == Worker.current.host else { return true }
        if kill(pid, 0) == 0 { return true }
        return errno != ESRCH
    }
}

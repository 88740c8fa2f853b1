import Dispatch
import Foundation
import Synchronization

/// Ctrl-C as a request to stop cleanly: while watching, SIGINT sets a flag that long work polls
/// (a query's progress handler) instead of killing the process half-way.
enum Interruption {
    private static let requested = Atomic<Bool>(false)
    private static let source = Mutex<(any DispatchSourceSignal)?>(nil)

    /// Whether Ctrl-C was pressed since ``watch()``.
    static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Routes SIGINT to the flag. A second Ctrl-C is not caught: it ends the process as usual.
    static func watch() {
        source.withLock { current in
            guard current == nil else { return }
            signal(SIGINT, SIG_IGN)
            let signalSource = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            signalSource.setEventHandler {
                requested.store(true, ordering: .relaxed)
                signalSource.cancel()
                signal(SIGINT, SIG_DFL)
            }
            signalSource.resume()
            current = signalSource
        }
    }
}

import Foundation

/// Progress on standard error: a redrawn bar with rate and ETA when stderr is a terminal, a plain
/// line per step otherwise (logs and CI stay readable).
final class ProgressBar {
    private let label: String
    private let unit: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var finished = false
    /// What was already done at the first update (resumed or reused work), left out of the rate.
    private var initialDone: Int?

    init(_ label: String, unit: String = "images") {
        self.label = label
        self.unit = unit
    }

    /// Reports `done` of `total`, with an optional note on the current item.
    func update(_ done: Int, of total: Int, note: String = "") {
        // The rate counts only the work done since this bar started: items found finished (a
        // resumed sweep, a reused checkpoint) would make it, and the ETA, absurdly optimistic.
        if initialDone == nil { initialDone = done }
        let elapsed = Date().timeIntervalSince(start)
        let fresh = done - (initialDone ?? 0)
        let rate = elapsed > 0 ? Double(fresh) / elapsed : 0
        let eta = rate > 0 ? ProgressBar.format(Double(total - done) / rate) : (done >= total ? "0:00" : "?")
        let stats = String(format: "%d/%d %@, %@ %@/s, ETA %@", done, total, unit,
                           ProgressBar.formatRate(rate), unit, eta)
        if isTerminal {
            guard done == total || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = Date()
            let width = 24, filled = total > 0 ? width * done / total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\u{1B}[2K\(label) [\(bar)] \(stats)\(note.isEmpty ? "" : "  \(note)")")
            if done == total { write("\n"); finished = true }
        } else {
            // Logs get a line a second at most, plus the last one.
            guard done == total || Date().timeIntervalSince(lastDraw) >= 1 else { return }
            lastDraw = Date()
            write("\(label): \(stats)\(note.isEmpty ? "" : " (\(note))")\n")
        }
    }

    /// Erases the bar's line on a terminal, so a message can be printed in its place (the bar is
    /// drawn again by the next update).
    func clear() {
        if isTerminal && !finished { write("\r\u{1B}[2K") }
    }

    /// Ends a bar that stopped before reaching its total (an error), so the next message starts clean.
    func close() {
        if isTerminal && !finished { write("\n") }
        finished = true
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// A rate with enough digits to be non-zero for slow work (training takes minutes per item).
    private static func formatRate(_ rate: Double) -> String {
        rate == 0 || rate >= 0.1 ? String(format: "%.1f", rate) : String(format: "%.2g", rate)
    }

    private static func format(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

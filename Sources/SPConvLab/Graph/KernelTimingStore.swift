import Foundation
import SPConvCore

/// ``KernelTiming``'s choices kept on disk, per machine: a later process on the same machine makes
/// the same choices without timing again, so its outputs repeat (the candidates differ by about
/// 1e-6 relative) and compiling is quicker.
///
/// One line per choice, `<machine> <key>\t<0 or 1>`, appended as choices are made (appends of one
/// short line are atomic, so processes may share the file). The machine is the CPU's model from
/// `/proc/cpuinfo` and ``revision``; the key names the layer's shape, the instruction set and the
/// thread count. `SPCONVLAB_TIMING_CACHE` names the file (`off`: keep choices per process only);
/// by default it is `$XDG_CACHE_HOME/spconvlab/kernel-timing.tsv` (`~/.cache/...`). It is a
/// cache: lines it cannot read are ignored, a file over 4 MiB is ignored and not appended to,
/// and when the file cannot be written the choices stay in the process.
struct KernelTimingStore: Sendable {
    /// Changes whenever a kernel the timing chooses between changes, so older choices are not reused.
    static let revision = "kernels-2026-12-07"
    static let maximumBytes = 4 << 20

    let url: URL?
    let machine: String

    /// The store the environment names (nil for `off`).
    static let shared = KernelTimingStore(environment: ProcessInfo.processInfo.environment)

    init(environment: [String: String], machine: String = KernelTimingStore.machineName()) {
        self.machine = machine
        switch environment["SPCONVLAB_TIMING_CACHE"] {
        case "off"?:
            url = nil
        case let path? where !path.isEmpty:
            url = URL(fileURLWithPath: path)
        default:
            let base = environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
                ?? environment["HOME"].map { $0 + "/.cache" }
            url = base.map { URL(fileURLWithPath: $0).appendingPathComponent("spconvlab/kernel-timing.tsv") }
        }
    }

    /// The choices this machine's lines record, by key (empty when there is no readable file).
    func load() -> [String: Bool] {
        guard let url, let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int,
              size <= Self.maximumBytes, let data = try? Data(contentsOf: url) else { return [:] }
        var choices: [String: Bool] = [:]
        let prefix = machine + " "
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            let fields = line.dropFirst(prefix.count).split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2, fields[1] == "0" || fields[1] == "1" else { continue }
            choices[String(fields[0])] = fields[1] == "1"
        }
        return choices
    }

    /// Appends one choice (nothing when the file cannot be written or has grown too large).
    func record(_ key: String, _ value: Bool) {
        guard let url, !key.contains("\n"), !key.contains("\t") else { return }
        let line = Data("\(machine) \(key)\t\(value ? 1 : 0)\n".utf8)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        guard let handle = try? FileHandle(forWritingTo: url) else { return }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end + UInt64(line.count) <= UInt64(Self.maximumBytes) else { return }
        try? handle.write(contentsOf: line)
    }

    /// The CPU's model name, family, model and stepping from `/proc/cpuinfo`, and ``revision``,
    /// without spaces.
    static func machineName() -> String {
        var fields: [String] = []
        if let handle = FileHandle(forReadingAtPath: "/proc/cpuinfo"), let data = try? handle.read(upToCount: 64 << 10) {
            try? handle.close()
            let text = String(decoding: data, as: UTF8.self)
            for name in ["model name", "cpu family", "model", "stepping"] {
                let line = text.split(separator: "\n").first { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) == name }
                fields.append(line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?")
            }
        }
        return ((fields.isEmpty ? ["unknown-cpu"] : fields) + [revision]).joined(separator: "/").replacingOccurrences(of: " ", with: "_")
    }
}

import Foundation
import Testing

/// A short fuzzing pass: `Fuzz/smoke.sh` builds the libFuzzer targets and runs each for 60
/// seconds (docs/RELIABILITY.md). Behind `SPCONVLAB_FUZZ_SMOKE=1`: the sanitizer build of the
/// libraries takes minutes and the pass five more. `SPCONVLAB_FUZZ_SMOKE_SECONDS` changes the time
/// per target.
@Suite("fuzzing smoke")
struct FuzzSmokeTests {
    static let isEnabled = ProcessInfo.processInfo.environment["SPCONVLAB_FUZZ_SMOKE"] == "1"

    @Test(.enabled(if: isEnabled, "set SPCONVLAB_FUZZ_SMOKE=1 (builds Fuzz/ with -sanitize=fuzzer,address)"))
    func everyTargetRunsWithoutACrash() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/smoke.sh")
        let seconds = ProcessInfo.processInfo.environment["SPCONVLAB_FUZZ_SMOKE_SECONDS"] ?? "60"
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-smoke-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", script.path, seconds]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let text = String(decoding: try Data(contentsOf: log), as: UTF8.self)
        #expect(process.terminationStatus == 0, "Fuzz/smoke.sh failed; the end of its output:\n\(text.suffix(4000))")
    }
}

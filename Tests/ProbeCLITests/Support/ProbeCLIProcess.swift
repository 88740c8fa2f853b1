import Foundation
import Testing

/// What one run of the built `probe-cli` binary produced.
struct CLIResult: Sendable, CustomStringConvertible {
    /// The program as the description names it.
    var program = "probe-cli"
    var arguments: [String]
    /// The exit status, or the signal number when `killedBySignal`.
    var exitCode: Int32
    var killedBySignal: Bool
    var stdout: String
    var stderr: String

    /// The non-empty lines of standard output.
    var outputLines: [String] { stdout.split(separator: "\n").map(String.init) }

    var description: String {
        "\(program) \(arguments.joined(separator: " ")) \(killedBySignal ? "was killed by signal" : "exited") \(exitCode)\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)"
    }
}

/// Runs the `probe-cli` executable that SwiftPM built alongside the tests.
///
/// The test target depends on the `probe-cli` executable target, so `swift build --build-tests`
/// builds the binary into the same folder as the test bundle. Standard output and error go to
/// files (not pipes) so a chatty child can never block on a full pipe buffer.
enum ProbeCLIProcess {
    /// The package root: this file is `Tests/ProbeCLITests/Support/ProbeCLIProcess.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary: next to the running test bundle first (same build configuration), then
    /// `.build/debug/probe-cli`, then any `.build/<triple>/debug/probe-cli`.
    static let executableURL: URL? = {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        if let testExecutable = Bundle.main.executableURL {
            var folder = testExecutable.deletingLastPathComponent()
            // On macOS the runner sits inside `<name>.xctest/Contents/MacOS/`; the products are beside the bundle.
            while folder.pathComponents.count > 1, folder.pathComponents.contains(where: { $0.hasSuffix(".xctest") }) {
                folder = folder.deletingLastPathComponent()
            }
            candidates.append(folder.appendingPathComponent("probe-cli"))
        }
        let build = packageRoot.appendingPathComponent(".build")
        candidates.append(build.appendingPathComponent("debug/probe-cli"))
        let triples = (try? fileManager.contentsOfDirectory(atPath: build.path)) ?? []
        candidates += triples.sorted().map { build.appendingPathComponent($0).appendingPathComponent("debug/probe-cli") }
        return candidates.first { fileManager.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `probe-cli arguments` in `directory` and waits at most `timeout` seconds.
    ///
    /// A missing binary or a timeout is recorded as a test issue and thrown, so the calling test stops.
    static func run(_ arguments: [String], in directory: URL, timeout: TimeInterval = 60,
                    environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let executable = try #require(
            executableURL,
            "probe-cli is not built: run `swift build --build-tests` first (looked beside the test bundle, in .build/debug and in .build/*/debug under \(packageRoot.path))",
            sourceLocation: sourceLocation)
        return try runExecutable(executable, arguments, program: "probe-cli", in: directory, timeout: timeout,
                                 environment: environment, sourceLocation: sourceLocation)
    }

    /// Runs any `executable` with `arguments` in `directory` as ``run(_:in:timeout:environment:sourceLocation:)``
    /// runs probe-cli; `program` names it in failure messages.
    static func runExecutable(_ executable: URL, _ arguments: [String], program: String, in directory: URL,
                              timeout: TimeInterval = 60, environment: [String: String] = [:],
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let stdoutURL = directory.appendingPathComponent(".probe-cli-\(UUID().uuidString).stdout")
        let stderrURL = directory.appendingPathComponent(".probe-cli-\(UUID().uuidString).stderr")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: stdoutURL)
            try? FileManager.default.removeItem(at: stderrURL)
        }
        let stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        let stderrHandle = try FileHandle(forWritingTo: stderrURL)

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        let timedOut = finished.wait(timeout: .now() + timeout) == .timedOut
        if timedOut {
            process.terminate()
            finished.wait()
        }
        try stdoutHandle.close()
        try stderrHandle.close()
        let result = CLIResult(program: program, arguments: arguments, exitCode: process.terminationStatus,
                               killedBySignal: process.terminationReason == .uncaughtSignal,
                               stdout: String(decoding: try Data(contentsOf: stdoutURL), as: UTF8.self),
                               stderr: String(decoding: try Data(contentsOf: stderrURL), as: UTF8.self))
        if timedOut {
            Issue.record("timed out after \(timeout) s and was terminated: \(result)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return result
    }
}

/// A fresh folder under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ProbeCLITests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The URL of `name` inside the folder.
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Runs `body` with a fresh temporary directory and removes it afterwards, whatever happens.
func withTemporaryDirectory<R>(_ body: (TemporaryDirectory) throws -> R) throws -> R {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try body(directory)
}

/// Checks a run succeeded (exit 0) with nothing alarming on standard error.
func expectSuccess(_ result: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.exitCode == 0 && !result.killedBySignal, "\(result)", sourceLocation: sourceLocation)
    expectNoCrash(result, sourceLocation: sourceLocation)
}

/// Checks a run failed with `exitCode`, wrote no data to standard output, and explained itself on
/// standard error in one paragraph that contains every string of `mentions`.
func expectFailure(_ result: CLIResult, exitCode: Int32, mentions: [String],
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.exitCode == exitCode && !result.killedBySignal, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, "a failing run must not write data to stdout: \(result)", sourceLocation: sourceLocation)
    let message = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(!message.isEmpty, "a failing run must explain itself on stderr: \(result)", sourceLocation: sourceLocation)
    #expect(!message.contains("\n\n"), "stderr must be a single paragraph: \(result)", sourceLocation: sourceLocation)
    if exitCode == 1 {
        #expect(message.hasPrefix("error: ") && !message.contains("\n"),
                "a runtime failure is one `error: ...` line: \(result)", sourceLocation: sourceLocation)
    }
    for text in mentions {
        #expect(message.contains(text), "stderr should mention \"\(text)\": \(result)", sourceLocation: sourceLocation)
    }
    expectNoCrash(result, sourceLocation: sourceLocation)
}

/// Checks standard error shows no Swift runtime trap or crash report.
func expectNoCrash(_ result: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
    for marker in ["Fatal error", "Backtrac", "Program crashed", "Stack dump", "Current stack trace"] {
        #expect(!result.stderr.contains(marker), "stderr shows a crash (\(marker)): \(result)", sourceLocation: sourceLocation)
    }
    #expect(!result.killedBySignal, "killed by a signal: \(result)", sourceLocation: sourceLocation)
}

/// A file of the repository, for example `assets/images/horse.png`.
func repositoryFile(_ relativePath: String) -> URL {
    ProbeCLIProcess.packageRoot.appendingPathComponent(relativePath)
}

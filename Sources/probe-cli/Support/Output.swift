import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

/// Writes a message line to standard error (data goes to standard output).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs a command body, turning library errors into a message on stderr and exit code 1, after
/// telling the user which engine switches of the environment it ignores.
func reportingFailures(_ body: () throws -> Void) throws {
    for warning in Engine.environmentWarnings() { printError("warning: \(warning)") }
    do {
        try body()
    } catch let error as SPConvLabError {
        printError("error: \(error.message)")
        throw ExitCode.failure
    } catch let error as FeatureProbeError {
        printError("error: \(error.message)")
        throw ExitCode.failure
    }
}

/// JSON text of an encodable value, keys sorted for stable output.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Formats an integer with thousands separators: 25557032 -> "25,557,032".
func grouped(_ value: Int) -> String { GridFindings.grouped(value) }

/// Formats a count in millions, truncated (not rounded) to two decimals as the paper prints its
/// tables: 18,345,448 -> "18.34M", 105,082 -> "0.10M".
func millions(_ value: Int) -> String {
    let hundredths = value / 10_000
    return "\(hundredths / 100).\(String(format: "%02d", hundredths % 100))M"
}

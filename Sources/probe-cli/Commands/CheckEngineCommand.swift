import ArgumentParser
import Foundation
import SPConvLab

struct CheckEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-engine",
        abstract: "Check the fast engine against the op-by-op reference engine on this CPU.",
        discussion: """
        Runs seeded random convolutions (groups, stride 2, odd sizes, batch 1, Winograd shapes), \
        random SPConv layers and small zoo networks through both backends and prints each case's \
        largest difference relative to the reference's largest magnitude; a case passes at 1e-4 or \
        less. Exit status 1 when any case fails. The kernels run on the widest instruction set \
        oneDNN finds; SPCONVLAB_MAX_ISA=avx2 in the environment holds them to AVX2, and \
        SPCONVLAB_CONV_ALGO=direct forbids Winograd, so each path can be checked on one machine.
        """)

    @Option(help: "Seed of the random shapes, weights and inputs.")
    var seed: UInt64 = 1

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Flag(help: "Print JSON (instruction_set, tolerance, cases) instead of lines of text.")
    var json = false

    func validate() throws {
        try ThreadLimit.validate(threads)
    }

    struct Report: Encodable {
        var instructionSet: String
        var tolerance: Float
        var cases: [EngineCheck.Case]
        enum CodingKeys: String, CodingKey { case tolerance, cases, instructionSet = "instruction_set" }
    }

    func run() throws {
        try reportingFailures {
            if let threads { Engine.setThreads(threads) }
            if !json { print("instruction set: \(EngineCheck.instructionSet), tolerance \(EngineCheck.tolerance)") }
            let cases = try EngineCheck.run(seed: seed) { item in
                guard !json else { return }
                print((item.passed ? "ok    " : "FAIL  ") + item.kind.padding(toLength: 8, withPad: " ", startingAt: 0)
                      + String(format: "%.2e  ", item.maxRelativeDifference) + item.name)
            }
            let failed = cases.filter { !$0.passed }
            if json {
                print(try jsonText(Report(instructionSet: EngineCheck.instructionSet, tolerance: EngineCheck.tolerance, cases: cases)))
            } else {
                print("\(cases.count - failed.count) of \(cases.count) cases within \(EngineCheck.tolerance)")
            }
            if !failed.isEmpty {
                printError("error: \(failed.count) case(s) differ from the reference engine by more than \(EngineCheck.tolerance): \(failed.map(\.name).joined(separator: "; ")).")
                throw ExitCode.failure
            }
        }
    }
}

import Foundation
import Testing

/// `probe-cli check-engine` on both of oneDNN's x86 paths: the widest this CPU has, and AVX2
/// forced with SPCONVLAB_MAX_ISA (the switch the engine reads at start-up), each against the
/// reference engine on random convolutions, SPConv layers and small zoo networks.
@Suite("probe-cli check-engine")
struct CheckEngineCommandTests {
    struct Report: Decodable {
        var instructionSet: String
        var tolerance: Float
        var cases: [Case]

        struct Case: Decodable {
            var kind: String
            var name: String
            var passed: Bool
            var maxRelativeDifference: Float
            enum CodingKeys: String, CodingKey { case kind, name, passed, maxRelativeDifference = "max_relative_difference" }
        }

        enum CodingKeys: String, CodingKey { case tolerance, cases, instructionSet = "instruction_set" }
    }

    /// The CPU's flags from /proc/cpuinfo (empty elsewhere).
    static let cpuFlags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
    }()

    @Test(arguments: ["native", "avx2"])
    func everyCaseMatchesTheReference(_ path: String) throws {
        let flags = CheckEngineCommandTests.cpuFlags
        try #require(flags.contains("avx2"), "this CPU has no AVX2; the check has no x86 path to compare")
        // oneDNN's avx512_core needs F, BW, VL and DQ.
        let hasAVX512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains)
        // "native" inherits the test run's environment, which may already hold the engine to AVX2.
        let heldToAVX2 = ProcessInfo.processInfo.environment["SPCONVLAB_MAX_ISA"]?.lowercased() == "avx2"
        let expected = path == "avx2" || heldToAVX2 || !hasAVX512 ? "avx2" : "avx512"
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["check-engine", "--json"], in: directory.url, timeout: 900,
                                                 environment: path == "avx2" ? ["SPCONVLAB_MAX_ISA": "avx2"] : [:])
            expectSuccess(result)
            let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
            #expect(report.instructionSet == expected)
            #expect(report.tolerance == 1e-4)
            #expect(Set(report.cases.map(\.kind)) == ["conv", "spconv", "model"])
            #expect(report.cases.count >= 30)
            for item in report.cases where !item.passed || !(item.maxRelativeDifference <= 1e-4) {
                Issue.record("\(item.name): \(item.maxRelativeDifference) on \(report.instructionSet)")
            }
        }
    }
}

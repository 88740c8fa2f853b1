import Foundation
import Testing

/// Conventions every command line follows: a version, help text without stray whitespace, and
/// the query formats people paste into documents.
@Suite("probe-cli conventions")
struct ConventionsTests {
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conventions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func versionIsPrintedAndExitsZero() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try ProbeCLIProcess.run(["--version"], in: folder)
        #expect(result.exitCode == 0 && !result.killedBySignal, "\(result)")
        #expect(result.stdout.wholeMatch(of: /\d+\.\d+\.\d+\n/) != nil, "\(result)")
    }

    @Test func helpTextsHaveNoRunsOfSpacesInsideSentences() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let top = try ProbeCLIProcess.run(["--help"], in: folder)
        #expect(top.exitCode == 0)
        // Subcommand names: the first words of the SUBCOMMANDS section's two-column lines.
        let section = top.stdout.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        let names = section.split(separator: "\n").compactMap { line in
            line.firstMatch(of: /^  ([a-z][a-z-]*)( \(default\))?  +\S/).map { String($0.output.1) }
        }
        #expect(names.contains("sweep") && names.contains("query") && names.count >= 15, "\(names)")
        for name in names {
            let help = try ProbeCLIProcess.run([name, "--help"], in: folder)
            #expect(help.exitCode == 0, "\(help)")
            for line in help.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
                #expect(!line.hasSuffix(" "), "probe-cli \(name) --help has trailing spaces: '\(line)'")
                // Two-column lines ("  --flag <value>  text", "  name  text") align their text after
                // a gap; continuation lines are indented. Within the text, words are at most two
                // spaces apart.
                var text = String(line.drop { $0 == " " })
                if line.hasPrefix("  "), !line.hasPrefix("   "), let gap = text.firstMatch(of: /\s\s+/) {
                    text = String(text[gap.range.upperBound...])
                }
                #expect(text.firstMatch(of: /\S {3,}\S/) == nil, "probe-cli \(name) --help: '\(line)'")
            }
        }
    }

    @Test func queryWritesMarkdownTables() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // An empty file is a valid new SQLite database; the query needs no tables.
        let db = folder.appendingPathComponent("empty.sqlite")
        FileManager.default.createFile(atPath: db.path, contents: Data())
        let result = try ProbeCLIProcess.run(["query", "sql", "--db", db.path, "--format", "markdown",
                                              "SELECT 1 AS n, 'a|b' AS text, NULL AS missing, 2.5 AS x"], in: folder)
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout == "| n | text | missing | x |\n| ---: | --- | --- | ---: |\n| 1 | a\\|b | NULL | 2.5 |\n", "\(result)")
    }
}

import Foundation
import Testing
@testable import FeatureProbe

/// CSV output against Python: the fixtures in Fixtures/csv come from `python3 tools/make_csv_fixtures.py`.
@Suite struct CSVWriterTests {
    static func fixture(_ name: String) throws -> Data {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/csv/\(name)")
        return try Data(contentsOf: url)
    }

    @Test func formatG6MatchesPythonPercentFormatting() throws {
        let text = String(decoding: try Self.fixture("g6.tsv"), as: UTF8.self)
        var checked = 0
        var mismatches: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            let actual: String
            if fields[0] == "f" {
                actual = CSVWriter.formatG6(Float(bitPattern: UInt32(fields[1], radix: 16)!))
            } else {
                actual = CSVWriter.formatG6(Double(bitPattern: UInt64(fields[1], radix: 16)!))
            }
            if actual != fields[2] { mismatches.append("\(fields[0]) \(fields[1]): \(actual) != \(fields[2])") }
            checked += 1
        }
        #expect(checked > 4000)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }

    @Test(arguments: [
        // python3 -c "print('%.6g' % v)" for each v
        (Float(1e-5), "1e-05"), (Float(-0.0), "-0"), (Float(0), "0"), (Float(123456), "123456"),
        (Float(1234567), "1.23457e+06"), (Float(0.0001), "0.0001"), (Float(-1), "-1"), (Float(0.5), "0.5"),
        (Float.nan, "nan"), (-Float.infinity, "-inf"),
    ])
    func formatG6Examples(value: Float, expected: String) {
        #expect(CSVWriter.formatG6(value) == expected)
    }

    @Test func matrixMatchesPython() throws {
        let bits = try JSONDecoder().decode([UInt32].self, from: try Self.fixture("matrix_values.json"))
        let expected = String(decoding: try Self.fixture("matrix.csv"), as: UTF8.self)
        #expect(CSVWriter.matrix(bits.map(Float.init(bitPattern:)), channels: 3) == expected)
        #expect(CSVWriter.matrix([], channels: 0) == "")
    }

    @Test func tableMatchesPythonsCSVWriter() throws {
        struct Input: Decodable { let header: [String]; let rows: [[String]] }
        let input = try JSONDecoder().decode(Input.self, from: try Self.fixture("table_input.json"))
        let expected = String(decoding: try Self.fixture("table.csv"), as: UTF8.self)
        #expect(CSVWriter.table(header: input.header, rows: input.rows) == expected)
    }

    @Test func quotingRules() {
        #expect(CSVWriter.quoted("layer1.0.conv1") == "layer1.0.conv1")
        #expect(CSVWriter.quoted("a,b") == "\"a,b\"")
        #expect(CSVWriter.quoted("say \"x\"") == "\"say \"\"x\"\"\"")
        #expect(CSVWriter.quoted("two\r\nlines") == "\"two\r\nlines\"")
        #expect(CSVWriter.table(header: ["a", "b"], rows: [["1", ""]]) == "a,b\r\n1,\r\n")
        #expect(CSVWriter.table(header: ["only"], rows: [[""]]) == "only\r\n\"\"\r\n")
    }
}

import Foundation
import Testing

/// `probe-cli models`: the zoo as a table and as JSON.
@Suite("probe-cli models")
struct ModelsCommandTests {
    static let zoo = ["resnet20", "resnet56", "resnet110", "vgg16", "resnet18", "resnet50"]

    @Test func tableListsEveryModelWithItsParameterCounts() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["models"], in: directory.url)
            expectSuccess(result)
            let lines = result.outputLines
            #expect(lines.count == 1 + Self.zoo.count, "a header and one row per model: \(result)")
            for name in Self.zoo {
                #expect(lines.contains { $0.hasPrefix(name + " ") }, "no row for \(name): \(result)")
            }
            let resnet50 = try #require(lines.first { $0.hasPrefix("resnet50 ") })
            #expect(resnet50.contains("25,557,032") && resnet50.contains("18,345,448"), "\(resnet50)")
            let resnet20 = try #require(lines.first { $0.hasPrefix("resnet20 ") })
            #expect(resnet20.contains("272,474") && resnet20.contains("105,082"), "\(resnet20)")
        }
    }

    struct Entry: Decodable {
        var name: String
        var inputSize: Int
        var classes: Int
        var vanillaParams: Int
        var spconvParams: Int
    }

    @Test func jsonIsAnArrayOfTheSixModels() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["models", "--json"], in: directory.url)
            expectSuccess(result)
            let entries = try JSONDecoder().decode([Entry].self, from: Data(result.stdout.utf8))
            #expect(entries.map(\.name) == Self.zoo)
            let resnet50 = try #require(entries.first { $0.name == "resnet50" })
            #expect(resnet50.vanillaParams == 25_557_032)
            #expect(resnet50.spconvParams == 18_345_448)
            #expect(resnet50.inputSize == 224 && resnet50.classes == 1000)
            let resnet20 = try #require(entries.first { $0.name == "resnet20" })
            #expect(resnet20.vanillaParams == 272_474 && resnet20.spconvParams == 105_082)
            #expect(resnet20.inputSize == 32 && resnet20.classes == 10)
        }
    }
}

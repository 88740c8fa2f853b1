import Testing
@testable import FeatureProbe
import SPConvLab

@Suite("Similarity against NumPy (tools/make_similarity_fixtures.py)")
struct SimilarityFixtureTests {
    @Test("matrices (and their CSV text) and dead channels equal NumPy's within 1e-4",
          arguments: ["relu", "offset"], SimilarityMetric.allCases)
    func matchesNumPy(input: String, metric: SimilarityMetric) throws {
        let maps = try similarityFixture("\(input)_maps")
        for reduction in SimilarityReduction.allCases {
            let name = "\(input)_\(metric.rawValue)_\(reduction.rawValue)"
            let expected = try similarityFixture(name)
            let dead = try similarityFixture(name + "_dead")
            for batchSize in [maps.shape[0], 1] {
                let s = try similarityMatrix(maps, metric: metric, reduction: reduction, batchSize: batchSize)
                expectValuesClose(s.values, expected.scalars, tolerance: 1e-4, "\(name), batches of \(batchSize)")
                // What a user reads: the CSV file's text, parsed back.
                let csv = CSVWriter.matrix(s.values, channels: s.channels)
                let parsed = csv.split(separator: "\n").flatMap { $0.split(separator: ",").map { Float(String($0))! } }
                expectValuesClose(parsed, expected.scalars, tolerance: 1e-4, "\(name) via CSV")
                #expect(s.deadChannels == dead.scalars.indices.filter { dead.scalars[$0] != 0 }, "\(name)")
            }
        }
    }

    @Test("the fixture's dead and constant channels are what the script says")
    func fixtureContents() throws {
        let maps = try similarityFixture("relu_maps")
        #expect(try similarityMatrix(maps, metric: .cosine).deadChannels == [3])
        #expect(try similarityMatrix(maps, metric: .pearson).deadChannels == [3, 7])
    }

    @Test("linear CKA equals NumPy's within 1e-4")
    func ckaMatchesNumPy() throws {
        let expected = try similarityFixture("cka").scalars
        let relu = try similarityFixture("relu_maps"), second = try similarityFixture("cka_second")
        let offset = try similarityFixture("offset_maps")
        for (index, (x, y)) in [(relu, relu), (relu, second), (offset, offset)].enumerated() {
            var cka = try CKAAccumulator(firstChannels: x.shape[1], secondChannels: y.shape[1])
            for image in 0..<x.shape[0] { try cka.add(imageSlice(x, image..<(image + 1)), imageSlice(y, image..<(image + 1))) }
            #expect(abs(cka.result() - Double(expected[index])) < 1e-4, "pair \(index)")
        }
    }
}

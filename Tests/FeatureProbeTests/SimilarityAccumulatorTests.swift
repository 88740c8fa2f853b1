import Testing
@testable import FeatureProbe
import SPConvLab

@Suite("Similarity accumulator: hand-derived cases, dead channels, streaming")
struct SimilarityAccumulatorTests {
    /// Four channels over 2 images of 2 x 2: a, 3a (same direction), -a, and b.
    static let a: [Float] = [1, 2, -1, 0.5, 3, -2, 1, 4]
    static let b: [Float] = [0, 1, 1, -2, 5, 0, -1, 2]
    static let maps = mapsFromChannels([a, a.map { 3 * $0 }, a.map { -$0 }, b], images: 2, height: 2, width: 2)

    @Test("identical channels give 1, a channel and its negation -1 (cosine)")
    func identicalAndNegated() throws {
        let s = try similarityMatrix(Self.maps, metric: .cosine)
        #expect(abs(s[0, 1] - 1) < 1e-6)
        #expect(abs(s[0, 2] + 1) < 1e-6)
        #expect(abs(s[1, 2] + 1) < 1e-6)
        #expect(s.deadChannels.isEmpty)
        // Hand-derived: <a, b> = 0+2-1-1+15+0-1+8 = 22; |a|² = 1+4+1+.25+9+4+1+16 = 36.25; |b|² = 36.
        #expect(abs(Double(s[0, 3]) - 22 / (36.25.squareRoot() * 6)) < 1e-6)
    }

    @Test("pearson is the cosine of the centred vectors", arguments: [SimilarityReduction.pooled, .perImage])
    func pearsonIsCentredCosine(reduction: SimilarityReduction) throws {
        let shifted = mapsFromChannels([Self.a, Self.a.map { 2 * $0 + 7 }, Self.b.map { $0 - 3 }, Self.b],
                                       images: 2, height: 2, width: 2)
        let s = try similarityMatrix(shifted, metric: .pearson, reduction: reduction)
        #expect(abs(s[0, 1] - 1) < 1e-5)
        #expect(abs(s[2, 3] - 1) < 1e-5)
        if reduction == .pooled {
            let ca = Self.a.map { Double($0) - 8.5 / 8 }, cb = Self.b.map { Double($0) - 6.0 / 8 }
            let dot = zip(ca, cb).map(*).reduce(0, +)
            let expected = dot / (ca.map { $0 * $0 }.reduce(0, +) * cb.map { $0 * $0 }.reduce(0, +)).squareRoot()
            #expect(abs(Double(s[0, 3]) - expected) < 1e-6)
        }
    }

    @Test("symmetric with unit diagonal, entries in [-1, 1]",
          arguments: SimilarityMetric.allCases, [SimilarityReduction.pooled, .perImage])
    func symmetricUnitDiagonal(metric: SimilarityMetric, reduction: SimilarityReduction) throws {
        var generator = SeededGenerator(seed: 7)
        let maps = Tensor.gaussian([5, 9, 4, 3], generator: &generator)
        let s = try similarityMatrix(maps, metric: metric, reduction: reduction)
        for i in 0..<9 {
            #expect(s[i, i] == 1)
            for j in 0..<9 {
                #expect(s[i, j] == s[j, i])
                #expect(abs(s[i, j]) <= 1)
            }
        }
    }

    @Test("a dead or constant channel: 0 with others, 1 with itself, no NaN, reported",
          arguments: SimilarityMetric.allCases, [SimilarityReduction.pooled, .perImage])
    func deadChannel(metric: SimilarityMetric, reduction: SimilarityReduction) throws {
        let zero = [Float](repeating: 0, count: 8), constant = [Float](repeating: 4.5, count: 8)
        let maps = mapsFromChannels([Self.a, zero, Self.b, constant], images: 2, height: 2, width: 2)
        let s = try similarityMatrix(maps, metric: metric, reduction: reduction)
        #expect(s.values.allSatisfy { $0.isFinite })
        #expect(s.deadChannels == (metric == .cosine ? [1] : [1, 3]))
        for dead in s.deadChannels {
            for j in 0..<4 { #expect(s[dead, j] == (j == dead ? 1 : 0)) }
        }
    }

    @Test("a layer that is all zero: every channel dead, identity matrix")
    func allZero() throws {
        let s = try similarityMatrix(Tensor.zeros([3, 4, 2, 2]), metric: .pearson)
        #expect(s.deadChannels == [0, 1, 2, 3])
        #expect(s.values == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    }

    @Test("streaming equals one shot: batches of 1, 3 and all",
          arguments: SimilarityMetric.allCases, [SimilarityReduction.pooled, .perImage])
    func streaming(metric: SimilarityMetric, reduction: SimilarityReduction) throws {
        var generator = SeededGenerator(seed: 11)
        // Large means: the pearson shift must make batches agree anyway.
        var maps = Tensor.gaussian([7, 6, 5, 5], generator: &generator)
        maps = Tensor(shape: maps.shape, scalars: maps.scalars.enumerated().map { $1 + Float(($0 / 25) % 6) * 50 })
        let whole = try similarityMatrix(maps, metric: metric, reduction: reduction)
        for size in [1, 3] {
            let streamed = try similarityMatrix(maps, metric: metric, reduction: reduction, batchSize: size)
            #expect(streamed.images == 7)
            expectValuesClose(streamed.values, whole.values, tolerance: 1e-5, "batch size \(size)")
        }
    }

    @Test("large images go through per-image BLAS calls, small ones through packing: same result",
          arguments: [[3, 5, 1, 1], [3, 5, 2, 3], [2, 5, 16, 17]])
    func bothGramPaths(shape: [Int]) throws {
        var generator = SeededGenerator(seed: 3)
        let maps = Tensor.gaussian(shape, generator: &generator)
        let (n, c, p) = (shape[0], shape[1], shape[2] * shape[3])
        let s = try similarityMatrix(maps, metric: .cosine)
        var expected = [Float](repeating: 0, count: c * c)
        for i in 0..<c {
            for j in 0..<c {
                var (dot, ni, nj) = (0.0, 0.0, 0.0)
                for image in 0..<n {
                    for q in 0..<p {
                        let (x, y) = (Double(maps.scalars[(image * c + i) * p + q]), Double(maps.scalars[(image * c + j) * p + q]))
                        dot += x * y; ni += x * x; nj += y * y
                    }
                }
                expected[i * c + j] = Float(dot / (ni * nj).squareRoot())
            }
        }
        expectValuesClose(s.values, expected, tolerance: 1e-5)
    }

    @Test("an empty accumulator reports every channel dead")
    func empty() throws {
        let s = try SimilarityAccumulator(channels: 2, metric: .cosine).result()
        #expect(s.images == 0)
        #expect(s.deadChannels == [0, 1])
        #expect(s.values == [1, 0, 0, 1])
    }

    @Test("bad input throws a message naming the value")
    func badInput() throws {
        #expect(throws: FeatureProbeError.self) { try SimilarityAccumulator(channels: 0) }
        var accumulator = try SimilarityAccumulator(channels: 4, metric: .pearson)
        let wrongRank = #expect(throws: FeatureProbeError.self) { try accumulator.add(Tensor.zeros([2, 4, 3])) }
        #expect(wrongRank?.message.contains("[2, 4, 3]") == true)
        let wrongChannels = #expect(throws: FeatureProbeError.self) { try accumulator.add(Tensor.zeros([2, 5, 3, 3])) }
        #expect(wrongChannels?.message.contains("5 channels") == true)
        var bad = Tensor.zeros([1, 4, 2, 2])
        bad[0, 2, 1, 1] = .nan
        let nan = #expect(throws: FeatureProbeError.self) { try accumulator.add(bad) }
        #expect(nan?.message.contains("Channel 2") == true)
        #expect(accumulator.images == 0)
    }
}

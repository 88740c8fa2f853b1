import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite("Layer summary: statistics, clustering, effective rank")
struct LayerSummaryTests {
    static func matrix(_ values: [Float], dead: [Int] = []) -> SimilarityMatrix {
        let c = Int(Double(values.count).squareRoot())
        return SimilarityMatrix(channels: c, values: values, metric: .cosine, reduction: .pooled, images: 1, deadChannels: dead)
    }

    @Test("hand-derived statistics of a 3-channel matrix")
    func handDerived() throws {
        // Pairs: (0,1) 0.95, (0,2) -0.5, (1,2) 0.2.
        let summary = try LayerSummary(matrix: Self.matrix([1, 0.95, -0.5, 0.95, 1, 0.2, -0.5, 0.2, 1]), threshold: 0.9)
        #expect(abs(summary.meanAbsOffDiagonal - (0.95 + 0.5 + 0.2) / 3) < 1e-6)
        #expect(summary.duplicates == 1)
        #expect(abs(summary.fractionAboveThreshold - 1.0 / 3) < 1e-12)
        #expect(summary.duplicatePairs == [ChannelPair(first: 0, second: 1, similarity: 0.95)])
        #expect(summary.clusterMembers == [[0, 1], [2]])
        #expect(summary.clusters == 2)
        #expect(abs(summary.suggestedRatio - 2.0 / 3) < 1e-12)
        #expect(summary.representatives == [0, 2])
        #expect(Set(summary.clusteredOrder) == [0, 1, 2])
        #expect(summary.dead == 0)
    }

    @Test("planted blocks are found, with a representative each and contiguous in the leaf order")
    func plantedBlocks() throws {
        let blocks = [[0, 4, 8, 11], [1, 5, 9], [2, 3, 6, 7, 10], [12]]
        let c = 13
        var block = [Int](repeating: 0, count: c)
        for (b, members) in blocks.enumerated() { for m in members { block[m] = b } }
        var generator = SeededGenerator(seed: 9)
        var values = [Float](repeating: 0, count: c * c)
        for i in 0..<c {
            for j in i..<c {
                let noise = 0.04 * generator.nextUnitFloat()
                let s: Float = i == j ? 1 : (block[i] == block[j] ? 0.92 + noise : 0.3 * generator.nextUnitFloat() - 0.1)
                values[i * c + j] = s
                values[j * c + i] = s
            }
        }
        let summary = try LayerSummary(matrix: Self.matrix(values), threshold: 0.9)
        #expect(summary.clusterMembers == blocks.sorted { $0[0] < $1[0] })
        #expect(abs(summary.suggestedRatio - 4.0 / 13) < 1e-12)
        for (members, representative) in zip(summary.clusterMembers, summary.representatives) {
            #expect(members.contains(representative))
        }
        #expect(summary.clusteredOrder.sorted() == Array(0..<c))
        for members in blocks {
            let positions = members.map { summary.clusteredOrder.firstIndex(of: $0)! }.sorted()
            #expect(positions.last! - positions.first! == members.count - 1, "block \(members) not contiguous")
        }
        // A lower threshold merges more; 1.0 leaves every channel alone.
        #expect(try LayerSummary(matrix: Self.matrix(values), threshold: 1).clusters == c)
        #expect(try LayerSummary(matrix: Self.matrix(values), threshold: 0).clusters < 4)
    }

    @Test("the representative is the member with the highest mean similarity to the others")
    func representative() throws {
        let summary = try LayerSummary(matrix: Self.matrix([1, 0.91, 0.99, 0.91, 1, 0.95, 0.99, 0.95, 1]), threshold: 0.9)
        #expect(summary.clusterMembers == [[0, 1, 2]])
        #expect(summary.representatives == [2])
    }

    @Test("dead channels are their own clusters and come last in the leaf order")
    func deadChannels() throws {
        let summary = try LayerSummary(matrix: Self.matrix([1, 0, 0.95, 0, 1, 0, 0.95, 0, 1], dead: [1]), threshold: 0)
        #expect(summary.clusterMembers == [[0, 2], [1]])
        #expect(summary.dead == 1)
        #expect(summary.deadChannels == [1])
        #expect(summary.clusteredOrder.last == 1)
    }

    @Test("effective rank: C for the identity, 1 for all ones, exp(entropy) in between")
    func effectiveRank() throws {
        let identity = (0..<16).map { Float($0 % 5 == 0 ? 1 : 0) }
        #expect(abs(try LayerSummary(matrix: Self.matrix(identity)).effectiveRank - 4) < 1e-9)
        #expect(abs(try LayerSummary(matrix: Self.matrix([Float](repeating: 1, count: 9))).effectiveRank - 1) < 1e-6)
        // [[1, r], [r, 1]] has eigenvalues 1 ± r.
        let r = 0.6
        let p = [(1 + r) / 2, (1 - r) / 2]
        let expected = exp(-p.map { $0 * log($0) }.reduce(0, +))
        #expect(abs(try LayerSummary(matrix: Self.matrix([1, Float(r), Float(r), 1])).effectiveRank - expected) < 1e-6)
    }

    @Test("one channel: no pairs, one cluster")
    func singleChannel() throws {
        let summary = try LayerSummary(matrix: Self.matrix([1]))
        #expect(summary.meanAbsOffDiagonal == 0 && summary.fractionAboveThreshold == 0)
        #expect(summary.clusters == 1 && summary.representatives == [0] && summary.clusteredOrder == [0])
        #expect(abs(summary.effectiveRank - 1) < 1e-12)
    }

    @Test("a threshold outside [0, 1] throws", arguments: [-0.1, 1.5, .nan])
    func badThreshold(threshold: Double) throws {
        let error = #expect(throws: FeatureProbeError.self) { try LayerSummary(matrix: Self.matrix([1]), threshold: threshold) }
        #expect(error?.message.contains("[0, 1]") == true)
    }

    @Test("encodes with the summary.csv column names")
    func codingKeys() throws {
        let data = try JSONEncoder().encode(try LayerSummary(matrix: Self.matrix([1, 0.5, 0.5, 1])))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for key in ["mean_abs_offdiag", "frac_above_threshold", "threshold", "duplicates", "dead", "clusters",
                    "effective_rank", "suggested_ratio", "clustered_order"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["reduction"] as? String == "pooled")
    }
}

import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

/// Reads `Tests/FeatureProbeTests/Fixtures/similarity/<name>.npy` (made by
/// tools/make_similarity_fixtures.py).
func similarityFixture(_ name: String) throws -> Tensor {
    let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/similarity/\(name).npy")
    return try NPYFile.read(contentsOf: url.path)
}

/// Checks `|actual - expected| <= tolerance` element-wise, reporting the worst element.
func expectValuesClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-4, _ comment: Comment? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, comment, sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    var worst = (index: -1, difference: Float(0))
    for i in actual.indices {
        let difference = abs(actual[i] - expected[i])
        if !(difference <= tolerance), worst.index < 0 || !(difference <= worst.difference) { worst = (i, difference) }
    }
    #expect(worst.index < 0, "\(comment.map { "\($0): " } ?? "")element \(worst.index) differs by \(worst.difference): \(worst.index >= 0 ? actual[worst.index] : 0) vs \(worst.index >= 0 ? expected[worst.index] : 0)",
            sourceLocation: sourceLocation)
}

/// `[N, C, H, W]` maps whose channel `c` at image `n`, position `p` is `values[c][n * P + p]`.
func mapsFromChannels(_ channels: [[Float]], images: Int, height: Int, width: Int) -> Tensor {
    let (c, p) = (channels.count, height * width)
    var scalars = [Float](repeating: 0, count: images * c * p)
    for ch in 0..<c {
        for n in 0..<images {
            for i in 0..<p { scalars[(n * c + ch) * p + i] = channels[ch][n * p + i] }
        }
    }
    return Tensor(shape: [images, c, height, width], scalars: scalars)
}

/// Images `range` of an `[N, C, H, W]` tensor.
func imageSlice(_ maps: Tensor, _ range: Range<Int>) -> Tensor {
    let per = maps.shape[1...].reduce(1, *)
    return Tensor(shape: [range.count] + Array(maps.shape[1...]),
                  scalars: Array(maps.scalars[(range.lowerBound * per)..<(range.upperBound * per)]))
}

/// The similarity matrix of `maps` added in batches of `batchSize` images.
func similarityMatrix(_ maps: Tensor, metric: SimilarityMetric, reduction: SimilarityReduction = .pooled,
                      batchSize: Int? = nil) throws -> SimilarityMatrix {
    var accumulator = try SimilarityAccumulator(channels: maps.shape[1], metric: metric, reduction: reduction)
    let n = maps.shape[0], size = batchSize ?? n
    for start in stride(from: 0, to: n, by: size) { try accumulator.add(imageSlice(maps, start..<min(start + size, n))) }
    return accumulator.result()
}

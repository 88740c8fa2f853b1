import SPConvLab

/// Linear CKA between the layers of two networks on the same images (vanilla vs SPConv, two
/// checkpoints, or any models imported from ONNX), streamed batch by batch.
///
/// Every pair (layer of the first network, layer of the second) whose maps have the same spatial
/// size gets a CKA value in [0, 1]; pairs of different sizes are not comparable under the
/// channel-level definition (docs/REDUNDANCY.md) and stay `nil`.
public struct LayerComparison: Sendable {
    public let firstLayers: [String]
    public let secondLayers: [String]
    /// Row-major `firstLayers.count x secondLayers.count`.
    public let values: [Double?]
    public let images: Int

    public subscript(first: Int, second: Int) -> Double? { values[first * secondLayers.count + second] }

    /// Runs both networks over `source` once.
    ///
    /// - Throws: `FeatureProbeError` when the networks do not take the same input.
    public static func run(_ first: any CapturableModel, _ firstLayers: LayerSelection, against second: any CapturableModel,
                           _ secondLayers: LayerSelection, source: any BatchSource, batchSize: Int = 32,
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> LayerComparison {
        let (a, b) = (first.inputSpec, second.inputSpec)
        guard a.channels == b.channels, a.size == b.size else {
            throw FeatureProbeError("The two networks take different inputs (\(a.name): \(a.channels)x\(a.size)x\(a.size); \(b.name): \(b.channels)x\(b.size)x\(b.size)); compare networks built for the same images.")
        }
        let (shapesA, shapesB) = (try first.outputShapes(), try second.outputShapes())
        for (network, selection, shapes) in [(first, firstLayers, shapesA), (second, secondLayers, shapesB)] {
            for path in selection.paths where shapes[path]!.count != 4 {
                throw FeatureProbeError("The module '\(path)' of \(network.modelDescription.displayName) outputs \(shapes[path]!.count)-dimensional values \(shapes[path]!); CKA here compares feature maps [N, C, H, W]. Choose convolution, block or pooling layers.")
            }
        }
        // Each comparable pair keeps C_a^2 + C_b^2 + C_a C_b float64 accumulators: refuse lists that
        // would need more than 2 GiB rather than exhaust memory part way.
        var bytes = 0
        for pathA in firstLayers.paths {
            for pathB in secondLayers.paths {
                let (sa, sb) = (shapesA[pathA]!, shapesB[pathB]!)
                if sa[2] == sb[2], sa[3] == sb[3] { bytes += 8 * (sa[1] * sa[1] + sb[1] * sb[1] + sa[1] * sb[1]) }
            }
        }
        guard bytes <= 2 << 30 else {
            throw FeatureProbeError("Comparing \(firstLayers.paths.count) x \(secondLayers.paths.count) layers would hold \(bytes >> 20) MiB of CKA accumulators (more than 2048); give fewer or narrower layers, for example 'blocks'.")
        }
        var accumulators: [Int: CKAAccumulator] = [:]
        for (i, pathA) in firstLayers.paths.enumerated() {
            for (j, pathB) in secondLayers.paths.enumerated() {
                let (sa, sb) = (shapesA[pathA]!, shapesB[pathB]!)
                guard sa.count == 4, sb.count == 4, sa[2] == sb[2], sa[3] == sb[3] else { continue }
                accumulators[i * secondLayers.paths.count + j] = try CKAAccumulator(firstChannels: sa[1], secondChannels: sb[1])
            }
        }
        let contextPathsA = Set(firstLayers.paths), contextPathsB = Set(secondLayers.paths)
        try source.forEachBatch(size: batchSize) { start, batch in
            let capturedA = try first.capture(batch, names: contextPathsA)
            let capturedB = try second.capture(batch, names: contextPathsB)
            for (index, _) in accumulators {
                let (i, j) = (index / secondLayers.paths.count, index % secondLayers.paths.count)
                try accumulators[index]!.add(capturedA[firstLayers.paths[i]]!, capturedB[secondLayers.paths[j]]!)
            }
            progress(start + batch.shape[0], source.count)
        }
        let count = firstLayers.paths.count * secondLayers.paths.count
        return LayerComparison(firstLayers: firstLayers.paths, secondLayers: secondLayers.paths,
                               values: (0..<count).map { accumulators[$0]?.result() }, images: source.count)
    }
}

import SPConvLab

/// One layer's redundancy: its similarity matrix and summary per metric, and the maps of one
/// chosen image for pictures.
public struct LayerRedundancy: Sendable {
    public let path: String
    /// `[C, H, W]` of the layer's output.
    public let shape: [Int]
    public let matrices: [SimilarityMetric: SimilarityMatrix]
    public let summaries: [SimilarityMetric: LayerSummary]
    /// The layer's maps `[C, H, W]` for the image chosen for grids, when it was in the source.
    public let exampleMaps: Tensor?
}

/// Runs a model (a zoo network or an imported ONNX model) over a batch source once and measures
/// channel redundancy in chosen layers.
///
/// Every layer and metric gets a streaming `SimilarityAccumulator`, fed batch by batch, so memory
/// holds one batch of maps and one C x C accumulator per layer and metric, whatever the image count.
public struct RedundancyAnalysis {
    public var metrics: [SimilarityMetric] = [.cosine]
    public var reduction: SimilarityReduction = .pooled
    public var threshold: Double = LayerSummary.defaultThreshold
    public var batchSize = 32
    /// Index of the image whose maps are kept for feature-map grids and pair sheets.
    public var exampleImage = 0

    public init() {}

    /// - Throws: `FeatureProbeError` for a threshold outside [0, 1] or an example image beyond the
    ///   source; the engine's errors for bad inputs.
    public func run(_ model: any CapturableModel, layers: LayerSelection, source: any BatchSource,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> [LayerRedundancy] {
        guard (0...1).contains(threshold) else {
            throw FeatureProbeError("The threshold \(threshold) is outside [0, 1]; give a similarity between 0 and 1 (default \(LayerSummary.defaultThreshold)).")
        }
        guard source.count >= 1 else { throw FeatureProbeError("The input holds no image; give at least one.") }
        guard (0..<source.count).contains(exampleImage) else {
            throw FeatureProbeError("The example image \(exampleImage) is outside the input's \(source.count) image(s); give an index from 0 to \(source.count - 1).")
        }
        let shapes = try model.outputShapes()
        var accumulators: [String: [SimilarityMetric: SimilarityAccumulator]] = [:]
        for path in layers.paths {
            let shape = shapes[path]!
            guard shape.count == 4 else {
                throw FeatureProbeError("The layer '\(path)' outputs \(shape.count)-dimensional values (\(shape)); redundancy needs a feature map [N, C, H, W]. Choose a convolution, block or pooling layer.")
            }
            var perMetric: [SimilarityMetric: SimilarityAccumulator] = [:]
            for metric in metrics {
                perMetric[metric] = try SimilarityAccumulator(channels: shape[1], metric: metric, reduction: reduction)
            }
            accumulators[path] = perMetric
        }
        var examples: [String: Tensor] = [:]
        try CaptureSession(model: model, layers: layers, batchSize: batchSize).run(source, progress: progress) { start, outputs in
            for (path, maps) in outputs {
                for metric in metrics { try accumulators[path]![metric]!.add(maps) }
                if (start..<(start + maps.shape[0])).contains(exampleImage) {
                    let per = maps.shape.dropFirst().reduce(1, *)
                    let offset = (exampleImage - start) * per
                    examples[path] = Tensor(shape: Array(maps.shape.dropFirst()), scalars: Array(maps.scalars[offset..<(offset + per)]))
                }
            }
        }
        return try layers.paths.map { path in
            var matrices: [SimilarityMetric: SimilarityMatrix] = [:]
            var summaries: [SimilarityMetric: LayerSummary] = [:]
            for metric in metrics {
                let matrix = accumulators[path]![metric]!.result()
                matrices[metric] = matrix
                summaries[metric] = try LayerSummary(matrix: matrix, threshold: threshold)
            }
            return LayerRedundancy(path: path, shape: Array(shapes[path]!.dropFirst()), matrices: matrices,
                                   summaries: summaries, exampleMaps: examples[path])
        }
    }
}

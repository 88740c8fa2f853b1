import SPConvLab

/// Runs a model (a zoo network or an imported ONNX model) over a batch source and hands the
/// captured outputs of chosen layers to a consumer, batch by batch: memory holds one batch of
/// maps, never the whole data set.
public struct CaptureSession {
    public let model: any CapturableModel
    public let layers: LayerSelection
    public let batchSize: Int

    public init(model: any CapturableModel, layers: LayerSelection, batchSize: Int = 32) {
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        self.model = model
        self.layers = layers
        self.batchSize = batchSize
    }

    /// Feeds every batch of `source` through the model once.
    ///
    /// - Parameters:
    ///   - progress: called after each batch with the number of samples done and the total.
    ///   - consume: receives the first sample index of the batch and the row-major outputs by path.
    public func run(_ source: any BatchSource, progress: (Int, Int) -> Void = { _, _ in },
                    consume: (_ start: Int, _ outputs: [String: Tensor]) throws -> Void) throws {
        let paths = Set(layers.paths)
        try source.forEachBatch(size: batchSize) { start, batch in
            try consume(start, try model.capture(batch, names: paths))
            progress(start + batch.shape[0], source.count)
        }
    }
}

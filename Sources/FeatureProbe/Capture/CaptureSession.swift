import SPConvLab

/// Runs a network over a batch source and hands the captured outputs of chosen layers to a
/// consumer, batch by batch: memory holds one batch of maps, never the whole data set.
public struct CaptureSession {
    public let network: Network
    public let layers: LayerSelection
    public let batchSize: Int

    public init(network: Network, layers: LayerSelection, batchSize: Int = 32) {
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        self.network = network
        self.layers = layers
        self.batchSize = batchSize
    }

    /// Feeds every batch of `source` through the network once.
    ///
    /// - Parameters:
    ///   - progress: called after each batch with the number of samples done and the total.
    ///   - consume: receives the first sample index of the batch and the row-major outputs by path.
    public func run(_ source: any BatchSource, progress: (Int, Int) -> Void = { _, _ in },
                    consume: (_ start: Int, _ outputs: [String: Tensor]) throws -> Void) throws {
        let paths = Set(layers.paths)
        try source.forEachBatch(size: batchSize) { start, batch in
            let context = ForwardContext(backend: .fast, capturing: paths)
            _ = try network.forward(batch, context: context)
            try consume(start, context.captured)
            progress(start + batch.shape[0], source.count)
        }
    }
}

import Foundation
import SPConvLab

/// Timing and memory measurements of the similarity step, for the CLI's benchmark command and
/// docs/PERFORMANCE.md (tools/bench_similarity_numpy.py is NumPy's twin).
///
/// Benchmarks are run in release builds, never as timed tests.
public enum SimilarityBenchmark {
    /// The median time of turning one batch of maps into a similarity matrix.
    ///
    /// Each run makes an accumulator, adds the whole batch and takes the result, on seeded
    /// standard-normal maps made once beforehand.
    ///
    /// - Parameters:
    ///   - shape: the `[N, C, H, W]` shape of the maps.
    ///   - metric: cosine or pearson.
    ///   - reduction: pooled (the default) or per image.
    ///   - warmup: untimed runs first.
    ///   - runs: timed runs.
    ///   - seed: the generator seed of the maps.
    /// - Returns: the median wall time in milliseconds.
    /// - Throws: `FeatureProbeError` when `shape` is not four positive extents.
    public static func medianMilliseconds(shape: [Int], metric: SimilarityMetric,
                                          reduction: SimilarityReduction = .pooled,
                                          warmup: Int = 3, runs: Int = 20, seed: UInt64 = 0) throws -> Double {
        guard shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
            throw FeatureProbeError("A similarity benchmark shape is four positive extents [N, C, H, W], got \(shape).")
        }
        var generator = SeededGenerator(seed: seed)
        let maps = Tensor.gaussian(shape, generator: &generator)
        var sink: Float = 0
        let times = try Stopwatch.measure(warmup: warmup, runs: max(runs, 1)) {
            var accumulator = try SimilarityAccumulator(channels: shape[1], metric: metric, reduction: reduction)
            try accumulator.add(maps)
            sink += accumulator.result().values[0]
        }
        precondition(sink.isFinite, "similarity benchmark produced a non-finite value")
        return Stopwatch.median(times)
    }

    /// Streams `images` seeded synthetic images through an accumulator in batches of `batchSize`
    /// (each batch made, added and dropped), as the memory measurement does.
    ///
    /// Run it in a fresh process and read `peakResidentBytes` afterwards: the peak must not grow
    /// with `images`.
    ///
    /// - Returns: the resulting similarity matrix.
    /// - Throws: `FeatureProbeError` for non-positive sizes.
    public static func streamSyntheticImages(images: Int, batchSize: Int, channels: Int, height: Int, width: Int,
                                             metric: SimilarityMetric, reduction: SimilarityReduction = .pooled,
                                             seed: UInt64 = 0) throws -> SimilarityMatrix {
        guard images > 0, batchSize > 0, height > 0, width > 0 else {
            throw FeatureProbeError("Streaming needs positive image count, batch size, height and width, got \(images), \(batchSize), \(height), \(width).")
        }
        var generator = SeededGenerator(seed: seed)
        var accumulator = try SimilarityAccumulator(channels: channels, metric: metric, reduction: reduction)
        var done = 0
        while done < images {
            let count = min(batchSize, images - done)
            try accumulator.add(Tensor.gaussian([count, channels, height, width], generator: &generator))
            done += count
        }
        return accumulator.result()
    }

    /// The peak resident set size of this process so far, in bytes (`getrusage`).
    public static var peakResidentBytes: Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }
}

import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

struct BenchSimilarityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-similarity",
        abstract: "Time the similarity step on batches of maps, or measure peak memory while streaming many images.",
        discussion: """
        Default: median ms to turn one batch of seeded maps into a similarity matrix, for the shapes \
        (32,16,32,32), (32,64,8,8), (32,256,16,16), (8,512,28,28) and both metrics, one JSON line each. \
        With --stream N: streams N seeded 64-channel 16x16 images in batches of 100 and prints the \
        process's peak resident memory (run it twice, with 100 and 10000, to compare). \
        tools/bench_similarity.py runs this beside NumPy and writes docs/PERFORMANCE.md.
        """)

    @Option(help: "Timed runs per shape and metric.")
    var runs: Int = 30
    @Option(help: "Untimed runs first.")
    var warmup: Int = 3
    @Option(help: "Threads for BLAS (default: all cores).")
    var threads: Int?
    @Option(help: "Instead of timing, stream this many images and report peak memory.")
    var stream: Int?
    @Option(help: "cosine or pearson (for --stream).")
    var metric: String = "pearson"

    static let shapes = [[32, 16, 32, 32], [32, 64, 8, 8], [32, 256, 16, 16], [8, 512, 28, 28]]

    func validate() throws {
        guard runs >= 1, warmup >= 0 else { throw ValidationError("--runs \(runs) must be at least 1 and --warmup \(warmup) at least 0.") }
        try ThreadLimit.validate(threads)
        if let stream, stream < 1 { throw ValidationError("--stream \(stream) must be at least 1.") }
        guard SimilarityMetric(rawValue: metric) != nil else { throw ValidationError("--metric '\(metric)' is not known; choose cosine or pearson.") }
    }

    func run() throws {
        try reportingFailures {
            if let threads { Engine.setThreads(threads) }
            if let stream {
                let matrix = try SimilarityBenchmark.streamSyntheticImages(images: stream, batchSize: 100, channels: 64, height: 16,
                                                                           width: 16, metric: SimilarityMetric(rawValue: metric)!)
                print("{\"images\": \(matrix.images), \"metric\": \"\(metric)\", \"peak_rss_bytes\": \(SimilarityBenchmark.peakResidentBytes)}")
                return
            }
            for shape in Self.shapes {
                for metric in SimilarityMetric.allCases {
                    let ms = try SimilarityBenchmark.medianMilliseconds(shape: shape, metric: metric, warmup: warmup, runs: runs)
                    print("{\"shape\": \(shape), \"metric\": \"\(metric.rawValue)\", \"ms\": \(ms), \"threads\": \(Engine.threads)}")
                }
            }
        }
    }
}

import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

struct SimilarityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Measure channel redundancy of chosen layers: similarity matrices, heatmaps, feature-map grids, summary.csv.",
        discussion: """
        Each channel of a layer is the vector of its activations over all images and positions. The \
        C x C similarity (cosine, or pearson = cosine of the mean-centred vectors) is accumulated \
        batch by batch, so memory does not grow with the image count. --reduce per-image averages \
        each image's own matrix instead. Writes, per layer and metric, <out>/<layer>.<metric>.csv \
        (the matrix, %.6g, no header) and .png (heatmap, clustered order); per layer <layer>.grid.png \
        (the maps of --image, clusters marked) and <layer>.pairs.png (most similar pairs); and \
        <out>/summary.csv. Quantities are defined in docs/REDUNDANCY.md.
        """)

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model to probe instead of a zoo --model (layers are its node names or module paths).", valueName: "file"))
    var onnx: String?
    @OptionGroup var inputs: InputOptions
    @Option(help: "Layers: comma-separated dotted paths (layer1.0.conv1), globs (layer*.*.conv2) or sets (convs, blocks, all); with --onnx, node names (/layer1/layer1.0/conv1/Conv), module paths, globs, convs or all.")
    var layers: String
    @Option(help: "cosine, pearson, or both.")
    var metric: String = "cosine"
    @Option(help: "pooled (one matrix over all images and positions) or per-image (mean of each image's matrix).")
    var reduce: String = "pooled"
    @Option(help: "Similarity at or above which two channels count as near-duplicates and clusters join, in [0, 1].")
    var threshold: Double = LayerSummary.defaultThreshold
    @Option(help: "Heatmap channel order: clustered or index.")
    var order: String = "clustered"
    @Option(help: "Index of the image whose maps the grids and pair sheets show.")
    var image: Int = 0
    @OptionGroup var figures: FigureOptions
    @Flag(help: "Also write the matrices as .npy.")
    var npy = false
    @Option(help: "Output folder (created if missing).")
    var out: String
    @Flag(help: "Write into --out even when it holds files another command (or you) put there.") var force = false

    func validate() throws {
        try model.validateChoice(onnx: onnx)
        guard ["cosine", "pearson", "both"].contains(metric) else {
            throw ValidationError("--metric '\(metric)' is not known; choose cosine, pearson or both.")
        }
        guard SimilarityReduction(rawValue: reduce) != nil else {
            throw ValidationError("--reduce '\(reduce)' is not known; choose pooled or per-image.")
        }
        guard (0...1).contains(threshold) else {
            throw ValidationError("--threshold \(threshold) is outside [0, 1]; give a similarity between 0 and 1.")
        }
        guard ["clustered", "index"].contains(order) else {
            throw ValidationError("--order '\(order)' is not known; choose clustered or index.")
        }
        guard image >= 0 else { throw ValidationError("--image \(image) must be 0 or more.") }
    }

    func run() throws {
        try reportingFailures {
            let (analysed, source, selection) = try model.makeProbed(onnx: onnx, inputs: inputs, layers: layers, featureMapsOnly: true)
            try OutputFolder.prepare(out, command: "similarity", force: force)
            var analysis = RedundancyAnalysis()
            analysis.metrics = metric == "both" ? [.cosine, .pearson] : [SimilarityMetric(rawValue: metric)!]
            var report = SimilarityReport()
            report.formats = figures.list()
            report.includeNPY = npy
            report.clusteredOrder = order == "clustered"
            try StagedFolder.checkTargets(report.fileNames(layers: selection.paths, metrics: analysis.metrics), in: out)
            analysis.reduction = SimilarityReduction(rawValue: reduce)!
            analysis.threshold = threshold
            analysis.batchSize = inputs.batch
            analysis.exampleImage = image
            let progress = ProgressBar("similarity")
            let results: [LayerRedundancy]
            do {
                results = try analysis.run(analysed, layers: selection, source: source) { progress.update($0, of: $1) }
            } catch {
                progress.close()
                throw error
            }
            let files = try report.write(results, model: analysed.modelDescription, to: out)
            try OutputFolder.markWritten(out, command: "similarity")
            print(CSVWriter.table(header: SimilarityReport.summaryHeader, rows: SimilarityReport.summaryRows(results, model: analysed.modelDescription)),
                  terminator: "")
            printError("wrote \(files.count) files for \(results.count) layer(s) of \(source.count) image(s) to \(out)")
        }
    }
}

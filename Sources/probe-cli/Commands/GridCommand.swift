import ArgumentParser
import Drawing
import FeatureProbe
import Foundation
import SPConvLab

struct GridCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grid",
        abstract: "Draw one layer's feature maps for one image, tiled with channel indices and clusters marked (the paper's Figure 1).",
        discussion: """
        The clusters come from the cosine similarity of the channels over this image's positions \
        (average linkage at --threshold). Each map is min-max normalised on its own.
        """)

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model to draw from instead of a zoo --model (--layer is then a node name or module path).", valueName: "file"))
    var onnx: String?
    @OptionGroup var inputs: InputOptions
    @Option(help: "The layer: one dotted path, or with --onnx one node name or module path.")
    var layer: String
    @Option(help: "Index of the image in the input.")
    var image: Int = 0
    @Option(help: "Similarity at which channels join a cluster, in [0, 1].")
    var threshold: Double = LayerSummary.defaultThreshold
    @Option(help: "The file to write: .png (drawn at 2x), .svg or .pdf.")
    var out: String
    @Flag(help: "Replace --out when it exists.")
    var force = false

    func validate() throws {
        try model.validateChoice(onnx: onnx)
        guard image >= 0 else { throw ValidationError("--image \(image) must be 0 or more.") }
        guard (0...1).contains(threshold) else {
            throw ValidationError("--threshold \(threshold) is outside [0, 1]; give a similarity between 0 and 1.")
        }
        guard outputFormat != nil else {
            throw ValidationError("--out '\(out)' must name a .png, .svg or .pdf file; its extension chooses the format.")
        }
        try OutputFile.check(out, flag: "--out", inputs: [(flag: "--input", path: inputs.input)] + (model.weights.map { [(flag: "--weights", path: $0)] } ?? [])
                                 + (onnx.map { [(flag: "--onnx", path: $0)] } ?? []),
                             force: force)
    }

    /// The format `--out`'s extension names.
    var outputFormat: FigureFormat? {
        FigureFormat(rawValue: URL(fileURLWithPath: out).pathExtension.lowercased())
    }

    func run() throws {
        try reportingFailures {
            let (network, source, selection) = try model.makeProbed(onnx: onnx, inputs: inputs, layers: layer)
            guard selection.paths.count == 1 else {
                throw FeatureProbeError("--layer '\(layer)' selects \(selection.paths.count) modules; grid draws one, for example \(selection.paths.prefix(3).joined(separator: ", ")).")
            }
            guard image < source.count else {
                throw FeatureProbeError("--image \(image) is outside the input's \(source.count) image(s); give an index from 0 to \(source.count - 1).")
            }
            var analysis = RedundancyAnalysis()
            analysis.threshold = threshold
            analysis.exampleImage = 0
            let one = TensorBatchSource(try source.batch(image..<(image + 1)), name: source.label(of: image))
            let result = try analysis.run(network, layers: selection, source: one)[0]
            guard let maps = result.exampleMaps, let summary = result.summaries[.cosine] else { return }
            let picture = FeatureGridRenderer.render(
                maps: maps, clusterOf: summary.clusterOfChannel,
                title: "\(result.path) · \(network.modelDescription.displayName) · \(source.label(of: image)) · \(summary.clusters) clusters (cosine ≥ \(threshold))")
            let bytes = try FigureFiles.encode(picture, stem: "grid", formats: [outputFormat!])[0].bytes
            try FileBytes.writeAtomically(bytes, to: out)
            printError("wrote \(out)")
        }
    }
}

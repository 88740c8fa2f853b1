import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Save the raw feature maps of chosen layers as .npy files, for other tools.",
        discussion: """
        Writes <out>/<layer>.npy (float32, [N, C, H, W], the layer named by its dotted PyTorch path) \
        for every selected layer, batch by batch, plus <out>/inputs.txt naming each image in order. \
        Layers: dotted paths (layer1.0.conv1, features.3, layer1.0.conv1.gwc), globs (layer*.*.conv2), \
        or the sets convs, blocks, all. With --onnx, layers are ONNX node names or module paths \
        (see similarity) and the files are named after the node, its '/' written as '_'.
        """)

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model to capture from instead of a zoo --model.", valueName: "file"))
    var onnx: String?
    @OptionGroup var inputs: InputOptions
    @Option(help: "Layers to capture (comma-separated paths, globs or sets).")
    var layers: String
    @Option(help: "Output folder (created if missing).")
    var out: String
    @Flag(help: "Write into --out even when it holds files another command (or you) put there.") var force = false

    func validate() throws { try model.validateChoice(onnx: onnx) }

    func run() throws {
        try reportingFailures {
            let (captured, source, selection) = try model.makeProbed(onnx: onnx, inputs: inputs, layers: layers)
            try OutputFolder.prepare(out, command: "capture", force: force)
            let shapes = try captured.outputShapes()
            let file = { (path: String) in "\(SimilarityReport.fileStem(path)).npy" }
            try StagedFolder.checkTargets(selection.paths.map(file) + ["inputs.txt"], in: out)
            for path in selection.paths where shapes[path]!.count != 4 {
                throw FeatureProbeError("The layer '\(path)' outputs \(shapes[path]!.count)-dimensional values \(shapes[path]!); capture writes feature maps [N, C, H, W]. Choose convolution, block or pooling layers.")
            }
            var writers: [String: NPYStreamWriter] = [:]
            for path in selection.paths {
                writers[path] = try NPYStreamWriter(path: "\(out)/\(file(path))", shape: [source.count] + shapes[path]!.dropFirst())
            }
            let progress = ProgressBar("capture")
            do {
                try CaptureSession(model: captured, layers: selection, batchSize: inputs.batch).run(source, progress: {
                    progress.update($0, of: $1)
                }) { _, outputs in
                    for (path, tensor) in outputs { try writers[path]?.append(tensor) }
                }
                for writer in writers.values { try writer.finish() }
            } catch {
                progress.close()
                writers.values.forEach { $0.abandon() }
                throw error
            }
            try FileBytes.writeText((0..<source.count).map { source.label(of: $0) }.joined(separator: "\n") + "\n",
                                    to: "\(out)/inputs.txt")
            print("wrote \(writers.count) layer(s) of \(source.count) image(s) to \(out)")
            try OutputFolder.markWritten(out, command: "capture")
        }
    }
}

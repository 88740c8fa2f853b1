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
        or the sets convs, blocks, all.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var inputs: InputOptions
    @Option(help: "Layers to capture (comma-separated paths, globs or sets).")
    var layers: String
    @Option(help: "Output folder (created if missing).")
    var out: String
    @Flag(help: "Write into --out even when it holds files another command (or you) put there.") var force = false

    func run() throws {
        try reportingFailures {
            let network = try model.makeNetwork()
            let source = try inputs.makeSource(for: network)
            let selection = try LayerSelection(layers, in: network)
            try OutputFolder.prepare(out, command: "capture", force: force)
            let shapes = try network.outputShapes()
            try StagedFolder.checkTargets(selection.paths.map { "\($0).npy" } + ["inputs.txt"], in: out)
            for path in selection.paths where shapes[path]!.count != 4 {
                throw FeatureProbeError("The module '\(path)' outputs \(shapes[path]!.count)-dimensional values \(shapes[path]!); capture writes feature maps [N, C, H, W]. Choose convolution, block or pooling layers.")
            }
            var writers: [String: NPYStreamWriter] = [:]
            for path in selection.paths {
                writers[path] = try NPYStreamWriter(path: "\(out)/\(path).npy", shape: [source.count] + shapes[path]!.dropFirst())
            }
            let progress = ProgressBar("capture")
            do {
                try CaptureSession(model: network, layers: selection, batchSize: inputs.batch).run(source, progress: {
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

import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Linear CKA between the layers of two networks on the same images (for example vanilla vs SPConv).",
        discussion: """
        The first network is given by the usual model flags and --weights, or by --onnx; the second \
        is the first's zoo architecture with --against-variant, --against-ratio, --against-groups and \
        --against-weights, or any model given by --against-onnx (which a first --onnx needs). \
        --layers is resolved on each network (the same paths name the conv and the SPConv that \
        replaced it); --against-layers names the second network's layers where its names differ \
        (ONNX node names, for example). Writes <out>/cka.csv (rows: first network's layers, columns: second's, %.6g, \
        empty where the spatial sizes differ), <out>/cka_pairs.csv (RFC 4180: layer_a, layer_b, \
        cka) and <out>/cka.png (when both lists have the same length).
        """)

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model as the first network instead of a zoo --model.", valueName: "file"))
    var onnx: String?
    @Option(name: .customLong("against-onnx"), help: ArgumentHelp("An ONNX model as the second network (instead of the first's architecture with the --against-* flags).", valueName: "file"))
    var againstOnnx: String?
    @Option(name: .customLong("against-variant"), help: "Variant of the second network: vanilla or spconv (default spconv).")
    var againstVariantFlag: ModelVariant.Kind?
    @Option(name: .customLong("against-ratio"), help: "SPConv ratio of the second network (default 1/2).")
    var againstRatioFlag: String?
    @Option(name: .customLong("against-groups"), help: "SPConv groups of the second network (default 2).")
    var againstGroupsFlag: Int?
    @Option(name: .customLong("against-weights"), help: "Weights of the second network (.safetensors).")
    var againstWeights: String?
    @OptionGroup var inputs: InputOptions
    @Option(help: "Layers: comma-separated dotted paths, globs or sets (convs, blocks, all); with --onnx, node names, module paths, globs, convs or all.")
    var layers: String
    @Option(name: .customLong("against-layers"), help: "Layers of the second network, in the same forms (default: --layers).")
    var againstLayers: String?
    @OptionGroup var figures: FigureOptions
    @Option(help: "Output folder (created if missing).")
    var out: String
    @Flag(help: "Write into --out even when it holds files another command (or you) put there.") var force = false

    var againstVariant: ModelVariant.Kind { againstVariantFlag ?? .spconv }
    var againstRatio: String { againstRatioFlag ?? "1/2" }
    var againstGroups: Int { againstGroupsFlag ?? 2 }

    func validate() throws {
        try model.validateChoice(onnx: onnx)
        if onnx != nil && againstOnnx == nil {
            throw ValidationError("--onnx '\(onnx!)' is the first network; give the second with --against-onnx FILE (the --against-variant flags build zoo networks only).")
        }
        if let againstOnnx {
            let zooOnly = [("--against-variant", againstVariantFlag != nil), ("--against-ratio", againstRatioFlag != nil),
                           ("--against-groups", againstGroupsFlag != nil), ("--against-weights", againstWeights != nil)]
                .filter(\.1).map(\.0)
            if !zooOnly.isEmpty {
                throw ValidationError("\(zooOnly.joined(separator: " and ")) \(zooOnly.count == 1 ? "describes" : "describe") a zoo second network, but --against-onnx '\(againstOnnx)' is the second network; drop \(zooOnly.count == 1 ? "it" : "them"), or leave --against-onnx out to compare against the first's architecture.")
            }
        }
        do { _ = try SPConvConfiguration.parseRatio(againstRatio, source: "--against-ratio") } catch let error as SPConvLabError {
            throw ValidationError(error.message)
        }
        guard againstGroups >= 1 else { throw ValidationError("--against-groups \(againstGroups) must be a positive integer.") }
    }

    func run() throws {
        try reportingFailures {
            let (first, source, layersA) = try model.makeProbed(onnx: onnx, inputs: inputs, layers: layers)
            let second: any CapturableModel
            let layersB: LayerSelection
            if let againstOnnx {
                let imported = try ONNXFeatureModel(contentsOf: againstOnnx)
                try inputs.memory.checkInference(imported.model, batch: inputs.batch)
                (second, layersB) = (imported, try LayerSelection(onnx: againstLayers ?? layers, in: imported.model))
            } else {
                var spec = try model.spec()
                spec.variant = switch againstVariant {
                case .spconv: .spconv(SPConvConfiguration(ratio: try SPConvConfiguration.parseRatio(againstRatio, source: "--against-ratio"),
                                                          groups: againstGroups))
                case .vanilla: .vanilla
                }
                let network = try Network(spec)
                if let againstWeights { try network.loadWeights(contentsOf: againstWeights) }
                try inputs.memory.checkInference(network, batch: inputs.batch)
                (second, layersB) = (network, try LayerSelection(againstLayers ?? layers, in: network))
            }
            try OutputFolder.prepare(out, command: "compare", force: force)
            let progress = ProgressBar("compare")
            let result: LayerComparison
            do {
                result = try LayerComparison.run(first, layersA, against: second, layersB, source: source,
                                                 batchSize: inputs.batch) { progress.update($0, of: $1) }
            } catch {
                progress.close()
                throw error
            }
            let cell = { (value: Double?) in value.map { CSVWriter.formatG6($0) } ?? "" }
            var matrix = ""
            for i in result.firstLayers.indices {
                matrix += result.secondLayers.indices.map { cell(result[i, $0]) }.joined(separator: ",") + "\n"
            }
            var pairRows: [[String]] = []
            for i in result.firstLayers.indices {
                for j in result.secondLayers.indices where result[i, j] != nil {
                    pairRows.append([result.firstLayers[i], result.secondLayers[j], cell(result[i, j])])
                }
            }
            var files: [(name: String, bytes: [UInt8])] = [
                ("cka.csv", Array(matrix.utf8)),
                ("cka_pairs.csv", Array(CSVWriter.table(header: ["layer_a", "layer_b", "cka"], rows: pairRows).utf8)),
            ]
            if result.firstLayers.count == result.secondLayers.count {
                let figure = HeatmapRenderer.render(
                    values: result.values.map { $0.map(Float.init) ?? .nan }, channels: result.firstLayers.count, order: nil,
                    title: "linear CKA · \(result.images) images",
                    subtitle: "rows \(first.modelDescription.displayName), columns \(second.modelDescription.displayName); gray = sizes differ")
                files += try FigureFiles.encode(figure, stem: "cka", formats: figures.list(), title: "linear CKA")
            }
            try StagedFolder.write(files, into: out)
            try OutputFolder.markWritten(out, command: "compare")
            print(CSVWriter.table(header: ["layer_a", "layer_b", "cka"],
                                  rows: pairRows.filter { row in result.firstLayers.firstIndex(of: row[0]) == result.secondLayers.firstIndex(of: row[1]) }),
                  terminator: "")
            printError("wrote \(files.map(\.name).joined(separator: ", ")) to \(out)")
        }
    }
}

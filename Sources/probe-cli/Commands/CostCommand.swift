import ArgumentParser
import FeatureProbe
import SPConvLab

struct CostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cost",
        abstract: "Count parameters, MACs and FLOPs per image, per layer and in total.",
        discussion: """
        Parameters are conv, BatchNorm-affine and linear weights and biases (not running statistics), \
        as PyTorch counts them. MACs are conv and linear multiply-accumulates. FLOPs follow \
        docs/COST.md: 2 x MACs plus biases, BatchNorm, ReLU, adds, pooling and SPConv's fusion.

        With --onnx FILE instead of --model, the same counts for any CNN saved as ONNX (as \
        torch.onnx.export writes it), one row per node under the node's name; an exporter that \
        folded BatchNorm into the convolutions leaves no BatchNorm parameters to count.
        """)

    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model to count instead of a zoo --model.", valueName: "file"))
    var onnx: String?

    @Option(name: .customLong("spconv"), help: ArgumentHelp("With --onnx: also what replacing each dense 3x3 convolution by SPConv at this split ratio and group count would cost (1/2,2).", valueName: "ratio,groups"))
    var spconv: String?

    func validate() throws {
        try model.validateChoice(onnx: onnx)
        if spconv != nil && onnx == nil {
            throw ValidationError("--spconv is a dry run for --onnx models; for a zoo model use --variant spconv --ratio R --groups G.")
        }
        if let spconv { _ = try Self.parseSPConv(spconv) }
    }

    /// `RATIO,GROUPS` as a configuration.
    static func parseSPConv(_ text: String) throws -> SPConvConfiguration {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let groups = Int(parts[1]), groups >= 1 else {
            throw ValidationError("--spconv '\(text)' is not RATIO,GROUPS; give a split ratio and a positive group count, such as 1/2,2 or 0.25,1.")
        }
        do {
            return SPConvConfiguration(ratio: try SPConvConfiguration.parseRatio(String(parts[0]), source: "--spconv"), groups: groups)
        } catch let error as SPConvLabError {
            throw ValidationError(error.message)
        }
    }

    struct SPConvDryRun: Encodable {
        var ratio: Double
        var groups: Int
        var params: Int
        var macs: Int
        var flops: Int
        var replaced: [Row]
        var kept: [Kept]
        struct Row: Encodable { var node: String; var before: LayerCost; var after: LayerCost }
        struct Kept: Encodable { var node: String; var reason: String }
    }

    func dryRun(_ imported: ONNXModel, _ ledger: CostLedger) throws -> SPConvDryRun? {
        guard let spconv else { return nil }
        let configuration = try Self.parseSPConv(spconv)
        let rows = try imported.spconvReplacements(configuration)
        let replaced = rows.compactMap { r in r.after.map { SPConvDryRun.Row(node: r.node, before: r.before, after: $0) } }
        func total(_ key: KeyPath<LayerCost, Int>, _ base: Int) -> Int {
            base + replaced.reduce(0) { $0 + $1.after[keyPath: key] - $1.before[keyPath: key] }
        }
        return SPConvDryRun(ratio: configuration.ratio, groups: configuration.groups, params: total(\.params, ledger.params),
                            macs: total(\.macs, ledger.macs), flops: total(\.flops, ledger.flops), replaced: replaced,
                            kept: rows.compactMap { r in r.reason.map { SPConvDryRun.Kept(node: r.node, reason: $0) } })
    }

    @Flag(help: "Print JSON: integer params, macs, flops and a layers array.")
    var json = false

    @Flag(help: "Also list every layer in the table output.")
    var layers = false

    struct Report: Encodable {
        var model: String
        var variant: String
        var ratio: Double?
        var groups: Int?
        var inChannels: Int
        var classes: Int
        var inputSize: Int
        var params: Int
        var macs: Int
        var flops: Int
        var layers: [LayerCost]
    }

    struct ONNXReport: Encodable {
        var onnx: String
        var inputShape: [Int]
        var params: Int
        var macs: Int
        var flops: Int
        var layers: [LayerCost]
        var spconv: SPConvDryRun?
    }

    func run() throws {
        try reportingFailures {
            if let onnx {
                let imported = try ONNXModel(contentsOf: onnx)
                let ledger = try imported.cost()
                let input = imported.inputShape.dropFirst().map { $0! }
                let dry = try dryRun(imported, ledger)
                if json {
                    print(try jsonText(ONNXReport(onnx: onnx, inputShape: input, params: ledger.params, macs: ledger.macs,
                                                  flops: ledger.flops, layers: ledger.layers, spconv: dry)))
                    return
                }
                let width = max(36, ledger.layers.map(\.path.count).max() ?? 0)
                if layers { printLayers(ledger, width: width) }
                print("\(onnx) (ONNX opset \(imported.opset), \(imported.nodes.count) nodes), \(input.map(String.init).joined(separator: "x")) input")
                printTotals(ledger)
                if let dry { printDryRun(dry, ledger, width: width) }
                return
            }
            let network = try model.makeNetwork()
            let ledger = try network.cost()
            let spec = network.spec
            if json {
                let c = spec.variant.spconvConfiguration
                print(try jsonText(Report(model: spec.architecture.rawValue, variant: spec.variant.name, ratio: c?.ratio,
                                          groups: c?.groups, inChannels: spec.inputChannels, classes: spec.classes,
                                          inputSize: spec.inputSize, params: ledger.params, macs: ledger.macs,
                                          flops: ledger.flops, layers: ledger.layers)))
                return
            }
            if layers { printLayers(ledger, width: 36) }
            print("\(spec.displayName), \(spec.inputChannels)x\(spec.inputSize)x\(spec.inputSize) input, \(spec.classes) classes")
            printTotals(ledger)
        }
    }

    private func printLayers(_ ledger: CostLedger, width: Int) {
        print("layer".padding(toLength: width, withPad: " ", startingAt: 0) + " type         output            params          MACs         FLOPs")
        for l in ledger.layers {
            print(l.path.padding(toLength: width, withPad: " ", startingAt: 0) + " "
                  + l.type.padding(toLength: 12, withPad: " ", startingAt: 0) + " "
                  + "\(l.outputShape.dropFirst().map(String.init).joined(separator: "x"))".padding(toLength: 14, withPad: " ", startingAt: 0)
                  + grouped(l.params).leftPadded(10) + grouped(l.macs).leftPadded(14) + grouped(l.flops).leftPadded(14))
        }
        print("")
    }

    private func printDryRun(_ dry: SPConvDryRun, _ ledger: CostLedger, width: Int) {
        func share(_ after: Int, _ before: Int) -> String { before == 0 ? "-" : String(format: "%.3f", Double(after) / Double(before)) }
        print("")
        print("with SPConv (ratio \(CSVWriter.formatG6(dry.ratio)), \(dry.groups) groups) in place of \(dry.replaced.count) of \(dry.replaced.count + dry.kept.count) convolutions:")
        if layers {
            print("node".padding(toLength: width, withPad: " ", startingAt: 0) + "   params before   params after     MACs before      MACs after")
            for r in dry.replaced {
                print(r.node.padding(toLength: width, withPad: " ", startingAt: 0) + grouped(r.before.params).leftPadded(16)
                      + grouped(r.after.params).leftPadded(15) + grouped(r.before.macs).leftPadded(16) + grouped(r.after.macs).leftPadded(16))
            }
            for k in dry.kept { print(k.node.padding(toLength: width, withPad: " ", startingAt: 0) + "   kept: \(k.reason)") }
        }
        print("params: \(grouped(dry.params)) (\(millions(dry.params)), \(share(dry.params, ledger.params)) of before)")
        print("MACs:   \(grouped(dry.macs)) (\(millions(dry.macs)) per image, \(share(dry.macs, ledger.macs)) of before)")
        print("FLOPs:  \(grouped(dry.flops)) (\(millions(dry.flops)) per image, \(share(dry.flops, ledger.flops)) of before)")
    }

    private func printTotals(_ ledger: CostLedger) {
        print("params: \(grouped(ledger.params)) (\(millions(ledger.params)))")
        print("MACs:   \(grouped(ledger.macs)) (\(millions(ledger.macs)) per image)")
        print("FLOPs:  \(grouped(ledger.flops)) (\(millions(ledger.flops)) per image)")
    }
}

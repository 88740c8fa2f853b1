import ArgumentParser
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

    func validate() throws { try model.validateChoice(onnx: onnx) }

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
    }

    func run() throws {
        try reportingFailures {
            if let onnx {
                let imported = try ONNXModel(contentsOf: onnx)
                let ledger = try imported.cost()
                let input = imported.inputShape.dropFirst().map { $0! }
                if json {
                    print(try jsonText(ONNXReport(onnx: onnx, inputShape: input, params: ledger.params, macs: ledger.macs,
                                                  flops: ledger.flops, layers: ledger.layers)))
                    return
                }
                if layers { printLayers(ledger, width: max(36, ledger.layers.map(\.path.count).max() ?? 0)) }
                print("\(onnx) (ONNX opset \(imported.opset), \(imported.nodes.count) nodes), \(input.map(String.init).joined(separator: "x")) input")
                printTotals(ledger)
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

    private func printTotals(_ ledger: CostLedger) {
        print("params: \(grouped(ledger.params)) (\(millions(ledger.params)))")
        print("MACs:   \(grouped(ledger.macs)) (\(millions(ledger.macs)) per image)")
        print("FLOPs:  \(grouped(ledger.flops)) (\(millions(ledger.flops)) per image)")
    }
}

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
        """)

    @OptionGroup var model: ModelOptions

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

    func run() throws {
        try reportingFailures {
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
            if layers {
                print("layer".padding(toLength: 36, withPad: " ", startingAt: 0) + " type         output            params          MACs         FLOPs")
                for l in ledger.layers {
                    print(l.path.padding(toLength: 36, withPad: " ", startingAt: 0) + " "
                          + l.type.padding(toLength: 12, withPad: " ", startingAt: 0) + " "
                          + "\(l.outputShape.dropFirst().map(String.init).joined(separator: "x"))".padding(toLength: 14, withPad: " ", startingAt: 0)
                          + grouped(l.params).leftPadded(10) + grouped(l.macs).leftPadded(14) + grouped(l.flops).leftPadded(14))
                }
                print("")
            }
            print("\(spec.displayName), \(spec.inputChannels)x\(spec.inputSize)x\(spec.inputSize) input, \(spec.classes) classes")
            print("params: \(grouped(ledger.params)) (\(millions(ledger.params)))")
            print("MACs:   \(grouped(ledger.macs)) (\(millions(ledger.macs)) per image)")
            print("FLOPs:  \(grouped(ledger.flops)) (\(millions(ledger.flops)) per image)")
        }
    }
}

import SPConvCore
import SPConvKernels

/// The paper's recipe as a dry run on an imported model: what replacing each eligible 3x3
/// convolution by SPConv would cost.
extension ONNXModel {
    /// One convolution of the model and its SPConv replacement's cost, or why it stays.
    public struct SPConvReplacement: Sendable {
        /// The Conv node.
        public let node: String
        /// The node's own row of the ledger.
        public let before: LayerCost
        /// The SPConv layer's totals in its place (its own parameters: gwc, pwc, conv1x1 with its
        /// bias, and its two branch batch norms), or nil when the node is not replaced.
        public let after: LayerCost?
        /// Why the node is not replaced, when it is not.
        public let reason: String?
    }

    /// Every `Conv` node of the ledger: 3x3, dense (groups 1), dilation 1, stride 1 or 2 with
    /// padding 1 on every side is replaced by `SPConv` with `configuration` (at stride 2 on
    /// even sizes); any other stays, with the reason. Costs per image under docs/COST.md.
    public func spconvReplacements(_ configuration: SPConvConfiguration) throws -> [SPConvReplacement] {
        let (known, ledger) = try infer(batch: 1)
        let rows = Dictionary(ledger.layers.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        return try nodes.filter { $0.opType == "Conv" }.map { node in
            let before = rows[node.name]!
            let x = known[node.inputs[0]]!.shape, w = known[node.inputs[1]]!.shape
            func attribute(_ name: String) -> [Int]? {
                if case .ints(let v)? = node.attributes[name] { return v }
                return nil
            }
            var group = 1
            if case .int(let g)? = node.attributes["group"] { group = g }
            let strides = attribute("strides") ?? [1, 1], pads = attribute("pads") ?? [0, 0, 0, 0]
            var autoPad = "NOTSET"
            if case .string(let a)? = node.attributes["auto_pad"] { autoPad = a }
            let stride = strides[0]
            let reason: String? =
                w[2] != 3 || w[3] != 3 ? "a \(w[2])x\(w[3]) kernel" :
                group != 1 ? "grouped (\(group) groups)" :
                (attribute("dilations") ?? [1, 1]) != [1, 1] ? "dilated" :
                strides[0] != strides[1] || !(1...2).contains(stride) ? "stride \(strides)" :
                pads != [1, 1, 1, 1] || autoPad != "NOTSET" ? "padding \(autoPad == "NOTSET" ? "\(pads)" : autoPad), not 1 on every side" :
                stride == 2 && (x[2] % 2 != 0 || x[3] % 2 != 0) ? "stride 2 on odd sizes \(x[2])x\(x[3])" : nil
            if let reason { return SPConvReplacement(node: node.name, before: before, after: nil, reason: reason) }
            let layer: SPConv
            do {
                layer = try SPConv(inputChannels: x[1], outputChannels: w[0], stride: stride, configuration: configuration, path: node.name)
            } catch let error as SPConvLabError {
                return SPConvReplacement(node: node.name, before: before, after: nil, reason: error.message)
            }
            let ledger = try layer.cost(inputShape: [1] + x.dropFirst())
            let after = LayerCost(path: node.name, type: "SPConv", outputShape: ledger.layers.last?.outputShape ?? [],
                                  params: ledger.params, macs: ledger.macs, flops: ledger.flops)
            return SPConvReplacement(node: node.name, before: before, after: after, reason: nil)
        }
    }
}

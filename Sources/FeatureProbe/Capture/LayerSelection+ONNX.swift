import SPConvLab

extension LayerSelection {
    /// Resolves a layer list against an imported ONNX model; the result holds node names, in the
    /// model's order. Each comma-separated item is
    /// - a node name (`/layer1/layer1.0/conv1/Conv`, as `cost --onnx F --layers` lists them),
    /// - a module path as the exporter keeps it in the names (`layer1.0.conv1`, `layer1.0`): the
    ///   last node of that module, whose output is the module's,
    /// - a glob over node names or module paths (`*` within a part, `**` across parts),
    /// - or a named set: `convs` (every Conv node), `all` (every node; with `featureMapsOnly`,
    ///   every node whose output is a feature map `[N, C, H, W]`).
    ///
    /// - Throws: `FeatureProbeError` naming an item that matches nothing, with the nearest names.
    public init(onnx list: String, in model: ONNXModel, featureMapsOnly: Bool = false) throws {
        let shapes = try model.shapes(batch: 1)
        let nodes = model.nodes.filter { node in node.outputs.first.map { shapes[$0] != nil } ?? false }
        let names = nodes.map(\.name)
        let modules = nodes.map { $0.modulePath ?? "" }
        var chosen = Set<String>()
        let items = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            throw FeatureProbeError("The layer list '\(list)' names no layer; give ONNX node names (/layer1/layer1.0/conv1/Conv), module paths (layer1.0.conv1), globs, or convs or all.")
        }
        for item in items {
            var matches: [String]
            switch item {
            case "all":
                matches = featureMapsOnly ? nodes.filter { shapes[$0.outputs[0]]?.count == 4 }.map(\.name) : names
            case "convs":
                matches = nodes.filter { $0.opType == "Conv" }.map(\.name)
            default:
                if item.contains("*") || item.contains("?") {
                    matches = zip(names, modules).filter { LayerSelection.glob(item, matches: $0) || LayerSelection.glob(item, matches: $1) }.map(\.0)
                } else if names.contains(item) {
                    matches = [item]
                } else if let last = Array(zip(names, modules)).last(where: { $1 == item || $1.hasPrefix(item + ".") }) {
                    matches = [last.0]
                } else {
                    matches = []
                }
            }
            guard !matches.isEmpty else {
                throw FeatureProbeError("The ONNX model has no node or module '\(item)'. Nearest node names: \(LayerSelection.nearest(to: item, in: names).joined(separator: ", ")); module paths look like \(LayerSelection.nearest(to: item, in: modules.filter { !$0.isEmpty }).joined(separator: ", ")). `probe-cli cost --onnx FILE --layers` lists every node.")
            }
            chosen.formUnion(matches)
        }
        self.init(paths: names.filter { chosen.contains($0) })
    }
}

import FeatureProbe
import SPConvLab

extension ModelOptions {
    /// The model a probing command reads (the ONNX file when `onnx` is given, the zoo model of
    /// these flags otherwise), its images from `inputs` (--batch checked against the memory
    /// budget) and the layers `layers` names in it: module paths for the zoo; node names, module
    /// paths, globs, `convs` or `all` for ONNX.
    func makeProbed(onnx: String?, inputs: InputOptions, layers: String, featureMapsOnly: Bool = false) throws
        -> (model: any CapturableModel, source: any BatchSource, layers: LayerSelection) {
        if let onnx {
            let imported = try ONNXFeatureModel(contentsOf: onnx)
            return (imported, try inputs.makeSource(for: imported),
                    try LayerSelection(onnx: layers, in: imported.model, featureMapsOnly: featureMapsOnly))
        }
        let network = try makeNetwork()
        return (network, try inputs.makeSource(for: network), try LayerSelection(layers, in: network, featureMapsOnly: featureMapsOnly))
    }
}

import SPConvLab

/// FeatureProbe: capturing feature maps of SPConvLab networks and measuring channel redundancy.
///
/// This first piece captures module outputs by their dotted PyTorch path in one forward pass.
public enum FeatureProbe {
    /// Runs `network` once on `input` and returns the outputs of the modules at `paths`.
    ///
    /// - Throws: `SPConvLabError.invalidInput` naming any path that is not a module of the model.
    public static func capture(_ network: Network, input: Tensor, paths: [String]) throws -> [String: Tensor] {
        let known = Set(network.modulePaths)
        let unknown = paths.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw SPConvLabError(.invalidInput, "No module at \(unknown.joined(separator: ", ")) in \(network.spec.displayName); module paths look like \(network.modulePaths.prefix(6).joined(separator: ", ")).")
        }
        let context = ForwardContext(backend: .fast, capturing: Set(paths))
        _ = try network.forward(input, context: context)
        return context.captured
    }
}

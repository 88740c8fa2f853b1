import SPConvCore
import SPConvKernels

extension Network {
    /// Loads a PyTorch `state_dict` saved as safetensors (F32, F16, BF16 or F64).
    ///
    /// - Throws: `SPConvLabError.invalidWeights` for a malformed file or keys that do not fit.
    public func loadWeights(contentsOf path: String) throws {
        let archive = try Safetensors.read(contentsOf: path)
        try load(archive.tensors, source: path)
    }

    /// Saves the `state_dict` as F32 safetensors, in PyTorch's key order.
    public func saveWeights(to path: String, metadata: [String: String] = [:]) throws {
        try Safetensors.write(stateDict(), metadata: metadata, to: path)
    }
}

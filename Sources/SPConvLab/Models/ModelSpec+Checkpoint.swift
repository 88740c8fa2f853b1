import Foundation
import SPConvCore
import SPConvKernels

extension ModelSpec {
    /// The spec as safetensors metadata entries (`architecture`, `variant`, `ratio`, `groups`,
    /// `in_channels`, `classes`, `input_size`), so that a checkpoint alone is enough to rebuild
    /// its network (``init(checkpointMetadata:source:)``, ``Network/init(checkpoint:)``).
    public var checkpointMetadata: [String: String] {
        var metadata = ["architecture": architecture.rawValue, "variant": variant.name,
                        "in_channels": String(inputChannels), "classes": String(classes), "input_size": String(inputSize)]
        if let c = variant.spconvConfiguration {
            metadata["ratio"] = "\(c.ratio)"
            metadata["groups"] = String(c.groups)
        }
        return metadata
    }

    /// The spec recorded in a checkpoint's metadata by ``checkpointMetadata``.
    ///
    /// - Throws: `SPConvLabError(.invalidWeights)` naming `source` and the missing or bad entry.
    public init(checkpointMetadata metadata: [String: String], source: String) throws {
        func fail(_ what: String) -> SPConvLabError {
            SPConvLabError(.invalidWeights, "\(source) does not say which network it holds: its safetensors metadata \(what). Checkpoints written by probe-cli train record architecture, variant, ratio, groups, in_channels, classes and input_size; for other files name the model with --model and its options.")
        }
        guard let name = metadata["architecture"] else { throw fail("has no 'architecture' entry") }
        guard let architecture = Architecture(rawValue: name) else {
            throw fail("names the architecture '\(name)', which is not in the zoo (\(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
            guard let text = metadata[key], let value = Int(text), range.contains(value) else {
                throw fail("has \(metadata[key].map { "'\(key)' = '\($0)'" } ?? "no '\(key)' entry"), expected an integer in \(range)")
            }
            return value
        }
        let variant: ModelVariant
        switch metadata["variant"] {
        case "vanilla": variant = .vanilla
        case "spconv":
            guard let text = metadata["ratio"], let ratio = Double(text), ratio > 0, ratio < 1 else {
                throw fail("has \(metadata["ratio"].map { "'ratio' = '\($0)'" } ?? "no 'ratio' entry") for an SPConv network, expected a number in (0, 1)")
            }
            variant = .spconv(SPConvConfiguration(ratio: ratio, groups: try integer("groups", in: 1...4096)))
        default: throw fail("has \(metadata["variant"].map { "'variant' = '\($0)'" } ?? "no 'variant' entry"), expected vanilla or spconv")
        }
        self.init(architecture, variant: variant, inputChannels: try integer("in_channels", in: ModelSpec.inputChannelRange),
                  classes: try integer("classes", in: ModelSpec.classRange),
                  inputSize: try integer("input_size", in: ModelSpec.inputSizeRange))
    }
}

extension Network {
    /// Builds the network a checkpoint describes in its metadata and loads its weights.
    ///
    /// - Throws: `SPConvLabError(.invalidWeights)` when the file does not record its network
    ///   (see ``ModelSpec/init(checkpointMetadata:source:)``) or its tensors do not fit it.
    public convenience init(checkpoint path: String) throws {
        let archive = try Safetensors.read(contentsOf: path)
        try self.init(try ModelSpec(checkpointMetadata: archive.metadata, source: path))
        try load(archive.tensors, source: path)
    }
}

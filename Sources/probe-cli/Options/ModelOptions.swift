import ArgumentParser
import SPConvLab

/// The flags that choose and shape a zoo model, shared by every command that builds one.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")) (required, unless the command takes --onnx and it is given).", valueName: "name"))
    var model: Architecture?

    @Option(name: .long, help: "vanilla, or spconv (3x3 convs replaced by SPConv).")
    var variant: ModelVariant.Kind = .vanilla

    @Option(name: .long, help: "SPConv split ratio, a decimal or a fraction (0.5, 1/4); spconv only.")
    var ratio: String = "1/2"

    @Option(name: .long, help: "Groups of SPConv's group-wise 3x3 conv; spconv only.")
    var groups: Int = 2

    @Option(name: [.customLong("in-channels")], help: "Input channels (default 3; 1 for Fashion-MNIST).")
    var inChannels: Int?

    @Option(name: .long, help: "Output classes (default: 10 for CIFAR models, 1000 for resnet18/50).")
    var classes: Int?

    @Option(name: [.customLong("input-size")], help: "Square input size in pixels (default: 32 for CIFAR models, 224 for resnet18/50).")
    var inputSize: Int?

    @Option(help: "Weights: a PyTorch state_dict saved as .safetensors (default: seeded Kaiming initialisation).")
    var weights: String?

    func validate() throws {
        do { _ = try SPConvConfiguration.parseRatio(ratio) } catch let error as SPConvLabError {
            throw ValidationError(error.message)
        }
        guard groups >= 1 else { throw ValidationError("--groups \(groups) must be a positive integer (the paper uses 2).") }
        if let inChannels, !ModelSpec.inputChannelRange.contains(inChannels) {
            throw ValidationError("--in-channels \(inChannels) is out of range; give a number in \(ModelSpec.inputChannelRange) (1 for Fashion-MNIST, 3 for RGB).")
        }
        if let classes, !ModelSpec.classRange.contains(classes) {
            throw ValidationError("--classes \(classes) is out of range; give a number in \(ModelSpec.classRange).")
        }
        if let inputSize, !ModelSpec.inputSizeRange.contains(inputSize) {
            throw ValidationError("--input-size \(inputSize) is out of range; give a number of pixels in \(ModelSpec.inputSizeRange).")
        }
    }

    /// For a command that takes either a zoo `--model` or `--onnx FILE`: exactly one of them.
    func validateChoice(onnx: String?) throws {
        if onnx != nil && model != nil {
            throw ValidationError("--onnx and --model both name a model; give one of them.")
        }
        if onnx == nil && model == nil {
            throw ValidationError("missing --model (a zoo architecture) or --onnx FILE (any CNN saved as ONNX).")
        }
    }

    /// The model spec these flags describe (call after validation).
    func spec() throws -> ModelSpec {
        guard let architecture = model else {
            throw ValidationError("--model is required: choose one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let variant: ModelVariant = switch self.variant {
        case .spconv: .spconv(SPConvConfiguration(ratio: try SPConvConfiguration.parseRatio(ratio), groups: groups))
        case .vanilla: .vanilla
        }
        return ModelSpec(architecture, variant: variant, inputChannels: inChannels ?? 3,
                         classes: classes, inputSize: inputSize)
    }

    /// Builds the network, loading --weights when given.
    func makeNetwork() throws -> Network {
        let network = try Network(try spec())
        if let weights { try network.loadWeights(contentsOf: weights) }
        return network
    }
}

// The zoo's names are the flags' values: ArgumentParser lists them in --help and refuses others
// with exit 64, naming the value and the choices.
extension Architecture: ExpressibleByArgument {}
extension ModelVariant.Kind: ExpressibleByArgument {}

import ArgumentParser
import Foundation
import FeatureProbe
import SPConvLab

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model (zoo or --onnx) on a .npy tensor, images, a dataset or an ImageFolder tree and print the top classes.",
        discussion: """
        A .npy input is a float32 NCHW array used as is. PNG inputs are decoded with libpng, alpha \
        ignored, converted to the model's channels (gray replicated, or BT.601 luma), resized so the \
        shorter side is the input size (bilinear, half-pixel centres), centre-cropped, scaled to \
        [0, 1] and normalised with the dataset mean/std (--normalization, default by model: CIFAR-10 \
        for 3-channel CIFAR models, Fashion-MNIST for 1-channel ones, ImageNet for resnet18/50).
        """)

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("onnx"), help: ArgumentHelp("An ONNX model to run instead of a zoo --model (its first output must be [N, classes] logits).", valueName: "file"))
    var onnx: String?


    @Option(help: "A .npy float32 NCHW tensor, a .png file, a folder of .png files, 'fashion-mnist[:train]' or 'synthetic:N[:seed]'.")
    var input: String

    @Option(help: "Write the logits here as a .npy float32 array [N, classes].")
    var output: String?

    @Option(help: "Image normalisation: cifar10, fashion-mnist, imagenet or none (default: by model).")
    var normalization: String?

    @Option(help: "How many top classes to print per input.")
    var top: Int = 3

    @Flag(help: "Replace --output when it exists.")
    var force = false

    @Option(help: "Images per forward pass; a folder is decoded one batch at a time.")
    var batch: Int = 32

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        try model.validateChoice(onnx: onnx)
        if let normalization, NormalizationChoice(rawValue: normalization) == nil {
            throw ValidationError("--normalization '\(normalization)' is not known; choose cifar10, fashion-mnist, imagenet or none.")
        }
        guard top >= 1 else { throw ValidationError("--top \(top) must be at least 1.") }
        guard batch >= 1 else { throw ValidationError("--batch \(batch) must be at least 1.") }
        if let output {
            var inputs = [(flag: "--input", path: input)]
            if let weights = model.weights { inputs.append((flag: "--weights", path: weights)) }
            try OutputFile.check(output, flag: "--output", inputs: inputs, force: force)
        }
    }

    func run() throws {
        try reportingFailures {
            if let output { try OutputFile.checkFolder(of: output, flag: "--output") }
            let chosen = normalization.flatMap(NormalizationChoice.init)?.value
            let forward: (Tensor) throws -> Tensor
            let source: any BatchSource, classes: Int, displayName: String, defaultNames: [String]
            if let onnx {
                let imported = try ONNXFeatureModel(contentsOf: onnx)
                try memory.checkInference(imported.model, batch: batch)
                let output = imported.model.outputNames[0]
                guard let shape = try imported.model.shapes(batch: 1)[output], shape.count == 2 else {
                    throw SPConvLabError(.invalidInput, "\(onnx): run needs a model whose first output is [N, classes] logits; '\(output)' is \(try imported.model.shapes(batch: 1)[output].map { "\($0)" } ?? "a constant"). Use similarity or capture for other outputs.")
                }
                var sessions: [Int: ONNXSession] = [:]
                forward = { images in
                    let session = try sessions[images.shape[0]] ?? ONNXSession(imported.model, batch: images.shape[0])
                    sessions[images.shape[0]] = session
                    return try session.run(images).outputs[0]
                }
                source = try InputSource.make(input, input: imported.inputSpec, normalization: chosen)
                (classes, displayName) = (shape[1], imported.modelDescription.displayName)
                defaultNames = (0..<classes).map { "class \($0)" }
            } else {
                let network = try model.makeNetwork()
                try memory.checkInference(network, batch: batch)
                forward = { try network($0) }
                source = try InputSource.make(input, spec: network.spec, normalization: chosen)
                (classes, displayName) = (network.spec.classes, network.spec.displayName)
                defaultNames = ClassNames.names(for: network.spec)
            }
            // A labelled input (an ImageFolder tree, a dataset) names the classes and gives the truth.
            let truthNames = source.classNames
            if let truthNames, truthNames.count > classes {
                throw SPConvLabError(.invalidInput, "--input '\(input)' has \(truthNames.count) classes (\(truthNames.prefix(5).joined(separator: ", "))\(truthNames.count > 5 ? ", ..." : "")) but \(displayName) has \(classes) outputs; give a model with --classes \(truthNames.count) (and weights trained on these classes).")
            }
            let names = truthNames.map { $0 + (classes > $0.count ? (($0.count)..<classes).map { "class \($0)" } : []) } ?? defaultNames
            var logits: [Float] = []
            var (correct, correctTop5, labelled) = (0, 0, 0)
            // Batch by batch: a folder of many (or large) images is never decoded all at once.
            try source.forEachBatch(size: batch) { start, images in
                let batchLogits = try forward(images)
                if output != nil { logits += batchLogits.scalars }
                let probabilities = Ops.softmax(batchLogits, axis: 1)
                for item in 0..<images.shape[0] {
                    let row = Array(probabilities.scalars[(item * classes)..<((item + 1) * classes)])
                    let ranked = row.indices.sorted { row[$0] > row[$1] }
                    var line = "\(source.label(of: start + item)): " + ranked.prefix(top).map { "\(names[$0]) \(String(format: "%.1f%%", 100 * row[$0]))" }.joined(separator: ", ")
                    if let truth = source.classIndex(of: start + item) {
                        labelled += 1
                        if ranked.first == truth { correct += 1 }
                        if ranked.prefix(5).contains(truth) { correctTop5 += 1 }
                        line += " (true: \(names[truth]))"
                    }
                    print(line)
                }
            }
            if labelled > 0 {
                let top5 = classes > 5 ? String(format: ", top-5 %.2f%% (%d)", 100 * Double(correctTop5) / Double(labelled), correctTop5) : ""
                print(String(format: "accuracy: top-1 %.2f%% (%d of %d)%@", 100 * Double(correct) / Double(labelled), correct, labelled, top5))
            }
            if let output {
                try NPYFile.write(Tensor(shape: [source.count, classes], scalars: logits), to: output)
                printError("wrote logits [\(source.count), \(classes)] to \(output)")
            }
        }
    }
}

/// The named normalisations the command line accepts.
enum NormalizationChoice: String {
    case cifar10, imagenet
    case identity = "none"
    case fashionMNIST = "fashion-mnist"

    var value: Normalization {
        switch self {
        case .cifar10: return .cifar10
        case .imagenet: return .imagenet
        case .fashionMNIST: return .fashionMNIST
        case .identity: return .identity
        }
    }
}

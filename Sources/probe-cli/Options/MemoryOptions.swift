import ArgumentParser
import Foundation
import SPConvLab

/// The memory budget a command checks its batch against before allocating anything.
struct MemoryOptions: ParsableArguments {
    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "Memory each process may plan for its activations, such as 8G or 512M (default: half of this machine's RAM).",
        valueName: "size"))
    var maxMemory: String?

    func validate() throws {
        if let maxMemory {
            do { _ = try MemoryBudget.parse(maxMemory, source: "--max-memory") } catch let error as SPConvLabError {
                throw ValidationError(error.message)
            }
        }
    }

    /// The budget (validated already).
    var budget: MemoryBudget {
        maxMemory.flatMap { try? MemoryBudget.parse($0, source: "--max-memory") } ?? .machineDefault
    }

    /// Where the budget came from, for error messages.
    var source: String {
        maxMemory.map { "--max-memory \($0)" } ?? "the default, half of this machine's RAM; --max-memory sets it"
    }

    /// Checks a forward pass of `network` over `batch` images against the budget.
    func checkInference(_ network: Network, batch: Int, flag: String = "--batch") throws {
        let spec = network.spec
        let perImage = MemoryBudget.inferenceBytesPerImage(try network.cost(), inputElements: spec.inputChannels * spec.inputSize * spec.inputSize)
        try budget.check(batch: batch, flag: flag, bytesPerImage: perImage,
                         what: "\(spec.displayName) inference at \(spec.inputSize) x \(spec.inputSize)", budgetSource: source)
    }

    /// Checks a forward pass of an imported ONNX model over `batch` images against the budget
    /// (the same estimate as a zoo model's: the session frees each value after its last reader).
    func checkInference(_ model: ONNXModel, batch: Int, flag: String = "--batch") throws {
        let input = model.inputShape.dropFirst().map { $0! }
        let perImage = MemoryBudget.inferenceBytesPerImage(try model.cost(), inputElements: input.reduce(1, *))
        try budget.check(batch: batch, flag: flag, bytesPerImage: perImage,
                         what: "\(model.source) (ONNX) inference at \(input.map(String.init).joined(separator: " x "))", budgetSource: source)
    }

    /// Checks a training step of `network` over `batch` images against the budget.
    func checkTraining(_ network: Network, batch: Int, flag: String = "--batch") throws {
        let spec = network.spec
        let perImage = MemoryBudget.trainingBytesPerImage(try network.cost(), inputElements: spec.inputChannels * spec.inputSize * spec.inputSize)
        try budget.check(batch: batch, flag: flag, bytesPerImage: perImage,
                         what: "training \(spec.displayName) at \(spec.inputSize) x \(spec.inputSize)", budgetSource: source)
    }
}

/// The most kernel threads a command accepts: four per core (at least 8), beyond which OpenMP only
/// spends memory (a huge count made libgomp allocate tens of GB).
enum ThreadLimit {
    static var maximum: Int { max(8, 4 * ProcessInfo.processInfo.activeProcessorCount) }

    /// Throws a usage error when `threads` is below 1 or above ``maximum``.
    static func validate(_ threads: Int?, flag: String = "--threads") throws {
        guard let threads else { return }
        guard threads >= 1 else { throw ValidationError("\(flag) \(threads) must be at least 1.") }
        guard threads <= maximum else {
            throw ValidationError("\(flag) \(threads) is more than four threads per core of this machine (\(ProcessInfo.processInfo.activeProcessorCount) cores); give 1 to \(maximum).")
        }
    }
}

import Foundation
import SPConvCore
import SPConvKernels

/// How much memory a command may plan to use, and what a network at a batch size would need.
///
/// Sizes that come from outside (a `--batch`, a `--threads`) are checked against the budget before
/// anything is allocated, so a huge value gets an error that names it instead of a crash or a swap
/// storm. The estimates come from the network's trace (docs/COST.md): float32 tensors of the
/// shapes it records for one image.
/// - Inference keeps a few tensors alive at once: the estimate is four times the largest one per
///   image (input, output, the residual and scratch). resnet50 at 224 x 224 measures 12 MB per
///   image of peak growth against an estimate of 12.8 MB.
/// - Training keeps every layer's output for the backward pass and a gradient of the same size:
///   twice the sum of all outputs per image, plus the inference term.
public struct MemoryBudget: Sendable, Equatable, CustomStringConvertible {
    /// The budget in bytes.
    public var bytes: Int

    public init(bytes: Int) {
        precondition(bytes > 0, "a memory budget is positive, got \(bytes)")
        self.bytes = bytes
    }

    /// Half of this machine's physical memory: the default of `--max-memory`.
    public static var machineDefault: MemoryBudget {
        MemoryBudget(bytes: Int(clamping: ProcessInfo.processInfo.physicalMemory / 2))
    }

    public var description: String { MemoryBudget.formatted(bytes) }

    /// Parses `16G`, `512M`, `1.5G`, `800K` or a byte count (powers of 1024; case-insensitive).
    ///
    /// - Throws: ``SPConvLabError`` naming `text` and `source` and the accepted forms.
    public static func parse(_ text: String, source: String) throws -> MemoryBudget {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024]
        var number = Substring(trimmed)
        var scale = 1.0
        if let last = number.last, let unit = units[last] {
            scale = unit
            number = number.dropLast()
        } else if number.hasSuffix("B"), let unit = number.dropLast().last.flatMap({ units[$0] }) {
            scale = unit
            number = number.dropLast(2)
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale >= 1, value * scale < 9e18 else {
            throw SPConvLabError(.invalidInput, "\(source) '\(text)' is not a memory size; give a positive size such as 8G, 512M or 1.5G (powers of 1024), or a byte count.")
        }
        return MemoryBudget(bytes: Int(value * scale))
    }

    /// `1.5 GB`, `512 MB`, `800 KB`, `12 B` (powers of 1024).
    public static func formatted(_ bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes), index = 0
        while value >= 1024 && index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return index == 0 ? "\(bytes) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[index])
    }

    // MARK: - Estimates

    /// Elements of the largest tensor in `ledger` (one image), the input's included.
    static func largestElements(_ ledger: CostLedger, input: Int) -> Int {
        ledger.layers.map { $0.outputShape.reduce(1) { $0.multipliedReportingOverflow(by: max($1, 1)).partialValue } }.max()
            .map { max($0, input) } ?? input
    }

    /// Estimated peak bytes of one image's activations in a forward pass (see the type's notes).
    public static func inferenceBytesPerImage(_ ledger: CostLedger, inputElements: Int) -> Int {
        4 * 4 * largestElements(ledger, input: inputElements)
    }

    /// Estimated peak bytes of one image's activations and gradients in a training step.
    public static func trainingBytesPerImage(_ ledger: CostLedger, inputElements: Int) -> Int {
        let outputs = ledger.layers.reduce(0) { total, layer in
            total + layer.outputShape.reduce(1) { $0 * max($1, 1) }
        }
        return 2 * 4 * outputs + inferenceBytesPerImage(ledger, inputElements: inputElements)
    }

    /// Checks that `batch` images of `bytesPerImage` each fit in the budget.
    ///
    /// - Parameters:
    ///   - batch: The batch size, as given.
    ///   - flag: Where it came from (`--batch`).
    ///   - bytesPerImage: One image's estimated bytes.
    ///   - what: What the memory is for ("resnet50 vanilla inference at 224 x 224").
    ///   - budgetSource: Where the budget came from (`--max-memory 8G`, "the default, half of this machine's RAM").
    /// - Throws: ``SPConvLabError`` naming the batch, the estimate, the budget and the largest batch that fits.
    public func check(batch: Int, flag: String, bytesPerImage: Int, what: String, budgetSource: String) throws {
        let perImage = max(bytesPerImage, 1)
        let (total, overflow) = batch.multipliedReportingOverflow(by: perImage)
        guard overflow || total > bytes else { return }
        let fits = bytes / perImage
        let estimate = overflow ? "more than \(MemoryBudget.formatted(Int.max))" : "about \(MemoryBudget.formatted(total))"
        let advice = fits >= 1 ? "give \(flag) \(fits) or less, or a larger --max-memory"
            : "even one image needs \(MemoryBudget.formatted(perImage)); give a larger --max-memory"
        throw SPConvLabError(.invalidInput, "\(flag) \(batch) would need \(estimate) for \(what) (\(MemoryBudget.formatted(perImage)) per image), more than the memory budget of \(self) (\(budgetSource)); \(advice).")
    }
}

import Foundation
import SPConvCore
import SPConvKernels

extension SPConvConfiguration {
    /// Parses a split ratio written as a decimal (`0.25`) or a fraction (`1/4`).
    ///
    /// - Throws: `SPConvLabError.invalidConfiguration` naming the text when it is not a number
    ///   strictly between 0 and 1.
    public static func parseRatio(_ text: String, source: String = "--ratio") throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var value: Double?
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let numerator = Double(parts[0]), let denominator = Double(parts[1]), denominator != 0 {
            value = numerator / denominator
        } else if parts.count == 1 {
            value = Double(trimmed)
        }
        guard let value, value.isFinite, value > 0, value < 1 else {
            throw SPConvLabError(.invalidConfiguration, "\(source) '\(text)' is not a split ratio: give a number strictly between 0 and 1, as a decimal (0.25) or a fraction (1/4).")
        }
        return value
    }
}

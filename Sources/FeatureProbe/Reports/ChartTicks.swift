import Foundation

/// Tick values and tick labels for chart axes.
///
/// Linear axes use "nice" steps, 1, 2 or 5 times a power of ten, chosen so that about five
/// intervals cover the data, and extend to the multiples of the step just outside it:
/// `0...0.97` gets 0, 0.2, ..., 1.0 and `3...47` gets 0, 10, ..., 50. Logarithmic axes tick at
/// powers of ten, adding 2 and 5 times each power when the data spans two decades or fewer.
public enum ChartTicks {
    /// A nice step: `mantissa * 10^exponent` with `mantissa` 1, 2 or 5.
    public struct Step: Sendable, Equatable {
        public var mantissa: Int
        public var exponent: Int

        public var value: Double { Double(mantissa) * ChartTicks.power(exponent) }

        /// `index * step`, computed so that decimal steps give the nearest `Double` (0.6, not 0.6000000000000001).
        public func multiple(_ index: Int) -> Double {
            exponent >= 0 ? Double(index * mantissa) * ChartTicks.power(exponent)
                          : Double(index * mantissa) / ChartTicks.power(-exponent)
        }
    }

    /// The smallest step of the form 1, 2 or 5 times a power of ten that is at least `minimum`.
    ///
    /// - Precondition: `minimum` is positive and finite.
    public static func niceStep(atLeast minimum: Double) -> Step {
        precondition(minimum > 0 && minimum.isFinite, "a tick step must be positive and finite, got \(minimum)")
        var exponent = Int(log10(minimum).rounded(.down)) - 1
        while true {
            for mantissa in [1, 2, 5] {
                let step = Step(mantissa: mantissa, exponent: exponent)
                if step.value >= minimum * (1 - 1e-12) { return step }
            }
            exponent += 1
        }
    }

    /// Ticks for a linear axis covering `lower...upper`: about `intervals` nice steps from the
    /// largest multiple of the step at or below `lower` to the smallest at or above `upper`.
    ///
    /// An empty range (`lower == upper`) is widened by 10% of its value each way (by 1 at zero).
    /// Non-finite bounds give `[0, 1]`.
    public static func linear(lower: Double, upper: Double, intervals: Int = 5) -> (ticks: [Double], step: Step) {
        guard lower.isFinite && upper.isFinite else { return ([0, 1], Step(mantissa: 1, exponent: 0)) }
        var (low, high) = (min(lower, upper), max(lower, upper))
        if high - low <= 1e-12 * max(abs(low), abs(high)) {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        }
        let step = niceStep(atLeast: (high - low) / Double(max(1, intervals)))
        let first = Int((low / step.value + 1e-9).rounded(.down))
        let last = Int((high / step.value - 1e-9).rounded(.up))
        return ((first...max(first + 1, last)).map { step.multiple($0) }, step)
    }

    /// Ticks for a base-10 logarithmic axis covering `lower...upper` (both positive): the powers
    /// of ten from the one at or below `lower` to the one at or above `upper`, with 2x and 5x
    /// in between when that is two decades or fewer.
    public static func logarithmic(lower: Double, upper: Double) -> [Double] {
        guard lower > 0 && upper > 0 && lower.isFinite && upper.isFinite else { return [1, 10] }
        let first = Int(log10(min(lower, upper) * (1 + 1e-12)).rounded(.down))
        var last = Int(log10(max(lower, upper) * (1 - 1e-12)).rounded(.up))
        if last <= first { last = first + 1 }
        let fill = last - first <= 2
        var ticks: [Double] = []
        for exponent in first...last {
            ticks.append(Step(mantissa: 1, exponent: exponent).value)
            if fill && exponent < last {
                ticks.append(Step(mantissa: 2, exponent: exponent).value)
                ticks.append(Step(mantissa: 5, exponent: exponent).value)
            }
        }
        return ticks
    }

    /// Labels for linear ticks spaced by `step`: fixed-point with as many decimals as the step
    /// needs, or with a k / M / G suffix when the largest tick is 10 000 or more
    /// (`1.5G`, `250M`, `20k`).
    public static func labels(_ ticks: [Double], step: Step) -> [String] {
        let largest = ticks.map(abs).max() ?? 0
        let unitExponent = largest >= 1e4 ? min(9, Int(log10(largest).rounded(.down)) / 3 * 3) : 0
        let suffix = ["": 0, "k": 3, "M": 6, "G": 9].first { $0.value == unitExponent }?.key ?? ""
        let decimals = max(0, unitExponent - step.exponent)
        return ticks.map { tick in
            var text = String(format: "%.\(decimals)f", tick / power(unitExponent))
            if text.hasPrefix("-") && Double(text) == 0 { text.removeFirst() }
            return text + suffix
        }
    }

    /// Labels for logarithmic ticks: `%g`-style numbers, with k / M / G from 10 000 up.
    public static func logarithmicLabels(_ ticks: [Double]) -> [String] {
        ticks.map { tick in
            for (suffix, exponent) in [("G", 9), ("M", 6), ("k", 3)] where tick >= 1e4 && tick >= power(exponent) {
                return CSVWriter.formatG6(tick / power(exponent)) + suffix
            }
            return CSVWriter.formatG6(tick)
        }
    }

    /// `value` in compact form for captions and tables: `1.82G`, `11.7M`, `0.25`, `12.3`.
    public static func compact(_ value: Double) -> String {
        for (suffix, exponent) in [("G", 9), ("M", 6), ("k", 3)] where abs(value) >= power(exponent) {
            return String(format: "%.3g", value / power(exponent)) + suffix
        }
        return String(format: "%.4g", value)
    }

    /// 10^exponent, exact for the integer range of `Double`.
    static func power(_ exponent: Int) -> Double {
        exponent >= 0 ? (0..<exponent).reduce(1.0) { value, _ in value * 10 }
                      : 1 / (0..<(-exponent)).reduce(1.0) { value, _ in value * 10 }
    }
}

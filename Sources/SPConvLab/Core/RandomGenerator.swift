/// A small, seeded, platform-independent random number generator (SplitMix64).
///
/// Used for weight initialisation, synthetic inputs and tests, so that a seed gives the same
/// numbers on every machine and every Swift version.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box-Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2))
    }
}

extension Tensor {
    /// A tensor with elements uniform in `range`, from a seeded generator.
    public static func uniform(_ shape: [Int], in range: ClosedRange<Float> = -1...1,
                               generator: inout SeededGenerator) -> Tensor {
        let span = range.upperBound - range.lowerBound
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = range.lowerBound + span * generator.nextUnitFloat() }
        return Tensor(shape: shape, scalars: values)
    }

    /// A tensor with normal elements of the given standard deviation, from a seeded generator.
    public static func gaussian(_ shape: [Int], standardDeviation: Float = 1,
                                generator: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = standardDeviation * generator.nextGaussian() }
        return Tensor(shape: shape, scalars: values)
    }
}

import Testing
@testable import FeatureProbe
import SPConvLab

@Suite("Linear CKA: identity, invariances, streaming")
struct CKAAccumulatorTests {
    static func cka(_ x: Tensor, _ y: Tensor, batchSize: Int? = nil) throws -> Double {
        var accumulator = try CKAAccumulator(firstChannels: x.shape[1], secondChannels: y.shape[1])
        let n = x.shape[0], size = batchSize ?? n
        for start in stride(from: 0, to: n, by: size) {
            let range = start..<min(start + size, n)
            try accumulator.add(imageSlice(x, range), imageSlice(y, range))
        }
        return accumulator.result()
    }

    static func maps(seed: UInt64, shape: [Int] = [4, 6, 3, 5]) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return Tensor.gaussian(shape, generator: &generator)
    }

    /// `y[n, d, p] = sum over c of mix[d][c] * x[n, c, p] + bias[d]`.
    static func mixChannels(_ x: Tensor, _ mix: [[Float]], bias: [Float]? = nil) -> Tensor {
        let (n, c, h, w) = x.nchw
        let (d, p) = (mix.count, h * w)
        var out = [Float](repeating: 0, count: n * d * p)
        for image in 0..<n {
            for o in 0..<d {
                for q in 0..<p {
                    var total = bias?[o] ?? 0
                    for i in 0..<c { total += mix[o][i] * x.scalars[(image * c + i) * p + q] }
                    out[(image * d + o) * p + q] = total
                }
            }
        }
        return Tensor(shape: [n, d, h, w], scalars: out)
    }

    @Test("CKA of a layer with itself is 1")
    func identity() throws {
        let x = Self.maps(seed: 1)
        #expect(abs(try Self.cka(x, x) - 1) < 1e-6)
    }

    @Test("invariant to channel permutation, isotropic scaling, an orthogonal mix and per-channel offsets")
    func invariances() throws {
        let x = Self.maps(seed: 2)
        let y = Self.mixChannels(x, (0..<5).map { o in (0..<6).map { Float((o * 7 + $0 * 3) % 5) - 2 } })
        let base = try Self.cka(x, y)
        #expect(base > 0.1 && base < 0.999)
        let permutation = [3, 0, 5, 1, 4, 2]
        let permuted = Self.mixChannels(x, permutation.map { src in (0..<6).map { $0 == src ? 1 : 0 } })
        #expect(abs(try Self.cka(permuted, y) - base) < 1e-5)
        let scaled = Self.mixChannels(x, (0..<6).map { o in (0..<6).map { $0 == o ? -3.5 : 0 } })
        #expect(abs(try Self.cka(scaled, y) - base) < 1e-5)
        // A rotation by 30 degrees in the plane of channels 0 and 1.
        let (cs, sn): (Float, Float) = (0.8660254, 0.5)
        let rotation = (0..<6).map { o in (0..<6).map { i -> Float in
            switch (o, i) {
            case (0, 0), (1, 1): return cs
            case (0, 1): return -sn
            case (1, 0): return sn
            default: return o == i ? 1 : 0
            }
        } }
        #expect(abs(try Self.cka(Self.mixChannels(x, rotation), y) - base) < 1e-5)
        let offset = Self.mixChannels(x, (0..<6).map { o in (0..<6).map { $0 == o ? 1 : 0 } }, bias: [100, -50, 3, 0, 7, 1000])
        #expect(abs(try Self.cka(offset, y) - base) < 1e-4)
    }

    @Test("streaming equals one shot", arguments: [1, 3])
    func streaming(batchSize: Int) throws {
        let x = Self.maps(seed: 4, shape: [7, 5, 3, 3]), y = Self.maps(seed: 5, shape: [7, 8, 3, 3])
        #expect(abs(try Self.cka(x, y, batchSize: batchSize) - Self.cka(x, y)) < 1e-6)
    }

    @Test("a layer without variance gives 0")
    func constantLayer() throws {
        #expect(try Self.cka(Self.maps(seed: 6), Tensor(repeating: 2, shape: [4, 3, 3, 5])) == 0)
    }

    @Test("mismatched shapes throw")
    func badInput() throws {
        #expect(throws: FeatureProbeError.self) { try CKAAccumulator(firstChannels: 0, secondChannels: 3) }
        var accumulator = try CKAAccumulator(firstChannels: 6, secondChannels: 6)
        #expect(throws: FeatureProbeError.self) { try accumulator.add(Self.maps(seed: 1), Self.maps(seed: 1, shape: [4, 6, 3, 4])) }
        #expect(throws: FeatureProbeError.self) { try accumulator.add(Self.maps(seed: 1), Self.maps(seed: 1, shape: [4, 5, 3, 5])) }
        #expect(throws: FeatureProbeError.self) { try accumulator.add(Self.maps(seed: 1, shape: [4, 6, 15]), Self.maps(seed: 1)) }
    }
}

import Testing
@testable import SPConvLab

@Suite("LinearAlgebra: Gram matrices and eigenvalues against plain loops")
struct LinearAlgebraTests {
    /// Reference twin: float64 loops over `y = x - shift`.
    static func referenceGram(_ x: Tensor, _ y: Tensor, shiftX: [Float]?, shiftY: [Float]?) -> [Double] {
        let (n, c1, h, w) = x.nchw
        let (c2, p) = (y.shape[1], h * w)
        var out = [Double](repeating: 0, count: c1 * c2)
        for i in 0..<c1 {
            for j in 0..<c2 {
                var total = 0.0
                for image in 0..<n {
                    for q in 0..<p {
                        let a = Double(x.scalars[(image * c1 + i) * p + q]) - Double(shiftX?[i] ?? 0)
                        let b = Double(y.scalars[(image * c2 + j) * p + q]) - Double(shiftY?[j] ?? 0)
                        total += a * b
                    }
                }
                out[i * c2 + j] = total
            }
        }
        return out
    }

    static func expectNear(_ actual: [Float], _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        let scale = expected.map(abs).max() ?? 1
        let worst = zip(actual, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(actual.count == expected.count && worst <= 1e-5 * max(scale, 1), "worst difference \(worst) at scale \(scale)",
                sourceLocation: sourceLocation)
    }

    @Test("channel Gram with and without shift, both paths (per image and packed)",
          arguments: [[2, 3, 1, 1], [3, 5, 2, 3], [2, 7, 5, 4], [3, 4, 16, 16]])
    func gram(shape: [Int]) {
        var generator = SeededGenerator(seed: 5)
        let x = Tensor.gaussian(shape, generator: &generator)
        let shift = (0..<shape[1]).map { Float($0) * 0.5 - 1 }
        for s in [nil, shift] {
            let (gram, sums) = LinearAlgebra.channelGram(of: x, subtracting: s)
            Self.expectNear(gram, Self.referenceGram(x, x, shiftX: s, shiftY: s))
            let p = shape[2] * shape[3]
            for c in 0..<shape[1] {
                var total = 0.0
                for image in 0..<shape[0] { for q in 0..<p { total += Double(x.scalars[(image * shape[1] + c) * p + q]) - Double(s?[c] ?? 0) } }
                #expect(abs(sums[c] - total) < 1e-4)
            }
        }
        #expect(LinearAlgebra.channelGram(of: x, computingSums: false).sums.isEmpty || shape[2] * shape[3] < LinearAlgebra.packingThreshold)
    }

    @Test("channel cross-product of two layers", arguments: [[2, 3, 4, 1], [3, 6, 5, 5]])
    func crossProduct(shape: [Int]) {
        var generator = SeededGenerator(seed: 6)
        let x = Tensor.gaussian(shape, generator: &generator)
        let y = Tensor.gaussian([shape[0], 4, shape[2], shape[3]], generator: &generator)
        let (sx, sy): ([Float], [Float]) = ((0..<shape[1]).map { Float($0) }, [1, -2, 0.5, 0])
        Self.expectNear(LinearAlgebra.channelCrossProduct(x, y, subtracting: sx, sy), Self.referenceGram(x, y, shiftX: sx, shiftY: sy))
    }

    @Test("per-image Gram, centred and not")
    func perImage() {
        var generator = SeededGenerator(seed: 8)
        let x = Tensor(shape: [3, 4, 3, 3], scalars: Tensor.gaussian([3, 4, 3, 3], generator: &generator).scalars.map { $0 + 20 })
        for centred in [false, true] {
            var seen = 0
            LinearAlgebra.forEachImageChannelGram(of: x, centred: centred) { image, gram, means in
                let one = Tensor(shape: [1, 4, 3, 3], scalars: Array(x.scalars[(image * 36)..<((image + 1) * 36)]))
                let shift = centred ? means.map { Float($0) } : nil
                Self.expectNear(gram, Self.referenceGram(one, one, shiftX: shift, shiftY: shift))
                seen += 1
            }
            #expect(seen == 3)
        }
    }

    @Test("eigenvalues of a symmetric matrix, ascending")
    func eigenvalues() throws {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3; a diagonal matrix its diagonal.
        let values = try LinearAlgebra.symmetricEigenvalues([2, 1, 1, 2], order: 2)
        #expect(abs(values[0] - 1) < 1e-12 && abs(values[1] - 3) < 1e-12)
        #expect(try LinearAlgebra.symmetricEigenvalues([5, 0, 0, 0, -1, 0, 0, 0, 2], order: 3) == [-1, 2, 5])
        #expect(try LinearAlgebra.symmetricEigenvalues([], order: 0) == [])
    }
}

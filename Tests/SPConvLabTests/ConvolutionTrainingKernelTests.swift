import Testing
@testable import SPConvLab

/// The training convolution on the zoo's real shapes (16 to 64 channels, where oneDNN runs its
/// channel-blocked JIT kernels and grouped convs run densified), against exact float64 gradients
/// written out as loops: `dx[n,c,y,x] = Σ w[o,c',ky,kx] g[n,o,oy,ox]` over the taps that read
/// `x`, `dw[o,c',ky,kx] = Σ x[n,c,iy,ix] g[n,o,oy,ox]`, `db[o] = Σ g[n,o,:,:]`.
@Suite struct ConvolutionTrainingKernelTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var input: [Int], outputChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int, bias: Bool
        var testDescription: String { "\(input) -> \(outputChannels) k\(kernel) s\(stride) p\(padding) g\(groups)\(bias ? " bias" : "")" }
    }

    static let cases: [Case] = [
        Case(input: [4, 16, 12, 12], outputChannels: 16, kernel: 3, stride: 1, padding: 1, groups: 1, bias: false),
        Case(input: [3, 16, 12, 12], outputChannels: 32, kernel: 3, stride: 2, padding: 1, groups: 1, bias: false),
        Case(input: [2, 8, 10, 10], outputChannels: 16, kernel: 3, stride: 1, padding: 1, groups: 2, bias: false),
        Case(input: [2, 16, 7, 7], outputChannels: 32, kernel: 3, stride: 2, padding: 1, groups: 2, bias: false),
        Case(input: [2, 8, 10, 10], outputChannels: 16, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true),
        Case(input: [2, 16, 10, 10], outputChannels: 32, kernel: 1, stride: 2, padding: 0, groups: 1, bias: false),
        Case(input: [5, 1, 9, 9], outputChannels: 16, kernel: 3, stride: 1, padding: 1, groups: 1, bias: false),
        Case(input: [1, 64, 5, 5], outputChannels: 64, kernel: 3, stride: 1, padding: 1, groups: 1, bias: true),
        Case(input: [2, 32, 7, 7], outputChannels: 64, kernel: 3, stride: 1, padding: 1, groups: 2, bias: false),
        Case(input: [2, 32, 14, 14], outputChannels: 64, kernel: 3, stride: 2, padding: 1, groups: 2, bias: false),
        Case(input: [2, 32, 7, 7], outputChannels: 64, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true),
        Case(input: [8, 8, 28, 28], outputChannels: 16, kernel: 3, stride: 1, padding: 1, groups: 2, bias: false),
        Case(input: [8, 1, 28, 28], outputChannels: 16, kernel: 3, stride: 1, padding: 1, groups: 1, bias: false),
        Case(input: [8, 8, 28, 28], outputChannels: 16, kernel: 1, stride: 1, padding: 0, groups: 1, bias: false),
        Case(input: [8, 8, 28, 28], outputChannels: 16, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true),
        Case(input: [8, 8, 28, 28], outputChannels: 32, kernel: 3, stride: 2, padding: 1, groups: 2, bias: false),
        Case(input: [8, 8, 14, 14], outputChannels: 32, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true),
        Case(input: [8, 16, 28, 28], outputChannels: 32, kernel: 1, stride: 2, padding: 0, groups: 1, bias: false),
        Case(input: [8, 16, 14, 14], outputChannels: 32, kernel: 3, stride: 1, padding: 1, groups: 2, bias: false),
        Case(input: [8, 16, 14, 14], outputChannels: 32, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true),
        Case(input: [8, 16, 14, 14], outputChannels: 64, kernel: 3, stride: 2, padding: 1, groups: 2, bias: false),
        Case(input: [8, 16, 7, 7], outputChannels: 64, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true),
        Case(input: [8, 32, 7, 7], outputChannels: 64, kernel: 3, stride: 1, padding: 1, groups: 2, bias: false),
        Case(input: [8, 32, 7, 7], outputChannels: 64, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true),
    ]

    @Test(arguments: cases)
    func gradientsMatchExactFloat64(_ c: Case) throws {
        var generator = SeededGenerator(seed: 7)
        let g = Conv2DGeometry(kernelSize: c.kernel, stride: c.stride, padding: c.padding, groups: c.groups)
        let x = Tensor.gaussian(c.input, generator: &generator)
        let weight = Tensor.gaussian([c.outputChannels, c.input[1] / c.groups, c.kernel, c.kernel], standardDeviation: 0.2,
                                     generator: &generator)
        let bias: Tensor? = c.bias ? .gaussian([c.outputChannels], generator: &generator) : nil
        let kernel = try ConvolutionTrainingKernel.cached(.init(inputShape: c.input, outputChannels: c.outputChannels,
                                                               geometry: g, hasBias: c.bias))
        let (y, saved) = try kernel.forward(x, weight: weight, bias: bias)
        let gy = Tensor.gaussian(y.shape, generator: &generator)
        let grads = try kernel.backward(gy, weight: weight, saved: saved)

        let (n, ci, h, w) = (c.input[0], c.input[1], c.input[2], c.input[3])
        let (co, ho, wo, k) = (c.outputChannels, y.shape[2], y.shape[3], c.kernel)
        let (cig, cog) = (ci / c.groups, co / c.groups)
        var yRef = [Double](repeating: 0, count: y.count), dx = [Double](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: weight.count), db = [Double](repeating: 0, count: co)
        for b in 0..<n {
            for o in 0..<co {
                let group = o / cog
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let yi = ((b * co + o) * ho + oy) * wo + ox
                        let gv = Double(gy.scalars[yi])
                        var acc = Double(bias?.scalars[o] ?? 0)
                        db[o] += gv
                        for cl in 0..<cig {
                            let cin = group * cig + cl
                            for ky in 0..<k {
                                let iy = oy * c.stride - c.padding + ky
                                guard iy >= 0 && iy < h else { continue }
                                for kx in 0..<k {
                                    let ix = ox * c.stride - c.padding + kx
                                    guard ix >= 0 && ix < w else { continue }
                                    let xi = ((b * ci + cin) * h + iy) * w + ix
                                    let wi = ((o * cig + cl) * k + ky) * k + kx
                                    acc += Double(x.scalars[xi]) * Double(weight.scalars[wi])
                                    dx[xi] += Double(weight.scalars[wi]) * gv
                                    dw[wi] += Double(x.scalars[xi]) * gv
                                }
                            }
                        }
                        yRef[yi] = acc
                    }
                }
            }
        }
        func tensor(_ values: [Double], _ shape: [Int]) -> Tensor { Tensor(shape: shape, scalars: values.map(Float.init)) }
        expectClose(y, tensor(yRef, y.shape), rtol: 1e-4, atol: 1e-5, "output")
        expectClose(grads.input, tensor(dx, x.shape), rtol: 1e-4, atol: 1e-5, "input gradient")
        expectClose(grads.weight, tensor(dw, weight.shape), rtol: 1e-4, atol: 2e-4, "weight gradient")
        if c.bias { expectClose(grads.bias!, tensor(db, [co]), rtol: 1e-4, atol: 1e-3, "bias gradient") }
        #expect((grads.bias == nil) == !c.bias)
    }
}

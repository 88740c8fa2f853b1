import SPConvCore
import SPConvKernels

/// The engine's tensor operations on NCHW float32 tensors, on their fast kernels.
///
/// Each op has a twin of the same name in `ReferenceOps`. Shapes:
/// - `conv2d`: `[N, C_in, H, W]` * `[C_out, C_in/groups, K, K]` -> `[N, C_out, H', W']`,
///   `H' = (H + 2p - d(K-1) - 1) / s + 1` (see `Conv2DGeometry`).
/// - pooling: `[N, C, H, W] -> [N, C, H', W']` with the same formula (dilation 1).
/// - `linear`: `[N, in]` x `[out, in]` -> `[N, out]`.
public enum Ops {
    /// 2-D convolution through oneDNN (a kernel is built per call; layers cache theirs).
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) throws -> Tensor {
        try validateConv(input: input, weight: weight, bias: bias, geometry: geometry)
        let kernel = try ConvolutionKernel(.init(inputShape: input.shape, outputChannels: weight.shape[0],
                                                 geometry: geometry, hasBias: bias != nil, postOps: []))
        return try kernel.run(input: input, packedWeights: kernel.packWeights(weight), bias: bias).rowMajor()
    }

    static func validateConv(input: Tensor, weight: Tensor, bias: Tensor?, geometry g: Conv2DGeometry) throws {
        guard input.rank == 4, weight.rank == 4 else {
            throw SPConvLabError(.invalidInput, "conv2d needs an NCHW input and an OIHW weight; got input \(input.shape) and weight \(weight.shape).")
        }
        let c = input.shape[1]
        guard weight.shape[2] == g.kernelSize, weight.shape[3] == g.kernelSize,
              c % g.groups == 0, weight.shape[1] * g.groups == c, weight.shape[0] % g.groups == 0 else {
            throw SPConvLabError(.invalidInput, "conv2d input \(input.shape) does not fit weight \(weight.shape) with groups \(g.groups) and kernel \(g.kernelSize): the weight must be [C_out, C_in/groups, K, K] with C_in and C_out divisible by groups.")
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw SPConvLabError(.invalidInput, "conv2d bias has shape \(bias.shape); expected [\(weight.shape[0])].")
        }
        guard g.outputExtent(input.shape[2]) >= 1, g.outputExtent(input.shape[3]) >= 1 else {
            throw SPConvLabError(.invalidInput, "conv2d input of spatial size \(input.shape[2])x\(input.shape[3]) is smaller than the kernel \(g.kernelSize) (dilation \(g.dilation), padding \(g.padding)).")
        }
    }

    /// Inference batch normalisation: `(x - mean) / sqrt(var + eps) * scale + shift` per channel.
    public static func batchNorm(_ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor,
                                 epsilon: Float = 1e-5) -> Tensor {
        let (s, b) = foldBatchNorm(mean: mean, variance: variance, scale: scale, shift: shift, epsilon: epsilon)
        return ElementwiseKernels.channelAffine(input, scale: s, shift: b, relu: false)
    }

    /// The per-channel `(a, b)` with `bn(x) = a * x + b`, computed in Double.
    static func foldBatchNorm(mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor,
                              epsilon: Float) -> (scale: [Float], shift: [Float]) {
        var a = [Float](repeating: 0, count: mean.count), b = a
        for c in 0..<mean.count {
            let inv = 1 / (Double(variance.scalars[c]) + Double(epsilon)).squareRoot()
            let s = Double(scale.scalars[c]) * inv
            a[c] = Float(s)
            b[c] = Float(Double(shift.scalars[c]) - Double(mean.scalars[c]) * s)
        }
        return (a, b)
    }

    public static func relu(_ input: Tensor) -> Tensor { ElementwiseKernels.relu(input) }

    public static func maxPool2d(_ input: Tensor, kernelSize: Int, stride: Int, padding: Int = 0) -> Tensor {
        ElementwiseKernels.pool(input, kernelSize: kernelSize, stride: stride, padding: padding, isMax: true)
    }

    public static func avgPool2d(_ input: Tensor, kernelSize: Int, stride: Int, padding: Int = 0) -> Tensor {
        ElementwiseKernels.pool(input, kernelSize: kernelSize, stride: stride, padding: padding, isMax: false)
    }

    /// Adaptive average pooling; the global case (`outputSize == 1`) has its own kernel.
    public static func adaptiveAvgPool2d(_ input: Tensor, outputSize: Int) -> Tensor {
        outputSize == 1 ? ElementwiseKernels.globalAveragePool(input)
                        : ReferenceOps.adaptiveAvgPool2d(input, outputSize: outputSize)
    }

    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(input.rank == 2 && weight.rank == 2 && input.shape[1] == weight.shape[1],
                     "linear: input \(input.shape) does not fit weight \(weight.shape)")
        return ElementwiseKernels.linear(input, weight: weight, bias: bias)
    }

    /// Element-wise sum; NumPy broadcasting, with a fast path for equal shapes.
    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        a.shape == b.shape ? ElementwiseKernels.add(a, b, relu: false) : ReferenceOps.add(a, b)
    }

    /// Element-wise product; NumPy broadcasting, with a fast path for `[N, C, H, W] * [N, C, 1, 1]`.
    public static func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
        if a.rank == 4, b.shape == [a.shape[0], a.shape[1], 1, 1] {
            return ElementwiseKernels.multiplyPerChannel(a, b)
        }
        return ReferenceOps.multiply(a, b)
    }

    public static func softmax(_ input: Tensor, axis: Int) -> Tensor {
        precondition(axis >= 0 && axis < input.rank, "softmax axis \(axis) out of range for rank \(input.rank)")
        return ElementwiseKernels.softmax(input, axis: axis)
    }

    public static func sliceChannels(_ input: Tensor, _ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= input.shape[1], "channel range \(range) out of \(input.shape)")
        return ElementwiseKernels.sliceChannels(input, range)
    }

    public static func concatChannels(_ inputs: [Tensor]) -> Tensor {
        precondition(!inputs.isEmpty, "concat needs at least one tensor")
        return ElementwiseKernels.concatChannels(inputs)
    }

    /// The broadcast shape of two shapes under NumPy's rules.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        return zip(pa, pb).map { x, y in
            precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
            return max(x, y)
        }
    }
}

import SPConvCore
import SPConvKernels

/// Plain, obviously correct implementations of every op: the reference twins of the fast kernels.
///
/// They use nothing but array indexing and Double accumulation, follow PyTorch's definitions
/// literally, and exist so tests can compare the fast paths against them on random shapes.
/// All tensors are NCHW float32; shapes follow the formulas documented on `Ops`.
public enum ReferenceOps {
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?, geometry g: Conv2DGeometry) -> Tensor {
        let (n, c, h, w) = input.nchw
        let (o, cPerGroup, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        precondition(c == cPerGroup * g.groups && o % g.groups == 0, "conv2d: channels do not fit the groups")
        let (ho, wo) = (g.outputExtent(h), g.outputExtent(w))
        let oPerGroup = o / g.groups
        var out = Tensor.zeros([n, o, ho, wo])
        let x = input.scalars, wt = weight.scalars
        for b in 0..<n {
            for oc in 0..<o {
                let group = oc / oPerGroup
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var acc = Double(bias?.scalars[oc] ?? 0)
                        for icg in 0..<cPerGroup {
                            let ic = group * cPerGroup + icg
                            for ky in 0..<k {
                                let iy = oy * g.stride - g.padding + ky * g.dilation
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<k {
                                    let ix = ox * g.stride - g.padding + kx * g.dilation
                                    if ix < 0 || ix >= w { continue }
                                    acc += Double(x[((b * c + ic) * h + iy) * w + ix])
                                        * Double(wt[((oc * cPerGroup + icg) * k + ky) * k + kx])
                                }
                            }
                        }
                        out[b, oc, oy, ox] = Float(acc)
                    }
                }
            }
        }
        return out
    }

    public static func batchNorm(_ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor,
                                 epsilon: Float = 1e-5) -> Tensor {
        let (n, c, h, w) = input.nchw
        var out = input
        for b in 0..<n {
            for ch in 0..<c {
                let inv = 1 / (Double(variance.scalars[ch]) + Double(epsilon)).squareRoot()
                for y in 0..<h {
                    for x in 0..<w {
                        let normalized = (Double(input[b, ch, y, x]) - Double(mean.scalars[ch])) * inv
                        out[b, ch, y, x] = Float(normalized * Double(scale.scalars[ch]) + Double(shift.scalars[ch]))
                    }
                }
            }
        }
        return out
    }

    public static func relu(_ input: Tensor) -> Tensor {
        Tensor(shape: input.shape, scalars: input.scalars.map { $0 > 0 ? $0 : 0 })
    }

    /// Max pooling; padded positions never win (PyTorch pads with -infinity).
    public static func maxPool2d(_ input: Tensor, kernelSize: Int, stride: Int, padding: Int = 0) -> Tensor {
        pool(input, kernelSize: kernelSize, stride: stride, padding: padding) { values, _ in values.max() ?? 0 }
    }

    /// Average pooling with PyTorch's defaults: padding counts in the divisor, floor mode.
    public static func avgPool2d(_ input: Tensor, kernelSize: Int, stride: Int, padding: Int = 0) -> Tensor {
        pool(input, kernelSize: kernelSize, stride: stride, padding: padding) { values, _ in
            Float(values.reduce(0.0) { $0 + Double($1) } / Double(kernelSize * kernelSize))
        }
    }

    private static func pool(_ input: Tensor, kernelSize k: Int, stride: Int, padding: Int,
                             reduce: ([Float], Int) -> Float) -> Tensor {
        let (n, c, h, w) = input.nchw
        let g = Conv2DGeometry(kernelSize: k, stride: stride, padding: padding)
        let (ho, wo) = (g.outputExtent(h), g.outputExtent(w))
        var out = Tensor.zeros([n, c, ho, wo])
        for b in 0..<n { for ch in 0..<c { for oy in 0..<ho { for ox in 0..<wo {
            var values: [Float] = []
            for ky in 0..<k { for kx in 0..<k {
                let (iy, ix) = (oy * stride - padding + ky, ox * stride - padding + kx)
                if iy >= 0 && iy < h && ix >= 0 && ix < w { values.append(input[b, ch, iy, ix]) }
            } }
            out[b, ch, oy, ox] = reduce(values, k * k)
        } } } }
        return out
    }

    /// Adaptive average pooling to `outputSize`; window i spans [floor(i*H/O), ceil((i+1)*H/O)).
    public static func adaptiveAvgPool2d(_ input: Tensor, outputSize: Int) -> Tensor {
        let (n, c, h, w) = input.nchw
        var out = Tensor.zeros([n, c, outputSize, outputSize])
        for b in 0..<n { for ch in 0..<c { for oy in 0..<outputSize { for ox in 0..<outputSize {
            let (y0, y1) = (oy * h / outputSize, ((oy + 1) * h + outputSize - 1) / outputSize)
            let (x0, x1) = (ox * w / outputSize, ((ox + 1) * w + outputSize - 1) / outputSize)
            var sum = 0.0
            for y in y0..<y1 { for x in x0..<x1 { sum += Double(input[b, ch, y, x]) } }
            out[b, ch, oy, ox] = Float(sum / Double((y1 - y0) * (x1 - x0)))
        } } } }
        return out
    }

    /// `y = x W^T + b` for x `[N, in]`, W `[out, in]` (PyTorch's `nn.Linear`).
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let (n, inFeatures, outFeatures) = (input.shape[0], input.shape[1], weight.shape[0])
        var out = Tensor.zeros([n, outFeatures])
        for b in 0..<n { for o in 0..<outFeatures {
            var acc = Double(bias?.scalars[o] ?? 0)
            for i in 0..<inFeatures { acc += Double(input[b, i]) * Double(weight[o, i]) }
            out[b, o] = Float(acc)
        } }
        return out
    }

    /// Element-wise sum with NumPy broadcasting.
    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor { broadcast(a, b, +) }

    /// Element-wise product with NumPy broadcasting.
    public static func multiply(_ a: Tensor, _ b: Tensor) -> Tensor { broadcast(a, b, *) }

    private static func broadcast(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        let shape = Ops.broadcastShape(a.shape, b.shape)
        let rank = shape.count
        let aShape = [Int](repeating: 1, count: rank - a.rank) + a.shape
        let bShape = [Int](repeating: 1, count: rank - b.rank) + b.shape
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        var index = [Int](repeating: 0, count: rank)
        for flat in 0..<values.count {
            var rest = flat
            for d in stride(from: rank - 1, through: 0, by: -1) { index[d] = rest % shape[d]; rest /= shape[d] }
            var ai = 0, bi = 0
            for d in 0..<rank {
                ai = ai * aShape[d] + (aShape[d] == 1 ? 0 : index[d])
                bi = bi * bShape[d] + (bShape[d] == 1 ? 0 : index[d])
            }
            values[flat] = op(a.scalars[ai], b.scalars[bi])
        }
        return Tensor(shape: shape, scalars: values)
    }

    /// Softmax along `axis`, computed as exp(x - max) / sum.
    public static func softmax(_ input: Tensor, axis: Int) -> Tensor {
        let outer = input.shape[..<axis].reduce(1, *)
        let extent = input.shape[axis]
        let inner = input.shape[(axis + 1)...].reduce(1, *)
        var values = input.scalars
        for o in 0..<outer { for i in 0..<inner {
            let indices = (0..<extent).map { (o * extent + $0) * inner + i }
            let m = indices.map { Double(input.scalars[$0]) }.max() ?? 0
            let exps = indices.map { Foundation_exp(Double(input.scalars[$0]) - m) }
            let total = exps.reduce(0, +)
            for (j, idx) in indices.enumerated() { values[idx] = Float(exps[j] / total) }
        } }
        return Tensor(shape: input.shape, scalars: values)
    }

    /// Channels `range` of an NCHW tensor.
    public static func sliceChannels(_ input: Tensor, _ range: Range<Int>) -> Tensor {
        let (n, _, h, w) = input.nchw
        var out = Tensor.zeros([n, range.count, h, w])
        for b in 0..<n { for (j, ch) in range.enumerated() { for y in 0..<h { for x in 0..<w {
            out[b, j, y, x] = input[b, ch, y, x]
        } } } }
        return out
    }

    /// Concatenation of NCHW tensors along channels.
    public static func concatChannels(_ inputs: [Tensor]) -> Tensor {
        let (n, _, h, w) = inputs[0].nchw
        let total = inputs.reduce(0) { $0 + $1.shape[1] }
        var out = Tensor.zeros([n, total, h, w])
        var offset = 0
        for t in inputs {
            for b in 0..<n { for ch in 0..<t.shape[1] { for y in 0..<h { for x in 0..<w {
                out[b, offset + ch, y, x] = t[b, ch, y, x]
            } } } }
            offset += t.shape[1]
        }
        return out
    }
}

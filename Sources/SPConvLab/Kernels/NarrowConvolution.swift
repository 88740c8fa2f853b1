import CKernels
import SPConvCore

/// A stride-1 convolution on a few channels of a channel-blocked tensor, for training: SPConv's
/// representative 3x3 and redundant 1x1 when their channels are part of one 16-lane block (8 of
/// stage 1's 16 channels at ratio 1/2).
///
/// oneDNN's `nChw16c` kernels would run such a convolution on the whole block with the weight
/// placed among zeros, doing a 16-channel convolution's work for 8 channels; `ck_narrow_conv_*`
/// (CKernels, `narrow_conv.h`) read only the channels used. Images are split over the OpenMP
/// threads; the weight gradient is summed per thread and then over threads in thread order, so
/// it depends on the thread count but not on timing.
package enum NarrowConvolution {
    /// True when `ck_narrow_conv_*` run this convolution and beat oneDNN: a channel-blocked
    /// input of which at most 8 channels are read, all from one block, stride 1, a 1x1 or a 3x3
    /// with padding 1, output channels whole blocks, and the AVX-512 build (the AVX2 path trains
    /// row-major; the baseline's fused multiply-adds are library calls).
    package static func applies(to input: Tensor, channels: Range<Int>, outputChannels: Int, geometry g: Conv2DGeometry) -> Bool {
        guard input.layout == .channelBlocked(16), input.rank == 4, !channels.isEmpty, channels.count <= 8,
              channels.lowerBound / 16 == (channels.upperBound - 1) / 16, outputChannels % 16 == 0,
              g.stride == 1, g.dilation == 1, g.groups == 1, g.kernelSize == 1 && g.padding == 0 || g.kernelSize == 3 && g.padding == 1
        else { return false }
        _ = DNNL.shared  // chooses the C kernels' instruction set
        return ck_engine_isa() == 2
    }

    /// `conv2d(x[:, channels], weight) + bias`, channel-blocked `[N, C_out, H, W]`; `weight` is
    /// `[C_out, channels.count, K, K]`.
    package static func forward(_ x: Tensor, channels: Range<Int>, weight: Tensor, bias: Tensor?) -> Tensor {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let (oc, ks) = (weight.shape[0], weight.shape[2])
        precondition(weight.shape == [oc, channels.count, ks, ks] && (bias?.shape ?? [oc]) == [oc], "narrow convolution: weight \(weight.shape) for \(channels)")
        let xBlocks = (x.shape[1] + 15) / 16
        return Tensor(blockedShape: [n, oc, h, w], block: 16) { out in
            let y = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                weight.withUnsafeBufferPointer { ws in
                    withOptionalPointer(bias) { b in
                        parallelFor(n) { images in
                            let status = ck_narrow_conv_forward(images.lowerBound, images.upperBound, h, w, xs.baseAddress!, xBlocks,
                                                                channels.lowerBound, channels.count, ws.baseAddress!, b, oc, ks, y)
                            precondition(status == 0, "narrow convolution: out of memory for its weight table")
                        }
                    }
                }
            }
        }
    }

    /// The gradients of `forward` from `gradOutput` (channel-blocked like its output): the input's
    /// (channel-blocked like `x`, zero outside `channels`), the weight's and, when `hasBias`, the bias's.
    package static func backward(_ gradOutput: Tensor, input x: Tensor, channels: Range<Int>, weight: Tensor, hasBias: Bool)
        -> (input: Tensor, weight: Tensor, bias: Tensor?) {
        var parameters: (weight: Tensor, bias: Tensor?)?
        let gradInput = Tensor(blockedShape: x.shape, block: 16) { dx in
            parameters = backward(gradOutput, input: x, channels: channels, weight: weight, hasBias: hasBias,
                                  inputGradient: dx.baseAddress!, accumulate: false)
        }
        return (gradInput, parameters!.weight, parameters!.bias)
    }

    /// `backward`, adding the input's gradient to `inputGradient` (channel-blocked like `x`), whose
    /// channels outside `channels` stay as they are: no zero-filled gradient and no separate add
    /// where another op's gradient for the same input arrived first. Returns the weight's and bias's.
    package static func backward(_ gradOutput: Tensor, input x: Tensor, channels: Range<Int>, weight: Tensor, hasBias: Bool,
                         addingInputGradientTo inputGradient: inout Tensor) -> (weight: Tensor, bias: Tensor?) {
        precondition(inputGradient.shape == x.shape && inputGradient.layout == .channelBlocked(16),
                     "narrow convolution: input gradient \(inputGradient.shape) for input \(x.shape)")
        return inputGradient.withUnsafeMutableBufferPointer { dx in
            backward(gradOutput, input: x, channels: channels, weight: weight, hasBias: hasBias, inputGradient: dx.baseAddress!,
                     accumulate: true)
        }
    }

    private static func backward(_ gradOutput: Tensor, input x: Tensor, channels: Range<Int>, weight: Tensor, hasBias: Bool,
                                 inputGradient dx: UnsafeMutablePointer<Float>, accumulate: Bool) -> (weight: Tensor, bias: Tensor?) {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let (oc, ks) = (weight.shape[0], weight.shape[2])
        precondition(gradOutput.shape == [n, oc, h, w] && gradOutput.layout == .channelBlocked(16), "narrow convolution: gradient \(gradOutput.shape)")
        let xBlocks = (x.shape[1] + 15) / 16
        let weightCount = weight.scalars.count
        let parts = max(1, min(DNNL.maxThreads, n))
        // Per part: its weight gradient, then its bias gradient.
        var partials = [Float](repeating: 0, count: parts * (weightCount + oc))
        x.withUnsafeBufferPointer { xs in
            weight.withUnsafeBufferPointer { ws in
                gradOutput.withUnsafeBufferPointer { dys in
                    partials.withUnsafeMutableBufferPointer { ps in
                        let p = ps.baseAddress!
                        parallelFor(parts) { range in
                            for part in range {
                                let first = part * n / parts, last = (part + 1) * n / parts
                                let gw = p + part * (weightCount + oc)
                                let status = ck_narrow_conv_backward(first, last, h, w, xs.baseAddress!, xBlocks, channels.lowerBound,
                                                                     channels.count, ws.baseAddress!, oc, ks, dys.baseAddress!, dx,
                                                                     accumulate ? 1 : 0, gw, hasBias ? gw + weightCount : nil)
                                precondition(status == 0, "narrow convolution: out of memory for its weight tables")
                            }
                        }
                    }
                }
            }
        }
        var gradWeight = [Float](repeating: 0, count: weightCount), gradBias = [Float](repeating: 0, count: oc)
        for part in 0..<parts {
            let base = part * (weightCount + oc)
            for i in 0..<weightCount { gradWeight[i] += partials[base + i] }
            for i in 0..<oc { gradBias[i] += partials[base + weightCount + i] }
        }
        return (Tensor(shape: weight.shape, scalars: gradWeight), hasBias ? Tensor(shape: [oc], scalars: gradBias) : nil)
    }

    private static func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let tensor else { return body(nil) }
        return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

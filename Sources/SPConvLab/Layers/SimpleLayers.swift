import SPConvCore
import SPConvKernels

/// `nn.ReLU`: `max(x, 0)` element-wise, any shape.
public final class ReLU: Layer {
    public var typeName: String { "ReLU" }
    public init() {}

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        context.backend == .fast ? Ops.relu(input.rowMajor()) : ReferenceOps.relu(input)
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        context.record(type: typeName, outputShape: inputShape, flops: inputShape.dropFirst().reduce(1, *))
        return inputShape
    }
}

/// `nn.MaxPool2d` / `nn.AvgPool2d` (floor mode; average counts padding, PyTorch's default).
///
/// `[N, C, H, W] -> [N, C, H', W']`, `H' = (H + 2p - K) / s + 1`.
public final class Pool2D: Layer {
    public enum Kind: Sendable { case max, average }
    public let kind: Kind
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    private let kernels = LockedBox<[PoolingKernel.Key: PoolingKernel]>([:])

    public var typeName: String { kind == .max ? "MaxPool2d" : "AvgPool2d" }

    public init(_ kind: Kind, kernelSize: Int, stride: Int, padding: Int = 0) {
        self.kind = kind
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        _ = try outputShape(input.shape)
        let key = PoolingKernel.Key(inputShape: input.shape, kernelSize: kernelSize,
                                    stride: stride, padding: padding, isMax: kind == .max)
        if context.backend == .fast, case .channelBlocked = input.layout {
            return try kernels.withLock {
                if let kernel = kernels.value[key] { return kernel }
                let kernel = try PoolingKernel(key)
                kernels.value[key] = kernel
                return kernel
            }.run(input)
        }
        switch (kind, context.backend) {
        case (.max, .fast): return Ops.maxPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding)
        case (.max, .reference): return ReferenceOps.maxPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding)
        case (.average, .fast): return Ops.avgPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding)
        case (.average, .reference): return ReferenceOps.avgPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding)
        }
    }

    func outputShape(_ shape: [Int]) throws -> [Int] {
        let g = Conv2DGeometry(kernelSize: kernelSize, stride: stride, padding: padding)
        guard shape.count == 4, g.outputExtent(shape[2]) >= 1, g.outputExtent(shape[3]) >= 1 else {
            throw SPConvLabError(.invalidInput, "\(typeName)(kernel \(kernelSize), stride \(stride)) cannot run on an input of shape \(shape): it needs [N, C, H, W] with H and W of at least \(kernelSize - 2 * padding). Use a larger input size.")
        }
        return [shape[0], shape[1], g.outputExtent(shape[2]), g.outputExtent(shape[3])]
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        let out = try outputShape(inputShape)
        let perOutput = kind == .max ? kernelSize * kernelSize - 1 : kernelSize * kernelSize
        context.record(type: typeName, outputShape: out, flops: perOutput * out.dropFirst().reduce(1, *))
        return out
    }
}

/// `nn.AdaptiveAvgPool2d(1)`: the mean of each channel, `[N, C, H, W] -> [N, C, 1, 1]`.
public final class GlobalAvgPool2D: Layer {
    public var typeName: String { "AdaptiveAvgPool2d" }
    public init() {}

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        switch (context.backend, input.layout) {
        case (.fast, .channelBlocked(let block)):
            return OpProfiler.measure("global average pool") { LayoutKernels.globalAveragePool(input, block: block) }
        case (.fast, .rowMajor): return Ops.adaptiveAvgPool2d(input, outputSize: 1)
        case (.reference, _): return ReferenceOps.adaptiveAvgPool2d(input, outputSize: 1)
        }
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        let out = [inputShape[0], inputShape[1], 1, 1]
        context.record(type: typeName, outputShape: out, flops: inputShape.dropFirst().reduce(1, *))
        return out
    }
}

/// `nn.Linear`: `[N, in] -> [N, out]`, `y = x W^T + b`, weight `[out, in]`. Flattens a 4-D input first.
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public var weight: Tensor
    public var bias: Tensor

    public var typeName: String { "Linear" }

    public init(inputFeatures: Int, outputFeatures: Int) {
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        weight = .zeros([outputFeatures, inputFeatures])
        bias = .zeros([outputFeatures])
    }

    public func visitOwnTensors(_ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {
        try body("weight", .parameter, &weight)
        try body("bias", .parameter, &bias)
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        let flat = input.rowMajor().reshaped(to: [input.shape[0], input.count / max(input.shape[0], 1)])
        guard flat.shape[1] == inputFeatures else {
            throw SPConvLabError(.invalidInput, "Linear expects \(inputFeatures) features per sample; got input \(input.shape).")
        }
        return context.backend == .fast ? OpProfiler.measure("linear") { Ops.linear(flat, weight: weight, bias: bias) }
                                        : ReferenceOps.linear(flat, weight: weight, bias: bias)
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        let features = inputShape.dropFirst().reduce(1, *)
        guard features == inputFeatures else {
            throw SPConvLabError(.invalidInput, "Linear expects \(inputFeatures) features per sample; got input \(inputShape).")
        }
        let macs = inputFeatures * outputFeatures
        context.record(type: typeName, outputShape: [inputShape[0], outputFeatures],
                       params: weight.count + bias.count, macs: macs, flops: 2 * macs + outputFeatures)
        return [inputShape[0], outputFeatures]
    }
}

/// `nn.Sequential`: children named "0", "1", ... run in order.
public final class Sequential: Layer {
    public let layers: [any Layer]
    public var typeName: String { "Sequential" }

    public init(_ layers: [any Layer]) { self.layers = layers }

    public var children: [(name: String, layer: any Layer)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        var x = input
        for (i, layer) in layers.enumerated() { x = try context.call(layer, String(i), x) }
        return x
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        var shape = inputShape
        for (i, layer) in layers.enumerated() { shape = try context.call(layer, String(i), shape) }
        return shape
    }
}

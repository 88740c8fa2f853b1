import SPConvCore
import SPConvKernels

// Each zoo layer's graph: the ops it runs, in the order `trace` records them, so the graph's cost
// ledger equals the layer tree's row for row.

extension Conv2D {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        builder.add(.conv2d(geometry, outputChannels: outputChannels), type: typeName, inputs: [input],
                    parameters: bias == nil ? ["weight"] : ["weight", "bias"])
    }
}

extension BatchNorm2D {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        builder.add(.batchNorm(epsilon: epsilon), type: typeName, inputs: [input],
                    parameters: ["weight", "bias", "running_mean", "running_var"])
    }
}

extension ReLU {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        builder.add(.relu, type: typeName, inputs: [input])
    }
}

extension Pool2D {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        let op: Graph.Op = kind == .max ? .maxPool(kernelSize: kernelSize, stride: stride, padding: padding)
                                        : .avgPool(kernelSize: kernelSize, stride: stride, padding: padding)
        return builder.add(op, type: typeName, inputs: [input])
    }
}

extension GlobalAvgPool2D {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        builder.add(.globalAveragePool, type: typeName, inputs: [input])
    }
}

extension Linear {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        builder.add(.linear, type: typeName, inputs: [input], parameters: ["weight", "bias"])
    }
}

extension Sequential {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        var value = input
        for (index, layer) in layers.enumerated() { value = try builder.call(layer, String(index), value) }
        return value
    }
}

extension BasicBlock {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        var out = try builder.call(bn1, "bn1", try builder.call(conv1.layer, "conv1", input))
        out = builder.add(.relu, type: "ReLU", step: "relu1", inputs: [out])
        out = try builder.call(bn2, "bn2", try builder.call(conv2.layer, "conv2", out))
        let identity = try downsample.map { try builder.call($0, "downsample", input) } ?? input
        out = builder.add(.add, type: "add", step: "add", inputs: [out, identity])
        return builder.add(.relu, type: "ReLU", step: "relu2", inputs: [out])
    }
}

extension Bottleneck {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        var out = try builder.call(bn1, "bn1", try builder.call(conv1, "conv1", input))
        out = builder.add(.relu, type: "ReLU", step: "relu1", inputs: [out])
        out = try builder.call(bn2, "bn2", try builder.call(conv2.layer, "conv2", out))
        out = builder.add(.relu, type: "ReLU", step: "relu2", inputs: [out])
        out = try builder.call(bn3, "bn3", try builder.call(conv3, "conv3", out))
        let identity = try downsample.map { try builder.call($0, "downsample", input) } ?? input
        out = builder.add(.add, type: "add", step: "add", inputs: [out, identity])
        return builder.add(.relu, type: "ReLU", step: "relu3", inputs: [out])
    }
}

extension SPConv {
    /// The authors' `SPConv_3x3.forward`: split the input channels; representative part through
    /// the group-wise 3x3 plus the point-wise 1x1 (on the part pooled by AvgPool2d(2, 2) at
    /// stride 2) and bn1; redundant part (pooled at stride 2) through the cheap 1x1 and bn2; then
    /// the parameter-free softmax fusion. The one place SPConv's forward math is written as ops.
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        var representative = builder.add(.sliceChannels(0..<representativeChannels), type: "slice", step: "split_rep", inputs: [input])
        var redundant = builder.add(.sliceChannels(representativeChannels..<inputChannels), type: "slice", step: "split_red", inputs: [input])
        let gwcOut = try builder.call(gwc, "gwc", representative)
        if stride == 2 {
            representative = builder.add(.avgPool(kernelSize: 2, stride: 2, padding: 0), type: "AvgPool2d", step: "avgpool_s2_3",
                                         inputs: [representative])
        }
        let pwcOut = try builder.call(pwc, "pwc", representative)
        let sum = builder.add(.add, type: "add", step: "add", inputs: [gwcOut, pwcOut])
        let normalizedRepresentative = try builder.call(bn1, "bn1", sum)
        if stride == 2 {
            redundant = builder.add(.avgPool(kernelSize: 2, stride: 2, padding: 0), type: "AvgPool2d", step: "avgpool_s2_1",
                                    inputs: [redundant])
        }
        let normalizedRedundant = try builder.call(bn2, "bn2", try builder.call(conv1x1, "conv1x1", redundant))
        return builder.add(.spconvFusion, type: "fusion", step: "fusion", inputs: [normalizedRepresentative, normalizedRedundant])
    }
}

import SPConvCore
import SPConvKernels

extension Graph {
    /// The training interpreter: runs the graph on a ``Tape`` in training mode (batch statistics
    /// in batch norm, every op recorded for the backward pass).
    ///
    /// Its rewrites pick the tape's fused ops where the graph's pattern allows, each the same
    /// math as the ops it replaces (checked by the gradient checks and the PyTorch training
    /// fixtures):
    /// - the ops of an `SPConv` module become `Tape.spconvRepresentative`, `Tape.spconvRedundant`
    ///   and `Tape.spconvNormalizedFusion`, which also takes a following batch norm and ReLU;
    /// - a batch norm or an add followed by a ReLU is one op.
    ///
    /// - Parameters:
    ///   - input: the batch, `[N, C, H, W]`.
    ///   - modules: the modules owning the nodes' parameters, by dotted path (a root's
    ///     `namedModules()`); the tape reports each parameter's gradient under its module.
    /// - Returns: the output variable.
    /// - Throws: ``SPConvLabError`` when an op cannot run on its input or a module is missing.
    public func runTraining(_ input: Variable, tape: Tape, modules: [String: any Layer]) throws -> Variable {
        var weights: [String: Tensor] = [:]
        for (path, module) in modules {
            module.visitOwnTensors { name, _, tensor in weights[path.isEmpty ? name : path + "." + name] = tensor }
        }
        _ = try trace(inputShape: tape.storedValue(input).shape, weights: weights)
        let readers = self.readers
        var values = [Variable?](repeating: nil, count: nodes.count + 1)
        values[0] = input
        var done = [Bool](repeating: false, count: nodes.count)
        let spconvStarts = moduleCalls(ofType: "SPConv")

        func module<T>(_ path: String, as type: T.Type) throws -> T {
            guard let found = modules[path] as? T else {
                throw SPConvLabError(.invalidConfiguration, "the training pass needs the module '\(path)' as \(T.self), which the model lacks")
            }
            return found
        }
        /// The one node reading `value` when it is `op`, not yet run.
        func soleReader(_ value: Value, where matches: (Op) -> Bool) -> Int? {
            guard value != output, readers[value.id].count == 1, !done[readers[value.id][0]],
                  matches(nodes[readers[value.id][0]].op) else { return nil }
            return readers[value.id][0]
        }
        let isReLU: (Op) -> Bool = { if case .relu = $0 { true } else { false } }
        let isNorm: (Op) -> Bool = { if case .batchNorm = $0 { true } else { false } }
        /// Marks `node` run, with `variable` as the value it sets.
        func finish(_ node: Int, _ variable: Variable) {
            done[node] = true
            values[nodes[node].output.id] = variable
        }

        for index in nodes.indices where !done[index] {
            let node = nodes[index]
            let x = values[node.inputs[0].id]!
            if let region = spconvStarts[index] {
                let spconv = try module(String(region.path), as: SPConv.self)
                let rep = try tape.spconvRepresentative(x, channels: 0..<spconv.representativeChannels, gwc: spconv.gwc,
                                                        pwc: spconv.pwc, stride: spconv.stride)
                let red = try tape.spconvRedundant(x, channels: spconv.representativeChannels..<spconv.inputChannels,
                                                   conv1x1: spconv.conv1x1, stride: spconv.stride)
                for inside in region.nodes { done[inside] = true }
                if let norm = soleReader(region.output, where: isNorm) {
                    let relu = soleReader(nodes[norm].output, where: isReLU)
                    let outer = try module(nodes[norm].module, as: BatchNorm2D.self)
                    let y = try tape.spconvNormalizedFusion(rep, red, bn1: spconv.bn1, bn2: spconv.bn2, then: outer, relu: relu != nil)
                    finish(norm, y)
                    if let relu { finish(relu, y) }
                } else {
                    values[region.output.id] = try tape.spconvNormalizedFusion(rep, red, bn1: spconv.bn1, bn2: spconv.bn2)
                }
                continue
            }
            let y: Variable
            switch node.op {
            case .conv2d:
                y = try tape.conv2d(x, try module(node.module, as: Conv2D.self))
            case .batchNorm:
                let norm = try module(node.module, as: BatchNorm2D.self)
                if let relu = soleReader(node.output, where: isReLU) {
                    finish(relu, try tape.batchNorm(x, norm, relu: true))
                    done[index] = true
                    continue
                }
                y = try tape.batchNorm(x, norm)
            case .relu:
                y = tape.relu(x)
            case .add:
                let other = values[node.inputs[1].id]!
                if let relu = soleReader(node.output, where: isReLU) {
                    finish(relu, tape.addRelu(x, other))
                    done[index] = true
                    continue
                }
                y = tape.add(x, other)
            case .sliceChannels(let range):
                y = tape.sliceChannels(x, range)
            case .maxPool(let kernelSize, let stride, let padding):
                y = try tape.pool(x, kind: .max, kernelSize: kernelSize, stride: stride, padding: padding)
            case .avgPool(let kernelSize, let stride, let padding):
                y = try tape.pool(x, kind: .average, kernelSize: kernelSize, stride: stride, padding: padding)
            case .globalAveragePool:
                // `[N, C]`: the pool and PyTorch's `flatten(1)` in one.
                y = tape.globalAveragePool(x)
            case .linear:
                let shape = tape.value(x).shape
                let flat = shape.count == 2 ? x : tape.reshape(x, [shape[0], shape.dropFirst().reduce(1, *)])
                y = try tape.linear(flat, try module(node.module, as: Linear.self))
            case .spconvFusion:
                y = tape.spconvFusion(x, values[node.inputs[1].id]!)
            }
            finish(index, y)
        }
        return values[output.id]!
    }
}

extension Layer {
    /// Runs this module alone in training mode on `tape` (its graph, built on each call, through
    /// ``Graph/runTraining(_:tape:modules:)``).
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable {
        try GraphBuilder.build(layer: self).runTraining(input, tape: tape, modules: modulesByPath)
    }

    /// Every module of the subtree by its path relative to this one (`""` is this module).
    public var modulesByPath: [String: any Layer] {
        Dictionary(namedModules().map { ($0.path, $0.layer) }, uniquingKeysWith: { first, _ in first })
    }
}

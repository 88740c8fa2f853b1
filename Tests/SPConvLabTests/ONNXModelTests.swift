import Foundation
import Testing
@testable import SPConvLab

/// The ONNX reader and its cost ledger on a model exported by torch.onnx.export
/// (`Fixtures/onnx/mixed.onnx`, made with its facts in `mixed.json` by tools/make_onnx_fixtures.py:
/// the file's weights counted with the onnx library, MACs with PyTorch forward hooks), and every
/// kind of malformed file, each made by changing one field of that model.
@Suite struct ONNXModelTests {
    struct Facts: Decodable {
        var input_shape: [Int], output_shape: [Int], file_parameters: Int, macs: Int, nodes: [[String]]
    }

    static let path = fixtureURL("onnx/mixed.onnx").path
    static let facts = try! JSONDecoder().decode(Facts.self, from: Data(contentsOf: fixtureURL("onnx/mixed.json")))

    static func proto() throws -> Onnx_ModelProto {
        try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The message of the error `body` throws, or a recorded failure.
    static func refusal(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
            return ""
        } catch let error as SPConvLabError {
            return error.message
        } catch {
            Issue.record("expected SPConvLabError, got \(error)", sourceLocation: sourceLocation)
            return ""
        }
    }

    static func refusal(of proto: Onnx_ModelProto, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        refusal({ _ = try ONNXModel(proto, source: "m.onnx").cost() }, sourceLocation: sourceLocation)
    }

    @Test func readsTheExportedModelWithItsNamesAndInput() throws {
        let model = try ONNXModel(contentsOf: Self.path)
        #expect(model.opset == 17)
        #expect(model.inputName == "image" && model.inputShape == [nil] + Self.facts.input_shape.map { $0 })
        #expect(model.outputNames == ["logits"])
        // Constant nodes are folded; every other node is kept under its exported name.
        #expect(Set(model.nodes.map { [$0.name, $0.opType] }) == Set(Self.facts.nodes))
        let stem = try #require(model.nodes.first { $0.name == "/stem/stem.0/Conv" })
        #expect(stem.modulePath == "stem.0")
        #expect(model.nodes.first { $0.name == "/se/fc1/Conv" }?.modulePath == "se.fc1")
        #expect(model.nodes.first { $0.name == "/dw/dw.3/Conv" }?.modulePath == "dw.3")
        #expect(model.nodes.first { $0.name == "/Concat" }?.modulePath == nil)
        let mobile = try ONNXModel(contentsOf: fixtureURL("onnx/mobilenet_v2.onnx").path)
        #expect(mobile.nodes.first { $0.name == "/features/features.3/conv/conv.0/conv.0.2/Clip" }?.modulePath == "features.3.conv.0.2")
        let resnet = try ONNXModel(contentsOf: fixtureURL("onnx/resnet18.onnx").path)
        #expect(resnet.nodes.first { $0.name == "/layer1/layer1.0/conv1/Conv" }?.modulePath == "layer1.0.conv1")
    }

    @Test func costMatchesTheFileAndPyTorchsCounts() throws {
        let model = try ONNXModel(contentsOf: Self.path)
        let ledger = try model.cost()
        #expect(ledger.params == Self.facts.file_parameters)
        #expect(ledger.macs == Self.facts.macs)
        #expect(ledger.layers.last?.path == "/fc/Gemm" && ledger.layers.last?.outputShape == [1] + Self.facts.output_shape)
        // The channel shuffle's shape arithmetic folds: the reshapes keep [1, 16, 8, 8].
        let shapes = try model.shapes(batch: 3)
        #expect(shapes["logits"] == [3] + Self.facts.output_shape)
        // FLOPs of a convolution: 2 MACs plus the bias (docs/COST.md).
        let stem = try #require(ledger.layers.first { $0.path == "/stem/stem.0/Conv" })
        #expect(stem.macs == 8 * 16 * 16 * 3 * 9 && stem.flops == 2 * stem.macs + 8 * 16 * 16 && stem.params == 8 * 3 * 9 + 8)
    }

    @Test func refusesATruncatedFile() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        for cut in [1, 17, bytes.count / 2, bytes.count - 3] {
            let message = Self.refusal { _ = try ONNXModel(serialized: bytes.prefix(cut), source: "cut.onnx") }
            #expect(message.contains("cut.onnx") && message.contains("not a readable ONNX model"), "\(cut): \(message)")
        }
    }

    @Test func refusesAnUnsupportedOpNamingTheNode() throws {
        var proto = try Self.proto()
        let index = try #require(proto.graph.node.firstIndex { $0.name == "/se/Sigmoid" })
        proto.graph.node[index].opType = "LSTM"
        let message = Self.refusal(of: proto)
        #expect(message.contains("'/se/Sigmoid'") && message.contains("'LSTM'") && message.contains("Conv, "), "\(message)")
    }

    /// Found by fuzz-onnx: two Conv nodes with one name shared the session's kernel for that name,
    /// and the second ran on the first's input shape (a precondition trap).
    @Test func refusesTwoNodesWithOneName() throws {
        var proto = try Self.proto()
        let index = try #require(proto.graph.node.firstIndex { $0.name == "/se/fc2/Conv" })
        proto.graph.node[index].name = "/se/fc1/Conv"
        let message = Self.refusal(of: proto)
        #expect(message.contains("both named '/se/fc1/Conv'") && message.contains("unique"), "\(message)")
        var unnamed = try Self.proto()
        unnamed.graph.node[index].name = ""
        unnamed.graph.node[0].name = "Conv_\(index)"
        let collision = Self.refusal(of: unnamed)
        #expect(collision.contains("'Conv_\(index)'"), "\(collision)")
    }

    @Test func refusesAnUnknownAttribute() throws {
        var proto = try Self.proto()
        let index = try #require(proto.graph.node.firstIndex { $0.name == "/stem/stem.0/Conv" })
        var attribute = Onnx_AttributeProto()
        attribute.name = "winograd"
        attribute.type = .int
        proto.graph.node[index].attribute.append(attribute)
        let message = Self.refusal(of: proto)
        #expect(message.contains("'winograd'") && message.contains("'/stem/stem.0/Conv'"), "\(message)")
    }

    @Test func refusesADanglingInputAndACycle() throws {
        var dangling = try Self.proto()
        let relu = try #require(dangling.graph.node.firstIndex { $0.name == "/se/Relu" })
        dangling.graph.node[relu].input = ["nowhere"]
        let message = Self.refusal(of: dangling)
        #expect(message.contains("'/se/Relu'") && message.contains("'nowhere'") && message.contains("dangling"), "\(message)")

        var cycle = try Self.proto()
        let fc1 = try #require(cycle.graph.node.firstIndex { $0.name == "/se/fc1/Conv" })
        cycle.graph.node[fc1].input[0] = cycle.graph.node[relu].output[0]
        #expect(Self.refusal(of: cycle).contains("cycle"))
    }

    @Test func refusesWrongTypesAndSizesBeforeAllocating() throws {
        let base = try Self.proto()
        let index = try #require(base.graph.initializer.firstIndex { $0.dims.count == 4 })
        let name = base.graph.initializer[index].name

        var double = base
        double.graph.initializer[index].dataType = 11
        let typeMessage = Self.refusal(of: double)
        #expect(typeMessage.contains("'\(name)'") && typeMessage.contains("float64"), "\(typeMessage)")

        var huge = base
        huge.graph.initializer[index].dims = [1 << 20, 1 << 20, 1 << 20]
        let hugeMessage = Self.refusal(of: huge)
        #expect(hugeMessage.contains("'\(name)'") && hugeMessage.contains("claims"), "\(hugeMessage)")

        var short = base
        short.graph.initializer[index].dims[0] *= 2
        let shortMessage = Self.refusal(of: short)
        #expect(shortMessage.contains("'\(name)'") && shortMessage.contains("holds"), "\(shortMessage)")
    }

    @Test func refusesShapesThatDoNotFitTheirOp() throws {
        var proto = try Self.proto()
        let index = try #require(proto.graph.node.firstIndex { $0.name == "/dense/Conv" })
        var group = Onnx_AttributeProto()
        group.name = "group"
        group.type = .int
        group.i = 3
        proto.graph.node[index].attribute.append(group)
        let message = Self.refusal(of: proto)
        #expect(message.contains("'/dense/Conv'") && message.contains("group 3"), "\(message)")
    }

    @Test func refusesAFileThatIsNotOneAndAPathThatIsAFolder() throws {
        let folder = NSTemporaryDirectory() + "onnx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = folder + "/notes.onnx"
        try Data("this is not protobuf at all, just words".utf8).write(to: URL(fileURLWithPath: text))
        #expect(Self.refusal { _ = try ONNXModel(contentsOf: text) }.contains("notes.onnx"))
        #expect(Self.refusal { _ = try ONNXModel(contentsOf: folder) }.contains(folder))
    }

    /// Claims that would make a value larger than memory, or counts that overflow, are refused
    /// by node before anything is allocated for them.
    @Test func refusesValuesNoMemoryCouldHold() throws {
        let ops = try Onnx_ModelProto(serializedBytes: Data(contentsOf: fixtureURL("onnx/ops.onnx")))
        func node(_ proto: Onnx_ModelProto, _ name: String) throws -> Int { try #require(proto.graph.node.firstIndex { $0.name == name }) }

        var negative = ops
        var pads = Onnx_AttributeProto()
        (pads.name, pads.type, pads.ints) = ("pads", .ints, [-5, 0, 0, 0])
        negative.graph.node[try node(negative, "/conv/Conv")].attribute.append(pads)
        #expect(Self.refusal(of: negative).contains("pads [-5, 0, 0, 0]"))

        var wide = ops
        var dims = Onnx_TensorShapeProto()
        for size: Int64 in [1, 1 << 24, 1 << 24, 1 << 24] {
            var d = Onnx_TensorShapeProto.Dimension()
            d.dimValue = size
            dims.dim.append(d)
        }
        wide.graph.input[0].type.tensorType.shape = dims
        #expect(Self.refusal(of: wide).contains("more than"))

        var huge = ops
        var stride = Onnx_AttributeProto()
        (stride.name, stride.type, stride.ints) = ("dilations", .ints, [1 << 30, 1 << 30])
        huge.graph.node[try node(huge, "/conv/Conv")].attribute.append(stride)
        let dilated = Self.refusal(of: huge)
        #expect(dilated.contains("'/conv/Conv'"), "\(dilated)")

        // A 2-D Reshape of the pads' constant made 2^20 x 2^20.
        var reshaped = ops
        let shapeName = reshaped.graph.node[try node(reshaped, "/Reshape")].input[1]
        let constant = try node(reshaped, reshaped.graph.node.first { $0.output.first == shapeName }!.name)
        var tensor = Onnx_TensorProto()
        tensor.dataType = 7
        tensor.dims = [2]
        tensor.int64Data = [1 << 20, 1 << 20]
        reshaped.graph.node[constant].attribute[0].t = tensor
        #expect(Self.refusal(of: reshaped).contains("'/Reshape'"))
    }
}


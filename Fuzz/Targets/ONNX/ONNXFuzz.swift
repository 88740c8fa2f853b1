// libFuzzer target: the ONNX reader (swift-protobuf decoding, the model checks, shape inference
// and the cost ledger), and running what it accepts when it is small.
//
// Harness files are the only place outside Sources/SPConvLab/Kernels allowed to hold a raw
// pointer: libFuzzer hands each input over as one, and it is copied into an array at once.
import Foundation
import SPConvLab

/// The input as an ONNX file is read, checked and costed, or refused with
/// `SPConvLabError(.invalidWeights)`; a model it accepts with at most 2^16 input values per image
/// and 2^22 MACs runs once on a batch of zeros (refusals there are `invalidWeights`,
/// `invalidInput` or `backend` from oneDNN), and its outputs have the shapes the ledger gave.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let model: ONNXModel, ledger: CostLedger
    do {
        model = try ONNXModel(serialized: bytes, source: "fuzz input")
        ledger = try model.cost()
    } catch let error as SPConvLabError {
        precondition(error.kind == .invalidWeights, "reading threw kind \(error.kind): \(error.message)")
        return 0
    } catch {
        preconditionFailure("reading threw \(type(of: error)), not SPConvLabError: \(error)")
    }
    let perImage = model.inputShape.dropFirst().map { $0! }
    guard perImage.reduce(1, *) <= 1 << 16, ledger.macs <= 1 << 22 else { return 0 }
    do {
        let session = try ONNXSession(model, batch: 1)
        let shapes = try model.shapes(batch: 1)
        let outputs = try session.run(Tensor(repeating: 0, shape: [1] + perImage)).outputs
        for (name, output) in zip(model.outputNames, outputs) {
            precondition(shapes[name] == nil || shapes[name] == output.shape, "output '\(name)' is \(output.shape), inferred \(shapes[name]!)")
        }
    } catch let error as SPConvLabError {
        precondition([.invalidWeights, .invalidInput, .backend].contains(error.kind), "running threw kind \(error.kind): \(error.message)")
    } catch {
        preconditionFailure("running threw \(type(of: error)), not SPConvLabError: \(error)")
    }
    return 0
}

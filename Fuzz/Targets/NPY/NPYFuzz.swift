// libFuzzer target: the .npy reader.
//
// Harness files are the only place outside Sources/SPConvLab/Kernels allowed to hold a raw
// pointer: libFuzzer hands each input over as one, and it is copied into an array at once.
import SPConvLab

/// The input as a `.npy` file decodes or throws `SPConvLabError(.invalidWeights)`; what decodes
/// survives `encode` then `decode` with the same shape and the same bits (`encode` writes `<f4`,
/// which holds every `<f2` value, and `<f8` values were already rounded to `Float`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let tensor = try NPYFile.decode(bytes, source: "fuzz input")
        // A version 1.0 header (what `encode` writes) holds at most 65535 bytes: about 2700
        // dimensions; longer shapes are legal in version 2.0 files but cannot be re-encoded.
        guard tensor.rank <= 1_000 else { return 0 }
        let again = try NPYFile.decode(NPYFile.encode(tensor), source: "re-encoded fuzz input")
        precondition(again.shape == tensor.shape && again.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern),
                     "a \(tensor.shape) tensor changed through encode/decode")
    } catch let error as SPConvLabError {
        precondition(error.kind == .invalidWeights, "decode threw kind \(error.kind): \(error.message)")
    } catch {
        preconditionFailure("decode threw \(type(of: error)), not SPConvLabError: \(error)")
    }
    return 0
}

// libFuzzer target: PNG decoding through libpng's simplified API.
//
// Harness files are the only place outside Sources/SPConvLab/Kernels allowed to hold a raw
// pointer: libFuzzer hands each input over as one, and it is copied into an array at once.
import SPConvLab

/// Limits tighter than `PNGCodec.Limits.default` (1 GiB of RGBA): the decoder allocates the pixels
/// the header declares before libpng finds a truncated stream, so with the default limits a
/// 60-byte file may cost 1 GiB, beyond the fuzzer's memory budget. The checks before the
/// allocation are the same whatever the numbers.
let limits = PNGCodec.Limits(maxDimension: 4_096, maxPixelCount: 1 << 22)

/// The input decodes or throws `SPConvLabError(.invalidInput)`; what decodes re-encodes to a PNG
/// that decodes to the same pixels (8-bit sRGB data without gamma chunks goes through unchanged).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let image = try PNGCodec.decode(bytes, source: "fuzz input", limits: limits)
        precondition(image.pixels.count == image.width * image.height * image.channels, "pixel count does not match the size")
        let again = try PNGCodec.decode(PNGCodec.encode(image), source: "re-encoded fuzz input", limits: limits)
        precondition(again == image, "a \(image.width)x\(image.height) \(image.layout) image changed through encode/decode")
    } catch let error as SPConvLabError {
        precondition(error.kind == .invalidInput, "decode threw kind \(error.kind): \(error.message)")
    } catch {
        preconditionFailure("decode threw \(type(of: error)), not SPConvLabError: \(error)")
    }
    return 0
}

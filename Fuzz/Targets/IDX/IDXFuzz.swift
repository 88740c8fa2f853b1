// libFuzzer target: the IDX reader (Fashion-MNIST files), raw and gzip-compressed, and the gzip
// decompressor under it.
//
// Harness files are the only place outside Sources/SPConvLab/Kernels allowed to hold a raw
// pointer: libFuzzer hands each input over as one, and it is copied into an array at once.
@testable import SPConvKernels
@testable import SPConvLab

/// The most decompressed bytes the gzip checks accept. Inputs are at most 8 KiB (`run.sh`'s
/// `-max_len`), which deflate can inflate to about 8 MiB; at 16 MiB the fuzzer drifted towards such
/// bombs and spent 45% of its time in zlib, at 1,300 executions a second.
let gzipLimit = 1 << 20

/// Outputs up to this size get every prefix and limit check; larger ones only the prefix of half
/// their size (each check is another decompression).
let fullCheckLimit = 1 << 16

/// The input as an image file and as a label file decodes or throws
/// `SPConvLabError(.invalidInput)`. When the input is gzip data that decompresses whole, every
/// prefix read agrees with it, and a limit one byte short of its size is refused.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for kind in IDXFile.Kind.allCases {
        expectInvalidInput("IDX \(kind) decode") {
            let file = try IDXFile.decode(bytes, source: "fuzz input", kind: kind)
            precondition(file.dimensions.count == kind.rank && file.data.count == file.dimensions.reduce(1, *),
                         "decoded dimensions \(file.dimensions) do not match \(file.data.count) bytes")
        }
    }
    guard Gzip.hasMagic(bytes) else { return 0 }
    guard let whole = try? Gzip.decompress(bytes, source: "fuzz input", maximumOutput: gzipLimit) else {
        for length in [0, 1, 12, 4096] {
            expectInvalidInput("gzip prefix") { _ = try Gzip.decompressPrefix(bytes, source: "fuzz input", length: length) }
        }
        return 0
    }
    let lengths = whole.count <= fullCheckLimit ? [0, 1, 8, 12, 16, whole.count / 2, whole.count, whole.count + 1, 4096] : [whole.count / 2]
    for length in Set(lengths) {
        let prefix = try? Gzip.decompressPrefix(bytes, source: "fuzz input", length: length)
        precondition(prefix.map { $0[...] == whole.prefix(length) } == true,
                     "the first \(length) bytes read alone differ from the whole stream's (\(whole.count) bytes)")
    }
    guard whole.count <= fullCheckLimit else { return 0 }
    precondition((try? Gzip.decompress(bytes, source: "fuzz input", maximumOutput: whole.count)) == whole,
                 "a limit of exactly the size (\(whole.count)) was refused")
    if !whole.isEmpty {
        precondition((try? Gzip.decompress(bytes, source: "fuzz input", maximumOutput: whole.count - 1)) == nil,
                     "a limit one byte short of the size (\(whole.count)) was accepted")
    }
    return 0
}

/// Runs `body`, which may return or throw `SPConvLabError(.invalidInput)`, nothing else.
func expectInvalidInput(_ what: String, _ body: () throws -> Void) {
    do {
        try body()
    } catch let error as SPConvLabError {
        precondition(error.kind == .invalidInput, "\(what) threw kind \(error.kind): \(error.message)")
    } catch {
        preconditionFailure("\(what) threw \(type(of: error)), not SPConvLabError: \(error)")
    }
}

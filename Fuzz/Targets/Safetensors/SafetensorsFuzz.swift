// libFuzzer target: the safetensors reader and the strict JSON parser of its header.
//
// Harness files are the only place outside Sources/SPConvLab/Kernels allowed to hold a raw
// pointer: libFuzzer hands each input over as one, and it is copied into an array at once.
@testable import SPConvLab

/// One input, three checks:
/// 1. the whole input as a safetensors file decodes or throws `SPConvLabError(.invalidWeights)`,
///    and what decodes survives `encode` then `decode` unchanged (names, shapes, bits, metadata);
/// 2. the input after its 8-byte length prefix, as a JSON text, parses or throws `ParseError`;
/// 3. what parses, written back out with `JSONText.quoted` for every string, parses to the same
///    value (the writer's escaping and the reader agree on every string the reader accepts).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    do {
        let archive = try Safetensors.decode(bytes, source: "fuzz input")
        let again = try Safetensors.decode(Safetensors.encode(archive.orderedTensors, metadata: archive.metadata),
                                           source: "re-encoded fuzz input")
        precondition(again.names == archive.names && again.metadata == archive.metadata,
                     "names or metadata changed through encode/decode")
        for name in archive.names {
            let (before, after) = (archive[name]!, again[name]!)
            precondition(before.shape == after.shape && before.scalars.map(\.bitPattern) == after.scalars.map(\.bitPattern),
                         "tensor '\(name)' changed through encode/decode")
        }
    } catch let error as SPConvLabError {
        precondition(error.kind == .invalidWeights, "decode threw kind \(error.kind): \(error.message)")
    } catch {
        preconditionFailure("decode threw \(type(of: error)), not SPConvLabError: \(error)")
    }

    let text = bytes.dropFirst(8)
    if let value = try? JSONValue.parse(text) {
        let written = Array(render(value).utf8)
        do {
            let reparsed = try JSONValue.parse(written[...])
            precondition(reparsed == value, "JSON changed when written back: \(String(decoding: written, as: UTF8.self))")
        } catch {
            preconditionFailure("JSON written back does not parse (\(error)): \(String(decoding: written, as: UTF8.self))")
        }
    }
    return 0
}

/// Compact JSON for a parsed value; numbers keep their source text.
private func render(_ value: JSONValue) -> String {
    switch value {
    case .object(let members):
        "{" + members.map { JSONText.quoted($0.key) + ":" + render($0.value) }.joined(separator: ",") + "}"
    case .array(let elements):
        "[" + elements.map(render).joined(separator: ",") + "]"
    case .string(let text): JSONText.quoted(text)
    case .number(let text): text
    case .bool(let flag): flag ? "true" : "false"
    case .null: "null"
    }
}

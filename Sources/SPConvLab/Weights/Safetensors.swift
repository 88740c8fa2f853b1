import SPConvCore
import SPConvKernels

/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors).
///
/// A file is an 8-byte little-endian `UInt64` header length `N`, then `N` bytes of UTF-8 JSON,
/// then the data buffer:
///
///     {"__metadata__": {"format": "pt"},
///      "conv.weight": {"dtype": "F32", "shape": [8, 3, 3, 3], "data_offsets": [0, 864]}, ...}
///
/// `data_offsets` are `[begin, end)` byte offsets into the data buffer; elements are row-major and
/// little-endian. The reader converts `F32`, `F16`, `BF16` and `F64` tensors to `Float` and skips
/// PyTorch's `*.num_batches_tracked` counters (stored as `I64`) whatever their dtype; any other dtype
/// is an error. It treats the file as hostile: every length, offset and shape is checked before it
/// is used, so malformed input throws `SPConvLabError(.invalidWeights)` instead of trapping, and
/// nothing larger than the file itself is ever allocated. Unlike the reference reader it tolerates
/// unused gaps between tensors; overlapping tensors are rejected.
///
/// The writer produces `F32` tensors only, byte-for-byte what the reference `safetensors` package
/// writes for the same tensors in the same order with the same (single-key) metadata: compact JSON,
/// `__metadata__` first (keys sorted), tensors in the given order, header padded with spaces to a
/// multiple of 8 bytes. (The reference itself reorders tensors by dtype, then name; pass names in
/// sorted order to get an identical file.)
public enum Safetensors {
    /// The reserved header key holding string metadata.
    public static let metadataKey = "__metadata__"
    /// The largest header accepted: 16 MiB, room for about 150,000 tensors. (The reference
    /// implementation allows 100 MB; parsing a header that size as JSON would take gigabytes.)
    public static let maximumHeaderLength = 16 << 20

    /// Tensors whose name ends with this suffix are skipped by the reader whatever their dtype.
    static let skippedSuffix = ".num_batches_tracked"

    /// Bytes per element of every dtype the format defines (sub-byte types are left out: their
    /// sizes are only checked when they are read, which never happens).
    static let dtypeByteWidths: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
        "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
        "U32": 4, "I32": 4, "F32": 4,
        "U64": 8, "I64": 8, "F64": 8, "C64": 8,
    ]

    /// The dtypes converted to `Float` on reading.
    static let readableFormats: [String: StoredFloatFormat] = [
        "F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64,
    ]

    // MARK: Reading

    /// Reads and decodes the safetensors file at `path`.
    ///
    /// - Parameter path: A file system path; it also names the file in error messages.
    /// - Returns: The file's tensors converted to `Float`, in header order, and its metadata.
    /// - Throws: `SPConvLabError(.io)` if the file cannot be read; `SPConvLabError(.invalidWeights)`
    ///   if it is not a well-formed safetensors file (see `decode(_:source:)`).
    ///
    /// The header is read and checked against the file's length first; the tensor data is read
    /// only when every tensor's offsets fit, so a file with a bad header costs its header, not its size.
    public static func read(contentsOf path: String) throws -> SafetensorsArchive {
        let file = try FileBytes.Reader(path: path)
        let preamble = try file.read(0..<8)
        let headerLength = try headerLength(preamble, fileSize: file.size, context: context(path))
        let header = try file.read(8..<(8 + headerLength))
        let layout = try Layout(header: header[...], dataLength: file.size - 8 - headerLength, context: context(path))
        return layout.archive(data: try file.read((8 + headerLength)..<file.size), dataStart: 0)
    }

    /// Decodes a complete safetensors file held in memory.
    ///
    /// - Parameters:
    ///   - bytes: The whole file.
    ///   - source: Where the bytes came from (a path or a description), used in error messages.
    /// - Returns: The tensors (skipping `*.num_batches_tracked`) in header order, and the metadata.
    /// - Throws: `SPConvLabError(.invalidWeights)` naming `source`, the tensor, the bad value and what
    ///   would be accepted, for: a file shorter than 8 bytes; a header length beyond the file or
    ///   `maximumHeaderLength`; a header that is not a JSON object; missing or ill-typed `dtype`,
    ///   `shape`, `data_offsets` or `__metadata__`; negative or non-integer numbers; a shape whose
    ///   element count overflows; offsets outside the data buffer, reversed, of the wrong length for
    ///   dtype and shape, or overlapping another tensor; duplicate names; unsupported dtypes.
    public static func decode(_ bytes: [UInt8], source: String) throws -> SafetensorsArchive {
        let headerLength = try headerLength(Array(bytes.prefix(8)), fileSize: bytes.count, context: context(source))
        let layout = try Layout(header: bytes[8..<(8 + headerLength)], dataLength: bytes.count - 8 - headerLength,
                                context: context(source))
        return layout.archive(data: bytes, dataStart: 8 + headerLength)
    }

    /// The most dimensions a tensor's shape may have; PyTorch allows 64, real weights use at most 5.
    public static let maximumRank = 64

    private static func context(_ source: String) -> String { "safetensors file '\(source)'" }

    /// Checks the 8-byte header length of a file of `fileSize` bytes and returns it.
    private static func headerLength(_ preamble: [UInt8], fileSize: Int, context: String) throws -> Int {
        func invalid(_ detail: String) -> SPConvLabError { SPConvLabError(.invalidWeights, "\(context): \(detail)") }
        guard fileSize >= 8, preamble.count >= 8 else {
            throw invalid("the file is \(fileSize) bytes long, too short for the 8-byte header length that starts every safetensors file; expected at least 8 bytes followed by a JSON header.")
        }
        var declaredLength: UInt64 = 0
        for index in 0..<8 { declaredLength |= UInt64(preamble[index]) << (8 * index) }
        guard declaredLength <= UInt64(maximumHeaderLength) else {
            throw invalid("the header length field says \(declaredLength) bytes, more than the \(maximumHeaderLength)-byte limit; expected a little-endian UInt64 header length of at most \(maximumHeaderLength) (is this a safetensors file?).")
        }
        let headerLength = Int(declaredLength)
        guard headerLength <= fileSize - 8 else {
            throw invalid("the header length field says \(headerLength) bytes but only \(fileSize - 8) bytes follow it; expected a header length no larger than the rest of the file (the file may be truncated, or not a safetensors file).")
        }
        return headerLength
    }

    /// A checked header: every tensor's dtype, shape and place in the data buffer.
    private struct Layout {
        struct Entry {
            var name: String
            var dtype: String
            var shape: [Int]
            var count: Int
            var begin: Int
            var end: Int
        }
        var entries: [Entry] = []
        var metadata: [String: String] = [:]

        /// Parses and checks the JSON `header` against a data buffer of `dataLength` bytes.
        init(header: ArraySlice<UInt8>, dataLength: Int, context: String) throws {
            func invalid(_ detail: String) -> SPConvLabError { SPConvLabError(.invalidWeights, "\(context): \(detail)") }
            let headerLength = header.count
            var seenNames: Set<String> = []
            let json: JSONValue
            do {
                json = try JSONValue.parse(header)
            } catch {
                throw invalid("the \(headerLength)-byte header is not valid JSON (\(error.reason) at byte \(error.byteOffset) of the header); expected a JSON object mapping tensor names to {\"dtype\", \"shape\", \"data_offsets\"}.")
            }
            guard case .object(let members) = json else {
                throw invalid("the header is \(json.summary), not a JSON object; expected an object mapping tensor names to {\"dtype\", \"shape\", \"data_offsets\"}.")
            }

            for member in members {
                let name = member.key
                guard seenNames.insert(name).inserted else {
                    throw invalid("the header lists '\(name)' more than once; expected each tensor name (and \(Safetensors.metadataKey)) at most once.")
                }
                if name == Safetensors.metadataKey {
                    metadata = try Safetensors.decodeMetadata(member.value, invalid: invalid)
                    continue
                }
                let tensorContext = "tensor '\(name)'"
                guard case .object(let fields) = member.value else {
                    throw invalid("\(tensorContext) is described by \(member.value.summary); expected an object {\"dtype\": ..., \"shape\": [...], \"data_offsets\": [begin, end]}.")
                }
                func field(_ key: String) throws -> JSONValue {
                    let matches = fields.filter { $0.key == key }
                    guard matches.count == 1 else {
                        throw invalid("\(tensorContext) has \(matches.isEmpty ? "no" : "\(matches.count)") \"\(key)\" field\(matches.isEmpty ? "" : "s"); expected exactly one, as in {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}.")
                    }
                    return matches[0].value
                }

                let dtypeValue = try field("dtype")
                guard case .string(let dtype) = dtypeValue else {
                    throw invalid("\(tensorContext) has dtype \(dtypeValue.summary); expected a string such as \"F32\".")
                }

                let shapeValue = try field("shape")
                guard case .array(let shapeValues) = shapeValue else {
                    throw invalid("\(tensorContext) has shape \(shapeValue.summary); expected an array of non-negative integers such as [64, 3, 7, 7] ([] for a scalar).")
                }
                guard shapeValues.count <= Safetensors.maximumRank else {
                    throw invalid("\(tensorContext) has a shape of \(shapeValues.count) dimensions; expected at most \(Safetensors.maximumRank) (real weights have at most 5).")
                }
                var shape: [Int] = []
                for (axis, value) in shapeValues.enumerated() {
                    guard let extent = value.integerValue, extent >= 0 else {
                        throw invalid("\(tensorContext) has \(value.summary) as dimension \(axis) of its shape; expected a non-negative integer.")
                    }
                    shape.append(extent)
                }
                var count = 1
                for extent in shape {
                    let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                    guard !overflow else {
                        throw invalid("\(tensorContext) has shape \(shape), whose element count overflows a 64-bit integer; expected a shape that fits in the file.")
                    }
                    count = product
                }

                let offsetsValue = try field("data_offsets")
                guard case .array(let offsetValues) = offsetsValue, offsetValues.count == 2,
                      let begin = offsetValues[0].integerValue, let end = offsetValues[1].integerValue,
                      begin >= 0, end >= 0 else {
                    throw invalid("\(tensorContext) has data_offsets \(Safetensors.describe(offsetsValue)); expected two non-negative integers [begin, end].")
                }
                guard begin <= end else {
                    throw invalid("\(tensorContext) has reversed data_offsets [\(begin), \(end)]; expected begin <= end.")
                }
                guard end <= dataLength else {
                    throw invalid("\(tensorContext) has data_offsets [\(begin), \(end)] but the data buffer after the header is only \(dataLength) bytes; expected offsets within 0...\(dataLength) (the file may be truncated).")
                }

                let isSkipped = name.hasSuffix(Safetensors.skippedSuffix)
                if !isSkipped && Safetensors.readableFormats[dtype] == nil {
                    throw invalid("\(tensorContext) has dtype \(dtype), which SPConvLab cannot read; expected F32, F16, BF16 or F64 (only '*\(skippedSuffix)' tensors may have other dtypes; they are skipped).")
                }
                if let width = Safetensors.dtypeByteWidths[dtype] {
                    let (byteCount, overflow) = count.multipliedReportingOverflow(by: width)
                    guard !overflow, byteCount == end - begin else {
                        throw invalid("\(tensorContext) has dtype \(dtype) and shape \(shape), which need \(overflow ? "more than \(Int.max)" : "\(byteCount)") bytes, but its data_offsets [\(begin), \(end)] span \(end - begin) bytes; expected end - begin == \(width) * element count.")
                    }
                }
                entries.append(Entry(name: name, dtype: dtype, shape: shape, count: count, begin: begin, end: end))
            }

            // No two tensors may share a byte of the data buffer.
            let occupied = entries.filter { $0.begin < $0.end }.sorted { $0.begin < $1.begin }
            for (previous, next) in zip(occupied, occupied.dropFirst()) where next.begin < previous.end {
                throw invalid("tensor '\(next.name)' has data_offsets [\(next.begin), \(next.end)], which overlap tensor '\(previous.name)' at [\(previous.begin), \(previous.end)]; expected each tensor to occupy its own bytes of the data buffer.")
            }
        }

        /// The tensors (without the skipped counters), read from `data` whose buffer starts at `dataStart`.
        func archive(data: [UInt8], dataStart: Int) -> SafetensorsArchive {
            var ordered: [(name: String, tensor: Tensor)] = []
            for entry in entries where !entry.name.hasSuffix(Safetensors.skippedSuffix) {
                let format = Safetensors.readableFormats[entry.dtype]!
                let scalars = format.decode(data, from: dataStart + entry.begin, count: entry.count)
                ordered.append((entry.name, Tensor(shape: entry.shape, scalars: scalars)))
            }
            return SafetensorsArchive(ordered, metadata: metadata)
        }
    }

    private static func decodeMetadata(
        _ value: JSONValue, invalid: (String) -> SPConvLabError
    ) throws -> [String: String] {
        guard case .object(let pairs) = value else {
            throw invalid("the \(metadataKey) entry is \(value.summary); expected an object mapping strings to strings, such as {\"format\": \"pt\"}.")
        }
        var metadata: [String: String] = [:]
        for pair in pairs {
            guard case .string(let text) = pair.value else {
                throw invalid("the \(metadataKey) key '\(pair.key)' has \(pair.value.summary); expected a string value.")
            }
            guard metadata.updateValue(text, forKey: pair.key) == nil else {
                throw invalid("the \(metadataKey) key '\(pair.key)' appears more than once; expected each key once.")
            }
        }
        return metadata
    }

    private static func describe(_ value: JSONValue) -> String {
        guard case .array(let elements) = value else { return value.summary }
        return "[" + elements.map { element -> String in
            if case .number(let text) = element { return text }
            return element.summary
        }.joined(separator: ", ") + "]"
    }

    // MARK: Writing

    /// Encodes tensors as a safetensors file with `F32` data.
    ///
    /// A pure function: the same input always gives the same bytes. The header is compact JSON with
    /// `__metadata__` first (omitted when `metadata` is empty, keys in byte order), then one entry
    /// `{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}` per tensor in the given order,
    /// padded with spaces to a multiple of 8 bytes; the data follows in the same order.
    ///
    /// - Parameters:
    ///   - tensors: Names and tensors, in the order they are laid out.
    ///   - metadata: String pairs stored under `__metadata__`.
    /// - Returns: The complete file.
    /// - Precondition: names are unique and none is `__metadata__`.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> [UInt8] {
        var seen: Set<String> = []
        for (name, _) in tensors {
            precondition(name != metadataKey, "'\(metadataKey)' is reserved and cannot name a tensor")
            precondition(seen.insert(name).inserted, "tensor name '\(name)' appears twice; names must be unique")
        }

        var header = "{"
        var separator = ""
        if !metadata.isEmpty {
            let pairs = metadata.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
                .map { JSONText.quoted($0.key) + ":" + JSONText.quoted($0.value) }
            header += JSONText.quoted(metadataKey) + ":{" + pairs.joined(separator: ",") + "}"
            separator = ","
        }
        var offset = 0
        for (name, tensor) in tensors {
            let byteCount = 4 * tensor.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            header += separator + JSONText.quoted(name)
                + ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + byteCount)]}"
            separator = ","
            offset += byteCount
        }
        header += "}"

        var headerBytes = Array(header.utf8)
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + headerBytes.count + offset)
        let length = UInt64(headerBytes.count)
        for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * index))) }
        bytes.append(contentsOf: headerBytes)
        for (_, tensor) in tensors {
            StoredFloatFormat.appendFloat32(tensor.scalars, to: &bytes)
        }
        return bytes
    }

    /// Encodes tensors (see `encode(_:metadata:)`) and writes them to `path` without ever leaving a
    /// half-written file: the bytes go to a temporary file in the same folder, renamed into place.
    ///
    /// - Throws: `SPConvLabError(.io)` naming the path if the file cannot be written.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to path: String) throws {
        try FileBytes.writeAtomically(encode(tensors, metadata: metadata), to: path)
    }

}

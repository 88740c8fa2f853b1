import CZlib
import SPConvCore

/// Decompresses gzip data (RFC 1952) in memory through zlib's `inflate`.
///
/// All zlib calls and raw pointers stay inside this file. Hostile input is refused with
/// ``SPConvLabError/Kind/invalidInput`` naming its source: data without the gzip magic bytes
/// `1F 8B`, a corrupt or truncated stream, bytes after the last gzip member that are not another
/// member, and output larger than the caller's limit. Output memory grows with the data actually
/// decompressed, never beyond the caller's limit, so a small file that claims (or expands to) an
/// enormous size cannot make this allocate it.
///
/// Concatenated gzip members (as written by `cat a.gz b.gz`) decompress to the concatenation of
/// their contents, as `gzip -d` does.
package enum Gzip {
    /// The two bytes every gzip member starts with.
    package static let magic: [UInt8] = [0x1F, 0x8B]

    /// Returns whether `bytes` starts with the gzip magic bytes.
    package static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == magic[0] && bytes[1] == magic[1]
    }

    /// Decompresses a whole gzip file held in memory.
    ///
    /// - Parameters:
    ///   - bytes: The complete gzip file.
    ///   - source: Where the bytes came from (usually a file path); error messages name it.
    ///   - maximumOutput: The most decompressed bytes accepted (at least 0).
    /// - Returns: The decompressed bytes.
    /// - Throws: ``SPConvLabError`` of kind `invalidInput` when the bytes are not gzip, are
    ///   corrupt or truncated, or decompress to more than `maximumOutput` bytes.
    package static func decompress(_ bytes: [UInt8], source: String, maximumOutput: Int) throws -> [UInt8] {
        precondition(maximumOutput >= 0, "the gzip output limit must not be negative, got \(maximumOutput)")
        return try inflate(bytes, source: source, limit: maximumOutput, stopAtLimit: false)
    }

    /// Decompresses only the first `length` bytes of a gzip file (fewer if the data ends first),
    /// for reading a header before deciding how much of the rest to accept.
    ///
    /// - Throws: ``SPConvLabError`` of kind `invalidInput` when the bytes are not gzip, or the
    ///   stream is corrupt or truncated before `length` bytes.
    package static func decompressPrefix(_ bytes: [UInt8], source: String, length: Int) throws -> [UInt8] {
        precondition(length >= 0, "the gzip prefix length must not be negative, got \(length)")
        return try inflate(bytes, source: source, limit: length, stopAtLimit: true)
    }

    // MARK: - Implementation

    /// Inflates `bytes` into a buffer that grows by doubling, up to `limit` bytes. With
    /// `stopAtLimit` the first `limit` bytes are returned; otherwise one byte beyond `limit`
    /// is an error.
    private static func inflate(_ bytes: [UInt8], source: String, limit: Int, stopAtLimit: Bool) throws -> [UInt8] {
        guard hasMagic(bytes) else {
            let head = bytes.prefix(4).map { hex($0) }.joined(separator: " ")
            let found = bytes.isEmpty ? "it is empty" : "it starts with bytes \(head)"
            throw SPConvLabError(.invalidInput,
                "'\(source)' is not a gzip file: \(found), not the gzip magic bytes 1F 8B; expected a .gz file written by gzip")
        }
        // zlib keeps a pointer back to the stream in its state, so the stream needs a stable
        // address for its whole life: it is allocated here rather than kept in a Swift `var`.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // 16 + MAX_WBITS: expect a gzip header and trailer, with the largest window.
        let status = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw SPConvLabError(.invalidInput, "cannot decompress '\(source)': zlib could not start inflating (error \(status): \(reason(stream) ?? "no message"))")
        }
        defer { inflateEnd(stream) }

        // Room for one byte beyond the limit tells "exactly the limit" from "more than the limit".
        let capacityLimit = stopAtLimit ? limit : (limit == Int.max ? limit : limit + 1)
        var output = [UInt8](repeating: 0, count: min(initialCapacity(bytes), capacityLimit))
        var produced = 0
        var consumed = 0
        var memberEnded = false
        while true {
            if produced == output.count {
                if produced >= capacityLimit { break }
                let grown = min(max(output.count * 2, 4096), capacityLimit)
                output.append(contentsOf: repeatElement(0, count: grown - output.count))
            }
            let (code, read, written) = step(stream, input: bytes, from: consumed, output: &output, at: produced)
            consumed += read
            produced += written
            switch code {
            case Z_STREAM_END:
                memberEnded = true
            case Z_OK:
                memberEnded = false
                continue
            case Z_BUF_ERROR:
                // No progress possible: out of output (grown at the top of the loop) or out of input.
                if produced < output.count { throw truncated(source, produced: produced) }
                continue
            case Z_NEED_DICT, Z_DATA_ERROR:
                throw SPConvLabError(.invalidInput,
                    "'\(source)' is a corrupt gzip file: zlib stopped after \(produced) decompressed bytes at compressed byte \(consumed) of \(bytes.count) (\(reason(stream) ?? "invalid data")); expected an intact .gz file")
            case Z_MEM_ERROR:
                throw SPConvLabError(.invalidInput, "cannot decompress '\(source)': zlib ran out of memory")
            default:
                throw SPConvLabError(.invalidInput, "cannot decompress '\(source)': zlib error \(code) (\(reason(stream) ?? "no message"))")
            }
            // One gzip member ended: the data ends here, or another member follows.
            if consumed == bytes.count { break }
            let rest = Array(bytes[consumed..<min(consumed + 2, bytes.count)])
            guard hasMagic(rest) else {
                throw SPConvLabError(.invalidInput,
                    "'\(source)' has \(bytes.count - consumed) bytes of trailing data after its gzip stream (at byte \(consumed)); expected nothing or another gzip member")
            }
            inflateReset(stream)
            memberEnded = false
        }
        if !stopAtLimit && produced > limit {
            throw SPConvLabError(.invalidInput,
                "'\(source)' decompresses to more than \(limit) bytes, the most accepted here; expected a smaller file")
        }
        if !memberEnded && !stopAtLimit {
            throw truncated(source, produced: produced)
        }
        output.removeSubrange(produced...)
        return output
    }

    /// One call of `inflate` from `input[from...]` into `output[at...]`.
    ///
    /// The stream's buffer pointers are set and cleared inside the closures, so no pointer into
    /// a Swift array outlives the call (zlib keeps no input or output pointer between calls).
    private static func step(_ stream: UnsafeMutablePointer<z_stream>, input: [UInt8], from: Int,
                             output: inout [UInt8], at: Int) -> (code: Int32, read: Int, written: Int) {
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                let availableIn = min(inputBuffer.count - from, Int(UInt32.max))
                let availableOut = min(outputBuffer.count - at, Int(UInt32.max))
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress! + from)
                stream.pointee.avail_in = UInt32(availableIn)
                stream.pointee.next_out = outputBuffer.baseAddress! + at
                stream.pointee.avail_out = UInt32(availableOut)
                let code = CZlib.inflate(stream, Z_NO_FLUSH)
                let read = availableIn - Int(stream.pointee.avail_in)
                let written = availableOut - Int(stream.pointee.avail_out)
                stream.pointee.next_in = nil
                stream.pointee.avail_in = 0
                stream.pointee.next_out = nil
                stream.pointee.avail_out = 0
                return (code, read, written)
            }
        }
    }

    /// The first buffer size: the gzip trailer's ISIZE (the last member's size modulo 2^32) as a
    /// hint, at least 4 KiB, and at most what the data could possibly inflate to: deflate
    /// expands at most 1032:1, so a trailer that lies costs no more than an honest file of the
    /// same length. (The caller's limit alone is not enough: a 35-byte IDX file whose header
    /// claims 1 GiB of data and whose trailer says 1 GiB made this allocate 1 GiB at once.)
    package static func initialCapacity(_ bytes: [UInt8]) -> Int {
        guard bytes.count >= 18 else { return 4096 }
        let tail = bytes.suffix(4).map(Int.init)
        let size = tail[0] | tail[1] << 8 | tail[2] << 16 | tail[3] << 24
        return max(min(size, 1032 * bytes.count), 4096)
    }

    private static func truncated(_ source: String, produced: Int) -> SPConvLabError {
        SPConvLabError(.invalidInput,
            "'\(source)' is a truncated gzip file: its data ends after \(produced) decompressed bytes, before the end of the gzip stream; expected a complete .gz file")
    }

    /// zlib's message for the last error, if it gave one.
    private static func reason(_ stream: UnsafeMutablePointer<z_stream>) -> String? {
        stream.pointee.msg.map { String(cString: $0) }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}

import SPConvCore
import SPConvKernels

/// Reads and writes NumPy `.npy` array files.
///
/// A file is the magic `\x93NUMPY`, a major and minor version byte, a little-endian header length
/// (`UInt16` for version 1.0, `UInt32` for 2.0 and 3.0), then a Python dict literal padded with
/// spaces and ending in a newline, then the raw elements:
///
///     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
///
/// The reader accepts versions 1.0, 2.0 and 3.0, C-order (`'fortran_order': False`) arrays of any
/// rank including `()`, and dtypes `'<f4'`, `'<f2'` and `'<f8'` (converted to `Float`). It treats
/// the file as hostile: the shape must account for exactly the bytes that follow the header, which
/// is checked before anything is allocated, so malformed input throws
/// `SPConvLabError(.invalidWeights)` instead of trapping.
///
/// The writer produces `'<f4'` version 1.0 files, byte-for-byte what `numpy.save` writes for a
/// C-contiguous float32 array: keys sorted, `repr` shapes, growth spaces, and padding that starts
/// the data at a multiple of 64 bytes.
public enum NPYFile {
    /// The six bytes every `.npy` file starts with.
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// NumPy's alignment for the start of the data.
    static let alignment = 64
    /// Spaces NumPy reserves so the first axis can grow in place (`GROWTH_AXIS_MAX_DIGITS`).
    static let growthAxisMaximumDigits = 21

    /// The dtypes read, by their `descr` string.
    static let readableFormats: [String: StoredFloatFormat] = [
        "<f4": .float32, "<f2": .float16, "<f8": .float64,
    ]

    // MARK: Reading

    /// Reads and decodes the `.npy` file at `path`.
    ///
    /// - Parameter path: A file system path; it also names the file in error messages.
    /// - Returns: The array as a row-major `Float` tensor with the file's shape.
    /// - Throws: `SPConvLabError(.io)` if the file cannot be read; `SPConvLabError(.invalidWeights)`
    ///   if it is not a well-formed, supported `.npy` file (see `decode(_:source:)`).
    ///
    /// The preamble and header are read and checked against the file's length first; the data is
    /// read only when the shape matches it, so a file with a bad header costs its header, not its size.
    public static func read(contentsOf path: String) throws -> Tensor {
        let file = try FileBytes.Reader(path: path)
        let layout = try Layout(prefix: try file.read(0..<12), fileSize: file.size, source: path) { range in
            try file.read(range)
        }
        let data = try file.read(layout.dataStart..<file.size)
        return Tensor(shape: layout.shape, scalars: layout.format.decode(data, from: 0, count: layout.count))
    }

    /// Decodes a complete `.npy` file held in memory.
    ///
    /// - Parameters:
    ///   - bytes: The whole file.
    ///   - source: Where the bytes came from (a path or a description), used in error messages.
    /// - Returns: The array as a row-major `Float` tensor with the file's shape.
    /// - Throws: `SPConvLabError(.invalidWeights)` naming `source`, the bad value and what would be
    ///   accepted, for: a wrong magic or version; a header length beyond the file; a header that is
    ///   not a dict with `descr`, `fortran_order` and `shape`; an unsupported dtype; Fortran order;
    ///   negative dimensions or an overflowing shape; data shorter or longer than the shape needs.
    public static func decode(_ bytes: [UInt8], source: String) throws -> Tensor {
        let layout = try Layout(prefix: Array(bytes.prefix(12)), fileSize: bytes.count, source: source) { range in
            Array(bytes[range])
        }
        return Tensor(shape: layout.shape, scalars: layout.format.decode(bytes, from: layout.dataStart, count: layout.count))
    }

    /// The largest header accepted, in bytes.
    public static let maximumHeaderLength = 65_536

    /// A checked preamble and header: the element format, the shape and where the data starts.
    private struct Layout {
        var format: StoredFloatFormat
        var shape: [Int]
        var count: Int
        var dataStart: Int

        /// Checks the file's first bytes (`prefix`, up to 12) and its header, read through
        /// `readRange`, against a file of `fileSize` bytes.
        init(prefix: [UInt8], fileSize: Int, source: String, readRange: (Range<Int>) throws -> [UInt8]) throws {
            let context = ".npy file '\(source)'"
            func invalid(_ detail: String) -> SPConvLabError {
                SPConvLabError(.invalidWeights, "\(context): \(detail)")
            }
            guard prefix.starts(with: NPYFile.magic) else {
                let start = prefix.prefix(6).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
                throw invalid("the file starts with bytes [\(start)] (\(fileSize) bytes in all), not the .npy magic [93 4e 55 4d 50 59] (\\x93NUMPY); expected a file written by numpy.save.")
            }
            guard fileSize >= 10 else {
                throw invalid("the file is \(fileSize) bytes long, too short for the 10-byte .npy preamble (magic, version, header length); expected a complete file written by numpy.save (it may be truncated).")
            }
            let major = prefix[6], minor = prefix[7]
            let headerStart: Int
            var headerLength = 0
            switch (major, minor) {
            case (1, 0):
                headerStart = 10
                headerLength = Int(prefix[8]) | Int(prefix[9]) << 8
            case (2, 0), (3, 0):
                headerStart = 12
                guard fileSize >= 12 else {
                    throw invalid("the file is \(fileSize) bytes long, too short for a version \(major).\(minor) preamble; expected at least 12 bytes.")
                }
                for index in 0..<4 { headerLength |= Int(prefix[8 + index]) << (8 * index) }
            default:
                throw invalid("the format version is \(major).\(minor); expected 1.0, 2.0 or 3.0.")
            }
            guard headerLength <= NPYFile.maximumHeaderLength else {
                throw invalid("the header length field says \(headerLength) bytes, more than the \(NPYFile.maximumHeaderLength)-byte limit; expected a header of at most \(NPYFile.maximumHeaderLength) bytes (numpy.save writes a few hundred; numpy.load itself refuses more than 10,000 by default).")
            }
            guard headerLength <= fileSize - headerStart else {
                throw invalid("the header length field says \(headerLength) bytes but only \(fileSize - headerStart) bytes follow it; expected a header no longer than the rest of the file (the file may be truncated).")
            }
            let dataStart = headerStart + headerLength

            let headerBytes = try readRange(headerStart..<dataStart)
            let header: NPYHeader
            do {
                header = try NPYHeader.parse(headerBytes[...])
            } catch {
                throw invalid("the header \(error.reason); expected a dict like {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.")
            }
            guard let format = NPYFile.readableFormats[header.descr] else {
                throw invalid("the dtype is '\(header.descr)'; expected little-endian floats '<f4', '<f2' or '<f8' (convert with array.astype('<f4')).")
            }
            guard !header.isFortranOrder else {
                throw invalid("the array is stored in Fortran (column-major) order ('fortran_order': True); only C-order arrays are supported (save numpy.ascontiguousarray(array) instead).")
            }
            var count = 1
            for extent in header.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                guard !overflow else {
                    throw invalid("the shape \(header.shapeText) has an element count that overflows a 64-bit integer; expected a shape that fits in the file.")
                }
                count = product
            }
            let available = fileSize - dataStart
            let (needed, overflow) = count.multipliedReportingOverflow(by: format.byteWidth)
            guard !overflow, needed == available else {
                throw invalid("the shape \(header.shapeText) of '\(header.descr)' needs \(overflow ? "more than \(Int.max)" : "\(needed)") bytes of data but \(available) bytes follow the header; expected exactly \(format.byteWidth) bytes per element (the file may be truncated or corrupt).")
            }
            self.format = format
            self.shape = header.shape
            self.count = count
            self.dataStart = dataStart
        }
    }

    // MARK: Writing

    /// Encodes a tensor as a version 1.0 `'<f4'` `.npy` file, exactly as `numpy.save` would.
    ///
    /// A pure function. The header is `{'descr': '<f4', 'fortran_order': False, 'shape': (...), }`
    /// followed by NumPy's growth spaces (21 minus the digits of the first extent, none for rank 0),
    /// then spaces and a newline up to the next multiple of 64 bytes; the elements follow row-major.
    ///
    /// - Parameter tensor: The array to encode.
    /// - Returns: The complete file.
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        let tensor = tensor.rowMajor()
        var bytes = header(forShape: tensor.shape)
        StoredFloatFormat.appendFloat32(tensor.scalars, to: &bytes)
        return bytes
    }

    /// The magic, version and header of a version 1.0 `<f4` file of `shape`, padded as NumPy pads it.
    static func header(forShape shape: [Int]) -> [UInt8] {
        let shapeText = NPYHeader.pythonTupleText(shape)
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first {
            header += String(repeating: " ", count: max(0, growthAxisMaximumDigits - String(first).count))
        }
        // NumPy pads to the next multiple of 64, adding a full 64 bytes when already aligned.
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        let padding = alignment - unpadded % alignment
        header += String(repeating: " ", count: padding) + "\n"
        let headerBytes = Array(header.utf8)
        precondition(headerBytes.count <= Int(UInt16.max), "a \(shape.count)-dimensional shape needs a header of \(headerBytes.count) bytes, beyond the 65535 that version 1.0 allows")

        var bytes = magic + [1, 0]
        bytes.append(UInt8(truncatingIfNeeded: headerBytes.count))
        bytes.append(UInt8(truncatingIfNeeded: headerBytes.count >> 8))
        bytes.append(contentsOf: headerBytes)
        return bytes
    }

    /// Encodes `tensor` (see `encode(_:)`) and writes it to `path` without ever leaving a
    /// half-written file: the bytes go to a temporary file in the same folder, renamed into place.
    ///
    /// - Throws: `SPConvLabError(.io)` naming the path if the file cannot be written.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try FileBytes.writeAtomically(encode(tensor), to: path)
    }
}

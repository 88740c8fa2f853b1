import Foundation
import SPConvCore
import SPConvKernels

/// An unsigned-byte array in the IDX format of MNIST and Fashion-MNIST, read from a raw or a
/// gzip-compressed file.
///
/// The format is a header followed by the data:
/// - a 4-byte big-endian magic number: two zero bytes, the type code `0x08` (unsigned byte) and
///   the number of dimensions, so `0x00000803` for images (`count x rows x columns`) and
///   `0x00000801` for labels (`count`);
/// - one big-endian 32-bit unsigned size per dimension;
/// - the product of the sizes in bytes, row-major.
///
/// Reading validates before it allocates: the header is decompressed first, the data size it
/// implies is checked against ``maximumDataSize``, and the rest of the file is accepted only up
/// to that size. A wrong magic number, a truncated file, data longer or shorter than the header's
/// dimensions, and a header claiming more than the maximum are each an ``SPConvLabError`` of
/// kind `invalidInput` naming the file and what was expected.
public struct IDXFile: Sendable, Equatable {
    /// What an IDX file holds, which fixes its magic number and number of dimensions.
    public enum Kind: Sendable, CaseIterable {
        /// Images: unsigned bytes, 3 dimensions (`count x rows x columns`), magic `0x00000803`.
        case images
        /// Labels: unsigned bytes, 1 dimension (`count`), magic `0x00000801`.
        case labels

        /// The number of dimensions.
        public var rank: Int { self == .images ? 3 : 1 }
        /// The magic number: `0x0800` (unsigned bytes) plus the number of dimensions.
        public var magic: UInt32 { 0x0000_0800 | UInt32(rank) }
        /// The length of the header: the magic number and one 32-bit size per dimension.
        public var headerLength: Int { 4 + 4 * rank }

        var summary: String {
            self == .images
                ? "an IDX image file (magic 0x00000803: unsigned bytes, 3 dimensions count x rows x columns)"
                : "an IDX label file (magic 0x00000801: unsigned bytes, 1 dimension count)"
        }
    }

    /// The most data bytes a file may declare: 1 GiB, twenty times Fashion-MNIST's training images.
    public static let maximumDataSize = 1 << 30

    /// What the file holds.
    public let kind: Kind
    /// The size of each dimension, outermost first.
    public let dimensions: [Int]
    /// The row-major data, `dimensions.reduce(1, *)` bytes.
    public let data: [UInt8]

    /// Creates an IDX array from its dimensions and data.
    ///
    /// - Precondition: `dimensions.count == kind.rank` and `data.count` is their product.
    public init(kind: Kind, dimensions: [Int], data: [UInt8]) {
        precondition(dimensions.count == kind.rank, "an IDX \(kind) array has \(kind.rank) dimensions, got \(dimensions)")
        precondition(Self.byteCount(dimensions) == data.count,
                     "IDX dimensions \(dimensions) need \(Self.byteCount(dimensions).map(String.init) ?? "too many") bytes, got \(data.count)")
        self.kind = kind
        self.dimensions = dimensions
        self.data = data
    }

    /// Reads an IDX file, raw or gzip-compressed (recognised by its content, not its name).
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - kind: What the file must hold.
    ///   - maximumDataSize: The most data bytes accepted.
    /// - Throws: ``SPConvLabError`` of kind `io` when the file cannot be read, `invalidInput` when
    ///   it is larger than any accepted file or fails ``decode(_:source:kind:maximumDataSize:)``.
    public static func read(contentsOf path: String, kind: Kind, maximumDataSize: Int = maximumDataSize) throws -> IDXFile {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = (attributes?[.size] as? NSNumber)?.intValue {
            // gzip can grow incompressible data slightly; allow that much on top of a raw file.
            let largest = kind.headerLength + maximumDataSize + maximumDataSize / 100 + 65_536
            guard size <= largest else {
                throw SPConvLabError(.invalidInput,
                    "'\(path)' is \(size) bytes, larger than any accepted IDX file (at most \(maximumDataSize) bytes of data); expected \(kind.summary)")
            }
        }
        return try decode(try FileBytes.read(contentsOf: path), source: path, kind: kind,
                          maximumDataSize: maximumDataSize)
    }

    /// Decodes an IDX file held in memory, raw or gzip-compressed.
    ///
    /// - Parameters:
    ///   - bytes: The whole file.
    ///   - source: Where the bytes came from; error messages name it.
    ///   - kind: What the file must hold.
    ///   - maximumDataSize: The most data bytes accepted; a header declaring more is refused
    ///     before the data is decompressed.
    /// - Throws: ``SPConvLabError`` of kind `invalidInput` for a wrong magic number, a truncated
    ///   header or data, data longer than the header declares, a declared size above
    ///   `maximumDataSize`, or a corrupt gzip stream.
    public static func decode(_ bytes: [UInt8], source: String, kind: Kind,
                              maximumDataSize: Int = maximumDataSize) throws -> IDXFile {
        let isCompressed = Gzip.hasMagic(bytes)
        let form = isCompressed ? "decompressed data" : "file"
        let header = isCompressed
            ? try Gzip.decompressPrefix(bytes, source: source, length: kind.headerLength)
            : Array(bytes.prefix(kind.headerLength))
        if header.count >= 4 {
            let magic = bigEndianUInt32(header, at: 0)
            guard magic == kind.magic else {
                throw SPConvLabError(.invalidInput,
                    "'\(source)' has magic number \(hex(magic)), not \(hex(kind.magic)); expected \(kind.summary)\(magicHint(magic))")
            }
        }
        guard header.count == kind.headerLength else {
            throw SPConvLabError(.invalidInput,
                "'\(source)' is truncated: its \(form) holds \(header.count) bytes, less than the \(kind.headerLength)-byte header of \(kind.summary)")
        }
        let dimensions = (0..<kind.rank).map { Int(bigEndianUInt32(header, at: 4 + 4 * $0)) }
        let shape = dimensions.map(String.init).joined(separator: " x ")
        let dataSize = Self.byteCount(dimensions) ?? Int.max
        guard dataSize <= maximumDataSize else {
            throw SPConvLabError(.invalidInput,
                "'\(source)' declares dimensions \(shape) = \(dataSize == Int.max ? "too many" : String(dataSize)) bytes of data, more than the \(maximumDataSize) accepted; expected \(kind.summary) of a sane size")
        }
        // An empty array may still name huge extents (a zero among them), which whoever indexes
        // it would multiply; no extent may exceed what the whole file may hold.
        if let largest = dimensions.max(), largest > maximumDataSize {
            throw SPConvLabError(.invalidInput,
                "'\(source)' declares dimensions \(shape): an array with no data, but the extent \(largest) is larger than the \(maximumDataSize) bytes of data accepted in all; expected \(kind.summary) of a sane size")
        }
        let total = kind.headerLength + dataSize
        var contents = isCompressed
            ? try Gzip.decompress(bytes, source: source, maximumOutput: total)
            : bytes
        guard contents.count == total else {
            let relation = contents.count < total ? "is truncated: its \(form) holds only" : "holds"
            throw SPConvLabError(.invalidInput,
                "'\(source)' \(relation) \(contents.count - kind.headerLength) bytes of data after the header, but its dimensions \(shape) need exactly \(dataSize)")
        }
        contents.removeSubrange(0..<kind.headerLength)
        return IDXFile(kind: kind, dimensions: dimensions, data: contents)
    }

    // MARK: - Helpers

    /// The product of `dimensions`, 0 when one of them is 0, nil when it does not fit an `Int`.
    /// (A running product that stops at the overflow misses a later 0: 4,244,635,647 x
    /// 4,294,967,295 x 0 is 0 bytes; found by the idx fuzz target.)
    static func byteCount(_ dimensions: [Int]) -> Int? {
        if dimensions.contains(0) { return 0 }
        var product = 1
        for dimension in dimensions {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            product = next
        }
        return product
    }

    private static func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// A hint when the magic number is the other IDX kind's.
    private static func magicHint(_ magic: UInt32) -> String {
        switch magic {
        case Kind.images.magic: return " (this is an image file; was it given in place of a label file?)"
        case Kind.labels.magic: return " (this is a label file; was it given in place of an image file?)"
        default: return ""
        }
    }
}

/// One SQLite value: what a statement binds and what a row holds.
///
/// SQLite stores NaN as NULL, so a `.real(.nan)` bound to a `NOT NULL` column is a constraint
/// error rather than a silent NaN.
public enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// `value` as `.integer`, or `.null` when nil.
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    /// `value` as `.integer`, or `.null` when nil.
    public init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    /// `value` as `.real`, or `.null` when nil.
    public init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
    /// `value` as `.text`, or `.null` when nil.
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }

    /// `values` as a BLOB of float32 little-endian, in order (4 bytes per value).
    public init(float32LittleEndian values: [Float]) {
        self = .blob(Self.encodeFloat32LittleEndian(values))
    }

    /// The integer, or nil for anything else (a REAL with an integral value is converted).
    public var int64: Int64? {
        switch self {
        case .integer(let value): return value
        case .real(let value) where value == value.rounded() && abs(value) < 9.2e18: return Int64(value)
        default: return nil
        }
    }

    /// The integer as `Int`, or nil.
    public var int: Int? { int64.map { Int($0) } }

    /// The number (INTEGER or REAL) as `Double`, or nil.
    public var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .real(let value): return value
        default: return nil
        }
    }

    /// The text, or nil for anything else.
    public var string: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// The BLOB bytes, or nil for anything else.
    public var bytes: [UInt8]? {
        if case .blob(let value) = self { return value }
        return nil
    }

    /// Whether this is SQL NULL.
    public var isNull: Bool { self == .null }

    /// The bytes of `values` as float32 little-endian (IEEE 754 binary32), 4 bytes per value.
    public static func encodeFloat32LittleEndian(_ values: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
        return bytes
    }

    /// The floats in a float32 little-endian BLOB.
    ///
    /// - Precondition: `bytes.count` is a multiple of 4.
    public static func decodeFloat32LittleEndian(_ bytes: [UInt8]) -> [Float] {
        precondition(bytes.count % 4 == 0, "a float32 BLOB has a multiple of 4 bytes, got \(bytes.count)")
        var values: [Float] = []
        values.reserveCapacity(bytes.count / 4)
        var index = 0
        while index < bytes.count {
            let bits = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8
                | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
            values.append(Float(bitPattern: bits))
            index += 4
        }
        return values
    }
}

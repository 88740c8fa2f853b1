import SPConvCore
import SPConvKernels

/// A floating-point element encoding found in weight and array files, decoded to `Float`.
///
/// All encodings are little-endian. Conversions are exact where `Float` can represent the value:
/// half and bfloat16 always widen exactly (subnormals, infinities and NaN payloads included);
/// doubles round to nearest, overflow to infinity and underflow to zero or a `Float` subnormal.
enum StoredFloatFormat: Sendable, Equatable {
    /// IEEE 754 binary16 (safetensors `F16`, NumPy `<f2`).
    case float16
    /// Brain floating point: the upper 16 bits of a binary32 (safetensors `BF16`).
    case bfloat16
    /// IEEE 754 binary32 (safetensors `F32`, NumPy `<f4`).
    case float32
    /// IEEE 754 binary64 (safetensors `F64`, NumPy `<f8`).
    case float64

    /// Bytes per element.
    var byteWidth: Int {
        switch self {
        case .float16, .bfloat16: 2
        case .float32: 4
        case .float64: 8
        }
    }

    /// Decodes `count` consecutive little-endian elements of `bytes` starting at byte `start`.
    ///
    /// - Precondition: `start + count * byteWidth <= bytes.count` (callers validate file offsets first).
    func decode(_ bytes: [UInt8], from start: Int, count: Int) -> [Float] {
        precondition(start >= 0 && count >= 0 && start + count * byteWidth <= bytes.count,
                     "range \(start)..<\(start + count * byteWidth) must lie inside \(bytes.count) bytes")
        var result = [Float]()
        result.reserveCapacity(count)
        switch self {
        case .float16:
            for index in 0..<count {
                let offset = start + 2 * index
                let bits = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
                result.append(Self.float(fromFloat16Bits: bits))
            }
        case .bfloat16:
            for index in 0..<count {
                let offset = start + 2 * index
                let bits = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
                result.append(Self.float(fromBFloat16Bits: bits))
            }
        case .float32:
            for index in 0..<count {
                let offset = start + 4 * index
                var bits: UInt32 = 0
                for byte in 0..<4 { bits |= UInt32(bytes[offset + byte]) << (8 * byte) }
                result.append(Float(bitPattern: bits))
            }
        case .float64:
            for index in 0..<count {
                let offset = start + 8 * index
                var bits: UInt64 = 0
                for byte in 0..<8 { bits |= UInt64(bytes[offset + byte]) << (8 * byte) }
                result.append(Float(Double(bitPattern: bits)))
            }
        }
        return result
    }

    /// Appends `scalars` to `bytes` as little-endian binary32 (bit patterns kept, NaN payloads too).
    static func appendFloat32(_ scalars: [Float], to bytes: inout [UInt8]) {
        bytes.reserveCapacity(bytes.count + 4 * scalars.count)
        for scalar in scalars {
            let bits = scalar.bitPattern
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
    }

    /// Widens an IEEE 754 binary16 bit pattern to `Float`, exactly.
    ///
    /// binary16 is 1 sign bit, 5 exponent bits (bias 15) and 10 mantissa bits. Exponent 0 holds
    /// zeros and subnormals (`mantissa * 2^-24`), exponent 31 holds infinities and NaNs (the payload
    /// is kept in the top mantissa bits of the result, so a quiet NaN stays quiet).
    static func float(fromFloat16Bits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        case 0:
            // Zero or subnormal; every binary16 subnormal is a normal Float, and the product is exact.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        default:
            return Float(bitPattern: sign | (exponent + 127 - 15) << 23 | mantissa << 13)
        }
    }

    /// Widens a bfloat16 bit pattern (the top half of a binary32) to `Float`, exactly.
    static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}

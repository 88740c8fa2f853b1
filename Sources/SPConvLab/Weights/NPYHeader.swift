import SPConvCore
import SPConvKernels

/// The dict literal at the start of a `.npy` file, parsed without evaluating Python.
///
/// Accepts exactly the subset NumPy writes: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }` with the three keys in any order, single- or double-quoted strings without
/// escapes, `True`/`False`, and a tuple of non-negative integers (a trailing `L`, as Python 2 wrote,
/// is allowed). Everything after the closing brace must be whitespace.
struct NPYHeader: Sendable, Equatable {
    var descr: String
    var isFortranOrder: Bool
    var shape: [Int]

    /// Why a header was refused, phrased to follow "the header ...".
    struct ParseError: Error, Sendable, Equatable {
        var reason: String
    }

    /// The shape as Python prints a tuple: `()`, `(5,)`, `(2, 3)`.
    var shapeText: String { Self.pythonTupleText(shape) }

    /// Formats extents as a Python tuple literal, as `repr` does.
    static func pythonTupleText(_ extents: [Int]) -> String {
        extents.count == 1 ? "(\(extents[0]),)" : "(" + extents.map(String.init).joined(separator: ", ") + ")"
    }

    /// Parses the header bytes (between the length field and the data).
    static func parse(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> NPYHeader {
        var scanner = Scanner(bytes: bytes)
        var descr: String?
        var fortranOrder: Bool?
        var shape: [Int]?

        try scanner.expect("{")
        while true {
            scanner.skipWhitespace()
            if scanner.consume("}") { break }
            let key = try scanner.string()
            try scanner.expect(":")
            switch key {
            case "descr":
                guard descr == nil else { throw ParseError(reason: "has the key 'descr' twice") }
                scanner.skipWhitespace()
                guard scanner.peek == UInt8(ascii: "'") || scanner.peek == UInt8(ascii: "\"") else {
                    throw ParseError(reason: "has a 'descr' that is not a plain dtype string (structured dtypes are not supported)")
                }
                descr = try scanner.string()
            case "fortran_order":
                guard fortranOrder == nil else { throw ParseError(reason: "has the key 'fortran_order' twice") }
                fortranOrder = try scanner.boolean()
            case "shape":
                guard shape == nil else { throw ParseError(reason: "has the key 'shape' twice") }
                shape = try scanner.tuple()
            default:
                throw ParseError(reason: "has the unexpected key '\(key)'")
            }
            scanner.skipWhitespace()
            if scanner.consume(",") { continue }
            if scanner.consume("}") { break }
            throw scanner.unexpected(expecting: "',' or '}'")
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else {
            throw ParseError(reason: "has text after the closing '}' at byte \(scanner.offset)")
        }
        guard let descr else { throw ParseError(reason: "has no 'descr' key") }
        guard let fortranOrder else { throw ParseError(reason: "has no 'fortran_order' key") }
        guard let shape else { throw ParseError(reason: "has no 'shape' key") }
        return NPYHeader(descr: descr, isFortranOrder: fortranOrder, shape: shape)
    }

    private struct Scanner {
        let bytes: ArraySlice<UInt8>
        var position: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            self.position = bytes.startIndex
        }

        var offset: Int { position - bytes.startIndex }
        var isAtEnd: Bool { position >= bytes.endIndex }
        var peek: UInt8? { isAtEnd ? nil : bytes[position] }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                position += 1
            }
        }

        mutating func consume(_ token: String) -> Bool {
            skipWhitespace()
            let tokenBytes = Array(token.utf8)
            guard bytes.endIndex - position >= tokenBytes.count,
                  bytes[position..<position + tokenBytes.count].elementsEqual(tokenBytes) else { return false }
            position += tokenBytes.count
            return true
        }

        mutating func expect(_ token: String) throws(ParseError) {
            guard consume(token) else { throw unexpected(expecting: "'\(token)'") }
        }

        func unexpected(expecting what: String) -> ParseError {
            guard let byte = peek else { return ParseError(reason: "ends early, where \(what) was expected") }
            let found = (0x20..<0x7F).contains(byte) ? "'\(String(UnicodeScalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
            return ParseError(reason: "has \(found) at byte \(offset) where \(what) was expected")
        }

        mutating func string() throws(ParseError) -> String {
            skipWhitespace()
            guard let quote = peek, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
                throw unexpected(expecting: "a quoted string")
            }
            position += 1
            let start = position
            while let byte = peek, byte != quote {
                guard (0x20..<0x7F).contains(byte), byte != UInt8(ascii: "\\") else {
                    throw ParseError(reason: "has a string with byte 0x\(String(byte, radix: 16)) at byte \(offset); only printable ASCII without escapes is accepted")
                }
                position += 1
            }
            guard !isAtEnd else { throw ParseError(reason: "has an unterminated string") }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            position += 1
            return text
        }

        mutating func boolean() throws(ParseError) -> Bool {
            if consume("True") { return true }
            if consume("False") { return false }
            throw unexpected(expecting: "True or False for 'fortran_order'")
        }

        mutating func tuple() throws(ParseError) -> [Int] {
            try expect("(")
            var extents: [Int] = []
            while true {
                if consume(")") { return extents }
                extents.append(try integer())
                if consume(",") { continue }
                try expect(")")
                // A one-element tuple needs its trailing comma; `(5)` is just an int in Python.
                guard extents.count != 1 else { throw ParseError(reason: "has the shape (\(extents[0])), an integer, not a tuple; expected (\(extents[0]),)") }
                return extents
            }
        }

        mutating func integer() throws(ParseError) -> Int {
            skipWhitespace()
            if peek == UInt8(ascii: "-") {
                throw ParseError(reason: "has a negative dimension in its shape at byte \(offset); expected non-negative integers")
            }
            var value = 0
            var digits = 0
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else {
                    throw ParseError(reason: "has a shape dimension at byte \(offset) too large for a 64-bit integer; expected a dimension that fits the file")
                }
                value = sum
                digits += 1
                position += 1
            }
            guard digits > 0 else { throw unexpected(expecting: "a non-negative integer dimension") }
            if peek == UInt8(ascii: "L") { position += 1 }
            return value
        }
    }
}

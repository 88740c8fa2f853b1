import Foundation

/// Encodes the CSV outputs: similarity matrices and the RFC 4180 summary table.
///
/// Pure encoders returning strings; `FileBytes` writes them.
public enum CSVWriter {
    /// A C x C matrix as text: one line per row, values formatted like Python's `'%.6g' % v`
    /// (``formatG6(_:)-(Float)``) and separated by commas, each line ended by `"\n"`, no header.
    ///
    /// - Precondition: `values.count == channels * channels`.
    public static func matrix(_ values: [Float], channels: Int) -> String {
        precondition(channels >= 0 && values.count == channels * channels,
                     "a \(channels)x\(channels) matrix has \(channels * channels) values, got \(values.count)")
        var text = ""
        text.reserveCapacity(values.count * 10)
        for row in 0..<channels {
            for column in 0..<channels {
                if column > 0 { text += "," }
                text += formatG6(values[row * channels + column])
            }
            text += "\n"
        }
        return text
    }

    /// A table in RFC 4180 CSV: the header row, then the rows, each line ended by CRLF.
    ///
    /// A field is quoted when it contains a comma, a double quote, CR or LF, and quotes inside it
    /// are doubled. This is exactly what Python's `csv.writer` (dialect "excel") writes, including
    /// its `""` for a row made of one empty field, so `csv.reader` and pandas read it back
    /// unchanged. CRLF is RFC 4180's line end and Python's default.
    ///
    /// - Precondition: every row has as many fields as the header.
    public static func table(header: [String], rows: [[String]]) -> String {
        for (index, row) in rows.enumerated() {
            precondition(row.count == header.count,
                         "row \(index) has \(row.count) fields, the header has \(header.count)")
        }
        var text = ""
        for row in [header] + rows {
            if row.count == 1 && row[0].isEmpty {
                text += "\"\""
            } else {
                text += row.map(quoted).joined(separator: ",")
            }
            text += "\r\n"
        }
        return text
    }

    /// `field` quoted for CSV when it holds a comma, quote, CR or LF; otherwise unchanged.
    public static func quoted(_ field: String) -> String {
        let special = field.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
        guard special else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: - %.6g

    /// `value` formatted as Python's `'%.6g' % value` (and C's `printf("%.6g")`) formats the
    /// same number: six significant digits rounded half-to-even from the exact binary value,
    /// trailing zeros removed, exponent form (`1e-05`, `1.23457e+06`) below 1e-4 or from 1e6,
    /// `-0` for negative zero, `nan`, `inf`, `-inf`.
    ///
    /// Fast path: the shortest round-trip digits of `value` (Swift's `description`) are rounded
    /// to six digits. That equals rounding the exact value except when those digits are exactly
    /// a tie (seven significant digits ending in 5), because a rounding boundary strictly
    /// between the exact value and its shortest representation would itself be a shorter or
    /// closer representation; this holds while the round-trip interval (relative half-width
    /// 2^-24 for normal Floats) is narrower than half a unit in the sixth digit (at least 5e-7
    /// relative). Ties and subnormal numbers go to `String(format:)`, which rounds the exact value.
    public static func formatG6(_ value: Float) -> String {
        guard !value.isSubnormal else { return String(format: "%.6g", Double(value)) }
        return formatG6(digitsOf: value.description) ?? String(format: "%.6g", Double(value))
    }

    /// `value` formatted as Python's `'%.6g' % value`; see ``formatG6(_:)-(Float)``.
    public static func formatG6(_ value: Double) -> String {
        guard !value.isSubnormal else { return String(format: "%.6g", value) }
        return formatG6(digitsOf: value.description) ?? String(format: "%.6g", value)
    }

    /// Formats from a shortest round-trip decimal such as "-1.25e-05", "0.1" or "123456.0";
    /// `nil` when rounding to six digits would be a tie.
    static func formatG6(digitsOf description: String) -> String? {
        var text = Substring(description)
        switch text {
        case "nan", "-nan": return "nan"
        case "inf", "+inf": return "inf"
        case "-inf": return "-inf"
        default: break
        }
        var sign = ""
        if text.first == "-" { sign = "-"; text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let parsed = Int(text[text.index(after: e)...].replacingOccurrences(of: "+", with: "")) else { return nil }
            exponent = parsed
            text = text[..<e]
        }
        let integerPart = text.prefix { $0 != "." }
        let fractionPart = text.dropFirst(integerPart.count + (integerPart.count < text.count ? 1 : 0))
        // value = 0.<digits> * 10^point
        var digits = Array((integerPart + fractionPart).utf8).map { Int($0) - 48 }
        guard digits.allSatisfy({ (0...9).contains($0) }) else { return nil }
        var point = integerPart.count + exponent
        while let first = digits.first, first == 0 { digits.removeFirst(); point -= 1 }
        while let last = digits.last, last == 0 { digits.removeLast() }
        if digits.isEmpty { return sign + "0" }

        if digits.count > 6 {
            let next = digits[6]
            if next == 5 && digits.count == 7 { return nil }  // exact tie: let printf decide
            let roundUp = next >= 5
            digits.removeLast(digits.count - 6)
            if roundUp {
                var i = 5
                while i >= 0 {
                    if digits[i] == 9 { digits[i] = 0; i -= 1 } else { digits[i] += 1; break }
                }
                if i < 0 { digits.insert(1, at: 0); digits.removeLast(); point += 1 }
            }
            while let last = digits.last, last == 0 { digits.removeLast() }
        }
        let x = point - 1  // the exponent of d.ddddd x 10^x
        let chars = digits.map { Character(String($0)) }
        if x < -4 || x >= 6 {
            var mantissa = String(chars[0])
            if chars.count > 1 { mantissa += "." + String(chars[1...]) }
            let magnitude = abs(x)
            return sign + mantissa + "e" + (x < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        }
        if x < 0 {
            return sign + "0." + String(repeating: "0", count: -x - 1) + String(chars)
        }
        let whole = x + 1
        if chars.count <= whole {
            return sign + String(chars) + String(repeating: "0", count: whole - chars.count)
        }
        return sign + String(chars[..<whole]) + "." + String(chars[whole...])
    }
}

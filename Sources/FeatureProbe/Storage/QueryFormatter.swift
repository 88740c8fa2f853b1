import SPConvLab
import Foundation

/// Renders a ``QueryResult`` for people (an aligned table, a Markdown table) or programs (CSV, JSON).
///
/// Pure encoders returning strings. Values: integers in decimal; reals with Swift's shortest
/// round-trip digits in CSV and JSON (so a program reads back the stored double exactly) and
/// `%.6g` in the table; NULL as an empty CSV field, `null` in JSON and `NULL` in the table. A BLOB
/// is not dumped: it is `<blob N bytes>` in the table and CSV and `{"blob_bytes": N}` in JSON (read
/// matrices through `similarity(runID:layer:metric:)` or Python, docs/SCHEMA.md). Non-finite reals
/// (SQLite stores infinities, never NaN) are `inf`/`-inf` in text and `null` in JSON.
public enum QueryFormatter {
    /// The output formats of `probe-cli query`.
    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json, markdown
    }

    /// `result` in `format`.
    public static func format(_ result: QueryResult, as format: Format) -> String {
        switch format {
        case .table: return table(result)
        case .csv: return csv(result)
        case .json: return json(result)
        case .markdown: return markdown(result)
        }
    }

    /// A GitHub-flavoured Markdown table: a header row, a delimiter row (numeric columns
    /// right-aligned with `---:`), one row per result row; values as in the aligned table, `|`
    /// escaped as `\|` and newlines written `<br>`, so every row stays one line. A result without
    /// columns gives an empty string.
    public static func markdown(_ result: QueryResult) -> String {
        guard !result.columns.isEmpty else { return "" }
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
                .replacingOccurrences(of: "\r\n", with: "<br>").replacingOccurrences(of: "\n", with: "<br>")
        }
        let numeric = result.columns.indices.map { column in
            result.rows.contains { isNumber($0[column]) } && result.rows.allSatisfy { isNumber($0[column]) || $0[column].isNull }
        }
        var text = "| " + result.columns.map(cell).joined(separator: " | ") + " |\n"
        text += "|" + numeric.map { $0 ? " ---: |" : " --- |" }.joined() + "\n"
        for row in result.rows {
            text += "| " + row.map { cell(markdownText($0)) }.joined(separator: " | ") + " |\n"
        }
        return text
    }

    /// An aligned text table: the header, a rule of dashes, one line per row; columns of numbers
    /// (and NULLs) right-aligned with their header, other columns left-aligned; newlines in text
    /// shown as `\n`; columns two spaces apart, lines ended by `"\n"`, trailing spaces trimmed;
    /// then `(N rows)`.
    public static func table(_ result: QueryResult) -> String {
        let cells = result.rows.map { $0.map(tableText) }
        var widths = result.columns.map(\.count)
        for row in cells {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ fields: [String], rightAligned: [Bool]) -> String {
            var text = ""
            for (index, field) in fields.enumerated() {
                if index > 0 { text += "  " }
                let padding = String(repeating: " ", count: max(0, widths[index] - field.count))
                text += rightAligned[index] ? padding + field : field + padding
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text + "\n"
        }
        let numeric = result.columns.indices.map { column in
            result.rows.contains { isNumber($0[column]) } && result.rows.allSatisfy { isNumber($0[column]) || $0[column].isNull }
        }
        var text = line(result.columns, rightAligned: numeric)
        text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in cells {
            text += line(row, rightAligned: numeric)
        }
        text += "(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))\n"
        return text
    }

    /// RFC 4180 CSV: a header line, then the rows, every line ended by CRLF; a field is quoted
    /// when it holds a comma, a double quote, CR or LF, with inner quotes doubled (``CSVWriter``).
    public static func csv(_ result: QueryResult) -> String {
        CSVWriter.table(header: result.columns, rows: result.rows.map { $0.map(plainText) })
    }

    /// A JSON array with one object per row, keys in column order, numbers as JSON numbers,
    /// text as strings, NULL as `null`, BLOBs as `{"blob_bytes": N}`; followed by `"\n"`.
    public static func json(_ result: QueryResult) -> String {
        var text = "["
        for (index, row) in result.rows.enumerated() {
            text += index == 0 ? "\n  {" : ",\n  {"
            for (offset, pair) in zip(result.columns, row).enumerated() {
                if offset > 0 { text += ", " }
                text += JSONText.quoted(pair.0) + ": " + jsonValue(pair.1)
            }
            text += "}"
        }
        text += result.rows.isEmpty ? "]\n" : "\n]\n"
        return text
    }

    static func isNumber(_ value: SQLValue) -> Bool {
        switch value {
        case .integer, .real: return true
        default: return false
        }
    }

    static func realText(_ value: Double) -> String {
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return value.description
    }

    static func plainText(_ value: SQLValue) -> String {
        switch value {
        case .null: return ""
        case .integer(let integer): return String(integer)
        case .real(let real): return realText(real)
        case .text(let text): return text
        case .blob(let bytes): return "<blob \(bytes.count) bytes>"
        }
    }

    static func tableText(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case .real(let real): return CSVWriter.formatG6(real)
        default: return plainText(value).replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        }
    }

    static func markdownText(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case .real(let real): return CSVWriter.formatG6(real)
        default: return plainText(value)
        }
    }

    static func jsonValue(_ value: SQLValue) -> String {
        switch value {
        case .null: return "null"
        case .integer(let integer): return String(integer)
        case .real(let real): return real.isFinite ? real.description : "null"
        case .text(let text): return JSONText.quoted(text)
        case .blob(let bytes): return "{\"blob_bytes\": \(bytes.count)}"
        }
    }

}

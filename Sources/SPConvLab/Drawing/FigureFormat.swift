import Foundation

/// A file format a ``Figure`` can be written in.
public enum FigureFormat: String, Sendable, CaseIterable, Comparable {
    /// A raster at twice the figure's size (for screens), anti-aliased.
    case png
    /// Vector, glyphs as outlines, rasters embedded as PNG and drawn pixelated.
    case svg
    /// Vector, DejaVu Sans embedded as a subset, rasters without interpolation.
    case pdf

    /// The file name extension, without the dot.
    public var fileExtension: String { rawValue }

    /// Parses a comma-separated list such as `png,svg,pdf` (case-insensitive, spaces allowed),
    /// keeping each format once in the order png, svg, pdf.
    ///
    /// - Throws: ``DrawingError`` naming the entry that is not a format and listing the formats.
    public static func parseList(_ text: String, source: String) throws -> [FigureFormat] {
        var formats = Set<FigureFormat>()
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = entry.trimmingCharacters(in: .whitespaces).lowercased()
            guard let format = FigureFormat(rawValue: name) else {
                let shown = name.isEmpty ? "an empty entry" : "'\(entry.trimmingCharacters(in: .whitespaces))'"
                throw DrawingError("\(source) '\(text)' has \(shown), which is not a figure format; give a comma-separated list of png, svg and pdf (for example png,svg,pdf).")
            }
            formats.insert(format)
        }
        return formats.sorted()
    }

    public static func < (lhs: FigureFormat, rhs: FigureFormat) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

import Drawing

/// Turns a figure into the files of a report or an analysis folder, one per requested format.
public enum FigureFiles {
    /// `(stem.png, bytes)`, `(stem.svg, bytes)`, ... for each of `formats`, in the order given.
    ///
    /// - Parameters:
    ///   - figure: What to draw.
    ///   - stem: The file name without extension (may hold `/`-separated folders).
    ///   - formats: The formats to write; PNG is drawn at ``FigureEncoder/pngScale``.
    ///   - title: The PDF's document title.
    /// - Throws: ``FeatureProbeError`` when cairo cannot draw the figure.
    public static func encode(_ figure: Figure, stem: String, formats: [FigureFormat],
                              title: String? = nil) throws -> [(name: String, bytes: [UInt8])] {
        try formats.map { format in
            do {
                return ("\(stem).\(format.fileExtension)", try FigureEncoder.encode(figure, as: format, title: title))
            } catch let error as DrawingError {
                throw FeatureProbeError("Cannot draw \(stem).\(format.fileExtension): \(error.description)")
            }
        }
    }

    /// The formats of `text` (`png,svg,pdf`), given by `flag`.
    ///
    /// - Throws: ``FeatureProbeError`` naming the bad entry and the formats there are.
    public static func parseFormats(_ text: String, flag: String = "--formats") throws -> [FigureFormat] {
        do {
            return try FigureFormat.parseList(text, source: flag)
        } catch let error as DrawingError {
            throw FeatureProbeError(error.description)
        }
    }
}

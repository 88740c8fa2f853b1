import Foundation

/// The data behind the report's interactive parts (`report.js`): heatmaps redrawn on a canvas from
/// the stored matrices, the feature maps a clicked cell compares, and hover values for the charts.
///
/// It is embedded in `index.html` as one `<script type="application/json" id="report-data">`
/// block (``InteractiveData/json()``), so the folder works from `file://` with no request.
extension SweepReport {
    /// Heatmaps with more channels than this are shown as their picture only: the embedded
    /// float32 matrix would be over 1.4 MB of base64 per heatmap.
    public static let interactiveChannelLimit = 512

    /// Everything `report.js` reads. Field names are the JSON keys.
    struct InteractiveData: Encodable, Equatable {
        struct Heatmap: Encodable, Equatable {
            /// The heatmap's picture, relative to the report folder.
            var file: String
            var run: Int64
            var layer: String
            var metric: String
            var channels: Int
            /// The channel at each display position (row `r`, column `c` of the picture show
            /// `matrix[order[r] * channels + order[c]]`), the order the picture uses.
            var order: [Int]
            /// "viridis" over [0, 1] or "coolwarm" over [-1, 1], as the picture.
            var colormap: String
            /// `channels * channels` float32 little-endian, row-major, base64: the stored values exactly.
            var matrix: String
            /// The index into `featureMaps` of this run's and layer's maps, if stored.
            var featureMaps: Int?
        }

        struct FeatureMaps: Encodable, Equatable {
            var run: Int64
            var layer: String
            var image: Int
            var channels: Int
            var height: Int
            var width: Int
            var minimum: [Float]
            var maximum: [Float]
            /// The uint8 codes (``FeatureMapRecord/codes``), base64.
            var codes: String
        }

        struct ChartPoint: Encodable, Equatable {
            /// The marker's centre as a fraction of the picture's width and height.
            var x: Double
            var y: Double
            var text: String
        }

        struct Chart: Encodable, Equatable {
            var file: String
            var points: [ChartPoint]
        }

        /// Colour tables, `0xRRGGBB` per entry, and the colour of NaN.
        var colormaps: [String: [UInt32]] = ["viridis": Colormap.viridis.table, "coolwarm": Colormap.coolwarm.table]
        var nanColor: [UInt8] = [Colormap.nanColor.0, Colormap.nanColor.1, Colormap.nanColor.2]
        var heatmaps: [Heatmap] = []
        var featureMaps: [FeatureMaps] = []
        var charts: [Chart] = []

        /// The data as JSON that is safe inside an HTML `<script>` element: `<`, `>` and `&` are
        /// written as `\u003c`, `\u003e` and `\u0026` (they only occur inside strings).
        func json() throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let text = String(decoding: try encoder.encode(self), as: UTF8.self)
            return text.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
                .replacingOccurrences(of: "&", with: "\\u0026")
                .replacingOccurrences(of: "\u{2028}", with: "\\u2028").replacingOccurrences(of: "\u{2029}", with: "\\u2029")
        }
    }

    /// The display order of a heatmap and where its clusters start: average-linkage clustered
    /// order at `threshold`, as `probe-cli similarity` draws it, or index order when the matrix
    /// cannot be clustered (an entry that is not finite). Dead channels (similarity 0 with every other channel)
    /// go last, as in ``LayerSummary/clusteredOrder``.
    static func heatmapOrder(_ record: SimilarityRecord, threshold: Double) -> (order: [Int], clusterStarts: [Int]?) {
        let c = record.channels
        // Clustering needs finite distances.
        guard record.values.allSatisfy(\.isFinite) else { return (Array(0..<c), nil) }
        // Average linkage needs symmetric distances; a stored matrix is symmetric up to rounding, and
        // the mean of (i, j) and (j, i) keeps a hand-made asymmetric one from stalling the clustering.
        var symmetric = record.values
        for i in 0..<c {
            for j in (i + 1)..<max(c, i + 1) {
                let mean = (record.values[i * c + j] + record.values[j * c + i]) / 2
                (symmetric[i * c + j], symmetric[j * c + i]) = (mean, mean)
            }
        }
        let dead = c < 2 ? [] : (0..<c).filter { i in (0..<c).allSatisfy { j in i == j || symmetric[i * c + j] == 0 } }
        let matrix = SimilarityMatrix(channels: c, values: symmetric, metric: SimilarityMetric(rawValue: record.metric) ?? .cosine,
                                      reduction: .pooled, images: 0, deadChannels: dead)
        guard let summary = try? LayerSummary(matrix: matrix, threshold: min(max(threshold, 0), 1)) else {
            return (Array(0..<c), nil)
        }
        return (summary.clusteredOrder, SimilarityReport.clusterStarts(summary))
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func interactiveFeatureMaps(_ record: FeatureMapRecord) -> InteractiveData.FeatureMaps {
        InteractiveData.FeatureMaps(run: record.runID, layer: record.layer, image: record.image, channels: record.channels,
                                    height: record.height, width: record.width, minimum: record.minimum,
                                    maximum: record.maximum, codes: base64(record.codes))
    }

    /// The chart's markers where ``ChartRenderer`` draws them, as fractions of the picture, each
    /// with its series, coordinates and error.
    ///
    /// This is the one place that reads the renderer's layout (``ChartRenderer/Layout``): a new
    /// drawing layer has to give the same data-to-picture mapping here.
    static func hoverPoints(of chart: Chart) -> [InteractiveData.ChartPoint] {
        let layout = ChartRenderer.Layout(chart: chart)
        guard !layout.isEmpty else { return [] }
        var points: [InteractiveData.ChartPoint] = []
        for series in chart.series {
            for (index, point) in series.points.enumerated() where point.x.isFinite && point.y.isFinite && (!chart.logY || point.y > 0) {
                let error = series.errors?[index]
                points.append(.init(x: Double(layout.pixelX(point.x)) / Double(layout.width),
                                    y: Double(layout.pixelY(point.y)) / Double(layout.height),
                                    text: pointText(series: series.name, point: point, error: error, chart: chart)))
            }
        }
        return points
    }

    /// "series: x label = x, y label = y ± e".
    static func pointText(series: String, point: (x: Double, y: Double), error: Double?, chart: Chart) -> String {
        let x: String
        if let categories = chart.categories, let i = Int(exactly: point.x), categories.indices.contains(i) {
            x = categories[i]
        } else {
            x = CSVWriter.formatG6(point.x)
        }
        let spread = error.flatMap { $0.isFinite && $0 > 0 ? " ± \(CSVWriter.formatG6($0))" : nil } ?? ""
        return "\(series): \(chart.xLabel) = \(x), \(chart.yLabel) = \(CSVWriter.formatG6(point.y))\(spread)"
    }

    /// A chart's plotted values as an HTML table (series, x, y, error), for the data toggle.
    static func dataTable(of chart: Chart) -> String {
        let hasErrors = chart.series.contains { $0.errors != nil }
        var html = "<table class=\"sortable chart-data\">\n<thead><tr><th>series</th><th>\(escapeHTML(chart.xLabel))</th>"
        html += "<th>\(escapeHTML(chart.yLabel))</th>" + (hasErrors ? "<th>± (std)</th>" : "") + "</tr></thead>\n<tbody>\n"
        for series in chart.series {
            for (index, point) in series.points.enumerated() {
                let x: String
                if let categories = chart.categories, let i = Int(exactly: point.x), categories.indices.contains(i) {
                    x = "<td>\(escapeHTML(categories[i]))</td>"
                } else {
                    x = "<td class=\"num\" data-value=\"\(point.x)\">\(escapeHTML(CSVWriter.formatG6(point.x)))</td>"
                }
                html += "<tr><td>\(escapeHTML(series.name))</td>\(x)<td class=\"num\" data-value=\"\(point.y)\">\(escapeHTML(CSVWriter.formatG6(point.y)))</td>"
                if hasErrors { html += "<td class=\"num\">\(series.errors.map { CSVWriter.formatG6($0[index]) } ?? "")</td>" }
                html += "</tr>\n"
            }
        }
        for reference in chart.references {
            html += "<tr><td>\(escapeHTML(reference.name))</td><td>(all)</td><td class=\"num\" data-value=\"\(reference.y)\">\(escapeHTML(CSVWriter.formatG6(reference.y)))</td>"
            html += (hasErrors ? "<td></td>" : "") + "</tr>\n"
        }
        return html + "</tbody>\n</table>\n"
    }
}

import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

/// The data the report's script reads (`#report-data` in index.html) and the hooks it needs.
@Suite struct SweepReportInteractiveTests {
    static func maps(runID: Int64, layer: String, channels: Int = 8) -> FeatureMapRecord {
        FeatureMapRecord(runID: runID, layer: layer, image: 0, channels: channels, height: 3, width: 2,
                         values: (0..<(channels * 6)).map { Float($0 % 7) - 2 })
    }

    static func report(similarity: [SimilarityRecord] = SweepReportTests.similarity()) throws -> [(name: String, bytes: [UInt8])] {
        try SweepReport.files(runs: SweepReportTests.runs(), layerMetrics: SweepReportTests.layerMetrics(), similarity: similarity,
                              featureMaps: [maps(runID: 1, layer: "layer1.0.conv1"), maps(runID: 2, layer: "conv1")],
                              title: "interactive", generatedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    /// The JSON text of `#report-data`.
    static func embedded(_ html: String) throws -> String {
        let start = try #require(html.range(of: "<script type=\"application/json\" id=\"report-data\">"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        return String(html[start.upperBound..<end.lowerBound])
    }

    static func data(_ files: [(name: String, bytes: [UInt8])]) throws -> [String: Any] {
        let json = try embedded(SweepReportTests.text(files, "index.html"))
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func heatmapsCarryTheirMatrixOrderAndFeatureMaps() throws {
        let files = try Self.report()
        let data = try Self.data(files)
        let heatmaps = try #require(data["heatmaps"] as? [[String: Any]])
        #expect(heatmaps.count == 2)
        let values = SweepReportTests.similarity()[0].values
        for (heatmap, run) in zip(heatmaps, [1, 6]) {
            #expect(heatmap["run"] as? Int == run && heatmap["layer"] as? String == "layer1.0.conv1" && heatmap["channels"] as? Int == 8)
            #expect(heatmap["file"] as? String == "heatmaps/run\(run).layer1.0.conv1.cosine.png")
            #expect((heatmap["order"] as? [Int]).map { $0.sorted() } == Array(0..<8))
            #expect(heatmap["colormap"] as? String == "viridis")
            let matrix = try #require(heatmap["matrix"] as? String)
            let bytes = try #require(Data(base64Encoded: matrix))
            #expect(SQLValue.decodeFloat32LittleEndian(Array(bytes)) == values, "the exact stored values")
        }
        // Only run 1's heatmap layer has maps; run 2's conv1 has no heatmap, so it is not embedded.
        #expect(heatmaps[0]["featureMaps"] as? Int == 0 && heatmaps[1]["featureMaps"] == nil)
        let maps = try #require(data["featureMaps"] as? [[String: Any]])
        #expect(maps.count == 1)
        let expected = Self.maps(runID: 1, layer: "layer1.0.conv1")
        #expect(maps[0]["run"] as? Int == 1 && maps[0]["height"] as? Int == 3 && maps[0]["width"] as? Int == 2)
        #expect((maps[0]["minimum"] as? [Double])?.map(Float.init) == expected.minimum)
        #expect((maps[0]["maximum"] as? [Double])?.map(Float.init) == expected.maximum)
        #expect(Data(base64Encoded: maps[0]["codes"] as? String ?? "").map(Array.init) == expected.codes)
        let colormaps = try #require(data["colormaps"] as? [String: [Int]])
        #expect(colormaps["viridis"]?.count == 256 && colormaps["viridis"]?.first == 0x440154 && colormaps["coolwarm"]?.count == 256)

        let html = SweepReportTests.text(files, "index.html")
        #expect(html.contains("<figure class=\"heatmap\" data-heatmap=\"0\">") && html.contains("<figure class=\"heatmap\" data-heatmap=\"1\">"))
        #expect(files.contains { $0.name == "report.js" && String(decoding: $0.bytes, as: UTF8.self) == ReportScript.javascript })
    }

    @Test func chartMarkersLieOnTheirPictures() throws {
        let data = try Self.data(try Self.report())
        let charts = try #require(data["charts"] as? [[String: Any]])
        #expect(charts.map { $0["file"] as? String } == ["macs_vs_ratio.png", "latency_vs_ratio.png", "latency_vs_macs.png", "redundancy_per_layer.png"])
        for chart in charts {
            let points = try #require(chart["points"] as? [[String: Any]])
            #expect(!points.isEmpty)
            for point in points {
                let (x, y) = (try #require(point["x"] as? Double), try #require(point["y"] as? Double))
                #expect((0.0...1.0).contains(x) && (0.0...1.0).contains(y))
                #expect((point["text"] as? String)?.contains(" = ") == true)
            }
        }
        // 8 SPConv configurations are done (one of 9 skipped): one marker each on the MACs chart.
        #expect((charts[0]["points"] as? [Any])?.count == 8)
    }

    @Test func tablesCarrySortValuesAndAFilter() throws {
        let html = SweepReportTests.text(try Self.report(), "index.html")
        #expect(html.contains("<table class=\"sortable\" id=\"runs-table\">") && html.contains("<table class=\"sortable\" id=\"configurations-table\">"))
        #expect(html.contains("<input type=\"search\" class=\"table-filter\" data-table=\"runs-table\""))
        #expect(html.contains("10 of 10 runs"))
        let params = 1_820_000_000 / 160
        #expect(html.contains("title=\"\(params)\" data-value=\"\(params)\""), "params sort by the exact count, not the compact text")
        #expect(html.contains("<details class=\"chart-data\"><summary>Data</summary>"))
    }

    @Test func embeddedJSONCannotCloseItsScript() throws {
        let channels = 2
        let record = SimilarityRecord(runID: 1, layer: "</script><b>x&y", metric: "cosine", channels: channels, values: [1, 0.5, 0.5, 1])
        let files = try Self.report(similarity: [record])
        let html = SweepReportTests.text(files, "index.html")
        #expect(!html.contains("</script><b>"))
        let json = try Self.embedded(html)
        #expect(json.contains("\\u003c\\/script\\u003e\\u003cb\\u003ex\\u0026y"))
        let heatmaps = try #require(try Self.data(files)["heatmaps"] as? [[String: Any]])
        #expect(heatmaps.first?["layer"] as? String == "</script><b>x&y")
    }

    /// Channels 0 and 2 are near copies (0.95), so are 1 and 3; the pairs are far apart (0.1).
    /// Clustered order puts each pair side by side, as two clusters of two.
    @Test func heatmapOrderGroupsNearCopies() {
        let values: [Float] = [1, 0.1, 0.95, 0.1,
                               0.1, 1, 0.1, 0.95,
                               0.95, 0.1, 1, 0.1,
                               0.1, 0.95, 0.1, 1]
        let record = SimilarityRecord(runID: 1, layer: "l", metric: "cosine", channels: 4, values: values)
        let (order, starts) = SweepReport.heatmapOrder(record, threshold: 0.9)
        #expect(order.sorted() == [0, 1, 2, 3])
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
        #expect(abs(position[0]! - position[2]!) == 1 && abs(position[1]! - position[3]!) == 1)
        #expect(starts == [0, 2])
        // A matrix with NaN cannot be clustered: index order.
        let broken = SimilarityRecord(runID: 1, layer: "l", metric: "cosine", channels: 2, values: [1, .nan, .nan, 1])
        #expect(SweepReport.heatmapOrder(broken, threshold: 0.9).order == [0, 1])
        // An asymmetric matrix is ordered by its symmetric part (and does not stall the clustering).
        let asymmetric = SimilarityRecord(runID: 1, layer: "l", metric: "cosine", channels: 8,
                                          values: (0..<64).map { Float(($0 * 7) % 10) / 10 })
        #expect(SweepReport.heatmapOrder(asymmetric, threshold: 0.9).order.sorted() == Array(0..<8))
    }
}

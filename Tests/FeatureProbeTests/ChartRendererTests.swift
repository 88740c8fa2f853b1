import Drawing
import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct ChartRendererTests {
    /// The chart drawn at 1x by cairo, as the PNG would show it at half its pixel size.
    static func picture(_ chart: Chart) throws -> Raster {
        try FigureEncoder.rasterize(ChartRenderer.render(chart))
    }

    /// The colour of the pixel holding figure point (`x`, `y`).
    static func color(_ image: Raster, x: Double, y: Double) -> Color {
        image[Int(x.rounded(.down)), Int(y.rounded(.down))]
    }

    static let threeSeries = Chart(
        title: "MACs vs split ratio", xLabel: "split ratio", yLabel: "MACs",
        series: [ChartSeries(name: "g=1", points: [(0.25, 1.2e9), (0.5, 1.5e9), (0.75, 1.7e9)]),
                 ChartSeries(name: "g=2", points: [(0.25, 1.0e9), (0.5, 1.3e9), (0.75, 1.6e9)]),
                 ChartSeries(name: "g=4", points: [(0.25, 0.9e9), (0.5, 1.2e9), (0.75, 1.55e9)], connect: false)],
        references: [Chart.Reference(name: "vanilla", y: 1.82e9)])

    @Test func niceTicksByHand() {
        #expect(ChartTicks.linear(lower: 0, upper: 0.97).ticks == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(ChartTicks.linear(lower: 3, upper: 47).ticks == [0, 10, 20, 30, 40, 50])
        #expect(ChartTicks.linear(lower: -3, upper: 7).ticks == [-4, -2, 0, 2, 4, 6, 8])
        #expect(ChartTicks.linear(lower: 0.25, upper: 0.75, intervals: 5).ticks == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
        // An empty range is widened: 5 -> 4.5...5.5.
        #expect(ChartTicks.linear(lower: 5, upper: 5).ticks == [4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6])
        #expect(ChartTicks.niceStep(atLeast: 0.194) == ChartTicks.Step(mantissa: 2, exponent: -1))
        #expect(ChartTicks.niceStep(atLeast: 8.8) == ChartTicks.Step(mantissa: 1, exponent: 1))
        #expect(ChartTicks.niceStep(atLeast: 30) == ChartTicks.Step(mantissa: 5, exponent: 1))
        #expect(ChartTicks.logarithmic(lower: 3, upper: 470) == [1, 10, 100, 1000])
        #expect(ChartTicks.logarithmic(lower: 3, upper: 47) == [1, 2, 5, 10, 20, 50, 100])
    }

    @Test func tickLabels() {
        let (ticks, step) = ChartTicks.linear(lower: 0, upper: 0.97)
        #expect(ChartTicks.labels(ticks, step: step) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let macs = ChartTicks.linear(lower: 0.9e9, upper: 1.82e9)
        #expect(ChartTicks.labels(macs.ticks, step: macs.step) == ["0.8G", "1.0G", "1.2G", "1.4G", "1.6G", "1.8G", "2.0G"])
        let counts = ChartTicks.linear(lower: 3, upper: 47)
        #expect(ChartTicks.labels(counts.ticks, step: counts.step) == ["0", "10", "20", "30", "40", "50"])
        #expect(ChartTicks.logarithmicLabels([0.01, 1, 100, 1e4, 2e6]) == ["0.01", "1", "100", "10k", "2M"])
    }

    @Test func sizeAndMarkerColourAtItsPosition() throws {
        let chart = Self.threeSeries
        let figure = ChartRenderer.render(chart)
        #expect(figure.width == 960 && figure.height == 600)
        let image = try Self.picture(chart)
        #expect(image.width == 960 && image.height == 600)
        let layout = ChartRenderer.Layout(chart: chart)
        let plot = layout.plotRect
        // g=4 is drawn last, unconnected: its first point carries series 2's colour.
        let x = layout.pixelX(0.25), y = layout.pixelY(0.9e9)
        #expect(plot.x < x && x < plot.maxX && plot.y < y && y < plot.maxY)
        #expect(Self.color(image, x: x, y: y) == ChartMarker.color(ofSeries: 2))
        // The highest point of g=1 has series 0's colour; well away from any marker is background.
        #expect(Self.color(image, x: layout.pixelX(0.75), y: layout.pixelY(1.7e9)) == ChartMarker.color(ofSeries: 0))
        #expect(Self.color(image, x: layout.pixelX(0.25), y: layout.pixelY(1.7e9)) == .white)
    }

    @Test func linesAreAntiAliased() throws {
        // A connected series' sloped line leaves pixels between its colour and white: blended edges.
        let chart = Self.threeSeries
        let image = try Self.picture(chart)
        let layout = ChartRenderer.Layout(chart: chart)
        let (x0, x1) = (layout.pixelX(0.25) + 8, layout.pixelX(0.5) - 8)
        let target = ChartMarker.color(ofSeries: 0)
        var blended = 0
        for column in stride(from: x0, to: x1, by: 1) {
            let t = (column - layout.pixelX(0.25)) / (layout.pixelX(0.5) - layout.pixelX(0.25))
            let lineY = layout.pixelY(1.2e9 + t * 0.3e9)
            for dy in -3...3 {
                let c = Self.color(image, x: column, y: lineY + Double(dy))
                if c != target && c != .white && c != Color(gray: 228) && c.blue > target.blue { blended += 1 }
            }
        }
        #expect(blended > 20, "expected intermediate (anti-aliased) colours along the line, saw \(blended)")
    }

    @Test func legendBoxHoldsEntries() throws {
        let chart = Self.threeSeries
        let image = try Self.picture(chart)
        let layout = ChartRenderer.Layout(chart: chart)
        #expect(layout.legend.map(\.name) == ["g=1", "g=2", "g=4", "vanilla"])
        #expect(layout.legendLeft > layout.plotRect.maxX && layout.legendLeft + layout.legendWidth <= Double(image.width))
        var colours = Set<Color>()
        let rows = ChartRenderer.Layout.legendRowHeight * Double(layout.legend.count)
        for y in Int(layout.plotRect.y + 2)..<Int(layout.plotRect.y + rows) {
            for x in Int(layout.legendLeft + 2)..<Int(layout.legendLeft + layout.legendWidth - 2) {
                colours.insert(image[x, y])
            }
        }
        for series in 0..<3 { #expect(colours.contains(ChartMarker.color(ofSeries: series))) }
        #expect(colours.contains(.black))  // the names and the dashed reference swatch
    }

    @Test func emptyChartSaysNoData() throws {
        let chart = Chart(title: "nothing", xLabel: "x", yLabel: "y",
                          series: [ChartSeries(name: "empty", points: []), ChartSeries(name: "nan", points: [(.nan, 1)])])
        let layout = ChartRenderer.Layout(chart: chart)
        #expect(layout.isEmpty && layout.legend.isEmpty)
        let image = try Self.picture(chart)
        #expect(image.width == 960 && image.height == 600)
        // "no data" in gray shades (anti-aliased) inside the frame; no series colour anywhere.
        let plot = layout.plotRect
        var sawText = false
        for y in Int(plot.y + 2)..<Int(plot.maxY - 1) {
            for x in Int(plot.x + 2)..<Int(plot.maxX - 1) where image[x, y] != .white {
                sawText = true
                let c = image[x, y]
                #expect(c.red == c.green && c.green == c.blue && c.red >= 110)
            }
        }
        #expect(sawText)
    }

    @Test func categoricalAxisRotatesCrowdedLabels() throws {
        let few = Chart(title: "t", xLabel: "layer", yLabel: "y",
                        series: [ChartSeries(name: "a", points: [(0, 0.1), (1, 0.3), (2, 0.2)])],
                        categories: ["conv1", "conv2", "fc"])
        #expect(ChartRenderer.Layout(chart: few).categoryLabels == .horizontal)
        let names = (0..<60).map { "layer\($0 / 10).\($0 % 10).conv1" }
        let many = Chart(title: "t", xLabel: "layer", yLabel: "y",
                         series: [ChartSeries(name: "a", points: names.indices.map { (Double($0), Double($0 % 7)) })],
                         categories: names)
        let layout = ChartRenderer.Layout(chart: many)
        guard case .rotated(let step) = layout.categoryLabels else {
            Issue.record("60 long labels in 960 pixels should be rotated, got \(layout.categoryLabels)")
            return
        }
        #expect(step >= 1)
        // The turned labels are text runs reading upwards.
        let turned = ChartRenderer.render(many).shapes.filter { shape in
            if case .text(let run) = shape { return run.rotation == .up && names.contains(run.string) }
            return false
        }
        #expect(turned.count == (names.count + step - 1) / step)
        // Category centres are evenly spaced inside the plot.
        #expect(layout.pixelX(0) > layout.plotRect.x && layout.pixelX(59) < layout.plotRect.maxX)
        let image = try Self.picture(many)
        #expect(Self.color(image, x: layout.pixelX(3), y: layout.pixelY(3)) == ChartMarker.color(ofSeries: 0))
    }

    @Test func unicodeTextIsKept() {
        let chart = Chart(title: "Accuracy ≥ 91% · α × β", xLabel: "MACs", yLabel: "accuracy",
                          series: [ChartSeries(name: "ratio ½", points: [(1, 2)])])
        let texts = ChartRenderer.render(chart).shapes.compactMap { shape -> String? in
            if case .text(let run) = shape { return run.string }
            return nil
        }
        #expect(texts.contains("Accuracy ≥ 91% · α × β"))
        #expect(texts.contains("ratio ½"))
    }

    @Test func paretoFrontKeepsUndominatedPoints() throws {
        let points: [(x: Double, y: Double)] = [(5, 0.90), (3, 0.85), (4, 0.80), (1, 0.70), (6, 0.90), (2, 0.70)]
        let front = ChartRenderer.paretoFront(of: points)
        #expect(front.map(\.x) == [1, 3, 5])
        #expect(front.map(\.y) == [0.70, 0.85, 0.90])
        let chart = Chart(title: "acc", xLabel: "MACs", yLabel: "accuracy",
                          series: [ChartSeries(name: "runs", points: points, connect: false)], paretoFront: front)
        let layout = ChartRenderer.Layout(chart: chart)
        #expect(layout.legend.last?.name == "Pareto front")
        let image = try Self.picture(chart)
        // The step's horizontal run from (1, 0.70) towards x = 3, between the markers at x = 1 and 2.
        let midX = (layout.pixelX(1) + layout.pixelX(2)) / 2
        #expect(Self.color(image, x: midX, y: layout.pixelY(0.70)) == ChartRenderer.paretoColor)
    }

    @Test func logAxisPlacesDecadesEvenly() {
        let chart = Chart(title: "log", xLabel: "x", yLabel: "y",
                          series: [ChartSeries(name: "a", points: [(0, 3), (1, 300), (2, -1)])], logY: true)
        let layout = ChartRenderer.Layout(chart: chart)
        #expect(layout.yTicks.map(\.label) == ["1", "10", "100", "1000"])
        let (y1, y10, y100) = (layout.pixelY(1), layout.pixelY(10), layout.pixelY(100))
        #expect(abs((y1 - y10) - (y10 - y100)) <= 1e-9)
        _ = ChartRenderer.render(chart)
    }
}

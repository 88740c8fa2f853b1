import Drawing
import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct HeatmapRendererTests {
    /// A symmetric matrix with ones on the diagonal and a smooth off-diagonal pattern.
    static func matrix(_ channels: Int, negative: Bool = false) -> [Float] {
        var values = [Float](repeating: 0, count: channels * channels)
        for i in 0..<channels {
            for j in 0..<channels {
                let v = i == j ? 1 : Float(abs(i - j) % 7) / 7
                values[i * channels + j] = negative && (i + j) % 3 == 0 ? -v : v
            }
        }
        return values
    }

    /// The heatmap drawn by cairo at `scale` device pixels per figure pixel.
    static func picture(_ figure: Figure, scale: Int = 1) throws -> Raster {
        try FigureEncoder.rasterize(figure, scale: scale)
    }

    /// The colour in the middle of the cell at `row`, `column` of the drawn matrix.
    static func cellColor(_ image: Raster, _ layout: HeatmapRenderer.Layout, _ row: Int, _ column: Int, scale: Int = 1) -> (UInt8, UInt8, UInt8) {
        let cell = Double(layout.cell)
        let x = Int(((layout.matrixRect.x + (Double(column) + 0.5) * cell) * Double(scale)).rounded(.down))
        let y = Int(((layout.matrixRect.y + (Double(row) + 0.5) * cell) * Double(scale)).rounded(.down))
        let c = image[x, y]
        return (c.red, c.green, c.blue)
    }

    @Test(arguments: [16, 64, 512, 2048])
    func sizeStaysBetween512And4096(channels: Int) {
        let cell = HeatmapRenderer.cellSize(channels: channels)
        #expect((512...4096).contains(channels * cell))
        #expect(cell == max(1, 512 / channels))
        let figure = HeatmapRenderer.render(values: Self.matrix(channels), channels: channels, order: nil,
                                            title: "layer1.0.conv1 · pearson · 512 images", subtitle: "clustered")
        #expect((512...4096).contains(Int(figure.width)) && (512...4096).contains(Int(figure.height)))
        // The matrix is one raster of C x C samples, not C² rectangles.
        let rasters = figure.shapes.compactMap { shape -> Raster? in
            if case .raster(let raster, _) = shape { return raster }
            return nil
        }
        #expect(rasters.first.map { $0.width == channels && $0.height == channels } == true)
    }

    @Test func extremesMapToViridisEnds() throws {
        let channels = 16
        var values = [Float](repeating: 0.5, count: channels * channels)
        values[0 * channels + 1] = 1.0
        values[2 * channels + 3] = 0.0
        let layout = HeatmapRenderer.Layout(channels: channels, order: Array(0..<channels), title: "t", subtitle: nil,
                                            colormap: .viridis, hasNaN: false)
        let figure = HeatmapRenderer.render(values: values, channels: channels, order: nil, title: "t", subtitle: nil)
        let image = try Self.picture(figure)
        #expect(Double(image.width) == layout.width && Double(image.height) == layout.height)
        #expect(Self.cellColor(image, layout, 0, 1) == (253, 231, 37))
        #expect(Self.cellColor(image, layout, 2, 3) == (68, 1, 84))
        #expect(Self.cellColor(image, layout, 5, 5) == Colormap.viridis.rgb(0.5))
    }

    @Test func aNegativeValueSwitchesToTheDivergingMap() throws {
        let channels = 16
        var values = [Float](repeating: 0, count: channels * channels)
        values[1 * channels + 0] = -1
        values[1 * channels + 2] = 1
        values[3 * channels + 3] = .nan
        #expect(HeatmapRenderer.colormap(for: values).name == "coolwarm")
        let layout = HeatmapRenderer.Layout(channels: channels, order: Array(0..<channels), title: "t", subtitle: "s",
                                            colormap: .coolwarm, hasNaN: true)
        let image = try Self.picture(HeatmapRenderer.render(values: values, channels: channels, order: nil, title: "t", subtitle: "s"))
        #expect(Self.cellColor(image, layout, 1, 0) == (59, 76, 192))
        #expect(Self.cellColor(image, layout, 1, 2) == (180, 4, 38))
        #expect(Self.cellColor(image, layout, 0, 0) == (221, 220, 220))
        #expect(Self.cellColor(image, layout, 3, 3) == Colormap.nanColor)
    }

    @Test func orderPermutesRowsAndColumns() throws {
        let channels = 16
        var values = [Float](repeating: 0, count: channels * channels)
        values[5 * channels + 9] = 1
        let order = Array((0..<channels).reversed())
        let layout = HeatmapRenderer.Layout(channels: channels, order: order, title: "t", subtitle: nil,
                                            colormap: .viridis, hasNaN: false)
        let image = try Self.picture(HeatmapRenderer.render(values: values, channels: channels, order: order, title: "t", subtitle: nil))
        // Channel 5 is shown at position 10, channel 9 at position 6.
        #expect(Self.cellColor(image, layout, 10, 6) == (253, 231, 37))
    }

    @Test func cellsStayCrispWhenEnlarged() throws {
        // 512 channels: one figure pixel per cell, two device pixels in the 2x PNG. A checkerboard
        // of 0 and 1 must come out as whole 2x2 blocks of the two end colours, with no blending.
        let channels = 512
        let values = (0..<channels * channels).map { Float(($0 / channels + $0 % channels) % 2) }
        let layout = HeatmapRenderer.Layout(channels: channels, order: Array(0..<channels), title: "t", subtitle: nil,
                                            colormap: .viridis, hasNaN: false)
        let image = try Self.picture(HeatmapRenderer.render(values: values, channels: channels, order: nil, title: "t", subtitle: nil), scale: 2)
        let left = Int(layout.matrixRect.x) * 2, top = Int(layout.matrixRect.y) * 2
        var mismatches = 0
        for row in stride(from: 0, to: channels, by: 37) {
            for column in stride(from: 0, to: channels, by: 41) {
                let expected = (row + column) % 2 == 0 ? Color(68, 1, 84) : Color(253, 231, 37)
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] where image[left + 2 * column + dx, top + 2 * row + dy] != expected {
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func clusterOutlinesSurroundDiagonalBlocks() throws {
        let channels = 16
        let values = [Float](repeating: 0, count: channels * channels)
        let layout = HeatmapRenderer.Layout(channels: channels, order: Array(0..<channels), title: "t", subtitle: nil,
                                            colormap: .viridis, hasNaN: false)
        let image = try Self.picture(HeatmapRenderer.render(values: values, channels: channels, order: nil, title: "t", subtitle: nil,
                                                            clusterStarts: [0, 4, 5, 10]))
        // Block 0..<4 has an outline (4 pixels wide at cell 32) along its left edge; the singleton
        // block 4..<5 has none.
        let cell = Double(layout.cell)
        let edge = image[Int(layout.matrixRect.x + 1), Int(layout.matrixRect.y + cell + 5)]
        #expect(edge == Color(255, 40, 40))
        #expect(Self.cellColor(image, layout, 4, 4) == (68, 1, 84))
    }

    @Test func everyFormatIsWritten() throws {
        let figure = HeatmapRenderer.render(values: Self.matrix(64, negative: true), channels: 64, order: nil,
                                            title: "layer2.1.conv2 · cosine · 100 images", subtitle: nil)
        let files = try FigureFiles.encode(figure, stem: "heat", formats: [.png, .svg, .pdf])
        #expect(files.map(\.name) == ["heat.png", "heat.svg", "heat.pdf"])
        // The PNG is drawn at 2x: its IHDR width is twice the figure's.
        let png = try PNGCodec.decode(files[0].bytes)
        #expect(png.width == 2 * Int(figure.width.rounded(.up)) && png.height == 2 * Int(figure.height.rounded(.up)))
        #expect(String(decoding: files[1].bytes.prefix(5), as: UTF8.self) == "<?xml")
        #expect(String(decoding: files[2].bytes.prefix(5), as: UTF8.self) == "%PDF-")
    }

    /// Writes example pictures when `FEATUREPROBE_EXAMPLES` names a folder (for looking at them).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FEATUREPROBE_EXAMPLES"] != nil,
                   "set FEATUREPROBE_EXAMPLES=/some/folder to write example pictures"))
    func writeExamplesWhenAsked() throws {
        let folder = try #require(ProcessInfo.processInfo.environment["FEATUREPROBE_EXAMPLES"])
        var order = Array(0..<64)
        var generator = SeededGenerator(seed: 3)
        order.shuffle(using: &generator)
        for (channels, negative) in [(16, false), (64, true), (512, false), (2048, true)] {
            let figure = HeatmapRenderer.render(
                values: Self.matrix(channels, negative: negative), channels: channels,
                order: channels == 64 ? order : nil,
                title: "layer3.2.conv1.gwc · \(negative ? "pearson" : "cosine") · 512 images",
                subtitle: "resnet20 spconv ratio 0.5 groups 2; channels in \(channels == 64 ? "clustered" : "index") order",
                clusterStarts: [0, 3, 4, 9, 10])
            for file in try FigureFiles.encode(figure, stem: "heatmap\(channels)", formats: FigureFormat.allCases) {
                try FileBytes.writeAtomically(file.bytes, to: "\(folder)/\(file.name)")
            }
        }
    }
}

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

    static func color(_ image: Image8, x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        (image[x, y, 0], image[x, y, 1], image[x, y, 2])
    }

    @Test(arguments: [16, 64, 512, 2048])
    func sizeStaysBetween512And4096(channels: Int) {
        let cell = HeatmapRenderer.cellSize(channels: channels)
        #expect((512...4096).contains(channels * cell))
        #expect(cell == max(1, 512 / channels))
        let image = HeatmapRenderer.render(values: Self.matrix(channels), channels: channels, order: nil,
                                           title: "layer1.0.conv1  pearson  512 images", subtitle: "clustered")
        #expect(image.layout == .rgb)
        #expect((512...4096).contains(image.width) && (512...4096).contains(image.height))
    }

    @Test func extremesMapToViridisEnds() {
        let channels = 16
        var values = [Float](repeating: 0.5, count: channels * channels)
        values[0 * channels + 1] = 1.0
        values[2 * channels + 3] = 0.0
        let layout = HeatmapRenderer.Layout(channels: channels, order: Array(0..<channels), title: "t", subtitle: nil,
                                            colormap: .viridis, hasNaN: false)
        let image = HeatmapRenderer.render(values: values, channels: channels, order: nil, title: "t", subtitle: nil)
        func cellColor(_ row: Int, _ column: Int) -> (UInt8, UInt8, UInt8) {
            Self.color(image, x: layout.matrixLeft + column * layout.cell + layout.cell / 2,
                       y: layout.matrixTop + row * layout.cell + layout.cell / 2)
        }
        #expect(image.width == layout.width && image.height == layout.height)
        #expect(cellColor(0, 1) == (253, 231, 37))
        #expect(cellColor(2, 3) == (68, 1, 84))
        #expect(cellColor(5, 5) == Colormap.viridis.rgb(0.5))
    }

    @Test func aNegativeValueSwitchesToTheDivergingMap() {
        let channels = 16
        var values = [Float](repeating: 0, count: channels * channels)
        values[1 * channels + 0] = -1
        values[1 * channels + 2] = 1
        values[3 * channels + 3] = .nan
        #expect(HeatmapRenderer.colormap(for: values).name == "coolwarm")
        let layout = HeatmapRenderer.Layout(channels: channels, order: Array(0..<channels), title: "t", subtitle: "s",
                                            colormap: .coolwarm, hasNaN: true)
        let image = HeatmapRenderer.render(values: values, channels: channels, order: nil, title: "t", subtitle: "s")
        func cellColor(_ row: Int, _ column: Int) -> (UInt8, UInt8, UInt8) {
            Self.color(image, x: layout.matrixLeft + column * layout.cell + layout.cell / 2,
                       y: layout.matrixTop + row * layout.cell + layout.cell / 2)
        }
        #expect(cellColor(1, 0) == (59, 76, 192))
        #expect(cellColor(1, 2) == (180, 4, 38))
        #expect(cellColor(0, 0) == (221, 220, 220))
        #expect(cellColor(3, 3) == Colormap.nanColor)
    }

    @Test func orderPermutesRowsAndColumns() {
        let channels = 16
        var values = [Float](repeating: 0, count: channels * channels)
        values[5 * channels + 9] = 1
        let order = Array((0..<channels).reversed())
        let layout = HeatmapRenderer.Layout(channels: channels, order: order, title: "t", subtitle: nil,
                                            colormap: .viridis, hasNaN: false)
        let image = HeatmapRenderer.render(values: values, channels: channels, order: order, title: "t", subtitle: nil)
        // Channel 5 is shown at position 10, channel 9 at position 6.
        let x = layout.matrixLeft + 6 * layout.cell + 1, y = layout.matrixTop + 10 * layout.cell + 1
        #expect(Self.color(image, x: x, y: y) == (253, 231, 37))
    }

    @Test func clusterOutlinesSurroundDiagonalBlocks() {
        let channels = 16
        let values = [Float](repeating: 0, count: channels * channels)
        let layout = HeatmapRenderer.Layout(channels: channels, order: Array(0..<channels), title: "t", subtitle: nil,
                                            colormap: .viridis, hasNaN: false)
        let image = HeatmapRenderer.render(values: values, channels: channels, order: nil, title: "t", subtitle: nil,
                                           clusterStarts: [0, 4, 5, 10])
        // Block 0..<4 has an outline; the singleton block 4..<5 has none.
        #expect(Self.color(image, x: layout.matrixLeft, y: layout.matrixTop + layout.cell) == (255, 40, 40))
        #expect(Self.color(image, x: layout.matrixLeft + 4 * layout.cell, y: layout.matrixTop + 4 * layout.cell + 5)
                == (68, 1, 84))
    }

    @Test func pngRoundTrip() throws {
        let image = HeatmapRenderer.render(values: Self.matrix(64, negative: true), channels: 64, order: nil,
                                           title: "layer2.1.conv2  cosine  100 images", subtitle: nil)
        #expect(try PNGCodec.decode(try PNGCodec.encode(image)) == image)
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
            let image = HeatmapRenderer.render(
                values: Self.matrix(channels, negative: negative), channels: channels,
                order: channels == 64 ? order : nil,
                title: "layer3.2.conv1.gwc  \(negative ? "pearson" : "cosine")  512 images",
                subtitle: "resnet20 spconv ratio 0.5 groups 2; channels in \(channels == 64 ? "clustered" : "index") order",
                clusterStarts: [0, 3, 4, 9, 10])
            try FileBytes.writeAtomically(try PNGCodec.encode(image), to: "\(folder)/heatmap\(channels).png")
        }
    }
}

import Drawing
import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct FeatureGridRendererTests {
    /// `[C, H, W]` maps: a ramp per channel, except channel 1 which is constant.
    static func maps(channels: Int, height: Int, width: Int) -> Tensor {
        var scalars = [Float]()
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    scalars.append(c == 1 ? 3 : Float(c + 1) * Float(x + y) + Float(c))
                }
            }
        }
        return Tensor(shape: [channels, height, width], scalars: scalars)
    }

    @Test(arguments: [(1, 1, 1), (10, 4, 3), (16, 4, 4), (17, 5, 4), (64, 8, 8), (2048, 46, 45)])
    func gridIsNearSquare(channels: Int, columns: Int, rows: Int) {
        let shape = FeatureGridRenderer.gridShape(channels: channels)
        #expect(shape.columns == columns && shape.rows == rows)
        #expect(shape.columns * shape.rows >= channels && shape.columns * (shape.rows - 1) < channels)
    }

    @Test func tilesAreNormalisedUpscaledAndFramedByCluster() throws {
        let (channels, height, width) = (6, 8, 8)
        let clusters = [7, 7, 2, 9, 9, 9]   // channel 2 is alone
        let figure = FeatureGridRenderer.render(maps: Self.maps(channels: channels, height: height, width: width),
                                                clusterOf: clusters, title: "layer1.0.conv1 image 0")
        let image = try FigureEncoder.rasterize(figure)
        let scale = 6  // ceil(48 / 8)
        let tile = Double(width * scale)
        let geometry = FeatureGridRenderer.layout(channels: channels, mapHeight: height, mapWidth: width,
                                                  hasLegend: true, title: "layer1.0.conv1 image 0")
        #expect(geometry.tileWidth == tile && geometry.tileHeight == tile && geometry.columns == 3)
        func pixel(_ x: Double, _ y: Double) -> Color { image[Int(x), Int(y)] }
        // Channel 0: a ramp from black (top left) to white (bottom right), nearest upscaled.
        let t0 = geometry.tile(of: 0)
        #expect(pixel(t0.x, t0.y) == .black && pixel(t0.x + Double(scale) - 1, t0.y + Double(scale) - 1) == .black)
        #expect(pixel(t0.maxX - 1, t0.maxY - 1) == .white)
        // Channel 1 is constant: mid gray.
        let t1 = geometry.tile(of: 1)
        #expect(pixel(t1.x + 10, t1.y + 10) == Color(gray: 128))
        // Frames: channels 0 and 1 share the first palette colour, 3-5 the second, 2 is neutral.
        let palette = FeatureMapTile.clusterPalette
        let expected: [Color] = [palette[0], palette[0], FeatureGridRenderer.neutralFrame, palette[1], palette[1], palette[1]]
        for channel in 0..<channels {
            let frame = geometry.frame(of: channel)
            #expect(pixel(frame.x + 1, frame.y + 1) == expected[channel])
        }
        #expect(Double(image.height) >= geometry.frame(of: 5).maxY)
    }

    @Test func clusterMarksNumberClustersByLowestChannel() {
        let marks = FeatureGridRenderer.clusterMarks([5, 3, 5, 8, 3, 1])
        #expect(marks.map(\.tag) == ["c1", "c2", "c1", nil, "c2", nil])
    }

    @Test func acceptsABatchOfOneAndDrawsTheSamePixelsAsItsPNG() throws {
        let maps = Self.maps(channels: 16, height: 32, width: 32).reshaped(to: [1, 16, 32, 32])
        let figure = FeatureGridRenderer.render(maps: maps, clusterOf: nil, title: "no clusters")
        let png = try PNGCodec.decode(try FigureEncoder.encode(figure, as: .png))
        let raster = try FigureEncoder.rasterize(figure, scale: FigureEncoder.pngScale)
        #expect(png.width == raster.width && png.height == raster.height)
        #expect(png.pixels == raster.pixels)
    }

    /// Writes an example grid when `FEATUREPROBE_EXAMPLES` names a folder.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FEATUREPROBE_EXAMPLES"] != nil,
                   "set FEATUREPROBE_EXAMPLES=/some/folder to write example pictures"))
    func writeExampleWhenAsked() throws {
        let folder = try #require(ProcessInfo.processInfo.environment["FEATUREPROBE_EXAMPLES"])
        var generator = SeededGenerator(seed: 7)
        let (channels, size) = (32, 16)
        var scalars = [Float]()
        var clusters = [Int]()
        for c in 0..<channels {
            let base = c % 11   // channels c and c + 11 (and c + 22) look alike
            clusters.append(base < 4 ? base : 100 + c)
            let (fx, fy) = (Float(base % 4 + 1), Float(base / 4 + 1))
            for y in 0..<size {
                for x in 0..<size {
                    let signal = sinf(fx * Float(x) / 5) * cosf(fy * Float(y) / 4)
                    scalars.append(signal + 0.15 * generator.nextGaussian())
                }
            }
        }
        let maps = Tensor(shape: [channels, size, size], scalars: scalars)
        let grid = FeatureGridRenderer.render(maps: maps, clusterOf: clusters,
                                              title: "layer1.0.conv1 · image 0 · 32 channels, 16×16")
        let sheet = PairSheetRenderer.render(maps: maps, pairs: [(0, 11, 0.987), (1, 12, 0.951), (2, 24, -0.5)],
                                             title: "layer1.0.conv1 · top 3 pairs · pearson")
        for file in try FigureFiles.encode(grid, stem: "grid", formats: FigureFormat.allCases)
            + FigureFiles.encode(sheet, stem: "pairs", formats: FigureFormat.allCases) {
            try FileBytes.writeAtomically(file.bytes, to: "\(folder)/\(file.name)")
        }
    }
}

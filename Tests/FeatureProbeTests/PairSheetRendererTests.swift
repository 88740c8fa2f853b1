import Drawing
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct PairSheetRendererTests {
    @Test func labelNamesBothChannelsAndTheSimilarity() {
        #expect(PairSheetRenderer.label(3, 17, similarity: 0.98712) == "ch 3 / ch 17  s = 0.987")
        #expect(PairSheetRenderer.label(0, 1, similarity: -0.5) == "ch 0 / ch 1  s = -0.500")
    }

    @Test func oneRowPerPairWithBothMaps() throws {
        let maps = FeatureGridRendererTests.maps(channels: 4, height: 8, width: 8)
        let pairs: [(Int, Int, Float)] = [(0, 2, 0.99), (1, 3, 0.5)]
        let figure = PairSheetRenderer.render(maps: maps, pairs: pairs, title: "pairs")
        let tile = 64.0 + 2  // 8 px maps enlarged 8 times, one-pixel frame
        let one = PairSheetRenderer.render(maps: maps, pairs: [(0, 2, 0.99)], title: "pairs")
        #expect(figure.height - one.height == tile + 8)
        // Four tiles (two per row), each the 8x8 map stretched over 64x64 pixels.
        let tiles = figure.shapes.compactMap { shape -> Rect? in
            if case .raster(let raster, let rect) = shape, raster.width == 8 && raster.height == 8 { return rect }
            return nil
        }
        #expect(tiles.count == 4 && tiles.allSatisfy { $0.width == 64 && $0.height == 64 })
    }

    @Test func emptyListStillRenders() {
        let maps = FeatureGridRendererTests.maps(channels: 2, height: 4, width: 4)
        let figure = PairSheetRenderer.render(maps: maps, pairs: [], title: "nothing similar")
        #expect(figure.width > 0 && figure.height > 0)
    }
}

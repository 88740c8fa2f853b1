import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct PairSheetRendererTests {
    @Test func labelNamesBothChannelsAndTheSimilarity() {
        #expect(PairSheetRenderer.label(3, 17, similarity: 0.98712) == "ch 3 / ch 17  s=0.987")
        #expect(PairSheetRenderer.label(0, 1, similarity: -0.5) == "ch 0 / ch 1  s=-0.500")
    }

    @Test func oneRowPerPairWithBothMaps() throws {
        let maps = FeatureGridRendererTests.maps(channels: 4, height: 8, width: 8)
        let pairs: [(Int, Int, Float)] = [(0, 2, 0.99), (1, 3, 0.5)]
        let image = PairSheetRenderer.render(maps: maps, pairs: pairs, title: "pairs")
        let tile = 64 + 2  // 8 px maps enlarged 8 times, one-pixel frame
        let titleHeight = BitmapFont.measure("pairs", scale: 2).height
        #expect(image.height == 10 + titleHeight + 12 + 2 * tile + 8 + 10)
        let one = PairSheetRenderer.render(maps: maps, pairs: [(0, 2, 0.99)], title: "pairs")
        #expect(image.height - one.height == tile + 8)
        #expect(try PNGCodec.decode(try PNGCodec.encode(image)) == image)
    }

    @Test func emptyListStillRenders() {
        let maps = FeatureGridRendererTests.maps(channels: 2, height: 4, width: 4)
        let image = PairSheetRenderer.render(maps: maps, pairs: [], title: "nothing similar")
        #expect(image.width > 0 && image.height > 0)
    }
}

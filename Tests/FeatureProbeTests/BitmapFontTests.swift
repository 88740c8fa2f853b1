import Testing
@testable import FeatureProbe

@Suite struct BitmapFontTests {
    @Test func coversPrintableASCII() {
        #expect(BitmapFont.glyphCount == 95)
        #expect(BitmapFont.glyphRows.count == 95 * BitmapFont.glyphHeight)
        #expect(BitmapFont.glyphRows.allSatisfy { $0 < 1 << BitmapFont.glyphWidth })
        // Every printable character but the space paints something; glyphs differ from each other.
        let glyphs = (33...126).map { Array(BitmapFont.rows(of: Unicode.Scalar(UInt8($0)))) }
        #expect(glyphs.allSatisfy { $0.contains { $0 != 0 } })
        #expect(Set(glyphs.map { $0.description }).count == glyphs.count)
        #expect(BitmapFont.rows(of: " ").allSatisfy { $0 == 0 })
    }

    @Test func unknownCharactersDrawAsQuestionMark() {
        #expect(Array(BitmapFont.rows(of: "é")) == Array(BitmapFont.rows(of: "?")))
        #expect(BitmapFont.isSet("|", column: 2, row: 3))
        #expect(!BitmapFont.isSet("|", column: 0, row: 3))
    }

    @Test(arguments: [1, 2, 3])
    func measureMatchesTheInkedBoundingBox(scale: Int) {
        let text = "Layer 1.0 gp"
        let size = BitmapFont.measure(text, scale: scale)
        #expect(size.width == (text.count * 6 - 1) * scale)
        #expect(size.height == 8 * scale)
        var canvas = Canvas(width: size.width + 20, height: size.height + 20)
        canvas.drawText(text, x: 10, y: 10, scale: scale)
        var (minX, minY, maxX, maxY) = (Int.max, Int.max, Int.min, Int.min)
        for y in 0..<canvas.height {
            for x in 0..<canvas.width where canvas[x, y] != .white {
                (minX, minY, maxX, maxY) = (min(minX, x), min(minY, y), max(maxX, x), max(maxY, y))
            }
        }
        // "L" inks column 0 and row 0; "p" and "g" reach the descender row; "p" inks the last column.
        #expect(minX == 10 && minY == 10)
        #expect(maxX == 10 + size.width - 1)
        #expect(maxY == 10 + size.height - 1)
    }

    @Test func multiLineAndEmptyText() {
        #expect(BitmapFont.measure("") == (0, 0))
        let size = BitmapFont.measure("ab\nlonger", scale: 2)
        #expect(size.width == (6 * 6 - 1) * 2)
        #expect(size.height == (10 + 8) * 2)
    }
}

import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct CanvasTests {
    @Test func fillClipsAndImageIsRGB() {
        var canvas = Canvas(width: 4, height: 3, background: .black)
        canvas.fillRect(x: -2, y: 1, width: 4, height: 10, color: Canvas.Color(1, 2, 3))
        let image = canvas.makeImage()
        #expect(image.layout == .rgb && image.width == 4 && image.height == 3)
        #expect(canvas[0, 0] == .black)
        #expect(canvas[1, 2] == Canvas.Color(1, 2, 3))
        #expect(canvas[2, 1] == .black)
        #expect(image[1, 1, 2] == 3)
    }

    @Test func lineIncludesBothEnds() {
        var canvas = Canvas(width: 5, height: 5)
        canvas.drawLine(fromX: 0, y: 0, toX: 4, y: 4, color: .black)
        for i in 0..<5 { #expect(canvas[i, i] == .black) }
        #expect(canvas[1, 0] == .white)
        canvas.drawLine(fromX: 4, y: 0, toX: 0, y: 0, color: Canvas.Color(9, 9, 9))
        #expect((0..<5).allSatisfy { canvas[$0, 0] == Canvas.Color(9, 9, 9) })
    }

    @Test func blitScalesGrayAndBlendsAlpha() {
        var canvas = Canvas(width: 6, height: 4)
        let gray = Image8(width: 2, height: 1, layout: .gray, pixels: [0, 200])
        canvas.blit(gray, x: 1, y: 1, scale: 2)
        #expect(canvas[1, 1] == .black && canvas[2, 2] == .black)
        #expect(canvas[3, 1] == Canvas.Color(gray: 200) && canvas[4, 2] == Canvas.Color(gray: 200))
        #expect(canvas[5, 1] == .white && canvas[1, 3] == .white)
        let half = Image8(width: 1, height: 1, layout: .rgba, pixels: [0, 0, 0, 128])
        canvas.blit(half, x: 0, y: 0)
        #expect(canvas[0, 0] == Canvas.Color(gray: 127))
    }

    @Test func pngRoundTrip() throws {
        var canvas = Canvas(width: 40, height: 20)
        canvas.drawText("Hi 42", x: 2, y: 2, scale: 2, color: Canvas.Color(200, 10, 30))
        let image = canvas.makeImage()
        let decoded = try PNGCodec.decode(try PNGCodec.encode(image))
        #expect(decoded == image)
    }
}

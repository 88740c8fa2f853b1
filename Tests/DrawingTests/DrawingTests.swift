import Drawing
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite struct DrawingTests {
    /// Every ink pixel of `figure` drawn at 1x: pixels that are not the white background.
    static func inkPixels(_ figure: Figure) throws -> [Color] {
        let raster = try FigureEncoder.rasterize(figure)
        var ink: [Color] = []
        for y in 0..<raster.height {
            for x in 0..<raster.width where raster[x, y] != .white { ink.append(raster[x, y]) }
        }
        return ink
    }

    @Test func textIsSetInDejaVuSans() {
        // Advance widths from DejaVuSans.ttf's hmtx table (2048 units per em), read with fontTools:
        //   python3 -c "from fontTools.ttLib import TTFont; f = TTFont('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf');
        //               print(f['hmtx']['zero'], f['hmtx']['greaterequal'], f['hhea'].ascent, f['hhea'].descent)"
        //   -> (1303, 135) (1716, 217) 1901 -483
        // At a size of 2048 pixels one font unit is one pixel.
        let font = Font(size: 2048)
        #expect(abs(TextMetrics.width("0", font: font) - 1303) < 0.5)
        #expect(abs(TextMetrics.width("≥", font: font) - 1716) < 0.5)
        #expect(abs(TextMetrics.width("00≥", font: font) - (2 * 1303 + 1716)) < 1.5)
        let extent = TextMetrics.measure("0", font: font)
        #expect(abs(extent.ascent - 1901) < 1 && abs(extent.descent - 483) < 1)
    }

    @Test func unicodeGlyphsAreDrawnNotReplaced() throws {
        // Greek letters, ≥ and × each get their own ink: no two draw the same pixels, and none
        // looks like the missing-glyph box ("\u{E000}" is a private-use code point DejaVu lacks).
        func ink(_ text: String) throws -> [Color] {
            var figure = Figure(width: 60, height: 40)
            figure.text(text, at: Point(10, 5), font: Font(size: 24))
            return try FigureEncoder.rasterize(figure).pixels.chunked3()
        }
        let glyphs = ["α", "β", "≥", "×", "\u{E000}"]
        let drawn = try glyphs.map(ink)
        for (i, first) in drawn.enumerated() {
            #expect(first.contains { $0 != .white }, "\(glyphs[i]) left no ink")
            for (j, second) in drawn.enumerated() where j > i { #expect(first != second, "\(glyphs[i]) and \(glyphs[j]) look alike") }
        }
    }

    @Test func linesAndTextAreAntiAliased() throws {
        var figure = Figure(width: 100, height: 100)
        figure.line(from: Point(10, 10), to: Point(90, 60), Stroke(.black, width: 1.5))
        figure.text("Aa", at: Point(10, 70), font: Font(size: 14))
        let grays = Set(try Self.inkPixels(figure).map(\.red))
        // Black plus many partial coverages in between.
        #expect(grays.count > 20)
    }

    @Test func rastersAreSampledNearestNeighbour() throws {
        // A 2x2 raster stretched over 40x40: four flat 20x20 blocks, no blended pixels.
        let raster = Raster(width: 2, height: 2, layout: .rgb, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
        var figure = Figure(width: 40, height: 40)
        figure.image(raster, in: Rect(x: 0, y: 0, width: 40, height: 40))
        for scale in [1, 2] {
            let drawn = try FigureEncoder.rasterize(figure, scale: scale)
            for y in 0..<drawn.height {
                for x in 0..<drawn.width {
                    #expect(drawn[x, y] == raster[x / (20 * scale), y / (20 * scale)])
                }
            }
        }
    }

    @Test func svgIsWellFormedAndKeepsRastersPixelated() throws {
        var figure = Figure(width: 120, height: 80)
        figure.text("α ≥ 0.9", at: Point(5, 5), font: Font(size: 14))
        figure.image(Raster(width: 2, height: 1, layout: .gray, pixels: [0, 255]), in: Rect(x: 5, y: 40, width: 100, height: 30))
        let bytes = try FigureEncoder.encode(figure, as: .svg)
        let parser = XMLParser(data: Data(bytes))
        #expect(parser.parse(), "the SVG does not parse: \(String(describing: parser.parserError))")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("<svg") && text.contains("viewBox=\"0 0 120 80\""))
        #expect(text.contains("image-rendering:pixelated"))
    }

    @Test func pdfIsOnePageOfTheFigureSize() throws {
        var figure = Figure(width: 300, height: 200)
        figure.text("Accuracy vs MACs", at: Point(10, 10), font: Font(size: 17, weight: .bold))
        let bytes = try FigureEncoder.encode(figure, as: .pdf, title: "a title")
        #expect(String(decoding: bytes.prefix(5), as: UTF8.self) == "%PDF-")
        #expect(String(decoding: bytes.suffix(6), as: UTF8.self).contains("%%EOF"))
        // poppler's pdfinfo, when installed, must open it and see one 300 x 200 pt page.
        let pdfinfo = "/usr/bin/pdfinfo"
        guard FileManager.default.isExecutableFile(atPath: pdfinfo) else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("drawing-\(UUID().uuidString).pdf")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pdfinfo)
        process.arguments = [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(output.contains("Pages:           1"))
        #expect(output.contains("Page size:       300 x 200 pts"))
        #expect(output.contains("Title:           a title"))
    }

    @Test func pngIsDrawnAtTwiceTheSizeUnlessHuge() throws {
        let small = Figure(width: 30, height: 20)
        let png = try FigureEncoder.encode(small, as: .png)
        // IHDR: width and height are the big-endian words at bytes 16 and 20.
        func word(_ offset: Int) -> Int { png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(word(16) == 60 && word(20) == 40)
        #expect(FigureEncoder.pngScale(for: Figure(width: 10_000, height: 10)) == 1)
        #expect(throws: DrawingError.self) { try FigureEncoder.rasterize(Figure(width: 40_000, height: 10)) }
    }

    @Test func formatListsParseAndRefuseUnknownNames() throws {
        #expect(try FigureFormat.parseList("png,svg,pdf", source: "--formats") == [.png, .svg, .pdf])
        #expect(try FigureFormat.parseList(" PDF , png,pdf", source: "--formats") == [.png, .pdf])
        do {
            _ = try FigureFormat.parseList("png,jpeg", source: "--formats")
            Issue.record("jpeg was accepted")
        } catch let error as DrawingError {
            #expect(error.description.contains("'jpeg'") && error.description.contains("png, svg and pdf"))
        }
        #expect(throws: DrawingError.self) { try FigureFormat.parseList("png,", source: "--formats") }
    }
}

private extension Array where Element == UInt8 {
    /// RGB samples grouped into colours.
    func chunked3() -> [Color] {
        stride(from: 0, to: count - 2, by: 3).map { Color(self[$0], self[$0 + 1], self[$0 + 2]) }
    }
}

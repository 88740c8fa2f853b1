import Foundation
import Testing
@testable import SPConvLab

/// PNG decoding and encoding through libpng's simplified API, on hand-built files whose pixel
/// values are stated here (made by tools/make_image_fixtures.py), round trips and hostile input.
@Suite("PNGCodec")
struct PNGCodecTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/images")
    static let assets = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("assets/images")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// A fresh, empty folder under the system temporary directory.
    static func makeTemporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("PNGCodecTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Deterministic, varied samples for an image of the given layout.
    static func makeImage(width: Int, height: Int, layout: Image8.Layout) -> Image8 {
        let count = width * height * layout.channels
        let pixels = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11 &+ ($0 / 7) &* 101) }
        return Image8(width: width, height: height, layout: layout, pixels: pixels)
    }

    // MARK: - Colour types

    @Test func decodesRGB() throws {
        let image = try PNGCodec.read(from: Self.fixture("rgb_2x2.png"))
        #expect(image.width == 2 && image.height == 2 && image.layout == .rgb)
        #expect(image.pixels == [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
    }

    @Test func decodesGrayAlphaKeepingAlpha() throws {
        let image = try PNGCodec.read(from: Self.fixture("gray_alpha_2x2.png"))
        #expect(image.layout == .grayAlpha)
        #expect(image.pixels == [0, 255, 100, 128, 200, 0, 255, 255])
    }

    @Test func reduces16BitToEightBitsByScaling() throws {
        // 0x0000, 0x8080, 0xFFFF, 0x1234: round(v * 255 / 65535) = 0, 128, 255, 18.
        let image = try PNGCodec.read(from: Self.fixture("gray16_2x2.png"))
        #expect(image.layout == .gray)
        #expect(image.pixels == [0, 128, 255, 18])
    }

    @Test func expandsPaletteToRGB() throws {
        let image = try PNGCodec.read(from: Self.fixture("palette_2x2.png"))
        #expect(image.layout == .rgb)
        #expect(image.pixels == [255, 0, 0, 0, 128, 255, 7, 8, 9, 0, 128, 255])
    }

    @Test func expandsTransparentPaletteToRGBA() throws {
        let image = try PNGCodec.read(from: Self.fixture("palette_trns_2x2.png"))
        #expect(image.layout == .rgba)
        #expect(image.pixels == [255, 0, 0, 255, 0, 128, 255, 0, 7, 8, 9, 77, 0, 128, 255, 0])
    }

    @Test func decodesSamplePhotographs() throws {
        let chelsea = try PNGCodec.read(from: Self.assets.appendingPathComponent("chelsea.png").path)
        #expect(chelsea.width == 451 && chelsea.height == 300 && chelsea.layout == .rgb)
        let horse = try PNGCodec.read(from: Self.assets.appendingPathComponent("horse.png").path)
        #expect(horse.width == 400 && horse.height == 328 && horse.layout == .rgba)
    }

    // MARK: - Encoding

    @Test(arguments: Image8.Layout.allCases)
    func roundTripsEveryLayout(layout: Image8.Layout) throws {
        let image = Self.makeImage(width: 5, height: 3, layout: layout)
        let bytes = try PNGCodec.encode(image)
        #expect(PNGCodec.hasSignature(bytes))
        #expect(try PNGCodec.decode(bytes) == image)
    }

    @Test func encodingIsDeterministic() throws {
        let image = Self.makeImage(width: 17, height: 9, layout: .rgba)
        #expect(try PNGCodec.encode(image) == PNGCodec.encode(image))
    }

    @Test func writeReplacesFileAtomicallyAndLeavesNoTemporaryFile() throws {
        let folder = try Self.makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.png").path
        try Data("old contents".utf8).write(to: URL(fileURLWithPath: path))
        let image = Self.makeImage(width: 4, height: 6, layout: .gray)
        try PNGCodec.write(image, to: path)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == PNGCodec.encode(image))
        #expect(try PNGCodec.read(from: path) == image)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.png"])
    }

    @Test func writeIntoMissingFolderThrowsIOError() throws {
        let path = "/nonexistent-\(UUID().uuidString)/out.png"
        let error = #expect(throws: SPConvLabError.self) {
            try PNGCodec.write(Self.makeImage(width: 1, height: 1, layout: .rgb), to: path)
        }
        #expect(error?.kind == .io)
        #expect(error?.message.contains(path) == true)
    }

    // MARK: - Hostile input

    @Test func refusesTextFileNamedPNG() throws {
        let folder = try Self.makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("x.png").path
        try Data("hello world, not an image\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SPConvLabError.self) { try PNGCodec.read(from: path) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("'\(path)' is not a PNG file") == true)
        #expect(error?.message.contains("68 65 6C 6C 6F 20 77 6F") == true)
        #expect(error?.message.contains("only PNG images are accepted") == true)
    }

    @Test func refusesEmptyData() {
        let error = #expect(throws: SPConvLabError.self) { try PNGCodec.decode([], source: "empty.png") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("'empty.png' is not a PNG file: it is empty") == true)
    }

    @Test func refusesFirstHundredBytesOfRealPNG() throws {
        let path = Self.assets.appendingPathComponent("chelsea.png").path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let error = #expect(throws: SPConvLabError.self) {
            try PNGCodec.decode(Array(bytes.prefix(100)), source: "chelsea-head.png")
        }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("'chelsea-head.png' is a truncated or corrupt PNG file") == true)
        #expect(error?.message.contains("a complete, valid PNG file is required") == true)
    }

    @Test func refusesFileCutInsideImageData() throws {
        let bytes = try PNGCodec.encode(Self.makeImage(width: 64, height: 64, layout: .rgb))
        let error = #expect(throws: SPConvLabError.self) {
            try PNGCodec.decode(Array(bytes.prefix(bytes.count * 2 / 3)), source: "cut.png")
        }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("'cut.png' is a truncated or corrupt PNG file") == true)
    }

    @Test func refusesCorruptedChecksum() throws {
        var bytes = try PNGCodec.encode(Self.makeImage(width: 8, height: 8, layout: .rgb))
        bytes[29] ^= 0xFF  // first byte of the IHDR CRC
        let error = #expect(throws: SPConvLabError.self) { try PNGCodec.decode(bytes, source: "crc.png") }
        #expect(error?.message.contains("'crc.png' is a truncated or corrupt PNG file") == true)
    }

    @Test func refusesEnormousHeaderBeforeAllocating() {
        let path = Self.fixture("huge_header.png")
        let error = #expect(throws: SPConvLabError.self) { try PNGCodec.read(from: path) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("'\(path)' declares a 20000x20000 PNG image") == true)
        #expect(error?.message.contains("maximum of 16384 pixels per side and 268435456 pixels in total") == true)
    }

    @Test func appliesCustomLimits() throws {
        let bytes = try PNGCodec.encode(Self.makeImage(width: 3, height: 2, layout: .rgb))
        #expect(throws: SPConvLabError.self) {
            try PNGCodec.decode(bytes, limits: .init(maxDimension: 2, maxPixelCount: 100))
        }
        #expect(throws: SPConvLabError.self) {
            try PNGCodec.decode(bytes, limits: .init(maxDimension: 3, maxPixelCount: 5))
        }
        #expect(try PNGCodec.decode(bytes, limits: .init(maxDimension: 3, maxPixelCount: 6)).width == 3)
    }

    @Test func missingFileIsIOError() {
        let path = "/nonexistent-\(UUID().uuidString).png"
        let error = #expect(throws: SPConvLabError.self) { try PNGCodec.read(from: path) }
        #expect(error?.kind == .io)
        #expect(error?.message.contains(path) == true)
    }
}

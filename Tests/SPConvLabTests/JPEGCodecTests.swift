import Foundation
import Testing
@testable import SPConvLab

/// JPEG decoding through TurboJPEG, compared with PIL's decoding of the same files (the pixels
/// torchvision's default loader sees), and hostile JPEGs.
@Suite("JPEGCodec")
struct JPEGCodecTests {
    static func fixture(_ name: String) -> String { fixtureURL("datasets/jpeg/\(name)").path }

    struct Expected: Decodable {
        var mode: String
        var width: Int
        var height: Int
        var pixels: [Int]
    }

    @Test(arguments: ["rgb_444.jpg", "rgb_420.jpg", "gray.jpg", "progressive.jpg"])
    func decodesTheSamePixelsAsPIL(_ name: String) throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixture(name + ".json"))))
        let image = try JPEGCodec.read(from: Self.fixture(name))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.layout == (expected.mode == "L" ? .gray : .rgb))
        let differences = zip(image.pixels, expected.pixels).filter { Int($0) != $1 }.count
        #expect(image.pixels.count == expected.pixels.count)
        #expect(differences == 0, "\(differences) of \(expected.pixels.count) samples differ from PIL's")
        // The dispatcher picks the JPEG decoder by the file's first bytes.
        #expect(try ImageFile.read(from: Self.fixture(name)) == image)
    }

    @Test func truncatedAndCMYKFilesAreRefused() throws {
        let truncated = #expect(throws: SPConvLabError.self) { try JPEGCodec.read(from: Self.fixture("truncated.jpg")) }
        #expect(truncated?.kind == .invalidInput)
        #expect(truncated?.message.contains("truncated.jpg") == true)
        let cmyk = #expect(throws: SPConvLabError.self) { try JPEGCodec.read(from: Self.fixture("cmyk.jpg")) }
        #expect(cmyk?.message.contains("CMYK") == true)
    }

    @Test func hostileBytesThrowAndNeverCrash() throws {
        let whole = try FileBytes.read(contentsOf: Self.fixture("rgb_420.jpg"))
        #expect(throws: SPConvLabError.self) { try JPEGCodec.decode([], source: "empty") }
        #expect(throws: SPConvLabError.self) { try JPEGCodec.decode([0xFF, 0xD8, 0xFF], source: "marker only") }
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<300 {
            var bytes = whole
            for _ in 0..<4 { bytes[3 + Int(generator.next() % UInt64(bytes.count - 3))] = UInt8(truncatingIfNeeded: generator.next()) }
            _ = try? JPEGCodec.decode(bytes, source: "corrupted")
        }
        for length in stride(from: 0, to: whole.count, by: 37) { _ = try? JPEGCodec.decode(Array(whole.prefix(length)), source: "prefix") }
    }

    @Test func aHeaderBeyondTheLimitsIsRefusedBeforeDecoding() throws {
        let error = #expect(throws: SPConvLabError.self) {
            try JPEGCodec.read(from: Self.fixture("rgb_444.jpg"), limits: .init(maxDimension: 8, maxPixelCount: 64))
        }
        #expect(error?.message.contains("13x9") == true, "\(error?.message ?? "")")
    }

    @Test func aFileThatIsNeitherPNGNorJPEGIsNamed() throws {
        let error = #expect(throws: SPConvLabError.self) { try ImageFile.read(from: fixtureURL("datasets/README.md").path) }
        #expect(error?.message.contains("neither a PNG nor a JPEG") == true)
    }
}

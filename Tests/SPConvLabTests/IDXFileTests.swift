import Foundation
import Testing
@testable import SPConvLab

/// The IDX reader on raw and gzipped files, and on hostile ones (tools/make_idx_fixtures.py).
@Suite("IDXFile")
struct IDXFileTests {
    static func path(_ name: String) -> String { fixtureURL("idx/\(name)").path }

    /// Pixel (k, y, x) of the fixture images.
    static func pixel(_ k: Int, _ y: Int, _ x: Int) -> UInt8 { UInt8((50 * k + 28 * y + x) % 256) }

    static func message(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        GzipTests.message(body, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["images5.idx3", "images5.idx3.gz"])
    func readsImages(name: String) throws {
        let file = try IDXFile.read(contentsOf: Self.path(name), kind: .images)
        #expect(file.dimensions == [5, 28, 28])
        let expected = (0..<5).flatMap { k in (0..<28).flatMap { y in (0..<28).map { x in Self.pixel(k, y, x) } } }
        #expect(file.data == expected)
    }

    @Test(arguments: ["labels5.idx1", "labels5.idx1.gz"])
    func readsLabels(name: String) throws {
        let file = try IDXFile.read(contentsOf: Self.path(name), kind: .labels)
        #expect(file.dimensions == [5])
        #expect(file.data == [9, 2, 1, 1, 6])
    }

    @Test func refusesAWrongMagicNumber() {
        let text = Self.message { try IDXFile.read(contentsOf: Self.path("wrong_magic.idx3"), kind: .images) }
        #expect(text.contains("wrong_magic.idx3' has magic number 0x03080000, not 0x00000803; expected an IDX image file"), "\(text)")
        let swapped = Self.message { try IDXFile.read(contentsOf: Self.path("labels5.idx1"), kind: .images) }
        #expect(swapped.contains("this is a label file"), "\(swapped)")
    }

    @Test func refusesTruncatedFiles() {
        let gzip = Self.message { try IDXFile.read(contentsOf: Self.path("truncated.idx3.gz"), kind: .images) }
        #expect(gzip.contains("truncated.idx3.gz' is a truncated gzip file"), "\(gzip)")
        let data = Self.message { try IDXFile.read(contentsOf: Self.path("truncated_data.idx3"), kind: .images) }
        #expect(data.contains("truncated_data.idx3' is truncated: its file holds only 2352 bytes of data after the header, but its dimensions 5 x 28 x 28 need exactly 3920"), "\(data)")
        let header = Self.message { try IDXFile.decode([0, 0, 8, 3, 0, 0], source: "stub", kind: .images) }
        #expect(header.contains("'stub' is truncated: its file holds 6 bytes, less than the 16-byte header"), "\(header)")
    }

    @Test func refusesDataLongerThanTheDimensions() {
        let text = Self.message { try IDXFile.read(contentsOf: Self.path("extra_data.idx3"), kind: .images) }
        #expect(text.contains("extra_data.idx3' holds 4704 bytes of data after the header, but its dimensions 5 x 28 x 28 need exactly 3920"), "\(text)")
    }

    @Test(arguments: ["huge_count.idx3", "huge_count.idx3.gz"])
    func refusesAHugeHeaderBeforeAllocating(name: String) {
        let clock = ContinuousClock()
        let start = clock.now
        let text = Self.message { try IDXFile.read(contentsOf: Self.path(name), kind: .images) }
        #expect(text.contains("declares dimensions 2147483648 x 28 x 28 = 1683627180032 bytes of data, more than the 1073741824 accepted"), "\(text)")
        // Not a timing assertion on speed, only a guard against allocating 1.6 TB and failing slowly.
        #expect(clock.now - start < .seconds(5))
    }

    @Test func refusesOverflowingDimensions() {
        let header: [UInt8] = [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let text = Self.message { try IDXFile.decode(header, source: "overflow", kind: .images) }
        #expect(text.contains("4294967295 x 4294967295 x 4294967295 = too many bytes"), "\(text)")
    }

    @Test func missingFileIsAnIOError() {
        #expect(throws: SPConvLabError.self) { try IDXFile.read(contentsOf: Self.path("absent.idx3"), kind: .images) }
    }
}

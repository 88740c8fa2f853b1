import Testing
@testable import SPConvLab

/// Inputs on which a libFuzzer target failed (docs/RELIABILITY.md), rebuilt here from their bytes
/// (also kept as `Fuzz/Corpus/<target>/crash-*`, which `FuzzCorpusReplayTests` replays).
@Suite struct FuzzRegressionTests {
    /// 129 bytes (fuzz-png, `crash-scal-length-2gib-allocation`): a 2x1 RGB header, then an `sCAL`
    /// chunk whose length field says 1,375,731,727 bytes. libpng's simplified API only warns that
    /// the chunk is too large and allocates that much before finding the data missing, so a
    /// 129-byte file cost 1.3 GiB; now the chunk lengths are checked against the data first.
    static let sCALClaimingGigabytes: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7B, 0x40, 0xE8,
        0xDD, 0x00, 0x00, 0x00, 0x01, 0x73, 0x52, 0x47, 0x42, 0x00, 0xAE, 0xCE, 0x1C, 0xE9, 0x00, 0x00,
        0x00, 0x20, 0x63, 0x48, 0x52, 0x4D, 0x00, 0x00, 0x7A, 0x26, 0x00, 0x00, 0x7A, 0x26, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x7B, 0x40, 0xE8, 0xDD, 0x00, 0x00, 0x00, 0x01, 0x73, 0x52, 0x47, 0x42, 0x00,
        0xAE, 0xCE, 0x1C, 0xE9, 0x00, 0x00, 0x00, 0x20, 0x63, 0x48, 0x52, 0x00, 0x00, 0x0F, 0x73, 0x43,
        0x41, 0x4C, 0x78, 0xDA, 0x63, 0x10, 0x68, 0xF8, 0x69, 0x43, 0x43, 0x50, 0x00, 0x08, 0x26, 0x02,
        0xC0, 0x2A, 0x16, 0x23, 0x2A, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x60, 0x5B, 0x03, 0x00, 0x60,
        0x82,
    ]

    @Test func aChunkClaimingMoreBytesThanTheFileIsRefusedBeforeLibpngSeesIt() {
        let error = #expect(throws: SPConvLabError.self) {
            try PNGCodec.decode(Self.sCALClaimingGigabytes, source: "scal.png")
        }
        #expect(error?.kind == .invalidInput)
        // The message is the length check's, not libpng's: libpng never read the chunk.
        #expect(error?.message.contains("'scal.png' is a truncated or corrupt PNG file: its 'sCAL' chunk at byte 90 declares 1375731727 bytes of data but only 31 bytes follow") == true,
                "\(error?.message ?? "")")
    }

    @Test func bytesAfterIENDAreStillIgnored() throws {
        let image = Image8(width: 2, height: 1, layout: .gray, pixels: [7, 200])
        let bytes = try PNGCodec.encode(image) + [0x00, 0x00, 0xFF, 0xFF, 0x41]
        #expect(try PNGCodec.decode(bytes, source: "trailing.png") == image)
    }

    /// 35 bytes (`Fuzz/Corpus/idx/crash-lying-isize-1gib-allocation.gz`): a gzip member holding an
    /// IDX image header of 1000 x 1024 x 1024 (1,048,576,000 bytes, under the 1 GiB limit) and no
    /// data, whose trailer says ISIZE = 1 GiB. `Gzip` sized its first buffer from ISIZE capped
    /// only by the limit the header implied, so `IDXFile.decode` allocated and zeroed 1 GiB
    /// before finding the stream short. Found while looking into fuzz-idx's low exec rate,
    /// reproduced by the fuzz binary (`malloc(1048576049)` over its 512 MiB limit).
    static let idxHeaderWithLyingTrailer: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0xE0, 0x60, 0x66, 0x60,
        0x60, 0x7E, 0xC1, 0xC0, 0xC0, 0xC2, 0x00, 0xC1, 0xA8, 0x00, 0x00, 0x1F, 0xFE, 0x08, 0xAB, 0x00,
        0x00, 0x00, 0x40,
    ]

    @Test func aLyingGzipTrailerCostsNoMoreThanTheDataCouldInflateTo() {
        let bytes = Self.idxHeaderWithLyingTrailer
        // Deflate expands at most 1032:1; the trailer's 1 GiB is not believed.
        #expect(Gzip.initialCapacity(bytes) == 1032 * bytes.count)
        let error = #expect(throws: SPConvLabError.self) {
            try IDXFile.decode(bytes, source: "lying.idx3.gz", kind: .images)
        }
        #expect(error?.kind == .invalidInput)
        // zlib finds the trailer's length wrong once the (empty) data is read.
        #expect(error?.message.contains("'lying.idx3.gz' is a corrupt gzip file") == true, "\(error?.message ?? "")")
    }

    /// 16 bytes (`Fuzz/Corpus/idx/crash-dimension-product-overflow-before-zero`): an IDX image
    /// header of 4,244,635,647 x 4,294,967,295 x 0. `decode` saturated the overflowing product
    /// and the final 0 made it 0 bytes, so the header passed; `IDXFile.init` then took the plain
    /// product of the dimensions and trapped on the overflow. Found by the idx fuzz target.
    @Test func hugeDimensionsBeforeAZeroAreRefusedNotTrapped() throws {
        let bytes: [UInt8] = [0x00, 0x00, 0x08, 0x03, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00]
        let error = #expect(throws: SPConvLabError.self) {
            try IDXFile.decode(bytes, source: "huge.idx3", kind: .images)
        }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("declares dimensions 4244635647 x 4294967295 x 0") == true, "\(error?.message ?? "")")
        // The product itself, by hand: any zero gives 0, an overflow without a zero gives nil.
        #expect(IDXFile.byteCount([4_244_635_647, 4_294_967_295, 0]) == 0)
        #expect(IDXFile.byteCount([4_244_635_647, 4_294_967_295, 1]) == nil)
        #expect(IDXFile.byteCount([60_000, 28, 28]) == 47_040_000)
        // Small dimensions with a zero are still an empty array.
        let empty = try IDXFile.decode([0x00, 0x00, 0x08, 0x03, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28], source: "empty.idx3", kind: .images)
        #expect(empty.dimensions == [0, 28, 28] && empty.data.isEmpty)
    }

    @Test func anHonestTrailerStillSizesTheBufferAtOnce() {
        // Only the trailer is read: 1 MiB from 2014 bytes is within 1032:1, so it is believed as before.
        let member: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03]
            + [UInt8](repeating: 0, count: 2000) + [0x00, 0x00, 0x10, 0x00]
        #expect(Gzip.initialCapacity(member) == 1 << 20)
    }
}

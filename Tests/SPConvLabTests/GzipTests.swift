import Foundation
import Testing
@testable import SPConvLab

/// zlib inflate behind `Gzip`: round trips against Python's gzip, and hostile streams
/// (tools/make_idx_fixtures.py).
@Suite("Gzip")
struct GzipTests {
    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: fixtureURL("idx/\(name)")))
    }

    /// The message of the `SPConvLabError` `body` throws, or a failure.
    static func message(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            _ = try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch let error as SPConvLabError {
            return error.message
        } catch {
            Issue.record("expected an SPConvLabError, got \(error)", sourceLocation: sourceLocation)
        }
        return ""
    }

    @Test func decompressesWhatPythonCompressed() throws {
        #expect(try Gzip.decompress(Self.bytes("images5.idx3.gz"), source: "images", maximumOutput: 1 << 20)
                == Self.bytes("images5.idx3"))
        #expect(try Gzip.decompress(Self.bytes("labels5.idx1.gz"), source: "labels", maximumOutput: 13)
                == Self.bytes("labels5.idx1"))
    }

    @Test func concatenatedMembersDecompressToTheConcatenation() throws {
        #expect(try Gzip.decompress(Self.bytes("two_members.gz"), source: "two", maximumOutput: 100)
                == Self.bytes("labels5.idx1"))
    }

    @Test func prefixStopsAtTheRequestedLength() throws {
        let raw = try Self.bytes("images5.idx3")
        #expect(try Gzip.decompressPrefix(Self.bytes("images5.idx3.gz"), source: "images", length: 16)
                == Array(raw.prefix(16)))
        // A prefix longer than the data is the whole data.
        #expect(try Gzip.decompressPrefix(Self.bytes("labels5.idx1.gz"), source: "labels", length: 1000)
                == Self.bytes("labels5.idx1"))
        // Only the prefix needs to be intact.
        #expect(try Gzip.decompressPrefix(Self.bytes("truncated.idx3.gz"), source: "t", length: 16)
                == Array(raw.prefix(16)))
    }

    @Test func refusesOutputBeyondTheLimit() throws {
        let text = Self.message { try Gzip.decompress(Self.bytes("images5.idx3.gz"), source: "big.gz", maximumOutput: 3935) }
        #expect(text.contains("'big.gz'") && text.contains("more than 3935 bytes"), "\(text)")
        // Exactly the limit is accepted.
        #expect(try Gzip.decompress(Self.bytes("images5.idx3.gz"), source: "big.gz", maximumOutput: 3936).count == 3936)
    }

    @Test func refusesTruncatedCorruptAndTrailingData() throws {
        let truncated = Self.message { try Gzip.decompress(Self.bytes("truncated.idx3.gz"), source: "cut.gz", maximumOutput: 1 << 20) }
        #expect(truncated.contains("'cut.gz' is a truncated gzip file"), "\(truncated)")
        let corrupt = Self.message { try Gzip.decompress(Self.bytes("corrupt.idx3.gz"), source: "bad.gz", maximumOutput: 1 << 20) }
        #expect(corrupt.contains("'bad.gz' is a corrupt gzip file"), "\(corrupt)")
        let trailing = Self.message { try Gzip.decompress(Self.bytes("trailing_garbage.gz"), source: "tail.gz", maximumOutput: 1 << 20) }
        #expect(trailing.contains("'tail.gz' has 7 bytes of trailing data"), "\(trailing)")
    }

    @Test func refusesDataWithoutTheGzipMagic() throws {
        let raw = Self.message { try Gzip.decompress(Self.bytes("labels5.idx1"), source: "raw.idx1", maximumOutput: 100) }
        #expect(raw.contains("'raw.idx1' is not a gzip file: it starts with bytes 00 00 08 01"), "\(raw)")
        let empty = Self.message { try Gzip.decompress([], source: "empty", maximumOutput: 100) }
        #expect(empty.contains("it is empty"), "\(empty)")
        // The magic alone, then nothing: a truncated header.
        let stub = Self.message { try Gzip.decompress([0x1F, 0x8B], source: "stub", maximumOutput: 100) }
        #expect(stub.contains("'stub' is a truncated gzip file"), "\(stub)")
    }
}

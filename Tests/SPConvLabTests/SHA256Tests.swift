import Foundation
import Testing
@testable import SPConvLab

/// FIPS 180-4's published test vectors (Appendix B / NIST examples).
@Suite struct SHA256Tests {
    static func digest(_ text: String) -> String {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hasher.finalize()
    }

    @Test func publishedVectors() {
        #expect(Self.digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func millionAsInChunksEqualsOneUpdate() throws {
        var chunked = SHA256()
        for _ in 0..<1000 { chunked.update([UInt8](repeating: 0x61, count: 1000)) }
        #expect(chunked.finalize() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("abc".utf8).write(to: file)
        #expect(try SHA256.hex(ofFile: file.path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(throws: SPConvLabError.self) { try SHA256.hex(ofFile: "/nonexistent/\(UUID().uuidString)") }
    }
}

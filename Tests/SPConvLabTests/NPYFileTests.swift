import Foundation
import Testing
@testable import SPConvLab

/// NumPy `.npy` reading and writing, checked against hand-written bytes and against files written
/// by NumPy itself (see `tools/make_io_fixtures.py`).
@Suite("NPYFile")
struct NPYFileTests {
    // MARK: Helpers

    /// The bytes of a fixture in `Fixtures/io/`.
    private static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/io/\(name)", withExtension: nil),
                               "missing fixture \(name); run tools/make_io_fixtures.py")
        return [UInt8](try Data(contentsOf: url))
    }

    /// The shape and float32 bit patterns NumPy computed for a fixture.
    private static func expected(_ file: String) throws -> (shape: [Int], bits: [UInt32]) {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/io/expected.json", withExtension: nil))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let entry = try #require(json[file] as? [String: Any])
        return (try #require(entry["shape"] as? [Int]), try #require(entry["f32_bits"] as? [Int]).map { UInt32($0) })
    }

    /// A version 1.0 file around `header` (unpadded: the reader must not rely on NumPy's padding).
    private static func file(header: String, data: [UInt8] = []) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(headerBytes.count & 0xFF), UInt8(headerBytes.count >> 8)]
            + headerBytes + data
    }

    /// Decodes `bytes` expecting an `.invalidWeights` error whose message names the source and
    /// contains every one of `fragments`.
    private static func expectInvalid(_ bytes: [UInt8], mentioning fragments: [String],
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: SPConvLabError.self, sourceLocation: sourceLocation) {
            _ = try NPYFile.decode(bytes, source: "hostile.npy")
        }
        guard let error else { return }
        #expect(error.kind == .invalidWeights, sourceLocation: sourceLocation)
        #expect(error.message.contains("'hostile.npy'"), "\(error.message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)", sourceLocation: sourceLocation)
        }
    }

    /// What `numpy.save(np.array([1, -2], dtype=np.float32))` writes, spelled out by hand.
    private static let handWrittenVector: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59,  // \x93NUMPY
                                                     0x01, 0x00,                          // version 1.0
                                                     0x76, 0x00]                          // header length 118
        + Array("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".utf8)       // 57 bytes
        + [UInt8](repeating: 0x20, count: 60) + [0x0A]                                   // padding to 128
        + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]                               // 1.0, -2.0

    // MARK: Hand-built bytes

    @Test("decodes and encodes a hand-written version 1.0 file")
    func handWrittenVector() throws {
        #expect(try NPYFile.decode(Self.handWrittenVector, source: "hand") == Tensor(shape: [2], scalars: [1, -2]))
        #expect(NPYFile.encode(Tensor(shape: [2], scalars: [1, -2])) == Self.handWrittenVector)
    }

    @Test("reads headers NumPy did not write: other key order, double quotes, no padding, Python 2 longs")
    func readsUnusualHeaders() throws {
        let data: [UInt8] = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40,
                             0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0xA0, 0x40, 0x00, 0x00, 0xC0, 0x40]
        let expected = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(try NPYFile.decode(Self.file(header: "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", data: data), source: "a") == expected)
        #expect(try NPYFile.decode(Self.file(header: "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,)}\n", data: data), source: "b") == expected)
        #expect(try NPYFile.decode(Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", data: data), source: "c") == expected)
        let half = Self.file(header: "{'descr': '<f2', 'fortran_order': False, 'shape': (), }", data: [0x00, 0x3E])
        #expect(try NPYFile.decode(half, source: "d") == Tensor(shape: [], scalars: [1.5]))
    }

    // MARK: NumPy fixtures

    @Test("reads NumPy's (2, 3, 4, 5) float32 file and writes it back byte for byte")
    func gridFixture() throws {
        let bytes = try Self.fixture("grid_2x3x4x5_f4.npy")
        let expected = Tensor(shape: [2, 3, 4, 5], scalars: (0..<120).map { Float($0) / 8 - 3 })
        #expect(try NPYFile.decode(bytes, source: "grid") == expected)
        #expect(NPYFile.encode(expected) == bytes)
    }

    @Test("matches NumPy byte for byte on a scalar, a vector and an empty array")
    func smallFixtures() throws {
        let cases: [(String, Tensor)] = [
            ("scalar_f4.npy", Tensor(shape: [], scalars: [3.25])),
            ("vector_f4.npy", Tensor(shape: [3], scalars: [1, -2, 0.5])),
            ("empty_0x3_f4.npy", Tensor(shape: [0, 3], scalars: [])),
        ]
        for (name, tensor) in cases {
            let bytes = try Self.fixture(name)
            #expect(try NPYFile.decode(bytes, source: name) == tensor, "\(name)")
            #expect(NPYFile.encode(tensor) == bytes, "\(name)")
        }
    }

    @Test("converts '<f2' and '<f8' files exactly as NumPy's astype(float32) does", arguments: ["half_3x4_f2.npy", "vector_f8.npy"])
    func convertsOtherFloatWidths(name: String) throws {
        let tensor = try NPYFile.decode(try Self.fixture(name), source: name)
        let expected = try Self.expected(name)
        #expect(tensor.shape == expected.shape)
        #expect(tensor.scalars.map(\.bitPattern) == expected.bits)
    }

    @Test("reads version 2.0 and 3.0 headers", arguments: ["v2_header_2x3_f4.npy", "v3_header_2x3_f4.npy"])
    func readsLaterVersions(name: String) throws {
        let bytes = try Self.fixture(name)
        #expect(bytes[6] == (name.hasPrefix("v2") ? 2 : 3), "fixture has the intended version")
        #expect(try NPYFile.decode(bytes, source: name) == Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5]))
    }

    @Test("refuses NumPy files in Fortran order or with integer dtypes, saying why")
    func refusesUnsupportedNumPyFiles() throws {
        let fortran = #expect(throws: SPConvLabError.self) {
            _ = try NPYFile.decode(try Self.fixture("fortran_2x3_f4.npy"), source: "fortran_2x3_f4.npy")
        }
        #expect(fortran?.message.contains("'fortran_order': True") == true)
        #expect(fortran?.message.contains("fortran_2x3_f4.npy") == true)
        let integer = #expect(throws: SPConvLabError.self) {
            _ = try NPYFile.decode(try Self.fixture("int64_i8.npy"), source: "int64_i8.npy")
        }
        #expect(integer?.message.contains("'<i8'") == true)
        #expect(integer?.message.contains("'<f4', '<f2' or '<f8'") == true)
    }

    // MARK: Round trips and files

    @Test("round-trips every rank, keeps data 64-byte aligned and keeps NaN payloads",
          arguments: [[Int](), [1], [9], [0], [3, 0], [2, 3], [1, 1, 1, 1, 1, 1, 1, 1], [123456789, 0, 2], [2, 3, 4, 5]])
    func roundTrips(shape: [Int]) throws {
        var state: UInt64 = 0xDEAD_BEEF &+ UInt64(shape.count)
        let scalars = (0..<shape.reduce(1, *)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))
        }
        let tensor = Tensor(shape: shape, scalars: scalars)
        let bytes = NPYFile.encode(tensor)
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes[10 + headerLength - 1] == 0x0A)
        #expect(bytes.count == 10 + headerLength + 4 * tensor.count)
        let decoded = try NPYFile.decode(bytes, source: "round trip")
        #expect(decoded.shape == shape)
        #expect(decoded.scalars.map(\.bitPattern) == scalars.map(\.bitPattern))
    }

    @Test("writes through a temporary file, leaves nothing else behind, and reads back")
    func writesAndReadsFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("grid.npy").path
        let grid = Tensor(shape: [2, 3, 4, 5], scalars: (0..<120).map { Float($0) / 8 - 3 })

        try NPYFile.write(Tensor(shape: [1], scalars: [0]), to: path)
        try NPYFile.write(grid, to: path)  // replaces
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["grid.npy"])
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == (try Self.fixture("grid_2x3x4x5_f4.npy")))
        #expect(try NPYFile.read(contentsOf: path) == grid)

        let missing = #expect(throws: SPConvLabError.self) {
            _ = try NPYFile.read(contentsOf: folder.appendingPathComponent("absent.npy").path)
        }
        #expect(missing?.kind == .io)
        #expect(missing?.message.contains("absent.npy") == true)
        let unwritable = #expect(throws: SPConvLabError.self) {
            try NPYFile.write(grid, to: folder.appendingPathComponent("no/such/dir/x.npy").path)
        }
        #expect(unwritable?.kind == .io)
    }

    // MARK: Hostile input

    @Test("refuses wrong magic, unknown versions and header lengths beyond the file")
    func refusesBrokenFraming() {
        Self.expectInvalid([], mentioning: ["0 bytes", "magic"])
        Self.expectInvalid(Array("PK\u{03}\u{04}zipfile".utf8), mentioning: ["[50 4b 03 04 7a 69]", "magic"])
        Self.expectInvalid(Array(Self.handWrittenVector.prefix(9)), mentioning: ["9 bytes", "preamble"])
        var version = Self.handWrittenVector
        version[6] = 4
        Self.expectInvalid(version, mentioning: ["4.0", "1.0, 2.0 or 3.0"])
        version[6] = 1; version[7] = 1
        Self.expectInvalid(version, mentioning: ["1.1"])
        var long = Self.handWrittenVector
        long[8] = 0xFF; long[9] = 0xFF
        Self.expectInvalid(long, mentioning: ["65535", "truncated"])
        let v2 = [0x93] + Array("NUMPY".utf8) + [2, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        Self.expectInvalid(v2, mentioning: ["4294967295"])
        Self.expectInvalid(Array(v2.prefix(11)), mentioning: ["11 bytes", "version 2.0"])
    }

    @Test("refuses malformed headers, naming what is wrong")
    func refusesMalformedHeaders() {
        let cases: [(header: String, fragments: [String])] = [
            ("", ["ends early", "'{'"]),
            ("[1, 2]", ["'['", "'{'"]),
            ("{'descr': '<f4', 'fortran_order': False}", ["no 'shape'"]),
            ("{'descr': '<f4', 'shape': (1,)}", ["no 'fortran_order'"]),
            ("{'fortran_order': False, 'shape': (1,)}", ["no 'descr'"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", ["unexpected key 'extra'"]),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", ["'descr' twice"]),
            ("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,)}", ["structured"]),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", ["True or False"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", ["(1), an integer, not a tuple"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", ["negative dimension"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", ["'.'", "')'"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", ["'['", "'('"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", ["too large"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", ["text after the closing"]),
            ("{'descr': '<f\u{E9}', 'fortran_order': False, 'shape': (1,)}", ["byte 0xc3"]),
            ("{'descr': '<f4\\x00', 'fortran_order': False, 'shape': (1,)}", ["byte 0x5c"]),
            ("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", ["'f'", "where ',' or '}' was expected"]),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", ["ends early"]),
        ]
        for (header, fragments) in cases {
            Self.expectInvalid(Self.file(header: header, data: [0, 0, 0, 0]), mentioning: fragments + ["the header"])
        }
        for descr in [">f4", "|f4", "<i4", "<f16", "float32", "<c8"] {
            Self.expectInvalid(Self.file(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,)}", data: [0, 0, 0, 0]),
                               mentioning: ["'\(descr)'", "'<f4', '<f2' or '<f8'"])
        }
    }

    @Test("refuses data shorter or longer than the shape needs, and huge shapes, before allocating")
    func refusesSizeMismatches() throws {
        let huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }"
        Self.expectInvalid(Self.file(header: huge, data: [0, 0, 0, 0]), mentioning: ["(1000000000000, 1000000000000)", "overflows"])
        let big = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000), }"
        Self.expectInvalid(Self.file(header: big, data: [0, 0, 0, 0]), mentioning: ["(1000000000, 1000000000)", "needs 8000000000000000000 bytes"])
        let large = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000,), }"
        Self.expectInvalid(Self.file(header: large, data: [0, 0, 0, 0]), mentioning: ["(100000000,)", "needs 400000000 bytes", "4 bytes follow"])
        Self.expectInvalid(Self.handWrittenVector + [0], mentioning: ["needs 8 bytes", "9 bytes follow"])

        let grid = try Self.fixture("grid_2x3x4x5_f4.npy")
        for length in 0..<grid.count {
            #expect(throws: SPConvLabError.self) { _ = try NPYFile.decode(Array(grid.prefix(length)), source: "cut") }
        }
    }
}

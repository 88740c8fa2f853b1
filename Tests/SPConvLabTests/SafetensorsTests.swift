import Foundation
import Testing
@testable import SPConvLab

/// Safetensors reading and writing, checked against hand-written bytes and against files written
/// by the reference `safetensors` Python package (see `tools/make_io_fixtures.py`).
@Suite("Safetensors")
struct SafetensorsTests {
    // MARK: Helpers

    /// The bytes of a fixture in `Fixtures/io/`.
    private static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/io/\(name)", withExtension: nil),
                               "missing fixture \(name); run tools/make_io_fixtures.py")
        return [UInt8](try Data(contentsOf: url))
    }

    /// The expected shape and float32 bit patterns NumPy computed for a fixture tensor.
    private static func expected(_ file: String) throws -> [String: Any] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/io/expected.json", withExtension: nil))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try #require(json[file] as? [String: Any])
    }

    /// A safetensors file from a header string and data bytes, with the length prefix computed.
    private static func file(header: String, data: [UInt8] = []) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return littleEndian(UInt64(headerBytes.count)) + headerBytes + data
    }

    private static func littleEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// Decodes `bytes` expecting an `.invalidWeights` error whose message names the source and
    /// contains every one of `fragments`.
    private static func expectInvalid(_ bytes: [UInt8], mentioning fragments: [String],
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: SPConvLabError.self, sourceLocation: sourceLocation) {
            _ = try Safetensors.decode(bytes, source: "hostile.safetensors")
        }
        guard let error else { return }
        #expect(error.kind == .invalidWeights, sourceLocation: sourceLocation)
        #expect(error.message.contains("'hostile.safetensors'"), "\(error.message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Hand-built bytes

    @Test("decodes a hand-written two-element F32 file")
    func decodesHandWrittenFile() throws {
        let bytes: [UInt8] = [0x38, 0, 0, 0, 0, 0, 0, 0]  // header length 56
            + Array(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  "#.utf8)
            + [0x00, 0x00, 0x80, 0x3F,  // 1.0
               0x00, 0x00, 0x00, 0xC0]  // -2.0
        let archive = try Safetensors.decode(bytes, source: "hand")
        #expect(archive.names == ["w"])
        #expect(archive["w"] == Tensor(shape: [2], scalars: [1, -2]))
        #expect(archive.metadata.isEmpty)
    }

    @Test("encodes exactly the hand-written bytes")
    func encodesHandWrittenBytes() {
        let expected: [UInt8] = [0x38, 0, 0, 0, 0, 0, 0, 0]
            + Array(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  "#.utf8)
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]
        #expect(Safetensors.encode([("w", Tensor(shape: [2], scalars: [1, -2]))]) == expected)
    }

    @Test("reads F16, BF16 and F64 from hand-written bytes")
    func readsReducedPrecisionByHand() throws {
        let header = #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"#
            + #""d":{"dtype":"F64","shape":[1],"data_offsets":[12,20]}}"#
        let data: [UInt8] = [0x01, 0x00, 0x00, 0x7C, 0x00, 0xBC, 0xFF, 0x03,  // 2^-24, +inf, -1, 1023 * 2^-24
                             0x80, 0x3F, 0x20, 0xC0,                          // 1.0, -2.5
                             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F]  // 1.5
        let archive = try Safetensors.decode(Self.file(header: header, data: data), source: "hand")
        #expect(archive.names == ["h", "b", "d"])
        #expect(archive["h"]?.scalars == [0x1p-24, .infinity, -1, 1023 * 0x1p-24])
        #expect(archive["b"]?.scalars == [1, -2.5])
        #expect(archive["d"]?.scalars == [1.5])
    }

    @Test("half-precision conversion matches the standard library's Float16 for all 65536 bit patterns")
    func halfConversionMatchesFloat16() {
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        var mismatches: [UInt16] = []
        for bits in 0...UInt16.max {
            let ours = StoredFloatFormat.float(fromFloat16Bits: bits)
            let reference = Float(Float16(bitPattern: bits))
            let same = ours.isNaN ? reference.isNaN && ours.sign == reference.sign : ours.bitPattern == reference.bitPattern
            if !same { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5).map { String($0, radix: 16) })")
        #endif
    }

    @Test("skips num_batches_tracked whatever its dtype, but still checks its offsets")
    func skipsNumBatchesTracked() throws {
        let header = #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"#
            + #""odd.num_batches_tracked":{"dtype":"MYSTERY","shape":[3],"data_offsets":[8,11]},"#
            + #""bn.weight":{"dtype":"F32","shape":[1],"data_offsets":[11,15]}}"#
        let data: [UInt8] = [5, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0x00, 0x00, 0x40, 0x40]
        let archive = try Safetensors.decode(Self.file(header: header, data: data), source: "hand")
        #expect(archive.names == ["bn.weight"])
        #expect(archive.tensors == ["bn.weight": Tensor(shape: [1], scalars: [3])])

        let outside = #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#
        Self.expectInvalid(Self.file(header: outside, data: [0, 0]), mentioning: ["bn.num_batches_tracked", "[0, 8]"])
    }

    // MARK: Reference fixtures

    @Test("reads a PyTorch-written file with F32, F16, BF16, F64 and an I64 counter")
    func readsMixedDtypeFixture() throws {
        let archive = try Safetensors.decode(try Self.fixture("mixed_dtypes.safetensors"), source: "mixed")
        #expect(archive.names == ["double.values", "layer1.0.conv1.weight", "scale", "bfloat.values", "half.values"])
        #expect(archive.metadata == ["format": "pt"])
        let expected = try Self.expected("mixed_dtypes.safetensors")
        #expect(Set(expected.keys) == Set(archive.names))
        for (name, value) in expected {
            let entry = try #require(value as? [String: Any])
            let tensor = try #require(archive[name])
            #expect(tensor.shape == (entry["shape"] as? [Int]), "\(name)")
            let bits = try #require(entry["f32_bits"] as? [Int]).map { UInt32($0) }
            #expect(tensor.scalars.map(\.bitPattern) == bits, "\(name)")
        }
    }

    /// The tensors of `f32_reference.safetensors`, built from the formulas in the fixture script.
    private static let referenceTensors: [(name: String, tensor: Tensor)] = [
        ("a.bias", Tensor(shape: [3], scalars: [1.5, -2.0, 0.0])),
        ("b.weight", Tensor(shape: [2, 3, 2, 2], scalars: (0..<24).map { Float($0) * 0.5 - 3 })),
        ("c.scalar", Tensor(shape: [], scalars: [-0.25])),
        ("d.empty", Tensor(shape: [0, 4], scalars: [])),
    ]

    @Test("encodes byte-for-byte what the reference safetensors package writes")
    func encodingMatchesReferenceWriter() throws {
        #expect(Safetensors.encode(Self.referenceTensors, metadata: ["format": "pt"])
                == (try Self.fixture("f32_reference.safetensors")))
        #expect(Safetensors.encode([("x", Tensor(shape: [2], scalars: [1, 2]))])
                == (try Self.fixture("no_metadata.safetensors")))
        let note = "\u{E9}\n\"/\u{01}\t\\\u{1F}\u{7F}\u{2028}\u{1F600}"
        #expect(Safetensors.encode([("w\u{E9}\t", Tensor(shape: [2], scalars: [1, -2]))], metadata: ["note": note])
                == (try Self.fixture("escaped_metadata.safetensors")))
    }

    @Test("reads the reference package's F32 file back to the same tensors")
    func readsReferenceFixture() throws {
        let archive = try Safetensors.decode(try Self.fixture("f32_reference.safetensors"), source: "reference")
        #expect(archive == SafetensorsArchive(Self.referenceTensors, metadata: ["format": "pt"]))
        let escaped = try Safetensors.decode(try Self.fixture("escaped_metadata.safetensors"), source: "escaped")
        #expect(escaped.metadata == ["note": "\u{E9}\n\"/\u{01}\t\\\u{1F}\u{7F}\u{2028}\u{1F600}"])
        #expect(escaped.names == ["w\u{E9}\t"])
    }

    // MARK: Round trips and files

    @Test("round-trips tensors of every rank, NaN payloads and metadata through encode and decode",
          arguments: [[Int](), [1], [7], [0], [2, 3], [3, 0, 2], [2, 3, 4, 5]])
    func roundTrips(shape: [Int]) throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(shape.count + 1)
        let count = shape.reduce(1, *)
        let scalars = (0..<count).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))  // any bit pattern, NaNs included
        }
        let tensors: [(name: String, tensor: Tensor)] = [
            ("z.first", Tensor(shape: shape, scalars: scalars)),
            ("a.second", Tensor(shape: [2], scalars: [-0.0, .infinity])),
        ]
        let metadata = ["format": "pt", "b": "two", "": "empty key"]
        let bytes = Safetensors.encode(tensors, metadata: metadata)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0, "the padded header keeps the data 8-byte aligned")
        let archive = try Safetensors.decode(bytes, source: "round trip")
        #expect(archive.names == ["z.first", "a.second"])
        #expect(archive.metadata == metadata)
        #expect(archive["z.first"]?.shape == shape)
        #expect(archive["z.first"]?.scalars.map(\.bitPattern) == scalars.map(\.bitPattern))
        #expect(archive["a.second"]?.scalars.map(\.bitPattern) == [Float(-0.0).bitPattern, Float.infinity.bitPattern])
        #expect(Safetensors.encode(archive.orderedTensors, metadata: archive.metadata) == bytes)
    }

    @Test("writes through a temporary file, leaves nothing else behind, and reads back")
    func writesAndReadsFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path

        try Safetensors.write(Self.referenceTensors, metadata: ["format": "pt"], to: path)
        try Safetensors.write(Self.referenceTensors, metadata: ["format": "pt"], to: path)  // replaces
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == (try Self.fixture("f32_reference.safetensors")))
        #expect(try Safetensors.read(contentsOf: path).orderedTensors.map(\.name) == ["a.bias", "b.weight", "c.scalar", "d.empty"])

        let missing = #expect(throws: SPConvLabError.self) {
            _ = try Safetensors.read(contentsOf: folder.appendingPathComponent("absent.safetensors").path)
        }
        #expect(missing?.kind == .io)
        #expect(missing?.message.contains("absent.safetensors") == true)

        let unwritable = #expect(throws: SPConvLabError.self) {
            try Safetensors.write(Self.referenceTensors, to: folder.appendingPathComponent("no/such/dir/x.safetensors").path)
        }
        #expect(unwritable?.kind == .io)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
    }

    // MARK: Hostile input

    @Test("refuses files too short, with absurd header lengths, or with headers that are not JSON objects")
    func refusesBrokenFraming() {
        Self.expectInvalid([], mentioning: ["0 bytes"])
        Self.expectInvalid([1, 0, 0, 0, 0, 0, 0], mentioning: ["7 bytes"])
        Self.expectInvalid(Self.littleEndian(UInt64.max) + Array("{}".utf8), mentioning: ["\(UInt64.max)", "16777216"])
        Self.expectInvalid(Self.littleEndian(16_777_217) + Array("{}".utf8), mentioning: ["16777217", "16777216-byte limit"])
        Self.expectInvalid(Self.littleEndian(50) + Array("{}".utf8), mentioning: ["50", "only 2 bytes"])
        Self.expectInvalid(Self.file(header: ""), mentioning: ["not valid JSON"])
        Self.expectInvalid(Self.file(header: #"{"a":"#), mentioning: ["not valid JSON"])
        Self.expectInvalid(Self.file(header: "{} x"), mentioning: ["not valid JSON"])
        Self.expectInvalid(Self.littleEndian(6) + [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x7D], mentioning: ["not valid JSON", "UTF-8"])
        Self.expectInvalid(Self.file(header: "[1, 2]"), mentioning: ["an array", "not a JSON object"])
        Self.expectInvalid(Self.file(header: #""text""#), mentioning: ["not a JSON object"])
        Self.expectInvalid(Self.file(header: String(repeating: "[", count: 100_000)), mentioning: ["nesting deeper"])
        Self.expectInvalid(Self.file(header: #"{"a":"# + String(repeating: "{\"a\":", count: 100_000)), mentioning: ["nesting deeper"])
    }

    @Test("refuses missing and ill-typed fields, naming the tensor and the value")
    func refusesIllTypedFields() {
        Self.expectInvalid(Self.file(header: #"{"w":3}"#), mentioning: ["'w'", "the number 3"])
        Self.expectInvalid(Self.file(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                           mentioning: ["'w'", "no \"dtype\""])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                           mentioning: ["'w'", "no \"shape\""])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]),
                           mentioning: ["'w'", "no \"data_offsets\""])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                           mentioning: ["'w'", "2 \"dtype\" fields"])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                           mentioning: ["'w'", "the number 32"])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                           mentioning: ["'w'", "the string \"1\""])
        for bad in ["-1", "2.5", "1.0", "1e0", "\"1\"", "null", "true", "99999999999999999999"] {
            Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":[2,"# + bad + #"],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                               mentioning: ["'w'", "dimension 1", "non-negative integer"])
        }
        for bad in ["[0]", "[0,4,8]", "[-4,4]", "[0,4.0]", "\"0-4\"", "[0,\"4\"]"] {
            Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":"# + bad + "}}", data: [0, 0, 0, 0]),
                               mentioning: ["'w'", "data_offsets", "[begin, end]"])
        }
    }

    @Test("refuses overflowing shapes and offsets that are out of range, reversed, mis-sized or overlapping")
    func refusesBadOffsets() {
        let four: [UInt8] = [0, 0, 0, 0]
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}"#),
                           mentioning: ["'w'", "[4294967296, 4294967296, 0]", "overflows"])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}}"#, data: four),
                           mentioning: ["'w'", "F64", "2305843009213693952", "[0, 4]"])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}"#, data: four),
                           mentioning: ["'w'", "[0, 4000000000]", "only 4 bytes"])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: four),
                           mentioning: ["'w'", "reversed", "[4, 0]"])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: four),
                           mentioning: ["'w'", "need 8 bytes", "span 4 bytes"])
        Self.expectInvalid(Self.file(header: #"{"w":{"dtype":"F16","shape":[1],"data_offsets":[0,4]}}"#, data: four),
                           mentioning: ["'w'", "F16", "need 2 bytes"])
        Self.expectInvalid(Self.file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                     data: [UInt8](repeating: 0, count: 8)),
                           mentioning: ["'b'", "[4, 8]", "overlap", "'a'", "[0, 8]"])
        Self.expectInvalid(Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                     data: [UInt8](repeating: 0, count: 8)),
                           mentioning: ["'a'", "more than once"])
    }

    @Test("refuses unsupported dtypes and malformed metadata")
    func refusesUnsupportedDtypesAndMetadata() {
        for dtype in ["I64", "U8", "BOOL", "I32", "F8_E4M3", "complex"] {
            Self.expectInvalid(Self.file(header: #"{"conv.weight":{"dtype":""# + dtype + #"","shape":[],"data_offsets":[0,0]}}"#),
                               mentioning: ["'conv.weight'", "dtype \(dtype)", "F32, F16, BF16 or F64"])
        }
        Self.expectInvalid(Self.file(header: #"{"__metadata__":["pt"]}"#), mentioning: ["__metadata__", "an array"])
        Self.expectInvalid(Self.file(header: #"{"__metadata__":{"format":1}}"#), mentioning: ["'format'", "the number 1"])
        Self.expectInvalid(Self.file(header: #"{"__metadata__":{"k":"a","k":"b"}}"#), mentioning: ["'k'", "more than once"])
        Self.expectInvalid(Self.file(header: #"{"__metadata__":{},"__metadata__":{}}"#), mentioning: ["__metadata__", "more than once"])
    }

    @Test("every truncation and thousands of seeded byte corruptions of a real file throw or decode, never crash")
    func survivesTruncationAndCorruption() throws {
        let original = try Self.fixture("mixed_dtypes.safetensors")
        for length in 0..<original.count {
            #expect(throws: SPConvLabError.self) { _ = try Safetensors.decode(Array(original.prefix(length)), source: "cut") }
        }
        var state: UInt64 = 42
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + next() % 3) {
                bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next())
            }
            do {
                let archive = try Safetensors.decode(bytes, source: "corrupt")
                #expect(archive.tensors.values.allSatisfy { $0.count <= bytes.count })
            } catch let error as SPConvLabError {
                #expect(error.kind == .invalidWeights)
            }
        }
    }
}

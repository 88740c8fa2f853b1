import Foundation
import Testing
@testable import SPConvLab

/// Files whose headers lie about their size, and paths that are not regular files: each reader
/// refuses by the header before loading the file, so a huge (sparse) file with a bad header costs
/// its header, not its size. The sparse files take no disk space; a reader that loaded them whole
/// would need 4 GiB of memory and show it in the process's peak resident size.
@Suite("Hostile files")
struct HostileFileTests {
    static let sparseSize: UInt64 = 4 << 30

    static func makeFolder() throws -> String {
        let path = NSTemporaryDirectory() + "hostile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `head` and extends the file with a hole to `size` bytes.
    static func writeSparse(_ head: [UInt8], size: UInt64, to path: String) throws {
        FileManager.default.createFile(atPath: path, contents: Data(head))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: size)
        try handle.close()
    }

    /// The process's peak resident set in bytes.
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// Runs `body`, expects an `SPConvLabError` whose message contains `fragment`, and that the
    /// peak resident set grew by less than a quarter of the sparse file.
    static func expectRefusedCheaply(_ fragment: String, _ body: () throws -> Void) {
        let before = peakResidentBytes()
        let error = #expect(throws: SPConvLabError.self) { try body() }
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error")")
        #expect(peakResidentBytes() - before < Int(sparseSize / 4))
    }

    static func littleEndian64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    @Test("a 4 GiB safetensors file with a header that is not JSON is refused by its header")
    func safetensorsBadHeader() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/big.safetensors"
        try Self.writeSparse(Self.littleEndian64(16) + Array("{\"a\": {\"dtype\":".utf8), size: Self.sparseSize, to: path)
        Self.expectRefusedCheaply("not valid JSON") { _ = try Safetensors.read(contentsOf: path) }
    }

    @Test("a safetensors header whose offsets pass the end of a 4 GiB file is refused before the data is read")
    func safetensorsOffsetsBeyondTheFile() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/big.safetensors"
        let header = Array(#"{"w":{"dtype":"F32","shape":[2000000000],"data_offsets":[0,8000000000]}}"#.utf8)
        try Self.writeSparse(Self.littleEndian64(UInt64(header.count)) + header, size: Self.sparseSize, to: path)
        Self.expectRefusedCheaply("data_offsets [0, 8000000000]") { _ = try Safetensors.read(contentsOf: path) }
    }

    @Test("header lengths beyond 16 MiB and shapes of more than 64 dimensions are refused")
    func safetensorsLimits() throws {
        let long = Self.littleEndian64(UInt64(Safetensors.maximumHeaderLength) + 1) + Array(repeating: 32, count: 8)
        #expect(throws: SPConvLabError.self) { try Safetensors.decode(long, source: "long") }
        let shape = "[" + Array(repeating: "1", count: 65).joined(separator: ",") + "]"
        let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,4]}}".utf8)
        let bytes = Self.littleEndian64(UInt64(header.count)) + header + [0, 0, 0, 0]
        let error = #expect(throws: SPConvLabError.self) { try Safetensors.decode(bytes, source: "deep") }
        #expect(error?.message.contains("65 dimensions") == true)
        #expect((error?.message.count ?? .max) < 400, "the error names the rank, not the 65 extents")
    }

    @Test("a 4 GiB .npy file whose shape needs more data than it holds is refused by its header")
    func npyShapeBeyondTheFile() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/big.npy"
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 1, 1000, 1000), }".utf8)
        header += Array(repeating: 32, count: 117 - header.count) + [10]
        let preamble: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count), 0]
        try Self.writeSparse(preamble + header, size: Self.sparseSize, to: path)
        Self.expectRefusedCheaply("needs 400000000000 bytes") { _ = try NPYFile.read(contentsOf: path) }
    }

    @Test("a .npy header length beyond 64 KiB is refused before the header is read")
    func npyLongHeader() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/long.npy"
        let preamble: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0, 0, 0, 0, 0x40]  // 1 GiB header
        try Self.writeSparse(preamble, size: Self.sparseSize, to: path)
        Self.expectRefusedCheaply("65536-byte limit") { _ = try NPYFile.read(contentsOf: path) }
    }

    @Test("a PNG whose IHDR declares 100000 x 100000 pixels is refused before the file is read")
    func pngDimensionsFromTheHeader() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/bomb.png"
        func bigEndian32(_ value: UInt32) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        let head = PNGCodec.signature + bigEndian32(13) + Array("IHDR".utf8) + bigEndian32(100_000) + bigEndian32(100_000)
        try Self.writeSparse(head, size: Self.sparseSize, to: path)
        Self.expectRefusedCheaply("100000x100000") { _ = try PNGCodec.read(from: path) }
        // A width of 2^32 - 1 on both sides overflows width * height in 64 bits only as a product
        // of Int32s; the message must still be made without trapping.
        let huge = PNGCodec.signature + bigEndian32(13) + Array("IHDR".utf8) + bigEndian32(.max) + bigEndian32(.max)
        try Self.writeSparse(huge, size: 64, to: path)
        #expect(throws: SPConvLabError.self) { try PNGCodec.read(from: path) }
    }

    @Test("folders, FIFOs and devices are refused by name instead of read")
    func specialFiles() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/pipe.npy"
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, kind) in [(fifo, "FIFO"), ("/dev/zero", "device"), (folder, "folder")] {
            let error = #expect(throws: SPConvLabError.self) { try NPYFile.read(contentsOf: path) }
            #expect(error?.kind == .io)
            #expect(error?.message.contains(kind) == true, "\(error?.message ?? "")")
            #expect(throws: SPConvLabError.self) { try Safetensors.read(contentsOf: path) }
            #expect(throws: SPConvLabError.self) { try PNGCodec.read(from: path) }
        }
        #expect(throws: SPConvLabError.self) { try FileBytes.read(contentsOf: folder + "/missing") }
    }

    @Test("a whole-file read refuses a file over its size limit before reading it")
    func sizeLimit() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/sidecar.json"
        try Self.writeSparse(Array("{".utf8), size: Self.sparseSize, to: path)
        Self.expectRefusedCheaply("more than the 67108864 bytes") { _ = try TrainingSidecar.read(path) }
    }

    @Test("reading a file in ranges gives its bytes, clamped at the end")
    func rangeReads() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/bytes"
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let reader = try FileBytes.Reader(path: path)
        #expect(reader.size == 1000)
        #expect(try reader.read(10..<20) == Array(bytes[10..<20]))
        #expect(try reader.read(990..<2000) == Array(bytes[990...]))
        #expect(try reader.read(1000..<1010) == [])
        #expect(try reader.readAll() == bytes)
    }

    @Test("weights holding NaN or infinity are refused, naming the tensors, and the network keeps its weights")
    func nonFiniteWeights() throws {
        let network = try Network(ModelSpec(.resnet20))
        var state = Dictionary(uniqueKeysWithValues: network.stateDict().map { ($0.name, $0.tensor) })
        let before = state["conv1.weight"]!
        var weights = before.scalars
        weights[3] = .nan
        state["conv1.weight"] = Tensor(shape: before.shape, scalars: weights)
        var bias = state["fc.bias"]!.scalars
        bias[0] = -.infinity
        state["fc.bias"] = Tensor(shape: [10], scalars: bias)
        let error = #expect(throws: SPConvLabError.self) { try network.load(state, source: "poisoned.safetensors") }
        #expect(error?.kind == .invalidWeights)
        #expect(error?.message.contains("conv1.weight (1 of 432)") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("fc.bias (1 of 10)") == true)
        #expect(network.stateDict().first { $0.name == "conv1.weight" }?.tensor == before)
    }
}

import Foundation
import Testing
@testable import SPConvLab

/// The documented image preprocessing: hand-derived small cases for each step, and whole
/// photographs against tensors computed by PyTorch (tools/make_image_fixtures.py).
@Suite("ImagePreprocessor")
struct ImagePreprocessorTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/images")
    static let assets = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("assets/images")

    /// Raw little-endian float32 values from a fixture file.
    static func readFloats(_ name: String) throws -> [Float] {
        let bytes = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent(name)))
        return stride(from: 0, to: bytes.count - 3, by: 4).map { index in
            Float(bitPattern: UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8
                | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24)
        }
    }

    /// Checks `actual` against `expected` element-wise within `atol + rtol * |expected|`.
    static func expectAllClose(_ actual: [Float], _ expected: [Float], rtol: Float = 0, atol: Float,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, "element counts differ", sourceLocation: sourceLocation)
        let worst = zip(actual, expected).enumerated().max { lhs, rhs in
            abs(lhs.element.0 - lhs.element.1) < abs(rhs.element.0 - rhs.element.1)
        }
        guard let worst else { return }
        let (got, want) = worst.element
        #expect(abs(got - want) <= atol + rtol * abs(want),
                "element \(worst.offset): got \(got), expected \(want)", sourceLocation: sourceLocation)
    }

    static func makeFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("ImagePreprocessorTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    // MARK: - Resize and crop

    @Test func bilinearUpsamples2x2To4x4WithHalfPixelCentres() {
        // Per axis, scale 0.5: outputs sample 0, 0.25, 0.75, 1 (clamped at both ends), so a row
        // 0, 4 gives 0, 1, 3, 4 and the column step of 8 adds 0, 2, 6, 8.
        let resized = ImagePreprocessor.resize([0, 4, 8, 12], width: 2, height: 2, newWidth: 4, newHeight: 4)
        #expect(resized == [0, 1, 3, 4,
                            2, 3, 5, 6,
                            6, 7, 9, 10,
                            8, 9, 11, 12])
    }

    @Test func bilinearDownsamplesWithoutAntialiasing() {
        // Scale 2: outputs sample 0.5 and 2.5, halfway between neighbours; an antialiased
        // filter would average all four inputs instead.
        #expect(ImagePreprocessor.resize([0, 10, 20, 30], width: 4, height: 1, newWidth: 2, newHeight: 1) == [5, 25])
    }

    @Test(arguments: [
        (451, 300, 32, 48, 32), (300, 451, 32, 32, 48), (28, 28, 28, 28, 28),
        (400, 328, 28, 34, 28), (10, 3, 224, 746, 224),
    ])
    func shorterSideBecomesInputSize(width: Int, height: Int, size: Int, newWidth: Int, newHeight: Int) {
        let resized = ImagePreprocessor.resizedSize(width: width, height: height, shorterSide: size)
        #expect(resized.width == newWidth && resized.height == newHeight)
    }

    @Test func centreCropTakesFloorOffset() throws {
        // 7x2 gray image, size 2: no resampling (scale 1), left = floor((7 - 2) / 2) = 2.
        let pixels: [UInt8] = (0..<14).map { UInt8(($0 % 7) * 10 + ($0 / 7)) }
        let image = Image8(width: 7, height: 2, layout: .gray, pixels: pixels)
        let preprocessor = try ImagePreprocessor(inputChannels: 1, inputSize: 2, normalization: .identity)
        let tensor = preprocessor.tensor(for: image)
        #expect(tensor.shape == [1, 1, 2, 2])
        Self.expectAllClose(tensor.scalars, [20, 30, 21, 31].map { $0 / 255 }, atol: 1e-7)
    }

    // MARK: - Channels and normalisation

    @Test func lumaUsesBT601Weights() throws {
        let image = try PNGCodec.read(from: Self.fixtures.appendingPathComponent("rgb_2x2.png").path)
        let preprocessor = try ImagePreprocessor(inputChannels: 1, inputSize: 2, normalization: .identity)
        // 0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30 = 18.15.
        Self.expectAllClose(preprocessor.tensor(for: image).scalars,
                            [0.299, 0.587, 0.114, 18.15 / 255], atol: 1e-6)
    }

    @Test func grayIsReplicatedAndAlphaIgnored() throws {
        let image = try PNGCodec.read(from: Self.fixtures.appendingPathComponent("gray_alpha_2x2.png").path)
        let preprocessor = try ImagePreprocessor(inputChannels: 3, inputSize: 2, normalization: .identity)
        let tensor = preprocessor.tensor(for: image)
        #expect(tensor.shape == [1, 3, 2, 2])
        let plane: [Float] = [0, 100, 200, 255].map { $0 / 255 }
        Self.expectAllClose(tensor.scalars, plane + plane + plane, atol: 1e-7)
    }

    @Test func rgbaDropsAlphaWithoutCompositing() throws {
        let image = Image8(width: 1, height: 1, layout: .rgba, pixels: [200, 100, 50, 0])
        let tensor = try ImagePreprocessor(inputChannels: 3, inputSize: 1, normalization: .identity).tensor(for: image)
        Self.expectAllClose(tensor.scalars, [200 / 255, 100 / 255, 50 / 255], atol: 1e-7)
    }

    @Test func normalisesPerChannel() throws {
        let white = Image8(width: 3, height: 3, layout: .rgb, pixels: [UInt8](repeating: 255, count: 27))
        let tensor = try ImagePreprocessor(inputChannels: 3, inputSize: 1, normalization: .imagenet).tensor(for: white)
        Self.expectAllClose(tensor.scalars,
                            [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225], atol: 1e-6)
        let black = Image8(width: 1, height: 1, layout: .gray, pixels: [0])
        let gray = try ImagePreprocessor(inputChannels: 1, inputSize: 1, normalization: .fashionMNIST).tensor(for: black)
        Self.expectAllClose(gray.scalars, [-0.2860 / 0.3530], atol: 1e-6)
    }

    @Test func presetsHoldPublishedStatistics() {
        #expect(Normalization.cifar10.mean == [0.4914, 0.4822, 0.4465])
        #expect(Normalization.cifar10.std == [0.2470, 0.2435, 0.2616])
        #expect(Normalization.imagenet.std == [0.229, 0.224, 0.225])
        #expect(Normalization.identity.mean == [0] && Normalization.identity.std == [1])
    }

    @Test func batchStacksImagesInOrder() throws {
        let first = Image8(width: 2, height: 3, layout: .rgb, pixels: (0..<18).map { UInt8($0 * 7) })
        let second = Image8(width: 4, height: 4, layout: .gray, pixels: (0..<16).map { UInt8($0 * 13) })
        let preprocessor = try ImagePreprocessor(inputChannels: 3, inputSize: 2, normalization: .cifar10)
        let batch = preprocessor.tensor(for: [first, second])
        #expect(batch.shape == [2, 3, 2, 2])
        #expect(Array(batch.scalars[0..<12]) == preprocessor.tensor(for: first).scalars)
        #expect(Array(batch.scalars[12..<24]) == preprocessor.tensor(for: second).scalars)
    }

    @Test func refusesUnusableConfigurations() {
        let channels = #expect(throws: SPConvLabError.self) {
            try ImagePreprocessor(inputChannels: 2, inputSize: 8, normalization: .identity)
        }
        #expect(channels?.kind == .invalidConfiguration)
        #expect(channels?.message.contains("2 input channels; only 1 (gray) or 3 (RGB) are accepted") == true)
        #expect(throws: SPConvLabError.self) {
            try ImagePreprocessor(inputChannels: 3, inputSize: 0, normalization: .identity)
        }
        let mismatch = #expect(throws: SPConvLabError.self) {
            try ImagePreprocessor(inputChannels: 1, inputSize: 8, normalization: .imagenet)
        }
        #expect(mismatch?.message.contains("has 3 values but the model has 1 input channels; give 1 value or 1") == true)
    }

    // MARK: - Against PyTorch

    @Test func chelseaMatchesPyTorchCIFAR10Pipeline() throws {
        let image = try PNGCodec.read(from: Self.assets.appendingPathComponent("chelsea.png").path)
        let preprocessor = try ImagePreprocessor(inputChannels: 3, inputSize: 32, normalization: .cifar10)
        let tensor = preprocessor.tensor(for: image)
        #expect(tensor.shape == [1, 3, 32, 32])
        Self.expectAllClose(tensor.scalars, try Self.readFloats("chelsea_rgb32_cifar10.f32"), atol: 1e-4)
    }

    @Test func horseMatchesPyTorchGrayPipeline() throws {
        let image = try PNGCodec.read(from: Self.assets.appendingPathComponent("horse.png").path)
        let preprocessor = try ImagePreprocessor(inputChannels: 1, inputSize: 28, normalization: .fashionMNIST)
        let tensor = preprocessor.tensor(for: image)
        #expect(tensor.shape == [1, 1, 28, 28])
        Self.expectAllClose(tensor.scalars, try Self.readFloats("horse_gray28_fmnist.f32"), atol: 1e-4)
    }

    // MARK: - Loading

    @Test func loadsFolderSortedByNameKeepingOnlyPNGFiles() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = try PNGCodec.encode(Image8(width: 1, height: 1, layout: .gray, pixels: [9]))
        for name in ["b.png", "A.PNG", "c.Png", ".hidden.png"] {
            try Data(bytes).write(to: folder.appendingPathComponent(name))
        }
        try Data("notes".utf8).write(to: folder.appendingPathComponent("readme.txt"))
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("nested.png"),
                                                withIntermediateDirectories: false)
        let loaded = try ImagePreprocessor.loadImages(at: folder.path)
        #expect(loaded.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["A.PNG", "b.png", "c.Png"])
        #expect(loaded.allSatisfy { $0.image.pixels == [9] })
    }

    @Test func loadsSingleFile() throws {
        let path = Self.assets.appendingPathComponent("horse.png").path
        let loaded = try ImagePreprocessor.loadImages(at: path)
        #expect(loaded.count == 1 && loaded[0].path == path && loaded[0].image.layout == .rgba)
    }

    @Test func emptyFolderIsAnErrorNamingIt() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("notes".utf8).write(to: folder.appendingPathComponent("readme.txt"))
        let error = #expect(throws: SPConvLabError.self) { try ImagePreprocessor.loadImages(at: folder.path) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("image folder '\(folder.path)' contains no image file") == true)
    }

    @Test func nonPNGFileIsAnErrorNamingIt() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("photo.png").path
        try Data("GIF89a".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SPConvLabError.self) { try ImagePreprocessor.loadImages(at: path) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("'\(path)' is neither a PNG nor a JPEG file") == true)
    }

    @Test func missingPathIsIOError() {
        let path = "/nonexistent-\(UUID().uuidString)"
        let error = #expect(throws: SPConvLabError.self) { try ImagePreprocessor.loadImages(at: path) }
        #expect(error?.kind == .io)
        #expect(error?.message.contains("image path '\(path)' does not exist") == true)
    }
}

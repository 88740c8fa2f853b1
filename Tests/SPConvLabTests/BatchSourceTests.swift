import Foundation
import Testing
@testable import SPConvLab

/// Fashion-MNIST, image-folder and synthetic batch sources, and the `InputSource` factory.
@Suite("BatchSource")
struct BatchSourceTests {
    static let fixtureDataset = fixtureURL("idx/fmnist5").path
    static let gray28 = ModelSpec(.resnet20, inputChannels: 1, inputSize: 28)

    static func makeFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("BatchSourceTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// All batches of `source` in chunks of `size`, concatenated.
    static func scalars(of source: any BatchSource, batchSize size: Int) throws -> [Float] {
        var scalars: [Float] = []
        try source.forEachBatch(size: size) { _, batch in scalars += batch.rowMajor().scalars }
        return scalars
    }

    // MARK: - Fashion-MNIST

    @Test func fashionMNISTNormalisesKnownPixels() throws {
        let source = try FashionMNISTBatchSource(dataset: FashionMNIST(folder: Self.fixtureDataset), spec: Self.gray28)
        #expect(source.count == 5)
        let batch = try source.batch(0..<2)
        #expect(batch.shape == [2, 1, 28, 28])
        // Image 0 has pixel 0 at (0, 0) and 255 at (y 9, x 3).
        let zero: Float = (0 - 0.2860) / 0.3530
        let full: Float = (1 - 0.2860) / 0.3530
        #expect(abs(batch.scalars[0] - zero) <= 1e-6)
        #expect(abs(batch.scalars[9 * 28 + 3] - full) <= 1e-6)
        // Every pixel of both images: x / 255 then the statistics.
        let expected = (0..<2).flatMap { k in (0..<28).flatMap { y in (0..<28).map { x in
            (Float(IDXFileTests.pixel(k, y, x)) / 255 - 0.2860) / 0.3530 } } }
        expectClose(batch, Tensor(shape: [2, 1, 28, 28], scalars: expected), rtol: 0, atol: 1e-6)
        #expect(source.label(of: 3) == "test[3]")
    }

    @Test func fashionMNISTReplicatesGrayForThreeChannels() throws {
        let spec = ModelSpec(.resnet20, inputChannels: 3, inputSize: 28)
        let dataset = try FashionMNIST(split: .train, folder: Self.fixtureDataset)
        let batch = try FashionMNISTBatchSource(dataset: dataset, spec: spec).batch(1..<3)
        let gray = try FashionMNISTBatchSource(dataset: dataset, spec: Self.gray28).batch(1..<3)
        #expect(batch.shape == [2, 3, 28, 28])
        let plane = 28 * 28
        for image in 0..<2 {
            let expected = Array(gray.scalars[(image * plane)..<((image + 1) * plane)])
            for channel in 0..<3 {
                let start = (image * 3 + channel) * plane
                #expect(Array(batch.scalars[start..<(start + plane)]) == expected, "image \(image) channel \(channel)")
            }
        }
        #expect(try FashionMNISTBatchSource(dataset: dataset, spec: spec).label(of: 0) == "train[0]")
    }

    @Test func fashionMNISTResizesLikeImagePreprocessor() throws {
        let spec = ModelSpec(.resnet20, inputChannels: 1, inputSize: 32)
        let dataset = try FashionMNIST(folder: Self.fixtureDataset)
        let batch = try FashionMNISTBatchSource(dataset: dataset, spec: spec).batch(0..<5)
        #expect(batch.shape == [5, 1, 32, 32])
        // The same images through the documented preprocessing of PNG inputs...
        let preprocessor = try ImagePreprocessor(inputChannels: 1, inputSize: 32, normalization: .fashionMNIST)
        expectClose(batch, preprocessor.tensor(for: (0..<5).map { dataset.image(at: $0) }), rtol: 0, atol: 0)
        // ...which for a square image is the plain bilinear resize 28 -> 32, then /255 and the statistics.
        let resized = (0..<5).flatMap { k in
            ImagePreprocessor.resize(dataset.pixels(at: k).map(Float.init), width: 28, height: 28, newWidth: 32, newHeight: 32)
                .map { ($0 / 255 - 0.2860) / 0.3530 }
        }
        expectClose(batch, Tensor(shape: [5, 1, 32, 32], scalars: resized), rtol: 0, atol: 1e-5)
    }

    @Test func fashionMNISTRefusesUnfeedableModels() throws {
        let dataset = try FashionMNIST(folder: Self.fixtureDataset)
        #expect(throws: SPConvLabError.self) {
            try FashionMNISTBatchSource(dataset: dataset, spec: ModelSpec(.resnet20, inputChannels: 2))
        }
    }

    // MARK: - Synthetic

    @Test func syntheticImagesDoNotDependOnTheBatchSplit() throws {
        let spec = ModelSpec(.resnet20, inputChannels: 3, inputSize: 8)
        let source = SyntheticBatchSource(count: 7, spec: spec, seed: 42)
        let whole = try source.batch(0..<7)
        #expect(whole.shape == [7, 3, 8, 8])
        for size in [1, 2, 3, 5] {
            #expect(try Self.scalars(of: source, batchSize: size) == whole.scalars, "batch size \(size)")
        }
        #expect(try source.batch(4..<5).scalars == Array(whole.scalars[(4 * 192)..<(5 * 192)]))
        // The same seed gives the same images; another seed, others.
        #expect(try SyntheticBatchSource(count: 7, spec: spec, seed: 42).batch(0..<7).scalars == whole.scalars)
        #expect(try SyntheticBatchSource(count: 7, spec: spec, seed: 43).batch(0..<7).scalars != whole.scalars)
        #expect(source.label(of: 6) == "sample 6")
    }

    @Test func syntheticValuesAreStandardNormal() throws {
        let source = SyntheticBatchSource(count: 16, spec: ModelSpec(.resnet20, inputChannels: 3, inputSize: 32), seed: 1)
        let values = try source.batch(0..<16).scalars
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
        #expect(abs(mean) < 0.02 && abs(variance - 1) < 0.03, "mean \(mean), variance \(variance)")
        // Distinct images are not shifted copies of one stream.
        let plane = 3 * 32 * 32
        #expect(Array(values[0..<plane].dropFirst()) != Array(values[plane..<(2 * plane)].dropLast()))
    }

    // MARK: - Image folder

    @Test func imageFolderBatchesEqualEagerLoading() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 5)
        let images = [(30, 20, Image8.Layout.gray), (16, 16, .rgb), (40, 33, .rgba), (9, 50, .grayAlpha)]
            .map { width, height, layout in
                Image8(width: width, height: height, layout: layout,
                       pixels: (0..<(width * height * layout.channels)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            }
        for (index, image) in images.enumerated() {
            try PNGCodec.write(image, to: folder.appendingPathComponent("img\(index).PNG").path)
        }
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        try PNGCodec.write(images[0], to: folder.appendingPathComponent(".hidden.png").path)

        for spec in [ModelSpec(.resnet20, inputChannels: 3), ModelSpec(.resnet20, inputChannels: 1, inputSize: 28)] {
            let source = try ImageFolderBatchSource(path: folder.path, spec: spec)
            let loaded = try ImagePreprocessor.loadImages(at: folder.path)
            let preprocessor = try ImagePreprocessor(inputChannels: spec.inputChannels, inputSize: spec.inputSize,
                                                     normalization: .default(for: spec))
            #expect(source.count == 4)
            #expect(source.files == loaded.map(\.path))
            #expect((0..<4).map(source.label(of:)) == ["img0.PNG", "img1.PNG", "img2.PNG", "img3.PNG"])
            #expect(try Self.scalars(of: source, batchSize: 3) == preprocessor.tensor(for: loaded.map(\.image)).scalars)
            #expect(try source.batch(1..<3).scalars == preprocessor.tensor(for: loaded[1..<3].map(\.image)).scalars)
        }
        let limited = try ImageFolderBatchSource(path: folder.path, spec: Self.gray28, limit: 2)
        #expect(limited.count == 2)
        // A single file is a one-image source.
        let single = try ImageFolderBatchSource(path: folder.appendingPathComponent("img1.PNG").path, spec: Self.gray28)
        #expect(single.count == 1 && single.label(of: 0) == "img1.PNG")
    }

    @Test func imageFolderErrorsMatchEagerLoading() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        let eagerEmpty = GzipTests.message { try ImagePreprocessor.loadImages(at: folder.path) }
        let lazyEmpty = GzipTests.message { try ImageFolderBatchSource(path: folder.path, spec: Self.gray28) }
        #expect(lazyEmpty == eagerEmpty && lazyEmpty.contains("contains no image file"))

        let missing = folder.appendingPathComponent("absent").path
        #expect(GzipTests.message { try ImageFolderBatchSource(path: missing, spec: Self.gray28) }
                == GzipTests.message { try ImagePreprocessor.loadImages(at: missing) })

        // A file named .png that is not a PNG is listed, and reported when its batch is decoded.
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("fake.png"))
        let source = try ImageFolderBatchSource(path: folder.path, spec: Self.gray28)
        let lazy = GzipTests.message { try source.batch(0..<1) }
        #expect(lazy == GzipTests.message { try ImagePreprocessor.loadImages(at: folder.path) })
        #expect(lazy.contains("is neither a PNG nor a JPEG file"), "\(lazy)")
    }

    // MARK: - Factory

    @Test func factoryMakesEachForm() throws {
        let synthetic = try InputSource.make("synthetic:4:7", spec: Self.gray28, limit: nil, normalization: nil)
        #expect((synthetic as? SyntheticBatchSource).map { ($0.count, $0.seed) } ?? (0, 0) == (4, 7))
        let defaultSeed = try InputSource.make("synthetic:9", spec: Self.gray28, limit: 3, normalization: nil)
        #expect((defaultSeed as? SyntheticBatchSource).map { ($0.count, $0.seed) } ?? (0, 1) == (3, 0))

        let npy = try InputSource.make(fixtureURL("io/grid_2x3x4x5_f4.npy").path,
                                       spec: ModelSpec(.resnet20, inputChannels: 3), limit: 1, normalization: nil)
        #expect(npy is TensorBatchSource && npy.count == 1)
        #expect(try npy.batch(0..<1).shape == [1, 3, 4, 5])

        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try PNGCodec.write(Image8(width: 2, height: 2, layout: .gray, pixels: [0, 1, 2, 3]),
                           to: folder.appendingPathComponent("a.png").path)
        let images = try InputSource.make(folder.path, spec: Self.gray28, limit: nil, normalization: Normalization.identity)
        #expect((images as? ImageFolderBatchSource)?.preprocessor.normalization == Normalization.identity)
        #expect(images.count == 1)
    }

    @Test(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
    func factoryOpensTheInstalledFashionMNIST() throws {
        let test = try InputSource.make("fashion-mnist", spec: Self.gray28, limit: 3, normalization: nil)
        #expect(test.count == 3 && test.label(of: 2) == "test[2]")
        let train = try InputSource.make("Fashion-MNIST:train", spec: Self.gray28, limit: 2, normalization: nil)
        #expect(train.count == 2 && train.label(of: 1) == "train[1]")
    }

    @Test(arguments: [
        ("fashion-mnist:validation", "'validation' is not a Fashion-MNIST split (test or train)"),
        ("synthetic:0", "'0' is not an image count of at least 1"),
        ("synthetic:many", "'many' is not an image count of at least 1"),
        ("synthetic:3:-1", "'-1' is not a seed"),
        ("synthetic:3:1:2", "a synthetic input has the form synthetic:N or synthetic:N:SEED"),
        ("/nonexistent/cat.png", "it is not an existing file or folder"),
        ("imagenet", "it is not an existing file or folder"),
    ])
    func factoryErrorsListTheAcceptedForms(description: String, reason: String) {
        let text = GzipTests.message { try InputSource.make(description, spec: Self.gray28, limit: nil, normalization: nil) }
        #expect(text.hasPrefix("cannot use '\(description)' as an input: \(reason)"), "\(text)")
        for form in ["PATH.npy", "fashion-mnist:test", "fashion-mnist:train", "synthetic:N:SEED", "a PNG or JPEG file, a folder"] {
            #expect(!text.contains("\n"), "one paragraph")
            #expect(text.contains(form), "\(form) missing from: \(text)")
        }
    }

    @Test func factoryRefusesABadLimit() {
        let text = GzipTests.message { try InputSource.make("synthetic:3", spec: Self.gray28, limit: 0, normalization: nil) }
        #expect(text.contains("limit of 0 samples is not accepted"), "\(text)")
    }
}

import Foundation
import Testing
@testable import SPConvLab

/// Datasets in their real distribution formats (CIFAR-10/100 binary, MNIST-format IDX) and
/// ImageFolder trees, on the small files of tools/make_dataset_fixtures.py, whose pixel and label
/// formulas are restated here.
@Suite("Image datasets")
struct ImageDatasetTests {
    static let root = fixtureURL("datasets").path

    /// Pixel (k, c, y, x) of the CIFAR fixtures.
    static func cifarPixel(_ k: Int, _ c: Int, _ y: Int, _ x: Int) -> UInt8 { UInt8((k + 3 * c + 5 * y + 7 * x) % 256) }

    @Test func cifar10ReadsRecordsInFileOrderWithTheirLabelsAndNames() throws {
        let train = try ImageDataset.load("cifar10:\(Self.root)/cifar10", split: .train)
        #expect(train.count == 10 && train.channels == 3 && train.size == 32)
        #expect(train.labels == (0..<10).map { $0 % 10 })
        #expect(train.classNames == ClassNames.cifar10)
        for k in [0, 3, 9] {
            for (c, y, x) in [(0, 0, 0), (1, 5, 7), (2, 31, 31)] {
                #expect(train.pixels[k * 3072 + c * 1024 + y * 32 + x] == Self.cifarPixel(k, c, y, x))
            }
        }
        let test = try ImageDataset.load("cifar10:\(Self.root)/cifar10", split: .test, limit: 2)
        #expect(test.labels == [0, 1] && test.pixels.count == 2 * 3072)
        #expect(test.pixels[3072 + 1024 + 2 * 32 + 3] == Self.cifarPixel(101, 1, 2, 3))
        // Image8 for inference is interleaved RGB.
        let image = test.image(at: 1)
        #expect(image.layout == .rgb && image.pixels[(2 * 32 + 3) * 3 + 1] == Self.cifarPixel(101, 1, 2, 3))
    }

    @Test func cifar100UsesTheFineLabels() throws {
        let test = try ImageDataset.load("cifar100:\(Self.root)/cifar100", split: .test)
        #expect(test.labels == [0, 7])  // fine = 7k mod 100 for k = 100, 101
        #expect(test.classNames.count == 100 && test.classNames[7] == "fine7")
        #expect(test.pixels[3072 + 2047] == Self.cifarPixel(101, 1, 31, 31))
    }

    @Test func idxReadsAnyMNISTFormatFolderWithTrainingStatistics() throws {
        let train = try ImageDataset.load("idx:\(Self.root)/idx", split: .train)
        let test = try ImageDataset.load("idx:\(Self.root)/idx", split: .test)
        #expect(train.count == 6 && test.count == 4 && train.size == 12 && train.channels == 1)
        #expect(train.labels == (0..<6).map { $0 % 3 } && test.labels == (100..<104).map { $0 % 3 })
        #expect(test.pixels[2 * 144 + 12 * 3 + 5] == UInt8((102 + 12 * 3 + 5) % 256))
        #expect(train.classNames == ["0", "1", "2"])
        // Mean and standard deviation of the training pixels / 255, computed here independently.
        var values: [Double] = []
        for k in 0..<6 { for y in 0..<12 { for x in 0..<12 { values.append(Double((k + 12 * y + x) % 256) / 255) } } }
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(Double(test.normalization.mean[0]) - mean) < 1e-5 && abs(Double(test.normalization.std[0]) - std) < 1e-5)
        #expect(train.normalization == test.normalization)
    }

    @Test func brokenDatasetsAreNamed() throws {
        let folder = NSTemporaryDirectory() + "datasets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: folder + "/test_batch.bin", contents: Data(count: 3073 + 5))
        let partial = #expect(throws: SPConvLabError.self) { try ImageDataset.load("cifar10:\(folder)", split: .test) }
        #expect(partial?.message.contains("not a whole number of 3073-byte records") == true)
        var record = Data(count: 3073)
        record[0] = 10
        FileManager.default.createFile(atPath: folder + "/test_batch.bin", contents: record)
        let label = #expect(throws: SPConvLabError.self) { try ImageDataset.load("cifar10:\(folder)", split: .test) }
        #expect(label?.message.contains("label 10") == true)
        let missing = #expect(throws: SPConvLabError.self) { try ImageDataset.load("cifar10:\(folder)", split: .train) }
        #expect(missing?.message.contains("data_batch_1.bin") == true)
        let idx = #expect(throws: SPConvLabError.self) { try ImageDataset.load("idx:\(folder)", split: .train) }
        #expect(idx?.message.contains("train-images-idx3-ubyte") == true)
        #expect(throws: SPConvLabError.self) { try ImageDataset.load("mnist", split: .train) }
        #expect(throws: SPConvLabError.self) { try ImageDataset.load("idx:", split: .train) }
    }

    @Test func anImageFolderTreeHasTorchvisionsClassesAndOrder() throws {
        struct Expected: Decodable { var classes: [String]; var samples: [[Sample]] }
        enum Sample: Decodable {
            case path(String), index(Int)
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let index = try? container.decode(Int.self) { self = .index(index) } else { self = .path(try container.decode(String.self)) }
            }
        }
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtureURL("datasets/tree.json")))
        let source = try ImageFolderBatchSource(path: "\(Self.root)/tree", spec: ModelSpec(.resnet20, classes: 3))
        #expect(source.classNames == expected.classes)
        let pairs = expected.samples.map { sample -> (String, Int) in
            guard case .path(let path) = sample[0], case .index(let index) = sample[1] else { return ("", -1) }
            return (path, index)
        }
        #expect((0..<source.count).map(source.label(of:)) == pairs.map(\.0))
        #expect((0..<source.count).map { source.classIndex(of: $0) } == pairs.map(\.1))
        let batch = try source.batch(0..<source.count)
        #expect(batch.shape == [pairs.count, 3, 32, 32])
        // A flat folder of images stays unlabelled.
        let flat = try ImageFolderBatchSource(path: "\(Self.root)/tree/cat", spec: ModelSpec(.resnet20))
        #expect(flat.classNames == nil && flat.count == 3 && flat.classIndex(of: 0) == nil)
    }

    @Test func treesWithAnEmptyClassOrImagesWeCannotDecodeAreRefused() throws {
        let folder = NSTemporaryDirectory() + "tree-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/b", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(Self.root)/tree/cat/a.png", toPath: folder + "/a/x.png")
        let empty = #expect(throws: SPConvLabError.self) { try ImageFolderBatchSource(path: folder, spec: ModelSpec(.resnet20)) }
        #expect(empty?.message.contains("class folder 'b'") == true)
        FileManager.default.createFile(atPath: folder + "/b/y.bmp", contents: Data([0x42, 0x4D]))
        let bitmap = #expect(throws: SPConvLabError.self) { try ImageFolderBatchSource(path: folder, spec: ModelSpec(.resnet20)) }
        #expect(bitmap?.message.contains(".bmp") == true)
    }
}

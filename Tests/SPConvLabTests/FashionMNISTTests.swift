import Foundation
import Testing
@testable import SPConvLab

/// The Fashion-MNIST loader on a 5-image fixture folder, and on the installed dataset when
/// Debian's dataset-fashion-mnist package is present.
@Suite("FashionMNIST")
struct FashionMNISTTests {
    static let fixtureFolder = fixtureURL("idx/fmnist5").path

    @Test(arguments: FashionMNIST.Split.allCases)
    func readsGzippedAndRawSplits(split: FashionMNIST.Split) throws {
        // The test split is gzipped, the training split raw; both hold the same 5 images.
        let dataset = try FashionMNIST(split: split, folder: Self.fixtureFolder)
        #expect(dataset.count == 5 && dataset.limit == nil)
        #expect(dataset.labels == [9, 2, 1, 1, 6])
        #expect(dataset.images.count == 5 * 28 * 28)
        #expect(dataset.className(of: 0) == "Ankle boot")
        let image = dataset.image(at: 1)
        #expect(image.width == 28 && image.height == 28 && image.layout == .gray)
        #expect(image[3, 2, 0] == IDXFileTests.pixel(1, 2, 3))
    }

    @Test func limitKeepsTheFirstImages() throws {
        let dataset = try FashionMNIST(folder: Self.fixtureFolder, limit: 2)
        #expect(dataset.count == 2 && dataset.limit == 2)
        #expect(dataset.labels == [9, 2] && dataset.images.count == 2 * 28 * 28)
        #expect(try FashionMNIST(folder: Self.fixtureFolder, limit: 50).count == 5)
        #expect(throws: SPConvLabError.self) { try FashionMNIST(folder: Self.fixtureFolder, limit: 0) }
    }

    @Test func statisticsAndClassNames() {
        #expect(FashionMNIST.mean == 0.2860 && FashionMNIST.std == 0.3530)
        #expect(FashionMNIST.normalization == .fashionMNIST)
        #expect(FashionMNIST.classNames.count == 10 && FashionMNIST.classNames[9] == "Ankle boot")
        #expect(FashionMNIST.defaultFolder == "/usr/share/datasets/fashion-mnist/")
    }

    @Test func missingFolderNamesTheFolderAndThePackage() {
        let text = GzipTests.message { try FashionMNIST(folder: "/nonexistent/fmnist") }
        #expect(text.contains("'/nonexistent/fmnist' does not exist") && text.contains("dataset-fashion-mnist"), "\(text)")
    }

    @Test func missingFileIsNamed() {
        let text = GzipTests.message { try FashionMNIST(folder: fixtureURL("idx").path) }
        #expect(text.contains("has neither t10k-images-idx3-ubyte.gz nor t10k-images-idx3-ubyte"), "\(text)")
    }

    @Test func refusesALabelCountMismatch() {
        let text = GzipTests.message { try FashionMNIST(folder: fixtureURL("idx/mismatch").path) }
        #expect(text.contains("t10k-labels-idx1-ubyte' holds 4 labels but") && text.contains("holds 5 images; expected one label per image"), "\(text)")
    }

    @Test(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
    func readsTheInstalledTestSet() throws {
        let dataset = try FashionMNIST()
        #expect(dataset.count == 10_000)
        #expect(dataset.images.count == 10_000 * 28 * 28)
        #expect(dataset.labels[0] == 9 && dataset.className(of: 0) == "Ankle boot")
        #expect(Array(dataset.labels.prefix(5)) == [9, 2, 1, 1, 6])
        // Every class appears 1,000 times in the test set.
        #expect((0..<10).map { label in dataset.labels.filter { $0 == label }.count } == Array(repeating: 1000, count: 10))
    }
}

import Foundation
import SPConvCore
import SPConvKernels

/// The Fashion-MNIST dataset (Xiao, Rasul and Vollgraf, 2017): 28 x 28 gray images of clothing
/// in 10 classes, 60,000 for training and 10,000 for testing.
///
/// Read from a folder holding the four IDX files of the original distribution,
/// `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`, `train-images-idx3-ubyte.gz` and
/// `train-labels-idx1-ubyte.gz` (each may also be uncompressed, without `.gz`), by default
/// ``defaultFolder`` where Debian's `dataset-fashion-mnist` package installs them.
///
/// Images are kept as 8-bit pixels, `count x 28 x 28` row-major; ``FashionMNISTBatchSource``
/// turns them into model inputs batch by batch.
public struct FashionMNIST: Sendable {
    /// Which half of the dataset.
    public enum Split: String, Sendable, CaseIterable {
        /// The 10,000 test images (`t10k-*` files).
        case test
        /// The 60,000 training images (`train-*` files).
        case train

        /// The file-name prefix of the split.
        public var filePrefix: String { self == .test ? "t10k" : "train" }
        /// The image file name, without `.gz`.
        public var imagesFileName: String { "\(filePrefix)-images-idx3-ubyte" }
        /// The label file name, without `.gz`.
        public var labelsFileName: String { "\(filePrefix)-labels-idx1-ubyte" }
    }

    /// Where Debian's `dataset-fashion-mnist` package installs the dataset.
    public static let defaultFolder = "/usr/share/datasets/fashion-mnist/"
    /// The Debian package that provides ``defaultFolder``.
    public static let debianPackage = "dataset-fashion-mnist"
    /// Height and width of every image.
    public static let imageSize = 28
    /// Mean of the training pixels scaled to [0, 1].
    public static let mean: Float = 0.2860
    /// Standard deviation of the training pixels scaled to [0, 1].
    public static let std: Float = 0.3530
    /// ``mean`` and ``std`` as a ``Normalization`` (the same as ``Normalization/fashionMNIST``).
    public static let normalization = Normalization(mean: [mean], std: [std])
    /// The class names, indexed by label: `T-shirt/top`, `Trouser`, ..., `Ankle boot`.
    public static let classNames = ClassNames.fashionMNIST

    /// Whether the dataset's four files are in ``defaultFolder``.
    public static var isInstalled: Bool {
        Split.allCases.allSatisfy { split in
            [split.imagesFileName, split.labelsFileName].allSatisfy { existingFile($0, in: defaultFolder) != nil }
        }
    }

    /// The split that was read.
    public let split: Split
    /// The folder it was read from.
    public let folder: String
    /// The largest number of images asked for, or `nil` for all of them.
    public let limit: Int?
    /// Row-major pixels, `count x 28 x 28`, 0 (background) to 255.
    public let images: [UInt8]
    /// The class of each image, 0...9 (see ``classNames``).
    public let labels: [UInt8]

    /// The number of images (at most ``limit``).
    public var count: Int { labels.count }

    /// Reads a split of the dataset.
    ///
    /// - Parameters:
    ///   - split: The test or the training images.
    ///   - folder: The folder holding the IDX files.
    ///   - limit: Keep only the first `limit` images (at least 1), or all when `nil`.
    /// - Throws: ``SPConvLabError`` of kind `io` when the folder or a file is missing or
    ///   unreadable, `invalidConfiguration` for a limit below 1, `invalidInput` when a file is not
    ///   a valid IDX file (see ``IDXFile``), its images are not 28 x 28, the image and label counts
    ///   differ, or a label is not 0...9.
    public init(split: Split = .test, folder: String = defaultFolder, limit: Int? = nil) throws {
        if let limit, limit < 1 {
            throw SPConvLabError(.invalidConfiguration,
                "a Fashion-MNIST limit of \(limit) images is not accepted; give at least 1, or no limit for all images")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SPConvLabError(.io,
                "the Fashion-MNIST folder '\(folder)' does not exist; install Debian's \(Self.debianPackage) package (apt-get install \(Self.debianPackage)), which puts the dataset in \(Self.defaultFolder), or give a folder holding \(split.imagesFileName).gz and \(split.labelsFileName).gz")
        }
        let imagesPath = try Self.requireFile(split.imagesFileName, in: folder)
        let labelsPath = try Self.requireFile(split.labelsFileName, in: folder)
        let imageFile = try IDXFile.read(contentsOf: imagesPath, kind: .images)
        guard imageFile.dimensions[1] == Self.imageSize && imageFile.dimensions[2] == Self.imageSize else {
            throw SPConvLabError(.invalidInput,
                "'\(imagesPath)' holds images of \(imageFile.dimensions[1]) x \(imageFile.dimensions[2]) pixels; Fashion-MNIST images are \(Self.imageSize) x \(Self.imageSize)")
        }
        let labelFile = try IDXFile.read(contentsOf: labelsPath, kind: .labels)
        guard labelFile.dimensions[0] == imageFile.dimensions[0] else {
            throw SPConvLabError(.invalidInput,
                "'\(labelsPath)' holds \(labelFile.dimensions[0]) labels but '\(imagesPath)' holds \(imageFile.dimensions[0]) images; expected one label per image")
        }
        if let index = labelFile.data.firstIndex(where: { Int($0) >= Self.classNames.count }) {
            throw SPConvLabError(.invalidInput,
                "'\(labelsPath)' has label \(labelFile.data[index]) at index \(index); Fashion-MNIST labels are 0...\(Self.classNames.count - 1)")
        }
        let kept = min(limit ?? Int.max, imageFile.dimensions[0])
        let pixelsPerImage = Self.imageSize * Self.imageSize
        self.split = split
        self.folder = folder
        self.limit = limit
        self.images = kept == imageFile.dimensions[0] ? imageFile.data : Array(imageFile.data.prefix(kept * pixelsPerImage))
        self.labels = Array(labelFile.data.prefix(kept))
    }

    /// The pixels of image `index`, 28 x 28 row-major.
    public func pixels(at index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "Fashion-MNIST image index \(index) is outside 0..<\(count)")
        let pixelsPerImage = Self.imageSize * Self.imageSize
        return images[(index * pixelsPerImage)..<((index + 1) * pixelsPerImage)]
    }

    /// Image `index` as a 28 x 28 gray ``Image8``.
    public func image(at index: Int) -> Image8 {
        Image8(width: Self.imageSize, height: Self.imageSize, layout: .gray, pixels: Array(pixels(at: index)))
    }

    /// The class name of image `index`.
    public func className(of index: Int) -> String {
        precondition(index >= 0 && index < count, "Fashion-MNIST image index \(index) is outside 0..<\(count)")
        return Self.classNames[Int(labels[index])]
    }

    // MARK: - Files

    /// The path of `name.gz`, or else `name`, in `folder`, if either is a file.
    private static func existingFile(_ name: String, in folder: String) -> String? {
        let base = URL(fileURLWithPath: folder)
        for candidate in [name + ".gz", name] {
            let path = base.appendingPathComponent(candidate).path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return path
            }
        }
        return nil
    }

    private static func requireFile(_ name: String, in folder: String) throws -> String {
        guard let path = existingFile(name, in: folder) else {
            throw SPConvLabError(.io,
                "the Fashion-MNIST folder '\(folder)' has neither \(name).gz nor \(name); expected the dataset's IDX files there (Debian's \(debianPackage) package installs them in \(defaultFolder))")
        }
        return path
    }
}

import Foundation
import SPConvCore
import SPConvKernels

/// A labelled image dataset read whole from its distribution files: square 8-bit images of one
/// size and channel count, a class per image, the class names and the normalisation to use.
///
/// The forms a description takes (``acceptedForms``):
/// - `fashion-mnist`: Debian's dataset-fashion-mnist (``FashionMNIST``);
/// - `idx:DIR`: MNIST-format IDX files in DIR, as MNIST, KMNIST, EMNIST and Fashion-MNIST ship
///   them (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, and the test split's
///   `t10k-*` or `*test-*`; any prefix, such as EMNIST's `emnist-digits-`, is allowed when exactly
///   one file matches). The images must be square; the classes are `0 ... max label`; the
///   normalisation is the mean and standard deviation of the training split's pixels;
/// - `cifar10:DIR`: the CIFAR-10 binary version (`cifar-10-batches-bin`: `data_batch_1.bin` ...
///   `data_batch_5.bin`, `test_batch.bin`, names from `batches.meta.txt`), DIR being that folder or
///   the one holding it; CIFAR-10's usual normalisation;
/// - `cifar100:DIR`: the CIFAR-100 binary version (`cifar-100-binary`: `train.bin`, `test.bin`,
///   names from `fine_label_names.txt`), with the 100 fine labels, as torchvision uses them.
///
/// Every file is checked before it is trusted: IDX headers by ``IDXFile``, CIFAR files by their
/// size (whole records) and labels (within the class count).
public struct ImageDataset: Sendable {
    public enum Split: String, Sendable, CaseIterable {
        case train, test
    }

    /// The description it was loaded from, for identities and messages (`idx:/data/mnist`).
    public let name: String
    public let split: Split
    public let channels: Int
    /// Width and height.
    public let size: Int
    public let classNames: [String]
    /// `count x channels x size x size` bytes, planar per image.
    public let pixels: [UInt8]
    public let labels: [Int]
    public let normalization: Normalization

    public var count: Int { labels.count }

    public static let acceptedForms = "'fashion-mnist' (Debian's dataset-fashion-mnist), 'idx:DIR' (MNIST-format IDX files: MNIST, KMNIST, EMNIST), 'cifar10:DIR' or 'cifar100:DIR' (the binary versions)"

    /// The usual CIFAR-100 normalisation (per-channel mean and standard deviation of its training set).
    public static let cifar100Normalization = Normalization(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762])

    /// Whether `description` names a dataset form (not whether its files exist).
    public static func isDatasetDescription(_ description: String) -> Bool {
        let lowered = description.lowercased()
        return lowered == "fashion-mnist" || ["idx:", "cifar10:", "cifar100:"].contains { lowered.hasPrefix($0) }
    }

    /// Channels, image size and class count of the dataset `description` names, when its form
    /// alone fixes them (Fashion-MNIST, CIFAR); nil for `idx:` (read from its files) or an unknown form.
    public static func knownShape(_ description: String) -> (channels: Int, size: Int, classes: Int)? {
        let lowered = description.lowercased()
        if lowered == "fashion-mnist" { return (1, FashionMNIST.imageSize, FashionMNIST.classNames.count) }
        if lowered.hasPrefix("cifar100:") { return (3, 32, 100) }
        if lowered.hasPrefix("cifar10:") { return (3, 32, 10) }
        return nil
    }

    /// `description` with its folder made absolute, so that one dataset has one name whatever the
    /// working folder (training identities and store keys include it).
    public static func canonicalName(_ description: String) -> String {
        for prefix in ["idx:", "cifar10:", "cifar100:"] where description.lowercased().hasPrefix(prefix) {
            let folder = String(description.dropFirst(prefix.count))
            return prefix + URL(fileURLWithPath: folder).standardizedFileURL.path
        }
        return description
    }

    /// Loads the `split` of the dataset `description` names, keeping its first `limit` images.
    ///
    /// - Throws: ``SPConvLabError``: `invalidConfiguration` for an unknown form or a limit below 1,
    ///   `io` for missing files, `invalidInput` for files that are not what the format says.
    public static func load(_ description: String, split: Split, limit: Int? = nil) throws -> ImageDataset {
        if let limit, limit < 1 {
            throw SPConvLabError(.invalidConfiguration, "a dataset limit of \(limit) images is not accepted; give at least 1, or no limit for all images")
        }
        let lowered = description.lowercased()
        func folder(after prefix: String) throws -> String {
            let path = String(description.dropFirst(prefix.count))
            guard !path.isEmpty else {
                throw SPConvLabError(.invalidConfiguration, "the dataset '\(description)' names no folder; give \(prefix)DIR with DIR the folder of its files")
            }
            return path
        }
        if lowered == "fashion-mnist" {
            let dataset = try FashionMNIST(split: split == .train ? .train : .test, limit: limit)
            return ImageDataset(name: "fashion-mnist", split: split, channels: 1, size: FashionMNIST.imageSize,
                                classNames: FashionMNIST.classNames, pixels: dataset.images, labels: dataset.labels.map(Int.init),
                                normalization: FashionMNIST.normalization)
        }
        if lowered.hasPrefix("idx:") { return try loadIDX(folder: folder(after: "idx:"), name: description, split: split, limit: limit) }
        if lowered.hasPrefix("cifar100:") {
            return try loadCIFAR(folder: folder(after: "cifar100:"), name: description, split: split, limit: limit, fine: true)
        }
        if lowered.hasPrefix("cifar10:") {
            return try loadCIFAR(folder: folder(after: "cifar10:"), name: description, split: split, limit: limit, fine: false)
        }
        throw SPConvLabError(.invalidConfiguration, "'\(description)' is not a dataset this tool reads; give \(acceptedForms)")
    }

    /// Image `index` as an ``Image8`` (gray or RGB), for the preprocessing of inference inputs.
    public func image(at index: Int) -> Image8 {
        precondition(index >= 0 && index < count, "image \(index) is outside the \(count) images of \(name)")
        let plane = size * size, stride = channels * plane
        let base = index * stride
        guard channels == 3 else {
            return Image8(width: size, height: size, layout: .gray, pixels: Array(pixels[base..<(base + plane)]))
        }
        var interleaved = [UInt8](repeating: 0, count: stride)
        for p in 0..<plane {
            for c in 0..<3 { interleaved[p * 3 + c] = pixels[base + c * plane + p] }
        }
        return Image8(width: size, height: size, layout: .rgb, pixels: interleaved)
    }

    // MARK: - IDX

    private static func loadIDX(folder: String, name: String, split: Split, limit: Int?) throws -> ImageDataset {
        try requireFolder(folder, dataset: name)
        let trainImagesPath = try idxFile(in: folder, role: ["train-images-idx3-ubyte"], dataset: name)
        let (trainImages, _) = try readIDXImages(trainImagesPath)
        let imagesPath = split == .train ? trainImagesPath
            : try idxFile(in: folder, role: ["t10k-images-idx3-ubyte", "test-images-idx3-ubyte"], dataset: name)
        let labelsPath = try idxFile(in: folder, role: split == .train ? ["train-labels-idx1-ubyte"] : ["t10k-labels-idx1-ubyte", "test-labels-idx1-ubyte"],
                                     dataset: name)
        let (images, size) = split == .train ? (trainImages, trainImages.dimensions[1]) : try readIDXImages(imagesPath)
        let labels = try IDXFile.read(contentsOf: labelsPath, kind: .labels)
        guard labels.dimensions[0] == images.dimensions[0] else {
            throw SPConvLabError(.invalidInput, "'\(labelsPath)' holds \(labels.dimensions[0]) labels but '\(imagesPath)' holds \(images.dimensions[0]) images; expected one label per image")
        }
        // The classes are those of the training labels, so both splits agree on the count.
        let trainLabels = split == .train ? labels : try IDXFile.read(contentsOf: try idxFile(in: folder, role: ["train-labels-idx1-ubyte"], dataset: name),
                                                                       kind: .labels)
        let classCount = Int(trainLabels.data.max() ?? 0) + 1
        if let index = labels.data.firstIndex(where: { Int($0) >= classCount }) {
            throw SPConvLabError(.invalidInput, "'\(labelsPath)' has label \(labels.data[index]) at index \(index), but the training labels run over 0...\(classCount - 1); expected the test labels within the training classes")
        }
        let kept = min(limit ?? Int.max, images.dimensions[0])
        let pixels = Array(images.data.prefix(kept * size * size))
        // The training split's pixel statistics, so that both splits are normalised alike.
        var (sum, squares) = (0.0, 0.0)
        for value in trainImages.data {
            let v = Double(value) / 255
            sum += v
            squares += v * v
        }
        let total = Double(max(trainImages.data.count, 1))
        let mean = sum / total
        let std = max((squares / total - mean * mean).squareRoot(), 1e-3)
        return ImageDataset(name: name, split: split, channels: 1, size: size,
                            classNames: (0..<classCount).map(String.init), pixels: pixels,
                            labels: labels.data.prefix(kept).map(Int.init),
                            normalization: Normalization(mean: [Float(mean)], std: [Float(std)]))
    }

    private static func readIDXImages(_ path: String) throws -> (IDXFile, Int) {
        let file = try IDXFile.read(contentsOf: path, kind: .images)
        guard file.dimensions[1] == file.dimensions[2], file.dimensions[1] >= 1 else {
            throw SPConvLabError(.invalidInput, "'\(path)' holds images of \(file.dimensions[1]) x \(file.dimensions[2]) pixels; this tool's models take square images")
        }
        return (file, file.dimensions[1])
    }

    /// The one file of `folder` whose name, without `.gz`, ends with one of `role`.
    private static func idxFile(in folder: String, role: [String], dataset: String) throws -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let matches = names.filter { name in
            let base = name.hasSuffix(".gz") ? String(name.dropLast(3)) : name
            return role.contains { base == $0 || base.hasSuffix("-" + $0) }
        }.sorted()
        guard matches.count == 1 else {
            let found = matches.isEmpty ? "none" : matches.joined(separator: ", ")
            throw SPConvLabError(.io, "the IDX dataset folder '\(folder)' (\(dataset)) needs exactly one file named like \(role.map { "[PREFIX-]\($0)[.gz]" }.joined(separator: " or ")); found \(found)")
        }
        return URL(fileURLWithPath: folder).appendingPathComponent(matches[0]).path
    }

    // MARK: - CIFAR

    private static func loadCIFAR(folder given: String, name: String, split: Split, limit: Int?, fine: Bool) throws -> ImageDataset {
        try requireFolder(given, dataset: name)
        let inner = URL(fileURLWithPath: given).appendingPathComponent(fine ? "cifar-100-binary" : "cifar-10-batches-bin").path
        var isDirectory: ObjCBool = false
        let folder = FileManager.default.fileExists(atPath: inner, isDirectory: &isDirectory) && isDirectory.boolValue ? inner : given
        let files = fine ? [split == .train ? "train.bin" : "test.bin"]
            : (split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"])
        let labelBytes = fine ? 2 : 1
        let recordSize = labelBytes + 3 * 32 * 32
        let classCount = fine ? 100 : 10
        var pixels: [UInt8] = [], labels: [Int] = []
        let wanted = limit ?? Int.max
        for file in files where labels.count < wanted {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw SPConvLabError(.io, "the \(fine ? "CIFAR-100" : "CIFAR-10") folder '\(folder)' (\(name)) has no \(file); expected the binary version's files \(files.joined(separator: ", ")) there (the archive \(fine ? "cifar-100-binary.tar.gz" : "cifar-10-binary.tar.gz") unpacks them into \(fine ? "cifar-100-binary" : "cifar-10-batches-bin"))")
            }
            // A whole CIFAR training set is 150 MB; a file many times that is not one.
            let bytes = try FileBytes.read(contentsOf: path, maximumSize: 64 * 3 * 1024 * 1024, what: "a CIFAR binary batch (whole records of \(recordSize) bytes)")
            guard bytes.count % recordSize == 0, !bytes.isEmpty else {
                throw SPConvLabError(.invalidInput, "'\(path)' is \(bytes.count) bytes, not a whole number of \(recordSize)-byte records (\(labelBytes) label byte\(labelBytes == 1 ? "" : "s") and 3072 pixel bytes); expected a file of the \(fine ? "CIFAR-100" : "CIFAR-10") binary version")
            }
            for record in 0..<(bytes.count / recordSize) where labels.count < wanted {
                let base = record * recordSize
                let label = Int(bytes[base + labelBytes - 1])
                guard label < classCount else {
                    throw SPConvLabError(.invalidInput, "'\(path)' has label \(label) in record \(record); \(fine ? "CIFAR-100 fine labels" : "CIFAR-10 labels") are 0...\(classCount - 1)")
                }
                labels.append(label)
                pixels += bytes[(base + labelBytes)..<(base + recordSize)]
            }
        }
        let namesFile = URL(fileURLWithPath: folder).appendingPathComponent(fine ? "fine_label_names.txt" : "batches.meta.txt").path
        let listed = ((try? FileBytes.read(contentsOf: namesFile, maximumSize: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? "")
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let names = listed.count == classCount ? listed : (fine ? (0..<classCount).map { "class \($0)" } : ClassNames.cifar10)
        return ImageDataset(name: name, split: split, channels: 3, size: 32, classNames: names, pixels: pixels, labels: labels,
                            normalization: fine ? cifar100Normalization : .cifar10)
    }

    private static func requireFolder(_ folder: String, dataset: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SPConvLabError(.io, "the dataset folder '\(folder)' of '\(dataset)' does not exist or is not a folder; give the folder that holds the dataset's files")
        }
    }
}

/// The images of an ``ImageDataset``, preprocessed for a model batch by batch, with their classes.
public struct DatasetBatchSource: BatchSource, Sendable {
    public let dataset: ImageDataset
    public let preprocessor: ImagePreprocessor

    public init(dataset: ImageDataset, spec: ModelSpec, normalization: Normalization? = nil) throws {
        try self.init(dataset: dataset, input: InputSpec(spec), normalization: normalization)
    }

    /// A batch source over `dataset` for a model that takes `input`.
    public init(dataset: ImageDataset, input: InputSpec, normalization: Normalization? = nil) throws {
        self.dataset = dataset
        self.preprocessor = try ImagePreprocessor(inputChannels: input.channels, inputSize: input.size,
                                                  normalization: normalization ?? dataset.normalization)
    }

    public var count: Int { dataset.count }
    public func label(of index: Int) -> String { "\(dataset.split.rawValue)[\(index)]" }
    public var classNames: [String]? { dataset.classNames }
    public func classIndex(of index: Int) -> Int? { dataset.labels[index] }

    public func batch(_ range: Range<Int>) throws -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "batch \(range) is outside the \(count) images of \(dataset.name)")
        return preprocessor.tensor(for: range.map { dataset.image(at: $0) })
    }
}

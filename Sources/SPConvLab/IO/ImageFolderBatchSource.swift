import Foundation
import SPConvCore
import SPConvKernels

/// One image file, a folder of images, or an ImageFolder tree (one sub-folder per class), as
/// model inputs decoded batch by batch.
///
/// Images are PNG or JPEG (``ImageFile``). A folder with image files directly in it is read flat:
/// its regular `.png`, `.jpg` and `.jpeg` files (any case, not hidden), sorted by code point,
/// unlabelled. A folder without such files but with sub-folders is an ImageFolder tree, read the
/// way torchvision's `datasets.ImageFolder` reads it, so class indices and sample order agree:
/// the classes are the sub-folders' names sorted by code point (every sub-folder, hidden ones
/// too, as torchvision does); each class's samples are the image files anywhere below its folder,
/// in `sorted(os.walk(...))` order (by folder path, then file name). A class folder without an
/// image is refused (torchvision refuses it too), and so is a file torchvision would list but this
/// tool cannot decode (`.bmp`, `.ppm`, `.pgm`, `.tif`, `.tiff`, `.webp`). Only the files of a
/// requested batch are decoded, one image at a time, so memory does not grow with the folder.
/// Sample `k` is labelled with its file name (its path below the tree for a tree).
public struct ImageFolderBatchSource: BatchSource, Sendable {
    /// The image files, in order.
    public let files: [String]
    /// For a tree: the class names (sub-folders), and each file's class index.
    public let classNames: [String]?
    public let classIndices: [Int]?
    /// The preprocessing for the model the source was made for.
    public let preprocessor: ImagePreprocessor
    private let root: String

    /// Lists the images at `path` for the model `spec`.
    ///
    /// - Parameters:
    ///   - path: An image file, a folder of images or an ImageFolder tree.
    ///   - spec: The model the inputs are for.
    ///   - normalization: The normalisation, or `nil` for ``Normalization/default(for:)``.
    ///   - limit: Keep only the first `limit` files (at least 1), or all when `nil`.
    /// - Throws: ``SPConvLabError`` of kind `io` when `path` does not exist or cannot be listed,
    ///   `invalidInput` when a folder holds no image or a tree has an empty class or a file type it
    ///   cannot decode, `invalidConfiguration` when the model's input cannot be fed from images or
    ///   `limit` is below 1. A file that is not a valid image is reported by ``batch(_:)``.
    public init(path: String, spec: ModelSpec, normalization: Normalization? = nil, limit: Int? = nil) throws {
        try self.init(path: path, input: InputSpec(spec), normalization: normalization, limit: limit)
    }

    /// Lists the images at `path` for a model that takes `input` (see the other initialiser).
    public init(path: String, input: InputSpec, normalization: Normalization? = nil, limit: Int? = nil) throws {
        if let limit, limit < 1 {
            throw SPConvLabError(.invalidConfiguration,
                "an image limit of \(limit) is not accepted; give at least 1, or no limit for all images")
        }
        self.preprocessor = try ImagePreprocessor(inputChannels: input.channels, inputSize: input.size,
                                                  normalization: normalization ?? input.defaultNormalization)
        self.root = path
        let listing = try Self.listImageFiles(at: path)
        let kept = limit ?? Int.max
        self.files = Array(listing.files.prefix(kept))
        self.classNames = listing.classNames
        self.classIndices = listing.classIndices.map { Array($0.prefix(kept)) }
    }

    public var count: Int { files.count }

    public func label(of index: Int) -> String {
        guard classNames != nil else { return URL(fileURLWithPath: files[index]).lastPathComponent }
        return String(files[index].dropFirst(root.count).drop { $0 == "/" })
    }

    public func classIndex(of index: Int) -> Int? { classIndices?[index] }

    /// Decodes and preprocesses the files `range`.
    ///
    /// - Throws: ``SPConvLabError`` of kind `io` when a file cannot be read, `invalidInput` when it
    ///   is not a valid PNG or JPEG (see ``ImageFile/read(from:limits:)``).
    public func batch(_ range: Range<Int>) throws -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "batch \(range) is outside the \(count) image files")
        // One image decoded at a time: a batch of large images never holds more than one full-size image.
        var scalars: [Float] = []
        scalars.reserveCapacity(range.count * preprocessor.inputChannels * preprocessor.inputSize * preprocessor.inputSize)
        for file in files[range] {
            scalars += preprocessor.tensor(for: try ImageFile.read(from: file)).scalars
        }
        return Tensor(shape: [range.count, preprocessor.inputChannels, preprocessor.inputSize, preprocessor.inputSize],
                      scalars: scalars)
    }

    /// The image files at `path` without decoding: `path` itself when it is a file, a folder's
    /// images, or an ImageFolder tree's images with their classes (see the type's rules).
    static func listImageFiles(at path: String) throws -> (files: [String], classNames: [String]?, classIndices: [Int]?) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SPConvLabError(.io, "image path '\(path)' does not exist; give a PNG or JPEG file, a folder of them, or an ImageFolder tree (one sub-folder per class)")
        }
        guard isDirectory.boolValue else { return ([path], nil, nil) }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: path)
        } catch {
            throw SPConvLabError(.io, "cannot list image folder '\(path)': \(error.localizedDescription); a readable folder of images is required")
        }
        let folder = URL(fileURLWithPath: path)
        func isFolder(_ entry: String) -> Bool {
            var entryIsDirectory: ObjCBool = false
            return manager.fileExists(atPath: entry, isDirectory: &entryIsDirectory) && entryIsDirectory.boolValue
        }
        let flat = names.filter { name in
            !name.hasPrefix(".") && ImageFile.isImageName(name) && !isFolder(folder.appendingPathComponent(name).path)
        }.sorted(by: codePointOrder)
        if !flat.isEmpty { return (flat.map { folder.appendingPathComponent($0).path }, nil, nil) }
        let classes = names.filter { isFolder(folder.appendingPathComponent($0).path) }.sorted(by: codePointOrder)
        guard !classes.isEmpty else {
            throw SPConvLabError(.invalidInput,
                "image folder '\(path)' contains no image file (.png, .jpg or .jpeg, any case) and no class sub-folder; give a folder of images or an ImageFolder tree")
        }
        var files: [String] = [], indices: [Int] = []
        for (index, name) in classes.enumerated() {
            let classFiles = try treeFiles(below: folder.appendingPathComponent(name).path)
            guard !classFiles.isEmpty else {
                throw SPConvLabError(.invalidInput,
                    "the ImageFolder tree '\(path)' has a class folder '\(name)' without any .png, .jpg or .jpeg file; torchvision refuses such a tree too. Remove the folder or add its images.")
            }
            files += classFiles
            indices += Array(repeating: index, count: classFiles.count)
        }
        return (files, classes, indices)
    }

    /// The image files anywhere below `folder`, in `sorted(os.walk(folder, followlinks=True))`
    /// order: folders by path, files by name within each.
    private static func treeFiles(below folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else {
            throw SPConvLabError(.io, "cannot list the class folder '\(folder)'; a readable folder is required")
        }
        var entries: [(directory: String, name: String)] = []
        while let relative = walker.nextObject() as? String {
            let full = (folder as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let name = (relative as NSString).lastPathComponent
            let pathExtension = (name as NSString).pathExtension.lowercased()
            if ImageFile.undecodedExtensions.contains(pathExtension) {
                throw SPConvLabError(.invalidInput,
                    "'\(full)' is a .\(pathExtension) image, which torchvision's ImageFolder would list but this tool does not decode (PNG and JPEG only); convert it, or remove it so both see the same images")
            }
            guard ImageFile.extensions.contains(pathExtension) else { continue }
            entries.append(((full as NSString).deletingLastPathComponent, name))
        }
        return entries.sorted { a, b in
            a.directory == b.directory ? codePointOrder(a.name, b.name) : codePointOrder(a.directory, b.directory)
        }.map { ($0.directory as NSString).appendingPathComponent($0.name) }
    }

    /// Python's string order: by Unicode code points.
    private static func codePointOrder(_ a: String, _ b: String) -> Bool {
        Array(a.unicodeScalars.map(\.value)).lexicographicallyPrecedes(b.unicodeScalars.map(\.value))
    }
}

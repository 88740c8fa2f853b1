import Foundation

/// One PNG file, or a folder of PNG files, as model inputs decoded batch by batch.
///
/// The files are listed up front, with the rules of ``ImagePreprocessor/loadImages(at:)``
/// (a folder's regular `.png` files, any case, not hidden, sorted by code point), but only the
/// files of a requested batch are decoded, so memory does not grow with the folder. Each image
/// goes through the documented ``ImagePreprocessor`` steps. Sample `k` is labelled with its file
/// name.
public struct ImageFolderBatchSource: BatchSource, Sendable {
    /// The PNG files, in order.
    public let files: [String]
    /// The preprocessing for the model the source was made for.
    public let preprocessor: ImagePreprocessor

    /// Lists the images at `path` for the model `spec`.
    ///
    /// - Parameters:
    ///   - path: A PNG file or a folder of PNG files.
    ///   - spec: The model the inputs are for.
    ///   - normalization: The normalisation, or `nil` for ``Normalization/default(for:)``.
    ///   - limit: Keep only the first `limit` files (at least 1), or all when `nil`.
    /// - Throws: ``SPConvLabError`` of kind `io` when `path` does not exist or cannot be listed,
    ///   `invalidInput` when a folder holds no PNG file, `invalidConfiguration` when the model's
    ///   input cannot be fed from images or `limit` is below 1. A file that is not a valid PNG
    ///   is reported by ``batch(_:)``.
    public init(path: String, spec: ModelSpec, normalization: Normalization? = nil, limit: Int? = nil) throws {
        if let limit, limit < 1 {
            throw SPConvLabError(.invalidConfiguration,
                "an image limit of \(limit) is not accepted; give at least 1, or no limit for all images")
        }
        self.preprocessor = try ImagePreprocessor(inputChannels: spec.inputChannels, inputSize: spec.inputSize,
                                                  normalization: normalization ?? .default(for: spec))
        let files = try Self.listImageFiles(at: path)
        self.files = limit.map { Array(files.prefix($0)) } ?? files
    }

    public var count: Int { files.count }

    public func label(of index: Int) -> String { URL(fileURLWithPath: files[index]).lastPathComponent }

    /// Decodes and preprocesses the files `range`.
    ///
    /// - Throws: ``SPConvLabError`` of kind `io` when a file cannot be read, `invalidInput` when it
    ///   is not a valid PNG (see ``PNGCodec/decode(_:source:limits:)``).
    public func batch(_ range: Range<Int>) throws -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "batch \(range) is outside the \(count) image files")
        // One image decoded at a time: a batch of large PNGs never holds more than one full-size image.
        var scalars: [Float] = []
        scalars.reserveCapacity(range.count * preprocessor.inputChannels * preprocessor.inputSize * preprocessor.inputSize)
        for file in files[range] {
            scalars += preprocessor.tensor(for: try PNGCodec.read(from: file)).scalars
        }
        return Tensor(shape: [range.count, preprocessor.inputChannels, preprocessor.inputSize, preprocessor.inputSize],
                      scalars: scalars)
    }

    /// The image files at `path`: `path` itself when it is a file, or the PNG files of a folder
    /// (non-recursive; names ending in `.png` in any case, not starting with `.`; sorted by Unicode
    /// code points), without decoding. ``ImagePreprocessor/loadImages(at:)`` decodes this list.
    static func listImageFiles(at path: String) throws -> [String] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SPConvLabError(.io, "image path '\(path)' does not exist; give a PNG file or a folder of PNG files")
        }
        guard isDirectory.boolValue else { return [path] }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: path)
        } catch {
            throw SPConvLabError(.io, "cannot list image folder '\(path)': \(error.localizedDescription); a readable folder of PNG files is required")
        }
        let folder = URL(fileURLWithPath: path)
        let files = names.filter { name in
            guard !name.hasPrefix("."), name.lowercased().hasSuffix(".png") else { return false }
            var entryIsDirectory: ObjCBool = false
            let entry = folder.appendingPathComponent(name).path
            return manager.fileExists(atPath: entry, isDirectory: &entryIsDirectory) && !entryIsDirectory.boolValue
        }.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
        guard !files.isEmpty else {
            throw SPConvLabError(.invalidInput,
                "image folder '\(path)' contains no PNG file; it must hold at least one file whose name ends in .png (any case)")
        }
        return files.map { folder.appendingPathComponent($0).path }
    }
}

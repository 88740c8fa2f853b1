import Foundation
import SPConvCore
import SPConvKernels

/// Reads an image file whatever its format: PNG or JPEG, told apart by their first bytes (not by
/// the file name), through ``PNGCodec`` or ``JPEGCodec``.
public enum ImageFile {
    /// The file name extensions of the images a folder input lists (compared case-insensitively).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Extensions torchvision's `ImageFolder` also lists but this tool does not decode; a tree
    /// holding them is refused rather than read with fewer images than torchvision would see.
    public static let undecodedExtensions: Set<String> = ["ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    /// Whether `name` ends in one of ``extensions``.
    public static func isImageName(_ name: String) -> Bool {
        extensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// Reads and decodes the PNG or JPEG file at `path`.
    ///
    /// - Throws: ``SPConvLabError`` of kind `io` when the file cannot be read, `invalidInput`
    ///   when it is neither a valid PNG nor a valid JPEG, or is larger than `limits`.
    public static func read(from path: String, limits: PNGCodec.Limits = .default) throws -> Image8 {
        let head = try FileBytes.Reader(path: path).read(0..<8)
        if JPEGCodec.hasSignature(head) { return try JPEGCodec.read(from: path, limits: limits) }
        if PNGCodec.hasSignature(head) { return try PNGCodec.read(from: path, limits: limits) }
        let found = head.isEmpty ? "it is empty" : "it starts with bytes " + head.map { String(format: "%02X", $0) }.joined(separator: " ")
        throw SPConvLabError(.invalidInput,
            "'\(path)' is neither a PNG nor a JPEG file: \(found), not the PNG signature 89 50 4E 47 0D 0A 1A 0A or the JPEG marker FF D8 FF; images must be PNG or JPEG")
    }
}

import CJPEG
import Foundation
import SPConvCore

/// Decodes JPEG files to ``Image8`` through libjpeg-turbo's TurboJPEG API.
///
/// TurboJPEG reports failures through return codes and `tjGetErrorStr2` and never `longjmp`s
/// across Swift frames (libjpeg's own API does), which is why this file uses it. All TurboJPEG
/// calls and raw pointers stay here.
///
/// Decoding rules, chosen to give the pixels PIL (and so torchvision's default loader) gives:
/// - a grayscale JPEG decodes to ``Image8/Layout/gray``, every other colour JPEG (YCbCr, RGB) to
///   ``Image8/Layout/rgb``; CMYK and YCCK files are refused (PIL keeps them as CMYK);
/// - libjpeg's default accurate integer IDCT and "fancy" chroma upsampling, as PIL uses;
/// - EXIF orientation and ICC profiles are not applied (PIL does not apply them either unless asked).
///
/// Hostile input is refused with ``SPConvLabError/Kind/invalidInput``: data without the JPEG
/// start-of-image marker, a header declaring more pixels than the limits (checked before any
/// pixel memory is allocated), corrupt or truncated data (libjpeg's warnings are errors here,
/// where libjpeg would fill the missing part with gray), and progressive files of more than 500
/// scans (`TJFLAG_LIMITSCANS`, a known way to make decoding take minutes).
public enum JPEGCodec {
    /// The largest image a decoder accepts: the same limits as PNG's.
    public typealias Limits = PNGCodec.Limits

    /// The start-of-image marker every JPEG file begins with (`FF D8 FF`).
    public static let signature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// Returns whether `bytes` starts with the JPEG start-of-image marker.
    public static func hasSignature(_ bytes: [UInt8]) -> Bool {
        bytes.count >= signature.count && Array(bytes.prefix(signature.count)) == signature
    }

    /// Decodes a JPEG image held in memory.
    ///
    /// - Throws: ``SPConvLabError`` of kind `invalidInput` naming `source` when the bytes are not
    ///   a JPEG, are corrupt or truncated, use CMYK, or declare an image beyond `limits`.
    public static func decode(_ bytes: [UInt8], source: String = "JPEG data", limits: Limits = .default) throws -> Image8 {
        guard hasSignature(bytes) else {
            let head = bytes.prefix(4).map { String(format: "%02X", $0) }.joined(separator: " ")
            let found = bytes.isEmpty ? "it is empty" : "it starts with bytes \(head)"
            throw SPConvLabError(.invalidInput,
                "'\(source)' is not a JPEG file: \(found), not the start-of-image marker FF D8 FF; only PNG and JPEG images are accepted")
        }
        guard bytes.count <= Int(UInt32.max) else {
            throw SPConvLabError(.invalidInput, "'\(source)' is \(bytes.count) bytes, more than a JPEG decoder accepts (4 GiB)")
        }
        guard let handle = tjInitDecompress() else {
            throw SPConvLabError(.invalidInput, "cannot decode '\(source)': TurboJPEG could not start a decoder")
        }
        defer { tjDestroy(handle) }
        func failure(_ what: String) -> SPConvLabError {
            let reason = String(cString: tjGetErrorStr2(handle))
            return SPConvLabError(.invalidInput, "'\(source)' is not a readable JPEG file (\(what): \(reason)); the file may be truncated or corrupt")
        }
        return try bytes.withUnsafeBufferPointer { buffer -> Image8 in
            var (width, height, subsampling, colorspace): (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
            guard tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace) == 0 else {
                throw failure("reading its header")
            }
            try PNGCodec.check(width: Int(width), height: Int(height), against: limits, source: source)
            guard width > 0, height > 0 else { throw failure("its header declares \(width)x\(height) pixels") }
            let layout: Image8.Layout
            let pixelFormat: TJPF
            switch TJCS(UInt32(colorspace)) {
            case TJCS_GRAY: (layout, pixelFormat) = (.gray, TJPF_GRAY)
            case TJCS_CMYK, TJCS_YCCK:
                throw SPConvLabError(.invalidInput,
                    "'\(source)' is a CMYK JPEG; only grayscale and colour (YCbCr or RGB) JPEGs are accepted (convert it to RGB first)")
            default: (layout, pixelFormat) = (.rgb, TJPF_RGB)
            }
            var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * layout.channels)
            let flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS
            let code = pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, buffer.baseAddress, UInt(buffer.count), out.baseAddress, width, 0, height,
                              Int32(pixelFormat.rawValue), Int32(flags))
            }
            guard code == 0 else { throw failure("decoding its pixels") }
            return Image8(width: Int(width), height: Int(height), layout: layout, pixels: pixels)
        }
    }

    /// Reads and decodes the JPEG file at `path`, refusing a file larger than any image within
    /// `limits` could be before reading it.
    public static func read(from path: String, limits: Limits = .default) throws -> Image8 {
        let file = try FileBytes.Reader(path: path)
        guard file.size <= PNGCodec.maximumFileSize(for: limits) else {
            throw SPConvLabError(.invalidInput,
                "'\(path)' is \(file.size) bytes, more than any JPEG within the accepted maximum of \(limits.maxPixelCount) pixels could need; only images within the limits are accepted")
        }
        return try decode(try file.readAll(), source: path, limits: limits)
    }
}

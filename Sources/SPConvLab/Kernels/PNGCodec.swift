import CPNG
import Foundation
import SPConvCore

/// Decodes PNG files to ``Image8`` and encodes ``Image8`` back to PNG, through libpng's
/// simplified API.
///
/// The simplified API (`png_image_*`) reports failures through `png_image.message` and return
/// codes and never `longjmp`s across Swift frames, which makes it the only libpng entry point
/// this module uses. All libpng calls and raw pointers stay inside this file.
///
/// Decoding rules:
/// - The colour type of the file is kept (see ``Image8``): gray, gray+alpha, RGB and RGBA map
///   to the same ``Image8/Layout``; a palette image is expanded to RGB, or RGBA when its palette
///   has transparency; a `tRNS` chunk on a gray or RGB image adds an alpha channel.
/// - 16-bit samples are reduced to 8 bits by scaling, `round(v * 255 / 65535)`; 16-bit files are
///   taken to be sRGB-encoded like 8-bit ones (`PNG_IMAGE_FLAG_16BIT_sRGB`), so no gamma curve
///   is applied. A file whose `gAMA`/`sRGB` chunks state a gamma other than sRGB's is converted
///   to sRGB encoding by libpng; files without such chunks are taken as sRGB. ICC profiles are
///   not applied.
/// - Interlaced files are de-interlaced.
/// - Hostile input is refused with ``SPConvLabError/Kind/invalidInput`` before any pixel memory
///   is allocated: data without the PNG signature, a truncated or corrupt file (a chunk that
///   claims more bytes than follow it is refused before libpng allocates by its length), and a
///   header that declares more than ``Limits/maxDimension`` pixels per side or
///   ``Limits/maxPixelCount`` pixels in total.
public enum PNGCodec {
    /// The largest image a decoder accepts, checked against the file header before allocating.
    public struct Limits: Sendable, Equatable {
        /// Largest accepted width and height, in pixels.
        public var maxDimension: Int
        /// Largest accepted `width * height`.
        public var maxPixelCount: Int

        /// Creates limits; both must be positive.
        public init(maxDimension: Int, maxPixelCount: Int) {
            precondition(maxDimension > 0 && maxPixelCount > 0,
                         "PNG limits must be positive, got \(maxDimension) per side and \(maxPixelCount) pixels")
            self.maxDimension = maxDimension
            self.maxPixelCount = maxPixelCount
        }

        /// 16384 pixels per side and 256 Mi (268,435,456) pixels in total: at most 1 GiB of RGBA.
        public static let `default` = Limits(maxDimension: 16_384, maxPixelCount: 256 << 20)
    }

    /// The eight bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Returns whether `bytes` starts with the PNG signature.
    public static func hasSignature(_ bytes: [UInt8]) -> Bool {
        bytes.count >= signature.count && Array(bytes.prefix(signature.count)) == signature
    }

    // MARK: - Decoding

    /// Decodes a PNG image held in memory.
    ///
    /// - Parameters:
    ///   - bytes: The complete PNG file.
    ///   - source: Where the bytes came from (usually a file path); error messages name it.
    ///   - limits: The largest image accepted.
    /// - Returns: The pixels, in the layout of the file's colour type (see ``PNGCodec``).
    /// - Throws: ``SPConvLabError`` of kind `invalidInput` when the bytes are not a PNG, are
    ///   truncated or corrupt, or declare an image larger than `limits`.
    public static func decode(_ bytes: [UInt8], source: String = "PNG data",
                              limits: Limits = .default) throws -> Image8 {
        guard hasSignature(bytes) else {
            let head = bytes.prefix(8).map { hex($0) }.joined(separator: " ")
            let found = bytes.isEmpty ? "it is empty" : "it starts with bytes \(head)"
            throw SPConvLabError(.invalidInput,
                "'\(source)' is not a PNG file: \(found), not the PNG signature 89 50 4E 47 0D 0A 1A 0A; only PNG images are accepted")
        }
        try checkChunkLengths(bytes, source: source)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        // libpng reads from `bytes` during both calls, so both happen inside one closure.
        return try bytes.withUnsafeBytes { raw -> Image8 in
            guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
                let reason = libpngMessage(image)
                png_image_free(&image)
                throw damaged(source, reason)
            }
            let width = Int(image.width)
            let height = Int(image.height)
            do {
                try check(width: width, height: height, against: limits, source: source)
            } catch {
                png_image_free(&image)
                throw error
            }
            let fileFormat = image.format
            let layout: Image8.Layout
            switch (fileFormat & formatFlagColor != 0, fileFormat & formatFlagAlpha != 0) {
            case (false, false): layout = .gray
            case (false, true): layout = .grayAlpha
            case (true, false): layout = .rgb
            case (true, true): layout = .rgba
            }
            image.format = format(of: layout)
            image.flags |= imageFlag16BitSRGB
            let rowBytes = width * layout.channels
            var pixels = [UInt8](repeating: 0, count: rowBytes * height)
            let finished = pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&image, nil, out.baseAddress, Int32(rowBytes), nil)
            }
            guard finished != 0 else {
                let reason = libpngMessage(image)
                png_image_free(&image)
                throw damaged(source, reason)
            }
            png_image_free(&image)
            return Image8(width: width, height: height, layout: layout, pixels: pixels)
        }
    }

    /// Reads and decodes the PNG file at `path`.
    ///
    /// - Throws: ``SPConvLabError`` of kind `io` when the file cannot be read, and the errors of
    ///   ``decode(_:source:limits:)`` otherwise.
    public static func read(from path: String, limits: Limits = .default) throws -> Image8 {
        let file = try FileBytes.Reader(path: path)
        // The signature and the IHDR chunk's width and height come first in every PNG: refuse an
        // image beyond the limits before reading the rest of the file.
        let head = try file.read(0..<24)
        if hasSignature(head), head.count == 24, Array(head[12..<16]) == Array("IHDR".utf8) {
            let width = head[16..<20].reduce(0) { $0 << 8 | Int($1) }
            let height = head[20..<24].reduce(0) { $0 << 8 | Int($1) }
            try check(width: width, height: height, against: limits, source: path)
        }
        guard file.size <= maximumFileSize(for: limits) else {
            throw SPConvLabError(.invalidInput,
                "'\(path)' is \(file.size) bytes, more than any PNG within the accepted maximum of \(limits.maxPixelCount) pixels could need (\(maximumFileSize(for: limits)) bytes); only PNG images within the limits are accepted")
        }
        return try decode(try file.readAll(), source: path, limits: limits)
    }

    /// The largest PNG file that can hold an image within `limits`: 8 bytes per RGBA16 pixel plus
    /// deflate's worst-case growth and room for ancillary chunks.
    package static func maximumFileSize(for limits: Limits) -> Int {
        let raw = limits.maxPixelCount.multipliedReportingOverflow(by: 8)
        return raw.overflow ? Int.max : raw.partialValue + raw.partialValue / 100 + (16 << 20)
    }

    package static func check(width: Int, height: Int, against limits: Limits, source: String) throws {
        let pixels = width.multipliedReportingOverflow(by: height)
        guard width <= limits.maxDimension, height <= limits.maxDimension,
              !pixels.overflow, pixels.partialValue <= limits.maxPixelCount else {
            let count = pixels.overflow ? "more than \(Int.max)" : "\(pixels.partialValue)"
            throw SPConvLabError(.invalidInput,
                "'\(source)' declares a \(width)x\(height) PNG image (\(count) pixels), more than the accepted maximum of \(limits.maxDimension) pixels per side and \(limits.maxPixelCount) pixels in total")
        }
    }

    // MARK: - Encoding

    /// Encodes an image as an 8-bit PNG of the same layout (gray, gray+alpha, RGB or RGBA).
    ///
    /// A pure function: the same image always gives the same bytes, so tests can compare them.
    /// No gamma or colour-profile chunk is written beyond what libpng adds for sRGB data.
    ///
    /// - Returns: The complete PNG file.
    /// - Throws: ``SPConvLabError`` of kind `invalidInput` when libpng refuses the image
    ///   (for example a width beyond the PNG format's limit).
    public static func encode(_ image: Image8) throws -> [UInt8] {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(clamping: image.width)
        png.height = UInt32(clamping: image.height)
        png.format = format(of: image.layout)
        let rowBytes = Int32(clamping: image.width * image.channels)
        return try image.pixels.withUnsafeBytes { input -> [UInt8] in
            var size = 0
            // The first call, without an output buffer, measures the encoded size.
            guard png_image_write_to_memory(&png, nil, &size, 0, input.baseAddress, rowBytes, nil) != 0 else {
                throw unencodable(image, libpngMessage(png))
            }
            var output = [UInt8](repeating: 0, count: size)
            let written = output.withUnsafeMutableBytes { out in
                png_image_write_to_memory(&png, out.baseAddress, &size, 0, input.baseAddress, rowBytes, nil)
            }
            guard written != 0 else { throw unencodable(image, libpngMessage(png)) }
            return Array(output.prefix(size))
        }
    }

    /// Encodes `image` and writes it to `path`, replacing any existing file atomically.
    ///
    /// The bytes go to a temporary file in the destination folder, which is then renamed over
    /// `path`, so readers never see a half-written image.
    ///
    /// - Throws: the errors of ``encode(_:)``, and ``SPConvLabError`` of kind `io` when the file
    ///   cannot be written or renamed.
    public static func write(_ image: Image8, to path: String) throws {
        let bytes = try encode(image)
        let destination = URL(fileURLWithPath: path)
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(UInt64.random(in: 0 ... .max)).tmp")
        do {
            try Data(bytes).write(to: temporary)
        } catch {
            throw SPConvLabError(.io,
                "cannot write PNG file '\(path)': writing the temporary file '\(temporary.path)' failed: \(error.localizedDescription); the destination folder must exist and be writable")
        }
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SPConvLabError(.io,
                "cannot write PNG file '\(path)': renaming the temporary file '\(temporary.path)' over it failed: \(reason); the destination must be a writable file path")
        }
    }

    /// Refuses data whose chunks, up to `IEND`, claim more bytes than follow them.
    ///
    /// libpng's simplified API takes "chunk data is too large" as a warning and allocates what an
    /// ancillary chunk's length field says (`sCAL`: up to 2 GiB, for a 129-byte file) before it
    /// finds the data missing. Data held in memory bounds every real chunk, so the lengths are
    /// checked here first; libpng would refuse such a file anyway, only later.
    private static func checkChunkLengths(_ bytes: [UInt8], source: String) throws {
        var offset = signature.count
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = bytes[(offset + 4)..<(offset + 8)]
            let following = bytes.count - offset - 8
            guard length <= following else {
                let name = String(type.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "?" })
                throw SPConvLabError(.invalidInput,
                    "'\(source)' is a truncated or corrupt PNG file: its '\(name)' chunk at byte \(offset) declares \(length) bytes of data but only \(following) bytes follow; a complete, valid PNG file is required")
            }
            if type.elementsEqual("IEND".utf8) { return }
            offset += 12 + length
        }
    }

    // MARK: - libpng glue

    // `png_image.format` bits (png.h: PNG_FORMAT_FLAG_*).
    private static let formatFlagAlpha: UInt32 = 0x01
    private static let formatFlagColor: UInt32 = 0x02
    // png.h: PNG_IMAGE_FLAG_16BIT_sRGB, "16-bit data is sRGB-encoded, not linear".
    private static let imageFlag16BitSRGB: UInt32 = 0x04

    private static func format(of layout: Image8.Layout) -> UInt32 {
        (layout.hasAlpha ? formatFlagAlpha : 0) | (layout.isColor ? formatFlagColor : 0)
    }

    /// The NUL-terminated text libpng left in `image.message`.
    private static func libpngMessage(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            let text = raw.prefix { $0 != 0 }
            return text.isEmpty ? "no reason given" : String(decoding: text, as: UTF8.self)
        }
    }

    private static func damaged(_ source: String, _ reason: String) -> SPConvLabError {
        SPConvLabError(.invalidInput,
            "'\(source)' is a truncated or corrupt PNG file: libpng reported \"\(reason)\"; a complete, valid PNG file is required")
    }

    private static func unencodable(_ image: Image8, _ reason: String) -> SPConvLabError {
        SPConvLabError(.invalidInput,
            "cannot encode a \(image.width)x\(image.height) \(image.layout) image as PNG: libpng reported \"\(reason)\"; images up to 2^31-1 bytes per row are accepted")
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

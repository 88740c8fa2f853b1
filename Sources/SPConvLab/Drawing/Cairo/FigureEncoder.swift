import CCairo
import Foundation

/// Writes a ``Figure`` as PNG, SVG or PDF bytes, or rasterises it for inspection.
///
/// Every format is drawn by the same code from the same shapes. PNGs are drawn at
/// ``pngScale`` times the figure's size (crisp on high-density screens; a figure whose sides would
/// pass ``maximumPNGSide`` pixels is drawn at a smaller whole scale, down to 1). SVGs hold glyph
/// outlines, so they show DejaVu Sans without the font installed, and mark embedded rasters
/// `image-rendering: pixelated` because cairo 1.16's SVG writer drops the nearest-neighbour filter.
/// PDFs embed a subset of DejaVu Sans and draw rasters without interpolation.
public enum FigureEncoder {
    /// How many device pixels a figure pixel becomes in a PNG.
    public static let pngScale = 2
    /// The longest PNG side drawn at ``pngScale``; larger figures are drawn at a smaller scale.
    public static let maximumPNGSide = 16_384
    /// cairo's limit on an image side.
    static let cairoMaximumSide = 32_767

    /// The figure in `format`.
    ///
    /// - Throws: ``DrawingError`` when the figure is too large for a PNG or cairo fails.
    public static func encode(_ figure: Figure, as format: FigureFormat, title: String? = nil) throws -> [UInt8] {
        switch format {
        case .png:
            let scale = pngScale(for: figure)
            let (surface, context) = try makeImage(figure, scale: scale)
            defer {
                cairo_destroy(context)
                cairo_surface_destroy(surface)
            }
            let sink = CairoBackend.ByteSink()
            try CairoBackend.check(cairo_surface_write_to_png_stream(surface, CairoBackend.write, Unmanaged.passUnretained(sink).toOpaque()),
                                   "write a PNG")
            return sink.bytes
        case .svg:
            let bytes = try drawVector(figure) { sink in
                cairo_svg_surface_create_for_stream(CairoBackend.write, sink, figure.width, figure.height)
            }
            return pixelatedImages(bytes)
        case .pdf:
            return try drawVector(figure) { sink in
                let surface = cairo_pdf_surface_create_for_stream(CairoBackend.write, sink, figure.width, figure.height)
                cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "probe-cli (SPConvLab)")
                if let title { cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title) }
                return surface
            }
        }
    }

    /// The figure drawn at `scale` device pixels per figure pixel, as an opaque RGB raster.
    ///
    /// - Throws: ``DrawingError`` when the raster would pass cairo's size limit or cairo fails.
    public static func rasterize(_ figure: Figure, scale: Int = 1) throws -> Raster {
        let (surface, context) = try makeImage(figure, scale: scale)
        defer {
            cairo_destroy(context)
            cairo_surface_destroy(surface)
        }
        let width = Int(cairo_image_surface_get_width(surface)), height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else {
            throw DrawingError("cairo gave no pixel memory for a \(width)x\(height) image.")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let row = (data + y * stride).withMemoryRebound(to: UInt32.self, capacity: width) { $0 }
            for x in 0..<width {
                let value = row[x], i = (y * width + x) * 3
                pixels[i] = UInt8((value >> 16) & 0xFF)
                pixels[i + 1] = UInt8((value >> 8) & 0xFF)
                pixels[i + 2] = UInt8(value & 0xFF)
            }
        }
        return Raster(width: width, height: height, layout: .rgb, pixels: pixels)
    }

    /// The scale a PNG of `figure` is drawn at: ``pngScale``, less for very large figures.
    public static func pngScale(for figure: Figure) -> Int {
        let longest = max(figure.width, figure.height)
        var scale = pngScale
        while scale > 1 && longest * Double(scale) > Double(maximumPNGSide) { scale -= 1 }
        return scale
    }

    // MARK: - Surfaces

    static func makeImage(_ figure: Figure, scale: Int) throws -> (OpaquePointer, OpaquePointer) {
        precondition(scale >= 1, "a raster scale is at least 1, got \(scale)")
        let width = (figure.width * Double(scale)).rounded(.up), height = (figure.height * Double(scale)).rounded(.up)
        guard width <= Double(cairoMaximumSide) && height <= Double(cairoMaximumSide) else {
            throw DrawingError("A \(Int(width))x\(Int(height))-pixel picture is larger than cairo can draw (\(cairoMaximumSide) pixels a side); draw a smaller figure or write SVG or PDF.")
        }
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))!
        if cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS {
            let status = cairo_surface_status(surface)
            cairo_surface_destroy(surface)
            try CairoBackend.check(status, "make a \(Int(width))x\(Int(height)) picture")
        }
        let context = cairo_create(surface)!
        cairo_scale(context, Double(scale), Double(scale))
        do {
            try CairoBackend.draw(figure, on: context)
        } catch {
            cairo_destroy(context)
            cairo_surface_destroy(surface)
            throw error
        }
        cairo_surface_flush(surface)
        return (surface, context)
    }

    static func drawVector(_ figure: Figure, makeSurface: (UnsafeMutableRawPointer) -> OpaquePointer?) throws -> [UInt8] {
        let sink = CairoBackend.ByteSink()
        let surface = makeSurface(Unmanaged.passUnretained(sink).toOpaque())!
        let context = cairo_create(surface)!
        var failure: Error?
        do { try CairoBackend.draw(figure, on: context) } catch { failure = error }
        cairo_destroy(context)
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        cairo_surface_destroy(surface)
        if let failure { throw failure }
        try CairoBackend.check(status, "finish the vector picture")
        return withExtendedLifetime(sink) { sink.bytes }
    }

    /// The SVG with every `<image` element marked to be drawn without smoothing.
    static func pixelatedImages(_ bytes: [UInt8]) -> [UInt8] {
        let svg = String(decoding: bytes, as: UTF8.self)
        let marked = svg.replacingOccurrences(
            of: "<image ", with: "<image image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" ")
        return Array(marked.utf8)
    }
}

import CCairo
import Foundation

/// The only code that talks to cairo: it turns ``Figure`` shapes into cairo calls and measures
/// text with the same font machinery, so what layout code measures is what gets drawn.
enum CairoBackend {
    /// Collects the bytes cairo writes to a stream surface.
    final class ByteSink {
        var bytes: [UInt8] = []
    }

    /// The stream callback handed to cairo; `closure` is an unretained ``ByteSink``.
    static let write: cairo_write_func_t = { closure, data, length in
        guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
        let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
        return CAIRO_STATUS_SUCCESS
    }

    /// Throws when `status` is not success, naming what was being done.
    static func check(_ status: cairo_status_t, _ what: String) throws {
        guard status != CAIRO_STATUS_SUCCESS else { return }
        let reason = String(cString: cairo_status_to_string(status))
        throw DrawingError("cairo could not \(what): \(reason).")
    }

    // MARK: - Text

    static func selectFont(_ font: Font, on context: OpaquePointer) {
        cairo_select_font_face(context, Font.family, CAIRO_FONT_SLANT_NORMAL,
                               font.weight == .bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, font.size)
    }

    /// The advance width, ascent and descent of `string` set in `font`.
    static func measure(_ string: String, font: Font) -> TextExtent {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1)
        let context = cairo_create(surface)!
        defer {
            cairo_destroy(context)
            cairo_surface_destroy(surface)
        }
        return measure(string, font: font, on: context)
    }

    static func measure(_ string: String, font: Font, on context: OpaquePointer) -> TextExtent {
        selectFont(font, on: context)
        var fontExtents = cairo_font_extents_t()
        cairo_font_extents(context, &fontExtents)
        var textExtents = cairo_text_extents_t()
        cairo_text_extents(context, string, &textExtents)
        return TextExtent(width: textExtents.x_advance, ascent: fontExtents.ascent, descent: fontExtents.descent)
    }

    // MARK: - Drawing

    static func setColor(_ color: Color, on context: OpaquePointer) {
        cairo_set_source_rgba(context, Double(color.red) / 255, Double(color.green) / 255,
                              Double(color.blue) / 255, Double(color.alpha) / 255)
    }

    /// Fills and then strokes the current path.
    static func paintPath(fill: Color?, stroke: Stroke?, on context: OpaquePointer) {
        if let fill {
            setColor(fill, on: context)
            if stroke == nil { cairo_fill(context) } else { cairo_fill_preserve(context) }
        }
        if let stroke {
            setColor(stroke.color, on: context)
            cairo_set_line_width(context, stroke.width)
            stroke.dash.withUnsafeBufferPointer { cairo_set_dash(context, $0.baseAddress, Int32($0.count), 0) }
            cairo_stroke(context)
        }
        cairo_new_path(context)
    }

    /// Draws every shape of `figure` on `context`, whose user space is the figure's.
    static func draw(_ figure: Figure, on context: OpaquePointer) throws {
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_BUTT)
        if figure.background.alpha > 0 {
            setColor(figure.background, on: context)
            cairo_paint(context)
        }
        for shape in figure.shapes {
            switch shape {
            case .rectangle(let rect, let fill, let stroke):
                cairo_rectangle(context, rect.x, rect.y, rect.width, rect.height)
                paintPath(fill: fill, stroke: stroke, on: context)
            case .path(let points, let closed, let fill, let stroke):
                guard let first = points.first else { continue }
                cairo_move_to(context, first.x, first.y)
                for point in points.dropFirst() { cairo_line_to(context, point.x, point.y) }
                if closed { cairo_close_path(context) }
                paintPath(fill: fill, stroke: stroke, on: context)
            case .circle(let center, let radius, let fill, let stroke):
                cairo_new_sub_path(context)
                cairo_arc(context, center.x, center.y, radius, 0, 2 * Double.pi)
                paintPath(fill: fill, stroke: stroke, on: context)
            case .text(let run):
                drawText(run, on: context)
            case .raster(let raster, let rect):
                try drawRaster(raster, in: rect, on: context)
            }
        }
        try check(cairo_status(context), "draw the figure")
    }

    static func drawText(_ run: TextRun, on context: OpaquePointer) {
        let extent = measure(run.string, font: run.font, on: context)
        let dx: Double
        switch run.anchor {
        case .start: dx = 0
        case .middle: dx = -extent.width / 2
        case .end: dx = -extent.width
        }
        let dy: Double
        switch run.baseline {
        case .top: dy = extent.ascent
        case .middle: dy = (extent.ascent - extent.descent) / 2
        case .alphabetic: dy = 0
        case .bottom: dy = -extent.descent
        }
        cairo_save(context)
        cairo_translate(context, run.position.x, run.position.y)
        if run.rotation == .up { cairo_rotate(context, -Double.pi / 2) }
        setColor(run.color, on: context)
        cairo_move_to(context, dx, dy)
        cairo_show_text(context, run.string)
        cairo_new_path(context)
        cairo_restore(context)
    }

    /// Draws `raster` stretched over `rect` with nearest-neighbour sampling.
    static func drawRaster(_ raster: Raster, in rect: Rect, on context: OpaquePointer) throws {
        guard rect.width > 0 && rect.height > 0 else { return }
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(raster.width), Int32(raster.height))
        defer { cairo_surface_destroy(surface) }
        try check(cairo_surface_status(surface), "make a \(raster.width)x\(raster.height) image")
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else {
            throw DrawingError("cairo gave no pixel memory for a \(raster.width)x\(raster.height) image.")
        }
        raster.pixels.withUnsafeBufferPointer { source in
            let channels = raster.layout.channels
            for y in 0..<raster.height {
                let row = (data + y * stride).withMemoryRebound(to: UInt32.self, capacity: raster.width) { $0 }
                for x in 0..<raster.width {
                    let s = (y * raster.width + x) * channels
                    let (r, g, b) = channels == 1 ? (source[s], source[s], source[s]) : (source[s], source[s + 1], source[s + 2])
                    row[x] = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
                }
            }
        }
        cairo_surface_mark_dirty(surface)
        cairo_save(context)
        cairo_translate(context, rect.x, rect.y)
        cairo_scale(context, rect.width / Double(raster.width), rect.height / Double(raster.height))
        cairo_set_source_surface(context, surface, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
        cairo_rectangle(context, 0, 0, Double(raster.width), Double(raster.height))
        cairo_fill(context)
        cairo_restore(context)
    }
}

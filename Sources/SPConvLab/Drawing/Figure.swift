/// A picture described as shapes in drawing order, written as PNG, SVG or PDF by ``FigureEncoder``.
///
/// Coordinates are in pixels at 1x with the origin at the top left and y growing downwards. A
/// figure is a plain value: renderers build one, tests look at its shapes, and the encoder draws
/// the same shapes with cairo into every format, so a PNG, an SVG and a PDF of one figure agree.
/// Lines, curves and text are anti-aliased; ``Raster`` images are sampled nearest-neighbour.
public struct Figure: Sendable {
    public let width: Double
    public let height: Double
    public var background: Color
    public private(set) var shapes: [Shape] = []

    /// Creates an empty figure.
    ///
    /// - Precondition: `width` and `height` are positive and finite.
    public init(width: Double, height: Double, background: Color = .white) {
        precondition(width > 0 && height > 0 && width.isFinite && height.isFinite,
                     "a figure needs a positive, finite size, got \(width) x \(height)")
        self.width = width
        self.height = height
        self.background = background
    }

    /// Appends `shape`, drawn over everything before it.
    public mutating func add(_ shape: Shape) { shapes.append(shape) }

    /// Appends every shape of `other`, moved by (`dx`, `dy`).
    public mutating func add(_ other: [Shape], offsetBy dx: Double, _ dy: Double) {
        shapes += other.map { $0.offset(by: dx, dy) }
    }

    // MARK: - Conveniences

    /// A filled rectangle.
    public mutating func fill(_ rect: Rect, _ color: Color) {
        add(.rectangle(rect, fill: color, stroke: nil))
    }

    /// A rectangle outline whose line is centred on the rectangle's edge.
    public mutating func stroke(_ rect: Rect, _ stroke: Stroke) {
        add(.rectangle(rect, fill: nil, stroke: stroke))
    }

    /// A straight line from `start` to `end`.
    public mutating func line(from start: Point, to end: Point, _ stroke: Stroke) {
        add(.path([start, end], closed: false, fill: nil, stroke: stroke))
    }

    /// A line through `points` in order.
    public mutating func polyline(_ points: [Point], _ stroke: Stroke) {
        guard points.count >= 2 else { return }
        add(.path(points, closed: false, fill: nil, stroke: stroke))
    }

    /// One line of text.
    public mutating func text(_ string: String, at position: Point, font: Font, color: Color = .black,
                              anchor: TextAnchor = .start, baseline: TextBaseline = .top, rotation: TextRotation = .none) {
        guard !string.isEmpty else { return }
        add(.text(TextRun(string: string, position: position, font: font, color: color,
                          anchor: anchor, baseline: baseline, rotation: rotation)))
    }

    /// `raster` stretched over `rect`, nearest-neighbour.
    public mutating func image(_ raster: Raster, in rect: Rect) {
        add(.raster(raster, rect))
    }
}

/// A point in figure coordinates.
public struct Point: Sendable, Equatable {
    public var x: Double
    public var y: Double

    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// An axis-aligned rectangle in figure coordinates.
public struct Rect: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var midX: Double { x + width / 2 }
    public var midY: Double { y + height / 2 }

    /// Whether `point` lies inside or on the edge.
    public func contains(_ point: Point) -> Bool {
        point.x >= x && point.x <= maxX && point.y >= y && point.y <= maxY
    }
}

/// How a line is drawn.
public struct Stroke: Sendable, Equatable {
    public var color: Color
    public var width: Double
    /// Lengths of dashes and gaps, alternating; empty for a solid line.
    public var dash: [Double]

    public init(_ color: Color, width: Double = 1, dash: [Double] = []) {
        self.color = color
        self.width = width
        self.dash = dash
    }
}

/// Where a text's position lies along its line.
public enum TextAnchor: Sendable, Equatable {
    case start
    case middle
    case end
}

/// Where a text's position lies across its line, using the font's ascent and descent.
public enum TextBaseline: Sendable, Equatable {
    case top
    case middle
    case alphabetic
    case bottom
}

/// A text's turn about its position.
public enum TextRotation: Sendable, Equatable {
    case none
    /// A quarter turn anticlockwise: the text reads upwards.
    case up
}

/// One line of text placed in a figure.
public struct TextRun: Sendable, Equatable {
    public var string: String
    public var position: Point
    public var font: Font
    public var color: Color
    public var anchor: TextAnchor
    public var baseline: TextBaseline
    public var rotation: TextRotation
}

/// One element of a ``Figure``.
public enum Shape: Sendable, Equatable {
    case rectangle(Rect, fill: Color?, stroke: Stroke?)
    /// A polyline, or a polygon when `closed`.
    case path([Point], closed: Bool, fill: Color?, stroke: Stroke?)
    case circle(center: Point, radius: Double, fill: Color?, stroke: Stroke?)
    case text(TextRun)
    case raster(Raster, Rect)

    /// The same shape moved by (`dx`, `dy`).
    public func offset(by dx: Double, _ dy: Double) -> Shape {
        func moved(_ point: Point) -> Point { Point(point.x + dx, point.y + dy) }
        func moved(_ rect: Rect) -> Rect { Rect(x: rect.x + dx, y: rect.y + dy, width: rect.width, height: rect.height) }
        switch self {
        case .rectangle(let rect, let fill, let stroke): return .rectangle(moved(rect), fill: fill, stroke: stroke)
        case .path(let points, let closed, let fill, let stroke): return .path(points.map(moved), closed: closed, fill: fill, stroke: stroke)
        case .circle(let center, let radius, let fill, let stroke): return .circle(center: moved(center), radius: radius, fill: fill, stroke: stroke)
        case .text(var run): run.position = moved(run.position); return .text(run)
        case .raster(let raster, let rect): return .raster(raster, moved(rect))
        }
    }
}

import Drawing
import SPConvLab

/// Turns one channel of a feature map into a gray picture for the grid and pair sheets.
enum FeatureMapTile {
    /// The `[C, H, W]` maps of one image, row-major, from a rank-3 tensor or a rank-4 one with N = 1.
    static func channelMaps(_ maps: Tensor) -> (scalars: [Float], channels: Int, height: Int, width: Int) {
        let maps = maps.rowMajor()
        let shape = maps.shape
        precondition(shape.count == 3 || (shape.count == 4 && shape[0] == 1),
                     "feature maps must be [C, H, W] for one image (or [1, C, H, W]), got shape \(shape)")
        let dims = Array(shape.suffix(3))
        precondition(dims.allSatisfy { $0 > 0 }, "feature maps must not be empty, got shape \(shape)")
        return (maps.scalars, dims[0], dims[1], dims[2])
    }

    /// Channel `channel` min-max normalised to an 8-bit gray raster.
    ///
    /// The smallest finite value becomes 0 and the largest 255; a constant map becomes mid gray
    /// (128) everywhere, and non-finite values are drawn black.
    static func grayImage(_ scalars: [Float], channel: Int, height: Int, width: Int) -> Raster {
        let start = channel * height * width
        let values = scalars[start..<start + height * width]
        var low = Float.infinity, high = -Float.infinity
        for v in values where v.isFinite {
            low = min(low, v)
            high = max(high, v)
        }
        let pixels: [UInt8] = values.map { v in
            guard v.isFinite else { return 0 }
            guard high > low else { return 128 }
            let u = (Double(v) - Double(low)) / (Double(high) - Double(low))
            return UInt8((u * 255).rounded())
        }
        return Raster(width: width, height: height, layout: .gray, pixels: pixels)
    }

    /// The smallest integer scale that makes the longer side of an `height` x `width` map at
    /// least `target` pixels (1 when it already is).
    static func scale(height: Int, width: Int, target: Int) -> Int {
        max(1, (target + max(height, width) - 1) / max(height, width))
    }

    /// A qualitative palette for clusters: matplotlib's `tab10` without its gray.
    static let clusterPalette: [Color] = [
        0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0xBCBD22, 0x17BECF,
    ].map { Color(hex: $0) }
}

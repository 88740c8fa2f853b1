import Testing
@testable import FeatureProbe

/// Colour maps against matplotlib: entries produced by
/// `python3 -c "from matplotlib import colormaps as c; r,g,b,_ = c['viridis'](64); print(round(r*255), round(g*255), round(b*255))"`.
@Suite struct ColormapTests {
    @Test(arguments: [
        (0.0, 68, 1, 84), (0.25, 59, 82, 139), (0.5, 33, 145, 140), (0.75, 94, 201, 98), (1.0, 253, 231, 37),
    ])
    func viridisMatchesMatplotlib(t: Double, red: Int, green: Int, blue: Int) {
        let (r, g, b) = Colormap.viridis.rgb(t)
        #expect([Int(r), Int(g), Int(b)] == [red, green, blue])
    }

    @Test(arguments: [
        (-1.0, 59, 76, 192), (-0.5, 141, 176, 254), (0.0, 221, 220, 220), (0.5, 244, 152, 122), (1.0, 180, 4, 38),
    ])
    func coolwarmMatchesMatplotlib(t: Double, red: Int, green: Int, blue: Int) {
        let (r, g, b) = Colormap.coolwarm.rgb(t)
        #expect([Int(r), Int(g), Int(b)] == [red, green, blue])
    }

    @Test func lookupFollowsMatplotlibsIndexRuleAndClamps() {
        #expect(Colormap.viridis.index(0) == 0)
        #expect(Colormap.viridis.index(0.5) == 128)
        #expect(Colormap.viridis.index(1) == 255)
        #expect(Colormap.viridis.index(-3) == 0)
        #expect(Colormap.viridis.index(7) == 255)
        #expect(Colormap.coolwarm.index(0) == 128)
        #expect(Colormap.viridis.index(.nan) == nil)
        #expect(Colormap.viridis.table.count == 256 && Colormap.coolwarm.table.count == 256)
    }

    @Test func nanIsAGrayNeitherMapUses() {
        let nan = Colormap.nanColor
        #expect(Colormap.viridis.rgb(.nan) == nan)
        let all = (Colormap.viridis.table + Colormap.coolwarm.table).map { entry in
            (UInt8(entry >> 16), UInt8((entry >> 8) & 0xFF), UInt8(entry & 0xFF))
        }
        #expect(!all.contains { $0 == nan })
    }

    @Test func viridisLightnessIncreasesMonotonically() {
        // Perceptual uniformity implies luminance rising from end to end.
        let luminance = Colormap.viridis.table.map { entry -> Double in
            0.2126 * Double(entry >> 16) + 0.7152 * Double((entry >> 8) & 0xFF) + 0.0722 * Double(entry & 0xFF)
        }
        #expect(zip(luminance, luminance.dropFirst()).allSatisfy { $0 <= $1 + 0.5 })
    }
}

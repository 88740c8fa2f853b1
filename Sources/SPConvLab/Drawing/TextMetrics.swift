/// Measures text the way ``FigureEncoder`` will draw it, for layout code.
public enum TextMetrics {
    /// The advance width, ascent and descent of one line of `string` in `font`.
    public static func measure(_ string: String, font: Font) -> TextExtent {
        CairoBackend.measure(string, font: font)
    }

    /// The advance width of one line of `string` in `font`.
    public static func width(_ string: String, font: Font) -> Double {
        measure(string, font: font).width
    }

    /// The widest of `strings` in `font`, 0 for none.
    public static func widest(_ strings: [String], font: Font) -> Double {
        strings.map { width($0, font: font) }.max() ?? 0
    }

    /// `string` cut at the end with "…" so that it is at most `maxWidth` wide (unchanged when it fits).
    public static func truncated(_ string: String, font: Font, maxWidth: Double, keepingEnd: Bool = false) -> String {
        guard width(string, font: font) > maxWidth else { return string }
        var characters = Array(string)
        while !characters.isEmpty {
            if keepingEnd { characters.removeFirst() } else { characters.removeLast() }
            let candidate = keepingEnd ? "…" + String(characters) : String(characters) + "…"
            if width(candidate, font: font) <= maxWidth { return candidate }
        }
        return "…"
    }

    /// `string` split greedily at spaces into lines of at most `maxWidth` (a word longer than a
    /// line stays whole on its own line).
    public static func wrapped(_ string: String, font: Font, maxWidth: Double) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in string.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if !current.isEmpty && width(candidate, font: font) > maxWidth {
                lines.append(current)
                current = word
            } else {
                current = candidate
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}

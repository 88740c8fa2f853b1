import ArgumentParser
import Drawing
import FeatureProbe

/// The file formats a command writes its figures in.
struct FigureOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Figure formats, comma-separated: png (2x, for screens), svg and pdf (vector, for papers). Default: png; demo: png,svg,pdf.",
        valueName: "formats"))
    var formats: String?

    func validate() throws {
        guard let formats else { return }
        do {
            _ = try FigureFiles.parseFormats(formats)
        } catch let error as FeatureProbeError {
            throw ValidationError(error.message)
        }
    }

    /// The parsed formats (validated already), or `defaults` when none were given.
    func list(defaults: [FigureFormat] = [.png]) -> [FigureFormat] {
        formats.flatMap { try? FigureFiles.parseFormats($0) } ?? defaults
    }
}

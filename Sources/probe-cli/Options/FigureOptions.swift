import ArgumentParser
import Drawing
import FeatureProbe

/// The file formats a command writes its figures in.
struct FigureOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Figure formats, comma-separated: png (2x, for screens), svg and pdf (vector, for papers).",
        valueName: "formats"))
    var formats: String = "png"

    func validate() throws {
        do {
            _ = try FigureFiles.parseFormats(formats)
        } catch let error as FeatureProbeError {
            throw ValidationError(error.message)
        }
    }

    /// The parsed formats (validated already).
    var list: [FigureFormat] { (try? FigureFiles.parseFormats(formats)) ?? [.png] }
}

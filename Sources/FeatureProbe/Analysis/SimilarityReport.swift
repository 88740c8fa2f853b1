import Drawing
import Foundation
import SPConvLab

/// Writes the outputs of a redundancy analysis into a folder:
/// - `<layer>.<metric>.csv`: the C x C matrix, no header, `%.6g` (and `.npy` with `includeNPY`);
/// - `<layer>.<metric>.png`: the heatmap, channels in clustered order unless `clusteredOrder` is off;
/// - `<layer>.grid.png`: the example image's feature maps, clusters marked (first metric's clusters);
/// - `<layer>.pairs.png`: the top pairs of the first metric, side by side;
/// - each figure also as `.svg` and `.pdf` when `formats` asks for them;
/// - `summary.csv`: one row per layer and metric (RFC 4180, header row).
/// Files are staged in a hidden folder and moved into place only when all are written, so a
/// failure leaves nothing half-written.
public struct SimilarityReport {
    public var includeNPY = false
    public var clusteredOrder = true
    public var topPairs = 8
    /// The formats of every figure (PNG, SVG, PDF), in file order.
    public var formats: [FigureFormat] = [.png]

    public init() {}

    public static let summaryHeader = ["model", "variant", "ratio", "groups", "layer", "channels", "images", "metric",
                                       "mean_abs_offdiag", "frac_above_threshold", "threshold", "duplicates", "dead",
                                       "clusters", "effective_rank", "suggested_ratio"]

    /// Every file name `write` may produce for these layers and metrics (to check targets up front).
    public func fileNames(layers: [String], metrics: [SimilarityMetric]) -> [String] {
        var names: [String] = []
        for layer in layers {
            for metric in metrics {
                let stem = "\(Self.fileStem(layer)).\(metric.rawValue)"
                names.append("\(stem).csv")
                names += figureNames(stem)
                if includeNPY { names.append("\(stem).npy") }
            }
            names += figureNames("\(Self.fileStem(layer)).grid") + figureNames("\(Self.fileStem(layer)).pairs")
        }
        return names + ["summary.csv"]
    }

    /// A layer's name as the start of a file name: a zoo path as it is, an ONNX node name
    /// (`/layer1/layer1.0/conv1/Conv`) without its first `/` and with the others as `_`.
    public static func fileStem(_ layer: String) -> String {
        String(layer.drop { $0 == "/" }).replacingOccurrences(of: "/", with: "_")
    }

    func figureNames(_ stem: String) -> [String] { formats.map { "\(stem).\($0.fileExtension)" } }

    /// The summary rows for `results`, in `summaryHeader` order.
    public static func summaryRows(_ results: [LayerRedundancy], spec: ModelSpec) -> [[String]] {
        summaryRows(results, model: ModelDescription(spec: spec))
    }

    /// The summary rows for `results` of the model `model` describes.
    public static func summaryRows(_ results: [LayerRedundancy], model: ModelDescription) -> [[String]] {
        results.flatMap { layer in
            SimilarityMetric.allCases.compactMap { metric -> [String]? in
                guard let s = layer.summaries[metric] else { return nil }
                return [model.architecture, model.variant,
                        model.ratio.map { CSVWriter.formatG6($0) } ?? "", model.groups.map { String($0) } ?? "",
                        layer.path, String(s.channels), String(s.images), metric.rawValue,
                        CSVWriter.formatG6(s.meanAbsOffDiagonal), CSVWriter.formatG6(s.fractionAboveThreshold),
                        CSVWriter.formatG6(s.threshold), String(s.duplicates), String(s.dead), String(s.clusters),
                        CSVWriter.formatG6(s.effectiveRank), CSVWriter.formatG6(s.suggestedRatio)]
            }
        }
    }

    /// Writes every file into `folder` (which must exist) and returns the file names written.
    public func write(_ results: [LayerRedundancy], spec: ModelSpec, to folder: String) throws -> [String] {
        try write(results, model: ModelDescription(spec: spec), to: folder)
    }

    /// `write(_:spec:to:)` for the model `model` describes (a zoo model or an imported one).
    public func write(_ results: [LayerRedundancy], model: ModelDescription, to folder: String) throws -> [String] {
        var files: [(name: String, bytes: [UInt8])] = []
        for layer in results {
            for metric in SimilarityMetric.allCases {
                guard let matrix = layer.matrices[metric], let summary = layer.summaries[metric] else { continue }
                let stem = "\(Self.fileStem(layer.path)).\(metric.rawValue)"
                files.append(("\(stem).csv", Array(CSVWriter.matrix(matrix.values, channels: matrix.channels).utf8)))
                if includeNPY {
                    files.append(("\(stem).npy", NPYFile.encode(Tensor(shape: [matrix.channels, matrix.channels], scalars: matrix.values))))
                }
                let order = clusteredOrder ? summary.clusteredOrder : nil
                let heatmap = HeatmapRenderer.render(
                    values: matrix.values, channels: matrix.channels, order: order,
                    title: "\(layer.path) · \(metric.rawValue) · \(matrix.images) images",
                    subtitle: "\(model.displayName); \(summary.clusters) clusters of \(summary.channels) at s ≥ \(summary.threshold); \(clusteredOrder ? "clustered" : "index") order",
                    clusterStarts: clusteredOrder ? SimilarityReport.clusterStarts(summary) : nil)
                files += try FigureFiles.encode(heatmap, stem: stem, formats: formats, title: "\(layer.path) · \(metric.rawValue)")
            }
            guard let maps = layer.exampleMaps, let first = SimilarityMetric.allCases.first(where: { layer.summaries[$0] != nil }),
                  let summary = layer.summaries[first], let matrix = layer.matrices[first] else { continue }
            let grid = FeatureGridRenderer.render(maps: maps, clusterOf: summary.clusterOfChannel,
                                                  title: "\(layer.path) · \(model.displayName) · \(summary.clusters) clusters (\(first.rawValue) ≥ \(summary.threshold))")
            files += try FigureFiles.encode(grid, stem: "\(Self.fileStem(layer.path)).grid", formats: formats)
            let pairs = SimilarityReport.topPairs(matrix, count: topPairs)
            if !pairs.isEmpty {
                let sheet = PairSheetRenderer.render(maps: maps, pairs: pairs, title: "\(layer.path) · most similar channel pairs (\(first.rawValue))")
                files += try FigureFiles.encode(sheet, stem: "\(Self.fileStem(layer.path)).pairs", formats: formats)
            }
        }
        files.append(("summary.csv", Array(CSVWriter.table(header: SimilarityReport.summaryHeader,
                                                            rows: SimilarityReport.summaryRows(results, model: model)).utf8)))
        try StagedFolder.write(files, into: folder)
        return files.map(\.name)
    }

    /// Display positions where each cluster starts, for outlines on the clustered heatmap.
    static func clusterStarts(_ summary: LayerSummary) -> [Int] {
        let clusterOf = summary.clusterOfChannel
        let order = summary.clusteredOrder
        return order.indices.filter { $0 == 0 || clusterOf[order[$0]] != clusterOf[order[$0 - 1]] }
    }

    /// The `count` channel pairs with the highest similarity (off the diagonal), highest first.
    static func topPairs(_ matrix: SimilarityMatrix, count: Int) -> [(Int, Int, Float)] {
        var pairs: [(Int, Int, Float)] = []
        let dead = Set(matrix.deadChannels)
        for i in 0..<matrix.channels where !dead.contains(i) {
            for j in (i + 1)..<max(matrix.channels, i + 1) where !dead.contains(j) { pairs.append((i, j, matrix[i, j])) }
        }
        return Array(pairs.sorted { $0.2 > $1.2 }.prefix(count))
    }
}

/// Writes a set of files into a folder all-or-nothing: into a hidden staging folder first, then
/// each renamed into place; on failure the staging folder is removed and nothing is left.
public enum StagedFolder {
    public static func write(_ files: [(name: String, bytes: [UInt8])], into folder: String) throws {
        try checkTargets(files.map(\.name), in: folder)
        let staging = URL(fileURLWithPath: folder).appendingPathComponent(".staging-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw FeatureProbeError("Cannot write into the output folder '\(folder)': \(error.localizedDescription). Give a folder you can write to.")
        }
        defer { try? FileManager.default.removeItem(at: staging) }
        for file in files {
            try FileBytes.writeAtomically(file.bytes, to: staging.appendingPathComponent(file.name).path)
        }
        for file in files {
            let target = URL(fileURLWithPath: folder).appendingPathComponent(file.name).path
            guard rename(staging.appendingPathComponent(file.name).path, target) == 0 else {
                throw FeatureProbeError("Cannot move '\(file.name)' into '\(folder)': \(String(cString: strerror(errno))).")
            }
        }
    }

    /// Refuses, before anything is written, when a file to be written exists as a folder.
    public static func checkTargets(_ names: [String], in folder: String) throws {
        for name in names {
            var isFolder: ObjCBool = false
            let target = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: target, isDirectory: &isFolder), isFolder.boolValue {
                throw FeatureProbeError("Cannot write '\(target)': a folder of that name is in the way. Remove it or choose another output folder; nothing was written.")
            }
        }
    }
}

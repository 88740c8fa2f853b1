import Foundation

extension SweepReport {
    /// Writes report files into `folder`, creating it and the subfolders their names need.
    ///
    /// Each folder's files are written all-or-nothing with ``StagedFolder/write(_:into:)``,
    /// subfolders first, so `index.html` (in `folder` itself) only appears once the pictures it
    /// shows are in place.
    ///
    /// - Parameters:
    ///   - files: `(name, bytes)` pairs as returned by ``files(runs:layerMetrics:similarity:title:generatedAt:)``;
    ///     names are relative paths with `/` separators and no `..`.
    ///   - folder: The report folder.
    /// - Throws: ``FeatureProbeError`` when a folder cannot be created or a file cannot be written.
    public static func write(_ files: [(name: String, bytes: [UInt8])], into folder: String) throws {
        var groups: [String: [(name: String, bytes: [UInt8])]] = [:]
        for file in files {
            let parts = file.name.split(separator: "/").map(String.init)
            guard !parts.isEmpty, !parts.contains(".."), !file.name.hasPrefix("/") else {
                throw FeatureProbeError("Cannot write the report file '\(file.name)': names must be relative paths inside the report folder.")
            }
            groups[parts.dropLast().joined(separator: "/"), default: []].append((parts.last!, file.bytes))
        }
        for subfolder in groups.keys.sorted(by: { ($0.isEmpty ? 1 : 0, $0) < ($1.isEmpty ? 1 : 0, $1) }) {
            let path = subfolder.isEmpty ? folder : URL(fileURLWithPath: folder).appendingPathComponent(subfolder).path
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw FeatureProbeError("Cannot create the report folder '\(path)': \(error.localizedDescription). Give an --out folder you can write to.")
            }
            try StagedFolder.write(groups[subfolder]!, into: path)
        }
    }
}

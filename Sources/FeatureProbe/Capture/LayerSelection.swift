import Foundation
import SPConvLab

/// Resolves a user's layer list to module paths of a network.
///
/// A list is comma-separated; each item is
/// - a dotted PyTorch path (`layer1.0.conv1`, `features.3`, `layer1.0.conv1.gwc`),
/// - a glob over paths, where `*` matches within one dotted component and `**` across
///   components, `?` one character (`layer*.*.conv2`, `layer2.**.gwc`),
/// - or a named set: `convs` (every convolution or SPConv output, not the convs inside an SPConv),
///   `blocks` (every residual block, or every VGG stage, which ends at its max pool), `all` (every module).
/// The result keeps the network's module order and has no duplicates.
public struct LayerSelection: Sendable, Equatable {
    public let paths: [String]

    public static let namedSets = ["convs", "blocks", "all"]

    /// A selection already resolved (the ONNX resolver's).
    init(paths: [String]) { self.paths = paths }

    /// - Parameter featureMapsOnly: when true, the named set `all` means every module whose output
    ///   is a feature map `[N, C, H, W]` (so not the classifier's `fc`), for analyses of feature
    ///   maps; paths and patterns named explicitly are kept as given.
    /// - Throws: `FeatureProbeError` naming an item that matches nothing, with the nearest valid paths.
    public init(_ list: String, in network: Network, featureMapsOnly: Bool = false) throws {
        let modules = network.root.namedModules().filter { !$0.path.isEmpty }
        let shapes = featureMapsOnly ? try network.outputShapes() : [:]
        let allPaths = modules.map(\.path)
        var chosen = Set<String>()
        let items = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            throw FeatureProbeError("The layer list '\(list)' names no layer; give dotted paths (layer1.0.conv1), globs (layer*.*.conv2) or one of \(LayerSelection.namedSets.joined(separator: ", ")).")
        }
        for item in items {
            let matches: [String]
            switch item {
            case "all": matches = featureMapsOnly ? allPaths.filter { shapes[$0]?.count == 4 } : allPaths
            case "convs": matches = LayerSelection.convolutions(modules)
            case "blocks": matches = LayerSelection.blocks(modules, network: network)
            default:
                if item.contains("*") || item.contains("?") {
                    matches = allPaths.filter { LayerSelection.glob(item, matches: $0) }
                    guard !matches.isEmpty else {
                        throw FeatureProbeError("The layer pattern '\(item)' matches no module of \(network.spec.displayName). Module paths look like \(LayerSelection.nearest(to: item, in: allPaths).joined(separator: ", ")); '*' matches within one dotted part, '**' across parts.")
                    }
                } else {
                    guard allPaths.contains(item) else {
                        throw FeatureProbeError("\(network.spec.displayName) has no module '\(item)'. Nearest valid paths: \(LayerSelection.nearest(to: item, in: allPaths).joined(separator: ", ")). Named sets: \(LayerSelection.namedSets.joined(separator: ", ")).")
                    }
                    matches = [item]
                }
            }
            chosen.formUnion(matches)
        }
        paths = allPaths.filter { chosen.contains($0) }
    }

    /// Convolutions and SPConv layers, excluding the convolutions inside an SPConv.
    static func convolutions(_ modules: [(path: String, layer: any Layer)]) -> [String] {
        let spconvPaths = modules.filter { $0.layer is SPConv }.map(\.path)
        return modules.filter { module in
            if module.layer is SPConv { return true }
            guard module.layer is Conv2D else { return false }
            return !spconvPaths.contains { module.path.hasPrefix($0 + ".") }
        }.map(\.path)
    }

    /// Residual blocks, or for VGG the max pool that ends each stage.
    static func blocks(_ modules: [(path: String, layer: any Layer)], network: Network) -> [String] {
        if network.spec.architecture == .vgg16 {
            return modules.filter { $0.path.hasPrefix("features.") && ($0.layer as? Pool2D)?.kind == .max }.map(\.path)
        }
        return modules.filter { $0.layer is BasicBlock || $0.layer is Bottleneck }.map(\.path)
    }

    /// Glob matching over dotted paths: `*` within a component, `**` across components, `?` one character.
    static func glob(_ pattern: String, matches path: String) -> Bool {
        let p = Array(pattern), s = Array(path)
        func match(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == s.count }
            if p[i] == "*" {
                let crossesDots = i + 1 < p.count && p[i + 1] == "*"
                let next = crossesDots ? i + 2 : i + 1
                var k = j
                while true {
                    if match(next, k) { return true }
                    if k == s.count || (!crossesDots && s[k] == ".") { return false }
                    k += 1
                }
            }
            guard j < s.count, p[i] == "?" ? s[j] != "." : p[i] == s[j] else { return false }
            return match(i + 1, j + 1)
        }
        return match(0, 0)
    }

    /// Up to five paths nearest to `text` by edit distance (ties keep network order).
    static func nearest(to text: String, in paths: [String]) -> [String] {
        let scored = paths.enumerated().map { (offset: $0.offset, path: $0.element, distance: editDistance(text, $0.element)) }
        return scored.sorted { ($0.distance, $0.offset) < ($1.distance, $1.offset) }.prefix(5).map(\.path)
    }

    /// Levenshtein distance between two strings.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a), Array(b))
        var previous = Array(0...b.count)
        for i in a.indices {
            var current = [i + 1]
            for j in b.indices {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i] == b[j] ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

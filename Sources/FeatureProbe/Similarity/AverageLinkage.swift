/// Average-linkage (UPGMA) agglomerative clustering of a distance matrix.
///
/// The distance between two clusters is the mean distance between their members. The full
/// dendrogram is built with the nearest-neighbour-chain algorithm (`O(n²)` time and memory;
/// exact for average linkage, which is reducible), merges sorted by height.
struct AverageLinkage {
    /// One merge: clusters `first` and `second` (leaves are `0..<n`, the cluster made by merge
    /// `k` is `n + k`) joined at `height`.
    struct Merge: Equatable {
        var first: Int
        var second: Int
        var height: Double
    }

    /// Number of leaves.
    let count: Int
    /// The `count - 1` merges in order of increasing height.
    let merges: [Merge]

    /// Clusters `count` items from their symmetric `count x count` row-major distance matrix.
    init(distances: [Double], count n: Int) {
        precondition(distances.count == n * n, "\(n) items need \(n * n) distances, got \(distances.count)")
        count = n
        guard n > 1 else {
            merges = []
            return
        }
        var d = distances
        var size = [Int](repeating: 1, count: n)
        var active = [Bool](repeating: true, count: n)
        var activeCount = n
        var chain: [Int] = []
        var raw: [(a: Int, b: Int, height: Double)] = []
        while activeCount > 1 {
            if chain.isEmpty { chain.append(active.firstIndex(of: true)!) }
            let a = chain[chain.count - 1]
            let previous = chain.count >= 2 ? chain[chain.count - 2] : -1
            var best = previous, bestDistance = previous >= 0 ? d[a * n + previous] : .infinity
            for k in 0..<n where active[k] && k != a && d[a * n + k] < bestDistance {
                best = k
                bestDistance = d[a * n + k]
            }
            if best == previous {
                chain.removeLast(2)
                let (keep, drop) = (min(a, best), max(a, best))
                raw.append((a, best, bestDistance))
                let (sa, sb) = (Double(size[keep]), Double(size[drop]))
                for k in 0..<n where active[k] && k != keep && k != drop {
                    let merged = (sa * d[keep * n + k] + sb * d[drop * n + k]) / (sa + sb)
                    d[keep * n + k] = merged
                    d[k * n + keep] = merged
                }
                size[keep] += size[drop]
                active[drop] = false
                activeCount -= 1
            } else {
                chain.append(best)
            }
        }
        // Relabel: sort merges by height (stable) and name each new cluster n + k.
        let order = raw.indices.sorted { (raw[$0].height, $0) < (raw[$1].height, $1) }
        var parent = Array(0..<n)
        var label = Array(0..<n)
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        var result: [Merge] = []
        for (k, index) in order.enumerated() {
            let (ra, rb) = (root(raw[index].a), root(raw[index].b))
            let (la, lb) = (label[ra], label[rb])
            result.append(Merge(first: min(la, lb), second: max(la, lb), height: raw[index].height))
            parent[rb] = ra
            label[ra] = n + k
        }
        merges = result
    }

    /// The flat clusters obtained by applying every merge of height at most `cut`, each sorted,
    /// ordered by their smallest member.
    func clusters(cut: Double) -> [[Int]] {
        var parent = Array(0..<(count + merges.count))
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        for (k, merge) in merges.enumerated() where merge.height <= cut {
            parent[root(merge.first)] = count + k
            parent[root(merge.second)] = count + k
        }
        var groups: [Int: [Int]] = [:]
        for leaf in 0..<count { groups[root(leaf), default: []].append(leaf) }
        return groups.values.sorted { $0[0] < $1[0] }
    }

    /// The leaves in dendrogram order (first child before second, depth first), so similar items
    /// sit next to each other.
    var leafOrder: [Int] {
        guard count > 1 else { return Array(0..<count) }
        var order: [Int] = []
        var stack = [count + merges.count - 1]
        while let node = stack.popLast() {
            if node < count {
                order.append(node)
            } else {
                let merge = merges[node - count]
                stack.append(merge.second)
                stack.append(merge.first)
            }
        }
        return order
    }
}

extension LayerSummary {
    /// For each channel, the index of its cluster in `clusterMembers`.
    public var clusterOfChannel: [Int] {
        var clusterOf = [Int](repeating: 0, count: channels)
        for (id, members) in clusterMembers.enumerated() { for c in members { clusterOf[c] = id } }
        return clusterOf
    }
}

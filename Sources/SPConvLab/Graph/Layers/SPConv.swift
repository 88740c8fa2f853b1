import SPConvCore
import SPConvKernels

/// The split ratio and group count of an SPConv layer.
public struct SPConvConfiguration: Hashable, Sendable, Codable {
    /// Fraction of input channels in the representative part; `c_rep = floor(C_in * ratio)`.
    public var ratio: Double
    /// Groups of the representative branch's 3x3 group-wise convolution (the paper fixes 2).
    public var groups: Int

    public init(ratio: Double = 0.5, groups: Int = 2) {
        self.ratio = ratio
        self.groups = groups
    }

    /// Representative channels for `inputChannels`, floored exactly as Python's `int(C * ratio)`.
    public func representativeChannels(of inputChannels: Int) -> Int {
        Int((Double(inputChannels) * ratio).rounded(.down))
    }
}

/// SPConv (Zhang et al., "Split to Be Slim", IJCAI 2020), the drop-in replacement of a 3x3 conv.
///
/// Input `[N, C_in, H, W]` -> output `[N, C_out, H/s, W/s]`. The first `c_rep = floor(C_in * ratio)`
/// channels go through a group-wise 3x3 conv (`gwc`, stride s, padding 1, `groups`) plus a
/// point-wise 1x1 conv (`pwc`, reading `AvgPool2d(2, 2)` of them when s = 2), then `bn1`; the other
/// channels through `AvgPool2d(2, 2)` when s = 2, a 1x1 conv with bias (`conv1x1`) and `bn2`.
/// The two are merged per sample and channel with weights `softmax(GAP(U_rep), GAP(U_red))`.
///
/// Its forward math is written once, as ops, in ``build(_:builder:)``. The fast interpreter
/// rewrites those ops into ``SPConvKernel`` (BN folded, `pwc` summed into `gwc` or merged with it,
/// one pooling at stride 2, one fusion sweep with the block's epilogue); the training interpreter
/// into the tape's fused SPConv ops.
public final class SPConv: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let stride: Int
    public let configuration: SPConvConfiguration
    public let representativeChannels: Int
    public var redundantChannels: Int { inputChannels - representativeChannels }

    public let gwc: Conv2D
    public let pwc: Conv2D
    public let conv1x1: Conv2D
    public let bn1: BatchNorm2D
    public let bn2: BatchNorm2D

    public var typeName: String { "SPConv" }

    /// Builds the layer, refusing configurations that cannot work.
    ///
    /// - Parameter path: the module's dotted path, named in errors.
    /// - Throws: `SPConvLabError.invalidConfiguration` naming the layer, the numbers, and the
    ///   nearest ratios or group counts that would work.
    public init(inputChannels: Int, outputChannels: Int, stride: Int, configuration: SPConvConfiguration,
                path: String) throws {
        try SPConv.validate(inputChannels: inputChannels, outputChannels: outputChannels,
                            configuration: configuration, path: path)
        let rep = configuration.representativeChannels(of: inputChannels)
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.stride = stride
        self.configuration = configuration
        self.representativeChannels = rep
        gwc = Conv2D(inputChannels: rep, outputChannels: outputChannels, kernelSize: 3, stride: stride, padding: 1,
                     groups: configuration.groups, bias: false)
        pwc = Conv2D(inputChannels: rep, outputChannels: outputChannels, kernelSize: 1, bias: false)
        conv1x1 = Conv2D(inputChannels: inputChannels - rep, outputChannels: outputChannels, kernelSize: 1, bias: true)
        bn1 = BatchNorm2D(channels: outputChannels)
        bn2 = BatchNorm2D(channels: outputChannels)
    }

    public var children: [(name: String, layer: any Layer)] {
        [("gwc", gwc), ("pwc", pwc), ("conv1x1", conv1x1), ("bn1", bn1), ("bn2", bn2)]
    }

    static func validate(inputChannels: Int, outputChannels: Int, configuration: SPConvConfiguration, path: String) throws {
        let (ratio, groups) = (configuration.ratio, configuration.groups)
        let rep = configuration.representativeChannels(of: inputChannels)
        let red = inputChannels - rep
        let name = path.isEmpty ? "SPConv" : "SPConv layer \(path)"
        guard ratio > 0, ratio < 1, groups >= 1 else {
            throw SPConvLabError(.invalidConfiguration, "\(name): ratio \(ratio) and groups \(groups) are out of range; the ratio must lie strictly between 0 and 1 and the groups must be a positive integer.")
        }
        if rep < 1 || red < 1 || rep % groups != 0 || outputChannels % groups != 0 {
            var problems: [String] = []
            if rep < 1 { problems.append("floor(\(inputChannels) * \(ratio)) = \(rep) leaves no representative channel") }
            if red < 1 { problems.append("it leaves no redundant channel (c_rep = \(rep) of \(inputChannels))") }
            if rep >= 1 && rep % groups != 0 { problems.append("c_rep = \(rep) is not divisible by groups \(groups)") }
            if outputChannels % groups != 0 { problems.append("C_out = \(outputChannels) is not divisible by groups \(groups)") }
            let nearestRatios = nearestWorkingRatios(inputChannels: inputChannels, outputChannels: outputChannels,
                                                     ratio: ratio, groups: groups)
            let goodGroups = rep >= 1 && red >= 1
                ? nearestWorkingGroups(representative: rep, outputChannels: outputChannels, groups: groups) : []
            var hint: [String] = []
            if !nearestRatios.isEmpty { hint.append("ratios \(nearestRatios.joined(separator: " or ")) work with groups \(groups)") }
            if !goodGroups.isEmpty { hint.append("groups \(goodGroups.joined(separator: ", ")) work with ratio \(ratio)") }
            if hint.isEmpty { hint.append("no ratio works with groups \(groups) for \(inputChannels) -> \(outputChannels) channels") }
            throw SPConvLabError(.invalidConfiguration, "\(name) (\(inputChannels) -> \(outputChannels) channels, ratio \(ratio), groups \(groups)) cannot be built: \(problems.joined(separator: "; ")). Nearest that would work: \(hint.joined(separator: "; ")).")
        }
    }

    /// Up to two ratios `k / C_in` nearest to `ratio` whose split works with `groups`.
    private static func nearestWorkingRatios(inputChannels: Int, outputChannels: Int, ratio: Double, groups: Int) -> [String] {
        guard outputChannels % groups == 0 else { return [] }
        let candidates = (1..<max(inputChannels, 1)).filter { k in
            k % groups == 0 && SPConvConfiguration(ratio: Double(k) / Double(inputChannels), groups: groups)
                .representativeChannels(of: inputChannels) == k
        }
        let distance: (Int) -> Double = { abs(Double($0) / Double(inputChannels) - ratio) }
        return candidates.sorted { distance($0) < distance($1) }.prefix(2).sorted().map { "\($0)/\(inputChannels)" }
    }

    /// Up to three group counts nearest to `groups` that divide both `c_rep` and `C_out`.
    private static func nearestWorkingGroups(representative: Int, outputChannels: Int, groups: Int) -> [String] {
        let candidates = (1...representative).filter { representative % $0 == 0 && outputChannels % $0 == 0 }
        return candidates.sorted { abs($0 - groups) < abs($1 - groups) }.prefix(3).sorted().map { String($0) }
    }
}

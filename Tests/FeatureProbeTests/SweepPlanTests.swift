import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

/// The sweep's plan, without the CLI: configurations per shard and seed, checkpoint lookup by
/// file name, the default name, and the refusals that name the flag.
@Suite struct SweepPlanTests {
    static func request(_ edit: (inout SweepRequest) -> Void = { _ in }) -> SweepRequest {
        var request = SweepRequest(subject: .zoo(.resnet20), input: ("synthetic:4", "synthetic:4"))
        (request.ratios, request.groups, request.inChannels, request.inputSize, request.layers) = ("1/4,1/2", "1,2", 1, 28, "blocks")
        edit(&request)
        return request
    }

    @Test func theGridIsTheBaselineThenEveryPairInOrderOncePerSeed() throws {
        let plan = try SweepPlan(Self.request(), imageCount: 4)
        #expect(plan.configurations.map { "\($0.variant) \($0.ratio ?? 0) \($0.groups ?? 0)" }
                == ["vanilla 0.0 0", "spconv 0.25 1", "spconv 0.25 2", "spconv 0.5 1", "spconv 0.5 2"])
        #expect(plan.configurations.allSatisfy { $0.images == 4 && $0.inChannels == 1 && $0.inputSize == 28 && $0.trainEpochs == nil })
        #expect(plan.defaultName == "resnet20 ratios=1/4,1/2 groups=1,2 input=synthetic:4 limit=256 layers=blocks")
        let trained = try SweepPlan(Self.request { $0.training = .init(epochs: 3, seeds: [0, 7], trainLimit: 100) }, imageCount: 4)
        #expect(trained.configurations.count == 10)
        #expect(trained.configurations.prefix(2).map(\.trainSeed) == [0, 7] && trained.configurations.allSatisfy { $0.trainEpochs == 3 })
        #expect(trained.defaultName.hasSuffix("layers=blocks train=3 train-limit=100"))
    }

    @Test func aShardTakesEveryNthCellOfTheGrid() throws {
        let plan = try SweepPlan(Self.request { $0.shard = Shard(index: 2, count: 2) }, imageCount: 4)
        #expect(plan.configurations.map { "\($0.variant) \($0.ratio ?? 0) \($0.groups ?? 0)" } == ["spconv 0.25 1", "spconv 0.5 1"])
    }

    @Test func checkpointsAreFoundByTheirFileNames() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweepplan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = Data("not read here".utf8)
        try bytes.write(to: folder.appendingPathComponent("resnet20_spconv_r0.5_g2.safetensors"))
        let plan = try SweepPlan(Self.request { $0.weightsDirectory = folder.path }, imageCount: 4)
        let withFile = plan.configurations.filter { $0.weightsPath != nil }
        #expect(withFile.count == 1 && withFile[0].ratio == 0.5 && withFile[0].groups == 2)
        #expect(withFile[0].weightsPath == folder.appendingPathComponent("resnet20_spconv_r0.5_g2.safetensors").path)
        // SHA-256 of "not read here", from `printf 'not read here' | sha256sum`.
        #expect(withFile[0].weightsSHA256 == "1779752edfe32cd43ba469bbdfc5647fdf250f12b5ccbdc516157e3891205696")
    }

    @Test func refusalsNameTheFlag() {
        let layers = #expect(throws: FeatureProbeError.self) { try SweepPlan(Self.request { $0.layers = "layer9" }, imageCount: 4) }
        #expect(layers?.message.contains("'layer9'") == true, "\(layers?.message ?? "")")
        let shape = #expect(throws: FeatureProbeError.self) {
            try SweepPlan(Self.request { $0.inChannels = 3; $0.training = .init(epochs: 1) }, trainingShape: (1, 28, 10), imageCount: 4)
        }
        #expect(shape?.message.contains("--in-channels 1") == true, "\(shape?.message ?? "")")
        let ratios = #expect(throws: FeatureProbeError.self) { try SweepPlan(Self.request { $0.ratios = "2" }, imageCount: 4) }
        #expect(ratios?.message.contains("--ratios") == true || ratios?.message.contains("'2'") == true, "\(ratios?.message ?? "")")
    }
}

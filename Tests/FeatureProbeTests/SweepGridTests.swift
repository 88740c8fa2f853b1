import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct SweepGridTests {
    @Test func listsAcceptDecimalsFractionsAndRanges() throws {
        let grid = try SweepGrid(ratios: "1/8, 0.25,1/2", groups: "1,2,4")
        #expect(grid.ratios == [0.125, 0.25, 0.5])
        #expect(grid.groups == [1, 2, 4])
        #expect(grid.variants.count == 1 + 9)
        #expect(grid.variants.first == .vanilla)
        #expect(grid.variants[1] == .spconv(SPConvConfiguration(ratio: 0.125, groups: 1)))
        let range = try SweepGrid(ratios: "0.1:0.9:0.1", groups: "2").ratios
        #expect(range == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        #expect(try SweepGrid(ratios: "1/4:3/4:1/4,0.5", groups: "2,2").ratios == [0.25, 0.5, 0.75])
        #expect(try SweepGrid(ratios: "0.5", groups: "2,2").groups == [2])
    }

    @Test(arguments: [("", "2", "empty"), ("1.5", "2", "outside (0, 1)"), ("0", "2", "outside (0, 1)"),
                      ("abc", "2", "'abc'"), ("0.9:0.1:0.1", "2", "start <= stop"), ("0.5", "", "empty"),
                      ("0.5", "0", "'0'"), ("0.5", "2.5", "'2.5'"), ("0.5", "-1", "'-1'"), ("1:2", "2", "'1:2'")])
    func badListsAreRefused(ratios: String, groups: String, mention: String) {
        #expect {
            try SweepGrid(ratios: ratios, groups: groups)
        } throws: { error in
            (error as? FeatureProbeError)?.message.contains(mention) == true
        }
    }

    @Test func shardsSplitTheGridRoundRobin() throws {
        let shards = [try Shard("1/3"), try Shard("2/3"), try Shard("3/3")]
        for position in 0..<10 {
            #expect(shards.filter { $0.contains(position) }.count == 1, "position \(position) in exactly one shard")
        }
        #expect(shards[1].contains(1) && shards[1].contains(4))
        #expect(throws: FeatureProbeError.self) { try Shard("0/3") }
        #expect(throws: FeatureProbeError.self) { try Shard("4/3") }
        #expect(throws: FeatureProbeError.self) { try Shard("two") }
    }

    @Test func slurmArrayVariablesChooseTheShard() throws {
        #expect(try Shard.fromSlurm([:]) == nil)
        #expect(try Shard.fromSlurm(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4"]) == Shard(index: 1, count: 4))
        #expect(try Shard.fromSlurm(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"])
                == Shard(index: 4, count: 4))
        #expect(throws: FeatureProbeError.self) { try Shard.fromSlurm(["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "4"]) }
    }
}

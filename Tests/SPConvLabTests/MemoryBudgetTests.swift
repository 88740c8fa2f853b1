import Testing
@testable import SPConvLab

@Suite struct MemoryBudgetTests {
    @Test func sizesParseInPowersOf1024() throws {
        #expect(try MemoryBudget.parse("1.5G", source: "--max-memory").bytes == 1_610_612_736)
        #expect(try MemoryBudget.parse("512m", source: "--max-memory").bytes == 536_870_912)
        #expect(try MemoryBudget.parse("8GB", source: "--max-memory").bytes == 8_589_934_592)
        #expect(try MemoryBudget.parse("4096", source: "--max-memory").bytes == 4096)
        for bad in ["", "12Q", "-1G", "0", "nanG", "inf", "1e30", "G"] {
            let error = #expect(throws: SPConvLabError.self) { try MemoryBudget.parse(bad, source: "--max-memory") }
            #expect(error?.message.contains("--max-memory '\(bad)'") == true && error?.message.contains("8G, 512M") == true)
        }
        #expect(MemoryBudget.formatted(12) == "12 B")
        #expect(MemoryBudget.formatted(1_610_612_736) == "1.5 GB")
        #expect(MemoryBudget.formatted(50 * 1024 * 1024) == "50 MB")
    }

    @Test func aBatchIsRefusedOnceItPassesTheBudget() throws {
        let budget = MemoryBudget(bytes: 1000)
        try budget.check(batch: 10, flag: "--batch", bytesPerImage: 100, what: "a test", budgetSource: "here")
        let error = #expect(throws: SPConvLabError.self) {
            try budget.check(batch: 11, flag: "--batch", bytesPerImage: 100, what: "a test", budgetSource: "here")
        }
        #expect(error?.message.contains("--batch 11 would need about 1.1 KB") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("give --batch 10 or less") == true)
        // A batch whose byte count overflows Int is refused, not trapped.
        let huge = #expect(throws: SPConvLabError.self) {
            try budget.check(batch: .max, flag: "--batch", bytesPerImage: 100, what: "a test", budgetSource: "here")
        }
        #expect(huge?.message.contains("more than") == true)
        let none = #expect(throws: SPConvLabError.self) {
            try budget.check(batch: 1, flag: "--batch", bytesPerImage: 5000, what: "a test", budgetSource: "here")
        }
        #expect(none?.message.contains("even one image needs") == true)
    }

    @Test func estimatesFollowTheTrace() throws {
        // resnet20 at 32x32: the largest tensor is a 16 x 32 x 32 map (16384 floats), so inference
        // is 4 tensors x 4 bytes x 16384 = 262144 bytes per image.
        let network = try Network(ModelSpec(.resnet20))
        let ledger = try network.cost()
        #expect(MemoryBudget.inferenceBytesPerImage(ledger, inputElements: 3 * 32 * 32) == 262_144)
        let outputs = ledger.layers.reduce(0) { $0 + $1.outputShape.reduce(1, *) }
        #expect(MemoryBudget.trainingBytesPerImage(ledger, inputElements: 3 * 32 * 32) == 8 * outputs + 262_144)
    }
}

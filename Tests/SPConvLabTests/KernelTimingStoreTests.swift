import Foundation
import Testing
@testable import SPConvGraph

/// The compiler's timing choices on disk (`KernelTimingStore`): written choices are read back for
/// the same machine only, lines it cannot read are skipped, an oversized file is ignored, and
/// `SPCONVLAB_TIMING_CACHE=off` keeps choices in the process.
@Suite struct KernelTimingStoreTests {
    static func inTemporaryFolder(_ body: (URL) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    @Test func choicesAreReadBackForTheSameMachineOnly() throws {
        try Self.inTemporaryFolder { folder in
            let path = folder.appendingPathComponent("sub/timing.tsv").path
            let store = KernelTimingStore(environment: ["SPCONVLAB_TIMING_CACHE": path], machine: "cpu-a")
            store.record("winograd [2, 16, 8, 8] isa avx2 threads 2", true)
            store.record("spconv 16 8 [1, 16, 32, 32] isa avx2 threads 2", false)
            #expect(store.load() == ["winograd [2, 16, 8, 8] isa avx2 threads 2": true, "spconv 16 8 [1, 16, 32, 32] isa avx2 threads 2": false])
            let other = KernelTimingStore(environment: ["SPCONVLAB_TIMING_CACHE": path], machine: "cpu-b")
            #expect(other.load().isEmpty)
            // A key that would break the line format is not written.
            store.record("bad\tkey", true)
            #expect(store.load().count == 2)
        }
    }

    @Test func unreadableLinesAreSkippedAndAnOversizedFileIsIgnored() throws {
        try Self.inTemporaryFolder { folder in
            let url = folder.appendingPathComponent("timing.tsv")
            try Data("cpu-a good\t1\ncpu-a no tab\ncpu-a bad value\t2\ncpu-a extra\t1\t0\n\u{0}\u{1}garbage\ncpu-a last\t0".utf8).write(to: url)
            let store = KernelTimingStore(environment: ["SPCONVLAB_TIMING_CACHE": url.path], machine: "cpu-a")
            #expect(store.load() == ["good": true, "last": false])
            try Data(count: KernelTimingStore.maximumBytes + 1).write(to: url)
            #expect(store.load().isEmpty)
            store.record("new", true)
            #expect(try Data(contentsOf: url).count == KernelTimingStore.maximumBytes + 1)
        }
    }

    @Test func offKeepsChoicesInTheProcessAndTheDefaultIsTheUsersCache() {
        #expect(KernelTimingStore(environment: ["SPCONVLAB_TIMING_CACHE": "off"]).url == nil)
        #expect(KernelTimingStore(environment: ["HOME": "/home/u"]).url?.path == "/home/u/.cache/spconvlab/kernel-timing.tsv")
        #expect(KernelTimingStore(environment: ["HOME": "/home/u", "XDG_CACHE_HOME": "/c"]).url?.path == "/c/spconvlab/kernel-timing.tsv")
        #expect(!KernelTimingStore.machineName().contains(" "))
    }
}

/// The compiler's rule for a timed choice (`KernelTiming.ownWins(ratios:)`), on hand-made rounds:
/// with n = 21 rounds the confidence interval of the median ratio starts at the 6th smallest
/// ((21 - 1.96 sqrt 21) / 2 = 6.0, rounded down and at least 1), so oneDNN keeps a layer only
/// where 16 or more rounds of 21 show the own kernel slower.
@Suite struct KernelTimingRuleTests {
    @Test func oneDNNKeepsALayerOnlyWhereItIsMeasurablyFaster() {
        let slower = [Double](repeating: 1.05, count: 21)
        #expect(!KernelTiming.ownWins(ratios: slower))
        // Six rounds of 21 where the own kernel was faster: the interval reaches below 1, a tie.
        #expect(KernelTiming.ownWins(ratios: [Double](repeating: 0.95, count: 6) + [Double](repeating: 1.05, count: 15)))
        // Five: the 6th smallest ratio is 1.05, so oneDNN is measurably faster.
        #expect(!KernelTiming.ownWins(ratios: [Double](repeating: 0.95, count: 5) + [Double](repeating: 1.05, count: 16)))
        #expect(KernelTiming.ownWins(ratios: [Double](repeating: 0.8, count: 21)))
        // A debug build's three rounds: the smallest ratio decides.
        #expect(KernelTiming.ownWins(ratios: [1.3, 0.99, 1.2]))
        #expect(!KernelTiming.ownWins(ratios: [1.3, 1.01, 1.2]))
    }
}

/// The median's confidence interval by order statistics, hand-derived, and a re-timing session
/// (`probe-cli tune`) on two kernels whose order is known: a no-op and a 300 µs sleep.
@Suite struct KernelTimingTuningTests {
    @Test func theMediansIntervalIsTheKthSmallestAndLargest() {
        // n = 21: k = 6 (above); the values 1...21 in any order.
        let interval = KernelTiming.medianInterval((1...21).map(Double.init).reversed())
        #expect(interval.low == 6 && interval.median == 11 && interval.high == 16)
        // n = 4: k = (4 - 3.92) / 2 = 0.04, at least 1: the whole range; the median of an even
        // count is the mean of the middle two.
        let four = KernelTiming.medianInterval([4, 1, 3, 2])
        #expect(four.low == 1 && four.median == 2.5 && four.high == 4)
    }

    @Test func aSessionTimesAKnownChoiceAgainAndReplacesIt() throws {
        let key = "test: tuning session replaces a choice"
        func sleep() { usleep(300) }
        let slowOwn = KernelTiming.Tuning(milliseconds: 1)
        let first = KernelTiming.$tuning.withValue(slowOwn) {
            KernelTiming.ownWins(key: key, incumbent: {}, own: sleep)
        }
        #expect(!first)
        let measured = try #require(slowOwn.measurements.first)
        #expect(slowOwn.measurements.count == 1 && measured.key == key && !measured.ownWins)
        #expect(measured.rounds >= 3 && measured.low <= measured.median && measured.median <= measured.high && measured.low > 1)
        #expect(measured.name(false) == "oneDNN" && measured.name(true) == "own")

        // A second session times it again although the process now knows the choice.
        let fastOwn = KernelTiming.Tuning(milliseconds: 1)
        let second = KernelTiming.$tuning.withValue(fastOwn) {
            KernelTiming.ownWins(key: key, incumbent: sleep, own: {})
        }
        #expect(second)
        #expect(fastOwn.measurements.map(\.previous) == [false])
        #expect(fastOwn.measurements.first.map { $0.high < 1 } == true)
        // Outside a session the new choice is the one kept.
        #expect(KernelTiming.known(key) == true)
    }
}

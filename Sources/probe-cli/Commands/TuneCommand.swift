import ArgumentParser
import Foundation
import SPConvLab

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Time every kernel choice of a network again and keep the new choices for this machine.",
        discussion: """
            Where the engine has its own kernel for a layer next to oneDNN's (or two of its own), \
            compiling a network times both on a random input of the layer's shape and keeps the \
            choice in a file per machine (SPCONVLAB_TIMING_CACHE; by default \
            ~/.cache/spconvlab/kernel-timing.tsv), so later runs repeat it. A choice timed in a \
            noisy minute stays there. This command compiles the model for one batch size and \
            times each of its choices again, with more rounds (--milliseconds of the slower \
            kernel per choice), replaces the stored choices, and prints each measurement: the \
            median of the rounds' time ratios (own kernel over the other) with its 95% confidence \
            interval, the choice before and now. Run it on a quiet machine with the batch size \
            and threads you will use; build in release mode (swift build -c release) for \
            choices that mean anything.

            By default the engine runs its own kernels without timing them against oneDNN's \
            (SPCONVLAB_CONV_ALGO=own, so a pass makes no heap allocation); its only timed \
            choices are then between two of its own kernels. The choices against oneDNN are \
            those of SPCONVLAB_CONV_ALGO=auto, which this command times when the variable is \
            unset; runs use them only with SPCONVLAB_CONV_ALGO=auto.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Images per batch: the choices are made per input shape.")
    var batch: Int = 1

    @Option(help: "Threads for the kernels (default: all cores); the choices are kept per thread count.")
    var threads: Int?

    @Option(help: "Rounds per choice: as many as fit in about this many milliseconds of the slower kernel (at least 21, at most 1001).")
    var milliseconds: Double = 40

    @OptionGroup var memory: MemoryOptions

    @Flag(help: "Print JSON (one object per choice) instead of a table.")
    var json = false

    func validate() throws {
        guard model.model != nil else {
            throw ValidationError("missing --model: choose one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard batch >= 1 else { throw ValidationError("--batch \(batch) must be at least 1.") }
        try ThreadLimit.validate(threads)
        guard milliseconds.isFinite, (1...10_000).contains(milliseconds) else {
            throw ValidationError("--milliseconds \(milliseconds) is out of range; give 1 to 10000 ms of rounds per choice.")
        }
    }

    struct Row: Encodable {
        var choice: String
        var rounds: Int
        var medianRatio: Double
        var ratioLow: Double
        var ratioHigh: Double
        var rule: String
        var before: String?
        var now: String
        enum CodingKeys: String, CodingKey {
            case choice, rounds, rule, before, now
            case medianRatio = "median_ratio", ratioLow = "ratio_ci_low", ratioHigh = "ratio_ci_high"
        }
    }

    struct Result: Encodable {
        var model: String
        var batch: Int
        var threads: Int
        var isa: String
        var seconds: Double
        var store: String?
        var choices: [Row]
    }

    func run() throws {
        try reportingFailures {
            if let threads { Engine.setThreads(threads) }
            // Every choice there is to time: the timed mode's (see the discussion above).
            if ProcessInfo.processInfo.environment["SPCONVLAB_CONV_ALGO"] == nil { setenv("SPCONVLAB_CONV_ALGO", "auto", 1) }
            let network = try model.makeNetwork()
            try memory.checkInference(network, batch: batch)
            let spec = network.spec
            let tuning = KernelTiming.Tuning(milliseconds: milliseconds)
            let clock = Stopwatch.start()
            let shape = [batch, spec.inputChannels, spec.inputSize, spec.inputSize]
            try KernelTiming.$tuning.withValue(tuning) { _ = try network.compiledGraph(for: shape) }
            let rows = tuning.measurements.map { m in
                Row(choice: m.key, rounds: m.rounds, medianRatio: m.median, ratioLow: m.low, ratioHigh: m.high,
                    rule: m.tieToOwn ? "\(m.incumbentName) only if measurably faster" : "lower median",
                    before: m.previous.map(m.name), now: m.name(m.ownWins))
            }
            let result = Result(model: spec.displayName, batch: batch, threads: Engine.threads, isa: EngineCheck.instructionSet,
                                seconds: clock.seconds, store: KernelTiming.storePath, choices: rows)
            if json { return print(try jsonText(result)) }
            print(String(format: "%@, batch %d, %d threads, %@ path: %d choices timed again in %.1f s",
                         spec.displayName, batch, Engine.threads, result.isa, rows.count, result.seconds))
            if rows.isEmpty {
                print("(this network has no layer with two kernels to choose between on this machine)")
            } else {
                print("  ratio = median time of the own kernel over the other's, with its 95% confidence interval\n")
                print("  ratio  95% CI         rounds  before        now           choice")
                for row in rows {
                    print(String(format: "  %5.2f  %5.2f-%-5.2f    %6d  ", row.medianRatio, row.ratioLow, row.ratioHigh, row.rounds)
                          + (row.before ?? "-").padding(toLength: 14, withPad: " ", startingAt: 0)
                          + row.now.padding(toLength: 14, withPad: " ", startingAt: 0) + row.choice)
                }
                let changed = rows.filter { $0.before != nil && $0.before != $0.now }.count
                print("\n\(changed) of \(rows.count) choices changed.")
            }
            if let store = result.store {
                print("Stored in \(store); later runs with these shapes, threads and instruction set use them.")
            } else {
                print("Not stored (SPCONVLAB_TIMING_CACHE=off): the choices last for this process only.")
            }
        }
    }
}

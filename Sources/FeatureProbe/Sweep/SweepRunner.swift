import Foundation
import SPConvLab

/// Runs a sweep's configurations against an experiment database until none is left.
///
/// Many runners (threads of other processes, `--jobs`, other shells, a restarted run after a
/// crash) may work on one database: each claims a configuration in one `BEGIN IMMEDIATE`
/// transaction, measures it, and records it in one transaction when it finishes. A run whose
/// process died stays `running` until a later claimer on the same host sees its pid is gone and
/// takes it again, so a killed sweep resumes where it stopped, with every configuration stored
/// exactly once.
public struct SweepRunner {
    public let databasePath: String
    public let sweepName: String
    public let commandLine: String
    public let configurations: [RunConfiguration]
    public let settings: SweepSettings
    public let toolVersion: String
    public let gitCommit: String?

    public init(databasePath: String, sweepName: String, commandLine: String, configurations: [RunConfiguration],
                settings: SweepSettings, toolVersion: String, gitCommit: String?) {
        self.databasePath = databasePath
        self.sweepName = sweepName
        self.commandLine = commandLine
        self.configurations = configurations
        self.settings = settings
        self.toolVersion = toolVersion
        self.gitCommit = gitCommit
    }

    /// Where a sweep stands.
    public struct Progress: Sendable {
        public var finished: Int
        public var total: Int
        /// The configuration this worker is measuring, or nil between claims.
        public var current: String?
        public var counts: [RunStatus: Int]
        /// Where the training of `current` is, while it trains.
        public var training: TrainingProgress?
        /// The latest training event of `current` (reused, started, resumed, an epoch done),
        /// reported once when it happens.
        public var trainingEvent: CheckpointStore.TrainingEvent?
    }

    /// Creates the sweep and its pending runs (idempotent), returning the sweep.
    public func prepare() throws -> SweepRecord {
        let database = try ExperimentDatabase(path: databasePath)
        let sweep = try database.findOrCreateSweep(name: sweepName, commandLine: commandLine)
        _ = try database.ensureRuns(sweepID: sweep.id, configurations: configurations, toolVersion: toolVersion,
                                    gitCommit: gitCommit)
        return sweep
    }

    /// Puts this runner's configurations left `running` back to pending, on any host (see
    /// ``ExperimentDatabase/releaseRunning(sweepID:isEligible:)``); returns how many.
    ///
    /// Call it before any worker of this sweep starts, and only when nothing else works on the database.
    public func releaseRunning() throws -> Int {
        let database = try ExperimentDatabase(path: databasePath)
        let sweep = try prepare()
        let mine = Set(configurations.map(\.identity))
        return try database.releaseRunning(sweepID: sweep.id) { mine.contains(ExperimentDatabase.configuration(of: $0).identity) }
    }

    /// Claims and measures configurations until none is left; returns the final status counts.
    ///
    /// - Parameters:
    ///   - retryFailed: put the sweep's failed runs back to pending first (after fixing their cause).
    ///   - makeSource: the images for a model's input (called once per distinct input).
    public func work(retryFailed: Bool = false, makeSource: (InputSpec) throws -> any BatchSource,
                     progress: (Progress) -> Void = { _ in }) throws -> [RunStatus: Int] {
        let database = try ExperimentDatabase(path: databasePath)
        let sweep = try prepare()
        if retryFailed { try database.retryFailed(sweepID: sweep.id) }
        let mine = Set(configurations.map(\.identity))
        var sources: [String: any BatchSource] = [:]
        var last = Progress(finished: 0, total: 0, current: nil, counts: [:])
        func report(current: String?) throws {
            let runs = try database.runs(sweepID: sweep.id).filter { mine.contains(ExperimentDatabase.configuration(of: $0).identity) }
            var counts: [RunStatus: Int] = [:]
            for run in runs { counts[run.status, default: 0] += 1 }
            let finished = (counts[.done] ?? 0) + (counts[.skipped] ?? 0) + (counts[.failed] ?? 0)
            last = Progress(finished: finished, total: runs.count, current: current, counts: counts)
            progress(last)
        }
        try report(current: nil)
        while let run = try database.claimNext(sweepID: sweep.id, isEligible: { mine.contains(ExperimentDatabase.configuration(of: $0).identity) }) {
            let configuration = ExperimentDatabase.configuration(of: run)
            try report(current: SweepRunner.describe(configuration))
            let input: InputSpec
            do {
                if configuration.isONNX {
                    input = try ONNXFeatureModel(contentsOf: configuration.weightsPath!).inputSpec
                } else {
                    let spec = try configuration.makeSpec()
                    _ = try Network(spec)
                    input = InputSpec(spec)
                }
            } catch let error as SPConvLabError where error.kind == .invalidConfiguration {
                try database.skip(runID: run.id, reason: error.message)
                continue
            } catch {
                try database.fail(runID: run.id, reason: "\(error)")
                continue
            }
            do {
                let key = "\(input.channels)x\(input.size) \(input.defaultNormalization)"
                if sources[key] == nil { sources[key] = try makeSource(input) }
                let result = try ConfigurationMeasurement.measure(configuration, source: sources[key]!, settings: settings,
                                                                  runID: run.id, trainingProgress: { step in
                    var now = last
                    now.training = step
                    progress(now)
                }, trainingEvent: { event in
                    var now = last
                    now.trainingEvent = event
                    progress(now)
                })
                try database.complete(runID: run.id, result: result)
            } catch {
                try database.fail(runID: run.id, reason: "\(error)")
            }
        }
        try report(current: nil)
        var counts: [RunStatus: Int] = [:]
        for run in try database.runs(sweepID: sweep.id) where mine.contains(ExperimentDatabase.configuration(of: run).identity) {
            counts[run.status, default: 0] += 1
        }
        return counts
    }

    /// A short name for progress lines: `resnet20 vanilla`, `resnet20 spconv 0.25/g4`, and
    /// ` trained 3 epochs` after it when the configuration trains.
    public static func describe(_ c: RunConfiguration) -> String {
        let name = c.variant == ModelVariant.Kind.spconv.rawValue ? "\(c.model) spconv \(CSVWriter.formatG6(c.ratio ?? 0))/g\(c.groups ?? 0)" : "\(c.model) \(c.variant)"
        return name + (c.trainEpochs.map { " trained \($0) epoch\($0 == 1 ? "" : "s"), seed \(c.trainSeed ?? 0)" } ?? "")
    }
}

import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

/// The database and output format shared by the query subcommands.
struct QueryOptions: ParsableArguments {
    @Option(help: "The experiment database (opened read-only).")
    var db: String

    @Option(help: "table (aligned, for people), csv (RFC 4180), json (an array of objects) or markdown (a GitHub table).")
    var format: String = "table"

    @Option(help: "Stop a statement that runs longer than this many seconds.")
    var timeout: Double = 120

    @Option(name: .customLong("max-rows"), help: "Print at most this many rows (a note on stderr says when there were more).")
    var maxRows: Int = 10_000

    @Option(name: .customLong("max-memory"), help: ArgumentHelp("Memory SQLite may use for the query, such as 2G or 512M.", valueName: "size"))
    var maxMemory: String = "2G"

    /// The largest --max-rows: ten million rows is already far more than a terminal or a
    /// spreadsheet shows; export larger results with SQLite itself.
    static let maximumRows = 10_000_000
    /// The largest string or BLOB a query may produce; BLOBs are printed as their size anyway.
    static let maximumValueBytes = 256 << 20

    func validate() throws {
        guard QueryFormatter.Format(rawValue: format) != nil else {
            throw ValidationError("--format '\(format)' is not known; choose table, csv, json or markdown.")
        }
        guard timeout.isFinite, timeout > 0, timeout <= 86_400 else {
            throw ValidationError("--timeout \(timeout) is not a time limit; give seconds between 0 and 86400 (a day), such as 30 or 600.")
        }
        guard (1...Self.maximumRows).contains(maxRows) else {
            throw ValidationError("--max-rows \(maxRows) is out of range; give 1 to \(Self.maximumRows).")
        }
        do { _ = try MemoryBudget.parse(maxMemory, source: "--max-memory") } catch let error as SPConvLabError {
            throw ValidationError(error.message)
        }
    }

    /// Applies --max-memory to SQLite and starts watching Ctrl-C; returns the limits for a statement.
    func limits() -> SQLiteConnection.Limits {
        if let budget = try? MemoryBudget.parse(maxMemory, source: "--max-memory") {
            SQLiteConnection.setHeapLimit(bytes: budget.bytes)
        }
        Interruption.watch()
        return SQLiteConnection.Limits(deadline: .now + .milliseconds(Int(timeout * 1000)),
                                       isCancelled: { Interruption.isRequested },
                                       maximumValueBytes: Self.maximumValueBytes)
    }

    func print(_ result: QueryResult) {
        Swift.print(QueryFormatter.format(result, as: QueryFormatter.Format(rawValue: format)!), terminator: "")
        if result.isTruncated {
            printError("note: only the first \(result.rows.count) rows are shown; the query has more (raise --max-rows, up to \(Self.maximumRows), or narrow it with WHERE or LIMIT).")
        }
    }
}

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask an experiment database questions, read-only: your own SQL or a canned question.",
        discussion: """
        The database is opened read-only: statements that would write, ATTACH, DETACH or change \
        PRAGMAs fail with a clear error and change nothing. Tables and views: docs/SCHEMA.md. \
        Example: probe-cli query --db demo.sqlite "SELECT variant, ratio, groups, macs FROM runs"
        """,
        subcommands: [SQL.self, Runs.self, Configurations.self, Show.self, Compare.self, TopRedundant.self, Pareto.self],
        defaultSubcommand: SQL.self)

    struct SQL: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sql", abstract: "Run one read-only SQL statement.")
        @OptionGroup var options: QueryOptions
        @Argument(help: "One SQL statement (SELECT, WITH, read-only PRAGMAs).")
        var statement: String
        func run() throws {
            try reportingFailures {
                options.print(try ReadOnlyQuery.run(path: options.db, sql: statement, limits: options.limits(), maximumRows: options.maxRows))
            }
        }
    }

    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every run with its configuration, status, costs and mean redundancy.")
        @OptionGroup var options: QueryOptions
        @Option(help: "Only the sweep with this name.")
        var sweep: String?
        func run() throws { try reportingFailures { options.print(try CannedQuery.runs(path: options.db, sweep: sweep)) } }
    }

    struct Configurations: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each configuration over its seeds: mean and standard deviation of accuracy, latency and mean redundancy, with the per-seed run ids.",
            discussion: "Refuses to put runs with random weights beside trained (or file) ones unless --mix-weights is given; the weights_source column says which is which.")
        @OptionGroup var options: QueryOptions
        @Option(help: "Only the sweep with this name.") var sweep: String?
        @Flag(name: .customLong("mix-weights"), help: "Allow random and trained weights in one table.") var mixWeights = false
        func run() throws {
            try reportingFailures { options.print(try CannedQuery.configurations(path: options.db, sweep: sweep, allowMixing: mixWeights)) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One run in full, then its layers.")
        @OptionGroup var options: QueryOptions
        @Argument(help: "The run id.") var runID: Int64
        func run() throws {
            try reportingFailures {
                options.print(try CannedQuery.show(path: options.db, runID: runID))
                options.print(try CannedQuery.layers(path: options.db, runID: runID))
            }
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Two runs' layers side by side.")
        @OptionGroup var options: QueryOptions
        @Argument(help: "The first run id.") var first: Int64
        @Argument(help: "The second run id.") var second: Int64
        @Option(help: "cosine or pearson (default: the first stored).") var metric: String?
        @Flag(name: .customLong("mix-weights"), help: "Allow comparing a run with random weights to one with trained or file weights.") var mixWeights = false
        func run() throws {
            try reportingFailures {
                options.print(try CannedQuery.compare(path: options.db, runA: first, runB: second, metric: metric, allowMixing: mixWeights))
            }
        }
    }

    struct TopRedundant: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "top-redundant", abstract: "The layers with the most redundancy.")
        @OptionGroup var options: QueryOptions
        @Option(help: "How many layers.") var limit: Int = 10
        @Flag(name: .customLong("mix-weights"), help: "Allow ranking layers of runs with random and trained weights together.") var mixWeights = false
        func validate() throws { guard limit >= 1 else { throw ValidationError("--limit \(limit) must be at least 1.") } }
        func run() throws {
            try reportingFailures { options.print(try CannedQuery.topRedundant(path: options.db, limit: limit, allowMixing: mixWeights)) }
        }
    }

    struct Pareto: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Runs not beaten by another run of their sweep on both MACs and accuracy (or mean redundancy when no accuracy exists); each seed is its own point (query configurations has the means).")
        @OptionGroup var options: QueryOptions
        @Flag(name: .customLong("mix-weights"), help: "Allow random and trained weights in one comparison.") var mixWeights = false
        func run() throws { try reportingFailures { options.print(try CannedQuery.pareto(path: options.db, allowMixing: mixWeights)) } }
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge shard databases into one, without duplicates.",
        discussion: "OUT is created. With --force, OUT may exist: the inputs are added to it, and a configuration already done in OUT is not copied again; run ids are renumbered. The inputs are only read, and OUT may not be one of them.")
    @Argument(help: "The database to merge into (created if missing; an existing one only with --force).") var output: String
    @Argument(help: "The shard databases.") var inputs: [String]
    @Flag(help: "Merge into OUT even though it exists (its runs are kept; the inputs' are added).") var force = false
    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input database after OUT.") }
        for input in inputs where OutputFile.isSameFile(output, input) {
            throw ValidationError("OUT '\(output)' is the same file as the input '\(input)'; a database cannot be merged into itself. Give another OUT.")
        }
        if !force, FileManager.default.fileExists(atPath: output) {
            throw ValidationError("OUT '\(output)' exists; merging would add the inputs' runs to it. Give --force to merge into it, or a new file name.")
        }
    }
    func run() throws {
        try reportingFailures {
            let summary = try ExperimentDatabase.merge(into: output, from: inputs)
            printError("merged \(inputs.count) database(s) into \(output): \(summary.inserted) run(s) inserted, \(summary.updated) updated, \(summary.unchanged) unchanged")
        }
    }
}

import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "List the checkpoint store of trained networks, or file checkpoints into it.",
        discussion: """
        The store (default notebooks-data/models of this checkout) holds one run per training \
        identity: model, variant, ratio, groups, input channels and size, classes, dataset and \
        image counts, recipe (epochs, batch, lr, momentum, weight decay, schedule, warm-up, label \
        smoothing, crop, flip) and seed. `train` and `sweep --train-epochs` write into it and reuse \
        what it has; `demo` reads it.
        """,
        subcommands: [List.self, Import.self],
        defaultSubcommand: List.self)

    struct StoreOption: ParsableArguments {
        @Option(help: "The checkpoint store (default: notebooks-data/models of this checkout).")
        var store: String?

        var checkpointStore: CheckpointStore { StoreOption.store(store) }

        /// The store in `folder`, or the default one of this checkout.
        static func store(_ folder: String?) -> CheckpointStore {
            CheckpointStore(folder: folder ?? ProjectPaths.locate(CheckpointStore.defaultFolder))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "One row per stored run: configuration, seed, epochs done, accuracy, key and file.")

        @OptionGroup var options: StoreOption
        @Option(help: "table, csv, json or markdown.") var format: String = "table"

        func validate() throws {
            guard QueryFormatter.Format(rawValue: format) != nil else {
                throw ValidationError("--format '\(format)' is not known; choose table, csv, json or markdown.")
            }
        }

        func run() throws {
            try reportingFailures { try Self.show(folder: options.store, format: QueryFormatter.Format(rawValue: format)!) }
        }

        /// Prints the store's table, with a warning per unreadable file.
        static func show(folder: String?, format: QueryFormatter.Format) throws {
            let store = StoreOption.store(folder)
            let (entries, problems) = try store.entries()
            for problem in problems { printError("warning: \(problem)") }
            print(QueryFormatter.format(CheckpointStore.table(entries), as: format), terminator: "")
            if entries.isEmpty { printError("the store \(store.folder) has no trained runs yet (probe-cli train or sweep --train-epochs fills it)") }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Copy checkpoints written by train --output (F.safetensors with F.json) into the store under their identity.")

        @OptionGroup var options: StoreOption
        @Argument(help: "Weights files F.safetensors; each needs its sidecar F.json (and F.optim.safetensors when unfinished).")
        var checkpoints: [String]

        func run() throws {
            try reportingFailures {
                let store = options.checkpointStore
                for path in checkpoints {
                    let entry = try store.importRun(weights: path)
                    print("\(path) -> \(entry.files.weights) (\(entry.identity.summary), \(entry.isFinished ? "finished" : "epoch \(entry.sidecar.completedEpochs)"))")
                }
            }
        }
    }
}

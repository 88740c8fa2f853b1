import ArgumentParser
import SPConvLab

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the model zoo with default input size, classes and parameter counts, or (--trained) the stored trained runs.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "List the trained runs of the checkpoint store instead (as `probe-cli store list`).")
    var trained = false

    @Option(help: "With --trained: the checkpoint store (default: notebooks-data/models of this checkout).")
    var store: String?

    struct Entry: Encodable {
        var name: String
        var description: String
        var inputSize: Int
        var classes: Int
        var vanillaParams: Int
        var spconvParams: Int
    }

    func run() throws {
        if trained {
            return try reportingFailures { try StoreCommand.List.show(folder: store, format: json ? .json : .table) }
        }
        try reportingFailures {
            let entries = try Architecture.allCases.map { arch in
                Entry(name: arch.rawValue, description: arch.summary, inputSize: arch.defaultInputSize,
                      classes: arch.defaultClasses,
                      vanillaParams: try Network(ModelSpec(arch)).cost().params,
                      spconvParams: try Network(ModelSpec(arch, variant: .spconv(.init()))).cost().params)
            }
            if json {
                print(try jsonText(entries))
                return
            }
            print("model      input  classes  params vanilla  params spconv(1/2, g2)  description")
            for e in entries {
                print(e.name.padding(toLength: 10, withPad: " ", startingAt: 0)
                      + " " + String(e.inputSize).leftPadded(5) + "  " + String(e.classes).leftPadded(7)
                      + "  " + grouped(e.vanillaParams).leftPadded(14) + "  " + grouped(e.spconvParams).leftPadded(22)
                      + "  " + e.description)
            }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

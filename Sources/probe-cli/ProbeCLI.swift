import ArgumentParser
import SPConvLab

@main
struct ProbeCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-cli",
        abstract: "Run, cost and benchmark vanilla and SPConv networks (\"Split to Be Slim\", IJCAI 2020).",
        discussion: """
        Models are the zoo's resnet20, resnet56, resnet110, vgg16 (CIFAR) and resnet18, resnet50 \
        (ImageNet), each vanilla or with SPConv in place of its 3x3 convolutions. Weights are PyTorch \
        state_dicts saved as safetensors. Exit codes: 0 success, 64 bad usage, 1 failure.
        """,
        version: ToolInfo.version,
        subcommands: [DemoCommand.self, ModelsCommand.self, CostCommand.self, RunCommand.self, BenchCommand.self, TuneCommand.self, CheckEngineCommand.self,
                      SimilarityCommand.self, CaptureCommand.self, CompareCommand.self, GridCommand.self,
                      BenchSimilarityCommand.self, SweepCommand.self, TrainCommand.self, StoreCommand.self,
                      QueryCommand.self, MergeCommand.self, ReportCommand.self]
    )
}

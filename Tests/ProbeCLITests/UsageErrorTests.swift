import Foundation
import Testing

/// Bad flags are usage errors: exit code 64 and a message naming the bad value, before any work.
@Suite("probe-cli usage errors")
struct UsageErrorTests {
    struct UsageCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        /// Text the message must contain: the flag and the value as given.
        var mentions: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let cases = [
        UsageCase(arguments: ["cost", "--model", "resnet21"], mentions: ["--model", "'resnet21'", "resnet20"]),
        UsageCase(arguments: ["run", "--model", "alexnet", "--input", "x.npy"], mentions: ["--model", "'alexnet'"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--variant", "foo"], mentions: ["--variant", "'foo'", "spconv"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--variant", "spconv", "--ratio", "1.5"], mentions: ["--ratio", "'1.5'"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--variant", "spconv", "--ratio", "abc"], mentions: ["--ratio", "'abc'"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--variant", "spconv", "--ratio", "0"], mentions: ["--ratio", "'0'"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--variant", "spconv", "--ratio", "1/0"], mentions: ["--ratio", "'1/0'"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--variant", "spconv", "--groups", "0"], mentions: ["--groups 0"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--classes", "0"], mentions: ["--classes 0"]),
        UsageCase(arguments: ["bench", "--model", "resnet20", "--batch", "0"], mentions: ["--batch 0"]),
        UsageCase(arguments: ["bench", "--model", "resnet20", "--threads", "0"], mentions: ["--threads 0"]),
        UsageCase(arguments: ["bench", "--model", "resnet20", "--warmup", "9223372036854775807"], mentions: ["--warmup 9223372036854775807", "100000"]),
        UsageCase(arguments: ["bench", "--model", "resnet20", "--runs", "9223372036854775807"], mentions: ["--runs 9223372036854775807", "1000000"]),
        UsageCase(arguments: ["query", "--db", "x.sqlite", "--timeout", "inf", "SELECT 1"], mentions: ["--timeout inf", "86400"]),
        UsageCase(arguments: ["query", "--db", "x.sqlite", "--max-rows=-1", "SELECT 1"], mentions: ["--max-rows -1"]),
        UsageCase(arguments: ["merge", "x.sqlite", "./x.sqlite"], mentions: ["same file"]),
        UsageCase(arguments: ["run", "--model", "resnet20", "--input", "x.npy", "--normalization", "mnist"],
                  mentions: ["--normalization", "'mnist'"]),
        UsageCase(arguments: ["run", "--model", "resnet20", "--input", "x.npy", "--top", "0"], mentions: ["--top 0"]),
        UsageCase(arguments: ["run", "--model", "resnet20"], mentions: ["--input"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--in-channels", "1000000000"], mentions: ["--in-channels 1000000000", "1...4096"]),
        UsageCase(arguments: ["cost", "--model", "resnet50", "--classes", "99999999"], mentions: ["--classes 99999999"]),
        UsageCase(arguments: ["cost", "--model", "resnet20", "--input-size", "100000"], mentions: ["--input-size 100000"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--dataset", "cifar10"],
                  mentions: ["--dataset", "'cifar10'", "fashion-mnist"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "0"], mentions: ["--epochs 0", "at least 1"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs=-3"], mentions: ["--epochs -3"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--lr", "abc"], mentions: ["--lr", "'abc'", "positive number"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--lr", "0"], mentions: ["--lr", "'0'", "positive number"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--lr=-0.1"], mentions: ["--lr", "'-0.1'"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--lr", "nan"], mentions: ["--lr", "'nan'"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--lr", "inf"], mentions: ["--lr", "'inf'"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--batch", "1"], mentions: ["--batch 1"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--momentum", "1.5"], mentions: ["--momentum 1.5"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--schedule", "linear"], mentions: ["--schedule", "'linear'", "cosine"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--resume"], mentions: ["--resume", "--output"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--output", "model.pt"], mentions: ["--output", "'model.pt'", ".safetensors"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "1", "--limit", "1"], mentions: ["--limit 1"]),
        UsageCase(arguments: ["similarity", "--model", "resnet20", "--input", "synthetic:2", "--layers", "conv1", "--formats", "png,jpeg"],
                  mentions: ["--formats", "'jpeg'", "png, svg and pdf"]),
        UsageCase(arguments: ["report", "--db", "x.sqlite", "--out", "r", "--formats", "svg,"], mentions: ["--formats", "an empty entry"]),
        UsageCase(arguments: ["grid", "--model", "resnet20", "--input", "synthetic:2", "--layer", "conv1", "--out", "g.jpg"],
                  mentions: ["--out", "'g.jpg'", ".png, .svg or .pdf"]),
        UsageCase(arguments: ["query", "sql", "--db", "x.sqlite", "--format", "html", "select 1"], mentions: ["--format", "'html'", "markdown"]),
        UsageCase(arguments: ["bench", "--model", "resnet20", "--threads", "100000000"], mentions: ["--threads 100000000", "give 1 to"]),
        UsageCase(arguments: ["sweep", "--model", "resnet20", "--db", "x.sqlite", "--jobs", "100000"], mentions: ["--jobs 100000", "give 1 to"]),
        UsageCase(arguments: ["train", "--model", "resnet20", "--epochs", "9223372036854775807"],
                  mentions: ["--epochs 9223372036854775807", "1 to 100000"]),
        UsageCase(arguments: ["bench", "--model", "resnet20", "--max-memory", "12Q"], mentions: ["--max-memory", "'12Q'", "8G"]),
    ]

    @Test(arguments: cases)
    func exitsWith64NamingTheValue(_ testCase: UsageCase) throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(testCase.arguments, in: directory.url)
            expectFailure(result, exitCode: 64, mentions: testCase.mentions)
        }
    }
}

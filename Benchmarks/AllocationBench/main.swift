import ArgumentParser
import CMallocCounter
import Foundation
import SPConvLab

/// Heap allocations per forward pass in the steady state (after warm-up passes have built the
/// kernels and packed the weights), counted by interposing malloc for the whole process.
@main
struct AllocationBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allocation-bench",
        abstract: "Count heap allocations per forward pass of zoo networks in the steady state.",
        discussion: """
        Build in release mode: swift build -c release --product allocation-bench. Every row warms \
        up with --warmup passes, then counts every malloc, calloc, realloc and aligned allocation \
        of the process (Swift, oneDNN, OpenMP) during --passes passes and prints the mean per pass, \
        with those of 64 KiB or more (feature maps, scratch) apart, and how many were made inside \
        oneDNN or OpenBLAS (a frame of the allocating stack lies in libdnnl or libopenblas) and \
        elsewhere (the engine, the Swift runtime, OpenMP). Default rows: resnet56 and \
        vgg16 at batch 1 and 32, resnet50 at batch 1 and 8, vanilla and SPConv (1/2, 2). With \
        ALLOCATION_BENCH_TRACE set, the stack of every counted allocation made elsewhere is \
        printed to stderr (symbolise the addresses with addr2line -f -e <binary>).
        """)

    @Option(help: "One model (default: the standard rows).")
    var model: String?

    @Option(help: "vanilla or spconv (with --model).")
    var variant = "vanilla"

    @Option(help: "Batch size (with --model).")
    var batch = 1

    @Option(help: "Untimed passes before counting.")
    var warmup = 3

    @Option(help: "Counted passes; the mean per pass is printed.")
    var passes = 5

    @Option(help: "Threads for the kernels.")
    var threads = 2

    @Flag(help: "Print one JSON object per row.")
    var json = false

    func validate() throws {
        if let model, Architecture(rawValue: model) == nil {
            throw ValidationError("--model '\(model)' is not in the zoo; choose one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard ["vanilla", "spconv"].contains(variant) else { throw ValidationError("--variant '\(variant)' is not known; choose vanilla or spconv.") }
        guard batch >= 1, warmup >= 1, passes >= 1, threads >= 1 else {
            throw ValidationError("--batch, --warmup, --passes and --threads must be at least 1.")
        }
    }

    func run() throws {
        Engine.setThreads(threads)
        let rows: [(Architecture, String, Int)] = model.map { [(Architecture(rawValue: $0)!, variant, batch)] } ?? [
            (.resnet56, "vanilla", 1), (.resnet56, "spconv", 1), (.resnet56, "vanilla", 32), (.resnet56, "spconv", 32),
            (.vgg16, "vanilla", 1), (.vgg16, "spconv", 1), (.vgg16, "vanilla", 32), (.vgg16, "spconv", 32),
            (.resnet50, "vanilla", 1), (.resnet50, "spconv", 1), (.resnet50, "vanilla", 8), (.resnet50, "spconv", 8),
        ]
        for (architecture, variantName, batch) in rows {
            let variant: ModelVariant = variantName == "spconv" ? .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)) : .vanilla
            let network = try Network(ModelSpec(architecture, variant: variant), seed: 1)
            let spec = network.spec
            var generator = SeededGenerator(seed: 1)
            let input = Tensor.uniform([batch, spec.inputChannels, spec.inputSize, spec.inputSize], generator: &generator)
            for _ in 0..<warmup { _ = try network(input) }
            malloc_counter_start()
            for _ in 0..<passes { _ = try network(input) }
            let counts = malloc_counter_stop()
            let perPass = { (value: Int) in Double(value) / Double(passes) }
            if json {
                print(#"{"model":"\#(architecture.rawValue)","variant":"\#(variantName)","batch":\#(batch),"threads":\#(threads),"#
                      + #""allocations_per_pass":\#(perPass(counts.calls)),"bytes_per_pass":\#(perPass(counts.bytes)),"#
                      + #""large_allocations_per_pass":\#(perPass(counts.largeCalls)),"large_bytes_per_pass":\#(perPass(counts.largeBytes)),"#
                      + #""onednn_allocations_per_pass":\#(perPass(counts.dnnlCalls)),"openblas_allocations_per_pass":\#(perPass(counts.blasCalls)),"#
                      + #""other_allocations_per_pass":\#(perPass(counts.calls - counts.dnnlCalls - counts.blasCalls))}"#)
            } else {
                print(String(format: "%@, batch %d: %.0f allocations per pass (%.1f MB), %.0f of them 64 KiB or more (%.1f MB); inside oneDNN %.0f, inside OpenBLAS %.0f, elsewhere %.0f",
                             spec.displayName, batch, perPass(counts.calls), perPass(counts.bytes) / 1e6,
                             perPass(counts.largeCalls), perPass(counts.largeBytes) / 1e6, perPass(counts.dnnlCalls),
                             perPass(counts.blasCalls), perPass(counts.calls - counts.dnnlCalls - counts.blasCalls)))
            }
        }
    }
}

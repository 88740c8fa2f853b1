import Foundation
import SPConvCore

/// The compute engine's process-wide settings: its thread count, and the environment switches
/// it reads once (`SPCONVLAB_MAX_ISA`, `SPCONVLAB_CONV_ALGO`, `SPCONVLAB_SPCONV_KERNEL`).
public enum Engine {
    /// Sets the number of threads the kernels (oneDNN's OpenMP pool and OpenBLAS) use.
    public static func setThreads(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1, got \(count)")
        DNNL.setThreads(count)
        BLAS.setThreads(count)
    }

    /// The number of threads kernels use now.
    public static var threads: Int { DNNL.maxThreads }

    /// The widest instruction set the kernels may use, from `SPCONVLAB_MAX_ISA`.
    package enum ISALimit: Equatable { case none, avx2, sse41 }

    /// Reads `SPCONVLAB_MAX_ISA` (nil: unset). An unknown value is ignored with a warning.
    package static func isaLimit(_ value: String?) -> (limit: ISALimit, warning: String?) {
        switch value?.lowercased() {
        case nil: return (.none, nil)
        case "avx2": return (.avx2, nil)
        case "sse41": return (.sse41, nil)
        case let other?:
            return (.none, "SPCONVLAB_MAX_ISA='\(other)' (from the environment) is not known; accepted are avx2 and sse41. Using the widest instruction set this CPU has.")
        }
    }

    /// The convolution algorithm, from `SPCONVLAB_CONV_ALGO` (see ``ConvolutionKernel`` and
    /// ``WinogradConvolution``): `own` (the default) runs the engine's own kernels alone wherever
    /// they apply, with no oneDNN convolution and no timing against oneDNN (its Winograd where it
    /// pays off and times faster than its direct convolution, that elsewhere, and SPConv's own kernels unless
    /// `SPCONVLAB_SPCONV_KERNEL` says otherwise), so a steady-state pass makes no heap allocation
    /// (oneDNN 2.6 allocates inside every execution); `auto` times the engine's own kernels
    /// against oneDNN's choice (its Winograd or direct kernel) per layer shape and keeps the
    /// faster, allocations inside oneDNN and all; `direct` runs oneDNN's direct kernels only;
    /// `winograd` takes oneDNN's Winograd wherever it has it (AVX-512) and never the engine's;
    /// `own-winograd` takes the engine's own Winograd wherever it applies (3x3, stride 1, whole
    /// channel blocks) and times the rest as `auto`; `own-direct` the engine's own direct
    /// convolution wherever it applies (one group, no dilation).
    package enum ConvolutionAlgorithm: String, Equatable {
        case auto, direct, winograd, own
        case ownWinograd = "own-winograd"
        case ownDirect = "own-direct"
    }

    /// Reads `SPCONVLAB_CONV_ALGO` (nil: unset). An unknown value means `own`, with a warning.
    package static func convolutionAlgorithm(_ value: String?) -> (algorithm: ConvolutionAlgorithm, warning: String?) {
        guard let value else { return (.own, nil) }
        if let known = ConvolutionAlgorithm(rawValue: value) { return (known, nil) }
        return (.own, "SPCONVLAB_CONV_ALGO='\(value)' (from the environment) is not known; accepted are own (the default), auto, direct, winograd, own-winograd and own-direct. Using own.")
    }

    /// Which kernels run an SPConv layer, from `SPCONVLAB_SPCONV_KERNEL`: `auto` (the default)
    /// chooses per layer shape, `own` runs the engine's direct kernels wherever they apply
    /// (``DirectConvolution``), `onednn` the oneDNN convolutions with a split and a fusion pass.
    package enum SPConvKernelChoice: String, Equatable { case auto, own, onednn }

    /// Reads `SPCONVLAB_SPCONV_KERNEL` (nil: unset). An unknown value means `auto`, with a warning.
    package static func spconvKernel(_ value: String?) -> (choice: SPConvKernelChoice, warning: String?) {
        guard let value else { return (.auto, nil) }
        if let known = SPConvKernelChoice(rawValue: value) { return (known, nil) }
        return (.auto, "SPCONVLAB_SPCONV_KERNEL='\(value)' (from the environment) is not known; accepted are auto (the default), own and onednn. Using auto.")
    }

    /// A choice for the graphs compiled in the current task, over the environment's (tests and
    /// `check-engine` run both kernels of a layer in one process with it).
    @TaskLocal package static var spconvKernelOverride: SPConvKernelChoice?

    /// Whether graphs compiled in the current task may use the engine's own Winograd (nil: as
    /// `SPCONVLAB_CONV_ALGO` says). Tests and `check-engine` compile a network with and without it.
    @TaskLocal package static var ownWinogradOverride: Bool?

    /// Whether graphs compiled in the current task may use the engine's own direct convolution
    /// for dense convolutions (nil: as `SPCONVLAB_CONV_ALGO` says), likewise.
    @TaskLocal package static var ownDirectOverride: Bool?

    /// How the graphs compiled now choose one of the engine's own convolutions: `forced`
    /// (wherever it applies), `never`, `measured` against oneDNN's choice, or `preferred` (where it
    /// applies and its own rule says it pays off, without timing against oneDNN).
    package enum OwnKernelChoice: Equatable { case forced, never, measured, preferred }

    /// The own Winograd: `forced` with `SPCONVLAB_CONV_ALGO=own-winograd` (or the override on),
    /// `never` with `direct`, `winograd` or `own-direct` (or the override off), `preferred` with
    /// `own`, else `measured`.
    package static var ownWinogradChoice: OwnKernelChoice {
        if let override = ownWinogradOverride { return override ? .forced : .never }
        switch convolutionAlgorithm(ProcessInfo.processInfo.environment["SPCONVLAB_CONV_ALGO"]).algorithm {
        case .ownWinograd: return .forced
        case .direct, .winograd, .ownDirect: return .never
        case .own: return .preferred
        case .auto: return .measured
        }
    }

    /// The own direct convolution (where the own Winograd does not run): `forced` with
    /// `SPCONVLAB_CONV_ALGO=own-direct` (or the override on), `never` with `direct` or `winograd`
    /// (or the override off), `forced` with `own` too, else `measured`.
    package static var ownDirectChoice: OwnKernelChoice {
        if let override = ownDirectOverride { return override ? .forced : .never }
        switch convolutionAlgorithm(ProcessInfo.processInfo.environment["SPCONVLAB_CONV_ALGO"]).algorithm {
        case .ownDirect, .own: return .forced
        case .direct, .winograd: return .never
        case .auto, .ownWinograd: return .measured
        }
    }

    /// The override, else ``spconvKernel(_:)`` for this process's environment; unset there, `own`
    /// with `SPCONVLAB_CONV_ALGO=own`.
    package static var spconvKernelChoice: SPConvKernelChoice {
        let environment = ProcessInfo.processInfo.environment
        if let override = spconvKernelOverride { return override }
        if environment["SPCONVLAB_SPCONV_KERNEL"] == nil, convolutionAlgorithm(environment["SPCONVLAB_CONV_ALGO"]).algorithm == .own {
            return .own
        }
        return spconvKernel(environment["SPCONVLAB_SPCONV_KERNEL"]).choice
    }

    /// What is wrong with the engine's environment switches in `environment` (the process's by
    /// default), as sentences: the engine ignores those values, and a program tells its user.
    public static func environmentWarnings(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        [isaLimit(environment["SPCONVLAB_MAX_ISA"]).warning, convolutionAlgorithm(environment["SPCONVLAB_CONV_ALGO"]).warning,
         spconvKernel(environment["SPCONVLAB_SPCONV_KERNEL"]).warning]
            .compactMap { $0 }
    }
}

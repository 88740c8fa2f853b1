import Foundation
import SPConvCore

/// The compute engine's process-wide settings: its thread count, and the environment switches
/// it reads once (`SPCONVLAB_MAX_ISA`, `SPCONVLAB_CONV_ALGO`).
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

    /// The convolution algorithm besides direct, from `SPCONVLAB_CONV_ALGO` (see
    /// ``ConvolutionKernel``): nil when unset, `auto`, `direct` or `winograd`.
    package enum ConvolutionAlgorithm: String, Equatable { case auto, direct, winograd }

    /// Reads `SPCONVLAB_CONV_ALGO` (nil: unset). An unknown value means `auto`, with a warning.
    package static func convolutionAlgorithm(_ value: String?) -> (algorithm: ConvolutionAlgorithm, warning: String?) {
        guard let value else { return (.auto, nil) }
        if let known = ConvolutionAlgorithm(rawValue: value) { return (known, nil) }
        return (.auto, "SPCONVLAB_CONV_ALGO='\(value)' (from the environment) is not known; accepted are auto (the default), direct and winograd. Using auto.")
    }

    /// What is wrong with the engine's environment switches in `environment` (the process's by
    /// default), as sentences: the engine ignores those values, and a program tells its user.
    public static func environmentWarnings(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        [isaLimit(environment["SPCONVLAB_MAX_ISA"]).warning, convolutionAlgorithm(environment["SPCONVLAB_CONV_ALGO"]).warning]
            .compactMap { $0 }
    }
}

import CBLAS
import SPConvCore

/// OpenBLAS settings.
package enum BLAS {
    package static func setThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }
}

import CBLAS

/// OpenBLAS settings.
enum BLAS {
    static func setThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }
}

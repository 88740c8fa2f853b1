#include <cblas.h>
/* OpenBLAS extensions used to pin its thread count beside oneDNN's. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* LAPACK's symmetric eigen-solver, which Debian's OpenBLAS exports (used for effective rank). */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);

#include <oneapi/dnnl/dnnl.h>
/* oneDNN 2.6 on Debian threads with OpenMP (DNNL_CPU_THREADING_RUNTIME = OMP);
   the engine sets its thread count through libgomp. */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
/* glibc's mallopt, to keep feature-map buffers on the heap between layers. */
#include <malloc.h>
/* libgomp's entry for a parallel region (what GCC emits for `#pragma omp parallel`): the engine's
   own memory-bound kernels run on the same OpenMP threads as oneDNN, instead of leaving them
   spinning while a second pool competes for the cores. */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned int flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
/* A barrier of the enclosing parallel region's threads (returns at once outside a region). */
void GOMP_barrier(void);

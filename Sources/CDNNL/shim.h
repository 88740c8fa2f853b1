#include <oneapi/dnnl/dnnl.h>
/* oneDNN 2.6 on Debian threads with OpenMP (DNNL_CPU_THREADING_RUNTIME = OMP);
   the engine sets its thread count through libgomp. */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
/* glibc's mallopt, to keep feature-map buffers on the heap between layers. */
#include <malloc.h>

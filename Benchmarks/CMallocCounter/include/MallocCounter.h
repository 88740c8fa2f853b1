#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H

/// Counts the heap allocations of the whole process (every library's, through malloc, calloc,
/// realloc, posix_memalign, aligned_alloc and memalign) between start and stop. Linked into the
/// allocation benchmark only: defining malloc in the executable interposes it for every library.
typedef struct {
    long calls;
    long bytes;
    /// Allocations of at least 64 KiB (feature maps, packed weights, scratch buffers).
    long largeCalls;
    long largeBytes;
    /// Allocations made inside oneDNN (libdnnl) and OpenBLAS (libopenblas): a frame of the
    /// caller's stack lies in that library.
    long dnnlCalls;
    long blasCalls;
} MallocCounts;

void malloc_counter_start(void);
MallocCounts malloc_counter_stop(void);

#endif

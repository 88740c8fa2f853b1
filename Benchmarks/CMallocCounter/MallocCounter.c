// A counting layer over glibc's allocator: each entry point records the request while counting
// is on and forwards to glibc's own implementation (__libc_*), so memory from either side can be
// freed by the other.
#define _GNU_SOURCE
#include "MallocCounter.h"
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <string.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static atomic_int counting;
static atomic_long calls, bytes, largeCalls, largeBytes, dnnlCalls, blasCalls;
static _Thread_local int walking;
/// Set from ALLOCATION_BENCH_TRACE (any value) when counting starts: print the stack of every
/// counted allocation made neither in oneDNN nor in OpenBLAS to stderr, to find the engine's own.
static int traceElsewhere;

/// Which library on the stack made this allocation: 1 oneDNN, 2 OpenBLAS, 0 neither.
static int library(void) {
    if (walking) return 0;
    walking = 1;
    void *frames[24];
    int depth = backtrace(frames, 24), found = 0;
    for (int i = 2; i < depth && !found; i++) {
        Dl_info info;
        if (dladdr(frames[i], &info) && info.dli_fname) {
            if (strstr(info.dli_fname, "libdnnl")) found = 1;
            else if (strstr(info.dli_fname, "libopenblas")) found = 2;
        }
    }
    walking = 0;
    return found;
}

static void record(size_t size) {
    if (!atomic_load_explicit(&counting, memory_order_relaxed) || walking) return;
    int from = library();
    if (from == 1) atomic_fetch_add_explicit(&dnnlCalls, 1, memory_order_relaxed);
    if (from == 2) atomic_fetch_add_explicit(&blasCalls, 1, memory_order_relaxed);
    if (from == 0 && traceElsewhere) {
        walking = 1;
        void *frames[24];
        int depth = backtrace(frames, 24);
        (void)!write(2, "-- allocation elsewhere:\n", 25);
        backtrace_symbols_fd(frames, depth, 2);
        walking = 0;
    }
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes, (long)size, memory_order_relaxed);
    if (size >= 65536) {
        atomic_fetch_add_explicit(&largeCalls, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&largeBytes, (long)size, memory_order_relaxed);
    }
}

void *malloc(size_t size) { record(size); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { record(count * size); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { record(size); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { record(size); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { record(size); return __libc_memalign(alignment, size); }
void free(void *pointer) { __libc_free(pointer); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    record(size);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void malloc_counter_start(void) {
    void *warm[2];
    backtrace(warm, 2);  // the first call loads the unwinder, which allocates
    traceElsewhere = getenv("ALLOCATION_BENCH_TRACE") != NULL;
    atomic_store(&dnnlCalls, 0);
    atomic_store(&blasCalls, 0);
    atomic_store(&calls, 0);
    atomic_store(&bytes, 0);
    atomic_store(&largeCalls, 0);
    atomic_store(&largeBytes, 0);
    atomic_store(&counting, 1);
}

MallocCounts malloc_counter_stop(void) {
    atomic_store(&counting, 0);
    MallocCounts counts = {atomic_load(&calls), atomic_load(&bytes), atomic_load(&largeCalls), atomic_load(&largeBytes),
                           atomic_load(&dnnlCalls), atomic_load(&blasCalls)};
    return counts;
}

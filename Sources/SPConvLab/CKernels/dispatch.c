// Chooses one build of the kernels at run time and forwards each call to it.
#include "CKernels.h"
#include "table.h"

static const ck_table *ck_active_table;
static int ck_level = -1;
// The build the engine chose (the widest this CPU runs, or its SPCONVLAB_MAX_ISA limit): its
// choices of algorithm follow this one, never the build a test switched to for a while, so a
// test checking another build cannot change which kernels a concurrent computation runs.
static int ck_engine_level = -1;

static int ck_cpu_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}

void ck_select_isa(int max_level) {
    int level = ck_cpu_level();
    if (max_level < level) level = max_level < 0 ? 0 : max_level;
    const ck_table *table = level == 2 ? &ck_table_avx512 : level == 1 ? &ck_table_avx2 : &ck_table_baseline;
    __atomic_store_n(&ck_level, level, __ATOMIC_RELEASE);
    __atomic_store_n(&ck_active_table, table, __ATOMIC_RELEASE);
}

static inline const ck_table *ck_table_in_use(void) {
    const ck_table *table = __atomic_load_n(&ck_active_table, __ATOMIC_ACQUIRE);
    if (table) return table;
    ck_select_isa(2);
    return __atomic_load_n(&ck_active_table, __ATOMIC_ACQUIRE);
}

void ck_select_engine_isa(int max_level) {
    ck_select_isa(max_level);
    __atomic_store_n(&ck_engine_level, __atomic_load_n(&ck_level, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
}

int ck_engine_isa(void) {
    int level = __atomic_load_n(&ck_engine_level, __ATOMIC_ACQUIRE);
    if (level >= 0) return level;
    int cpu = ck_cpu_level();
    return cpu;
}

int ck_active_isa(void) {
    (void)ck_table_in_use();
    return __atomic_load_n(&ck_level, __ATOMIC_ACQUIRE);
}

void ck_lane_sum(const float *x, long pixels, float *out) { ck_table_in_use()->lane_sum(x, pixels, out); }
void ck_lane_squared_deviations(const float *x, long pixels, const float *mean, float *out) {
    ck_table_in_use()->lane_squared_deviations(x, pixels, mean, out);
}
void ck_lane_affine(const float *x, float *o, long pixels, const float *scale, const float *shift, int relu) {
    ck_table_in_use()->lane_affine(x, o, pixels, scale, shift, relu);
}
void ck_lane_batch_norm_sums(const float *x, const float *dy, long pixels, const float *mean, const float *scale,
                             const float *shift, int relu, float *sum, float *centred) {
    ck_table_in_use()->lane_batch_norm_sums(x, dy, pixels, mean, scale, shift, relu, sum, centred);
}
void ck_lane_batch_norm_input(const float *x, const float *dy, float *o, long pixels, const float *mean, const float *scale,
                              const float *shift, const float *inv_std, const float *k, const float *grad_bias,
                              const float *grad_weight, float count, int relu) {
    ck_table_in_use()->lane_batch_norm_input(x, dy, o, pixels, mean, scale, shift, inv_std, k, grad_bias, grad_weight, count, relu);
}
void ck_lane_centred_moments(const float *r, const float *d, long pixels, const float *m1, const float *m2, float *out) {
    ck_table_in_use()->lane_centred_moments(r, d, pixels, m1, m2, out);
}
void ck_lane_affine_pair(const float *r, const float *d, float *o, long pixels, const float *ca, const float *cb,
                         const float *c0, int relu) {
    ck_table_in_use()->lane_affine_pair(r, d, o, pixels, ca, cb, c0, relu);
}
void ck_lane_masked_gradient_sums(const float *dy, const float *r, const float *d, long pixels, const float *m1,
                                  const float *m2, const float *ca, const float *cb, const float *c0, int relu, float *out) {
    ck_table_in_use()->lane_masked_gradient_sums(dy, r, d, pixels, m1, m2, ca, cb, c0, relu, out);
}
void ck_lane_pair_gradient(const float *dy, const float *r, const float *d, float *oa, float *ob, long pixels,
                           const float *coefficients, int relu) {
    ck_table_in_use()->lane_pair_gradient(dy, r, d, oa, ob, pixels, coefficients, relu);
}
void ck_fuse_blocks(long first, long last, long channel_blocks, long plane, long width, const float *a, const float *r,
                    const float *residual, float *out, const float *scale, const float *shift, int relu, int block) {
    ck_table_in_use()->fuse_blocks(first, last, channel_blocks, plane, width, a, r, residual, out, scale, shift, relu, block);
}
void ck_fuse_row_sums(long channel_blocks, long plane, long width, long y0, long y1, const float *a, const float *r, float *sums,
                      int block) {
    ck_table_in_use()->fuse_row_sums(channel_blocks, plane, width, y0, y1, a, r, sums, block);
}
void ck_fuse_rows(long channel_blocks, long plane, long width, const float *sums, long y0, long y1, const float *a, const float *r,
                  const float *residual, float *out, const float *scale, const float *shift, int relu, int block) {
    ck_table_in_use()->fuse_rows(channel_blocks, plane, width, sums, y0, y1, a, r, residual, out, scale, shift, relu, block);
}
void ck_relu(const float *x, float *o, long count) { ck_table_in_use()->relu(x, o, count); }
void ck_add_relu(const float *a, const float *b, float *o, long count) { ck_table_in_use()->add_relu(a, b, o, count); }
void ck_masked_by_positive(const float *g, const float *y, float *o, long count) {
    ck_table_in_use()->masked_by_positive(g, y, o, count);
}
void ck_add_in_place(float *a, const float *b, long count) { ck_table_in_use()->add_in_place(a, b, count); }
int ck_narrow_conv_forward(long n0, long n1, long h, long w, const float *x, long x_blocks, long c0, long k,
                           const float *weight, const float *bias, long oc, long ks, float *y) {
    return ck_table_in_use()->narrow_conv_forward(n0, n1, h, w, x, x_blocks, c0, k, weight, bias, oc, ks, y);
}
int ck_narrow_conv_backward(long n0, long n1, long h, long w, const float *x, long x_blocks, long c0, long k,
                            const float *weight, long oc, long ks, const float *dy, float *dx, int accumulate,
                            float *grad_weight, float *grad_bias) {
    return ck_table_in_use()->narrow_conv_backward(n0, n1, h, w, x, x_blocks, c0, k, weight, oc, ks, dy, dx, accumulate, grad_weight,
                                                   grad_bias);
}
void ck_direct_conv_rows(const ck_direct_conv *conv, const float *x, float *y, long b0, long b1, long y0, long y1) {
    ck_table_in_use()->direct_conv_rows(conv, x, y, b0, b1, y0, y1);
}
void ck_direct_conv_border(const float *x, long blocks, long h, long w, long group_k, long block, long r0, long r1, float *out) {
    ck_table_in_use()->dc_border(x, blocks, h, w, group_k, block, r0, r1, out);
}
void ck_direct_conv_images(const ck_direct_conv *conv, const float *x, long x_stride, float *y, long y_stride, long images) {
    ck_table_in_use()->direct_conv_images(conv, x, x_stride, y, y_stride, images);
}
int ck_winograd_tiles(const ck_winograd *conv, const float *x, float *y, long t0, long t1, float *scratch) {
    return ck_table_in_use()->winograd_tiles(conv, x, y, t0, t1, scratch);
}
void ck_pool_planes(const ck_pool *pool, const float *x, float *y, long p0, long p1) {
    ck_table_in_use()->pool_planes(pool, x, y, p0, p1);
}
void ck_linear_rows(const float *x, long n, long in, const float *w, const float *bias, float *y, long out, long o0, long o1) {
    ck_table_in_use()->linear_rows(x, n, in, w, bias, y, out, o0, o1);
}

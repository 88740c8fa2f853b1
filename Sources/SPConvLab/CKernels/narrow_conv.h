// SPConv's narrow convolutions, included by lanes.h (so once per build, after CK(name) is defined).
//
// A convolution whose input is a few channels [c0, c0 + k) of a channel-blocked tensor
// ([N][blocks][H][W][16]), such as SPConv's 8 representative channels of a 16-channel block,
// stride 1 and "same" padding (ks odd, pad (ks - 1) / 2), output channels whole 16-lane blocks.
// oneDNN's nChw16c kernels pad those channels to a whole block and do a 16-channel convolution's
// work; these read only the k channels.
//
// The kernels read the channel-blocked maps where they lie (pixels a constant 64 bytes apart)
// and leave out the taps that fall outside the map. The forward pass and the input gradient are
// direct convolutions in one shape: a row of up to CK_ROW_BLOCK output pixels in registers, each the sum
// over taps and input channels of a broadcast input scalar times a vector of output lanes. The
// weight gradient keeps a vector of 16 output channels per input channel of a chunk in registers
// and sweeps every pixel once per tap and chunk. Every multiply-add is one fused operation
// (exactly rounded), in the same order in every build, so the builds give the same bits.
#include <stdlib.h>
#include <string.h>

#define CK_ROW_BLOCK 14

typedef float v8 __attribute__((ext_vector_type(8)));

CK_INLINE v8 CK(ld8)(const float *p) { v8 v; __builtin_memcpy(&v, p, 32); return v; }
CK_INLINE void CK(st8)(float *p, v8 v) { __builtin_memcpy(p, &v, 32); }

// One row block of a direct convolution over 16-lane pixels, centred at `at` (the input pixel
// under the first output pixel): for j < r,
// out[j] = init + Σ_{cb, kh in [kh0, kh1), kw in [kw0, kw1), ic < nic}
//          at[cb block_stride + (kh - pad) row_stride + (j + kw - pad) 16 + ic] * w[((cb ks + kh) ks + kw) nic + ic][lanes],
// w's rows ldw floats apart. Taps outside [kh0, kh1) x [kw0, kw1) are the ones off the map.
#define CK_DEFINE_ROW(SUFFIX, VT, LD, ST)                                                                            \
    CK_INLINE void CK(row_##SUFFIX)(const float *at, long row_stride, long block_stride, long cblocks, long nic,       \
                                    long ks, long kh0, long kh1, long kw0, long kw1, const float *w, long ldw,        \
                                    VT init, float *out, long out_stride, const int r) {                              \
        VT acc[CK_ROW_BLOCK];                                                                                         \
        long pad = (ks - 1) / 2;                                                                                      \
        for (int j = 0; j < r; j++) acc[j] = init;                                                                    \
        for (long cb = 0; cb < cblocks; cb++)                                                                         \
            for (long kh = kh0; kh < kh1; kh++)                                                                       \
                for (long kw = kw0; kw < kw1; kw++) {                                                                 \
                    const float *t = at + cb * block_stride + (kh - pad) * row_stride + (kw - pad) * 16;              \
                    const float *wt = w + ((cb * ks + kh) * ks + kw) * nic * ldw;                                     \
                    for (long ic = 0; ic < nic; ic++) {                                                               \
                        VT wv = LD(wt + ic * ldw);                                                                    \
                        for (int j = 0; j < r; j++) acc[j] = __builtin_elementwise_fma((VT)t[j * 16 + ic], wv, acc[j]); \
                    }                                                                                                 \
                }                                                                                                     \
        for (int j = 0; j < r; j++) ST(out + j * out_stride, acc[j]);                                                 \
    }                                                                                                                 \
    static void CK(rows_##SUFFIX)(const float *at, long row_stride, long block_stride, long cblocks, long nic,        \
                                  long ks, long kh0, long kh1, long kw0, long kw1, const float *w, long ldw, VT init,  \
                                  float *out, long out_stride, long r) {                                              \
        switch (r) {                                                                                                  \
        CK_ROW_CASE(SUFFIX, 1) CK_ROW_CASE(SUFFIX, 2) CK_ROW_CASE(SUFFIX, 3) CK_ROW_CASE(SUFFIX, 4)                   \
        CK_ROW_CASE(SUFFIX, 5) CK_ROW_CASE(SUFFIX, 6) CK_ROW_CASE(SUFFIX, 7) CK_ROW_CASE(SUFFIX, 8)                   \
        CK_ROW_CASE(SUFFIX, 9) CK_ROW_CASE(SUFFIX, 10) CK_ROW_CASE(SUFFIX, 11) CK_ROW_CASE(SUFFIX, 12)                \
        CK_ROW_CASE(SUFFIX, 13)                                                                                       \
        default: CK(row_##SUFFIX)(at, row_stride, block_stride, cblocks, nic, ks, kh0, kh1, kw0, kw1, w, ldw, init, out, out_stride, 14); \
        }                                                                                                             \
    }
#define CK_ROW_CASE(SUFFIX, R)                                                                                        \
    case R: CK(row_##SUFFIX)(at, row_stride, block_stride, cblocks, nic, ks, kh0, kh1, kw0, kw1, w, ldw, init, out, out_stride, R); break;
CK_DEFINE_ROW(16, v16, CK(ld), CK(st))
CK_DEFINE_ROW(8, v8, CK(ld8), CK(st8))
#undef CK_DEFINE_ROW
#undef CK_ROW_CASE

// One output pixel near the map's edge (see row_*, r = 1), its sum split over 8 partial sums by
// input lane (ic mod 8) so the multiply-adds do not wait on each other; the partial sums are
// added pairwise, then init.
#define CK_DEFINE_EDGE(SUFFIX, VT, LD, ST)                                                                           \
    static void CK(edge_##SUFFIX)(const float *at, long row_stride, long block_stride, long cblocks, long nic, long ks, \
                                  long kh0, long kh1, long kw0, long kw1, const float *w, long ldw, VT init, float *out) { \
        VT acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                                         \
        long pad = (ks - 1) / 2;                                                                                      \
        for (long cb = 0; cb < cblocks; cb++)                                                                         \
            for (long kh = kh0; kh < kh1; kh++)                                                                       \
                for (long kw = kw0; kw < kw1; kw++) {                                                                 \
                    const float *t = at + cb * block_stride + (kh - pad) * row_stride + (kw - pad) * 16;              \
                    const float *wt = w + ((cb * ks + kh) * ks + kw) * nic * ldw;                                     \
                    for (long ic = 0; ic < nic; ic++)                                                                 \
                        acc[ic & 7] = __builtin_elementwise_fma((VT)t[ic], LD(wt + ic * ldw), acc[ic & 7]);           \
                }                                                                                                     \
        ST(out, (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + init);           \
    }
CK_DEFINE_EDGE(16, v16, CK(ld), CK(st))
CK_DEFINE_EDGE(8, v8, CK(ld8), CK(st8))
#undef CK_DEFINE_EDGE

/// One output row of a convolution over 16-lane pixels (see row_*): the first and last `pad`
/// pixels one at a time with their off-map taps left out (edge_*), the ones between in register
/// blocks of at most CK_ROW_BLOCK. `at` is the input pixel under output pixel 0 and `out`
/// output pixel 0. With `lanes` 8 the output vectors have 8 lanes (an input gradient of at most
/// 8 channels).
static void CK(conv_row)(const float *at, long oy, long h, long w, long block_stride, long cblocks, long nic, long ks,
                         const float *weights, long ldw, v16 init, int lanes, float *out, long out_stride) {
    long pad = (ks - 1) / 2, kh0 = oy < pad ? pad - oy : 0, kh1 = oy + pad >= h ? ks - (oy + pad - h + 1) : ks;
    long row_stride = w * 16, inner = w - 2 * pad, blocks = (inner + CK_ROW_BLOCK - 1) / CK_ROW_BLOCK;
#define CK_CONV_EDGE_CALL(X, KW0, KW1)                                                                                \
    if (lanes == 8) CK(edge_8)(at + (X) * 16, row_stride, block_stride, cblocks, nic, ks, kh0, kh1, KW0, KW1, weights, ldw, \
                               init.lo, out + (X) * out_stride);                                                      \
    else CK(edge_16)(at + (X) * 16, row_stride, block_stride, cblocks, nic, ks, kh0, kh1, KW0, KW1, weights, ldw, init, \
                     out + (X) * out_stride)
    for (long x = 0; x < pad && x < w; x++) {
        long kw1 = x + pad >= w ? ks - (x + pad - w + 1) : ks;
        CK_CONV_EDGE_CALL(x, pad - x, kw1);
    }
    for (long rb = 0, x = pad; rb < blocks; rb++) {
        long left = blocks - rb, r = (w - pad - x + left - 1) / left;
        if (lanes == 8) CK(rows_8)(at + x * 16, row_stride, block_stride, cblocks, nic, ks, kh0, kh1, 0, ks, weights, ldw,
                                   init.lo, out + x * out_stride, out_stride, r);
        else CK(rows_16)(at + x * 16, row_stride, block_stride, cblocks, nic, ks, kh0, kh1, 0, ks, weights, ldw, init,
                         out + x * out_stride, out_stride, r);
        x += r;
    }
    for (long x = w - pad > pad ? w - pad : pad; x < w; x++) {
        long kw0 = x < pad ? pad - x : 0;
        CK_CONV_EDGE_CALL(x, kw0, ks - (x + pad - w + 1));
    }
#undef CK_CONV_EDGE_CALL
}

static int CK(narrow_conv_forward)(long n0, long n1, long h, long w, const float *x, long x_blocks, long c0, long k,
                                   const float *weight, const float *bias, long oc, long ks, float *y) {
    long taps = ks * ks, plane = h * w * 16;
    float *packed = malloc((size_t)(taps * k * oc) * sizeof(float));
    if (!packed) return -1;
    // packed[(tap k + ic) oc + o] = weight[o][ic][tap]
    for (long o = 0; o < oc; o++)
        for (long ic = 0; ic < k; ic++)
            for (long t = 0; t < taps; t++) packed[(t * k + ic) * oc + o] = weight[(o * k + ic) * taps + t];
    for (long n = n0; n < n1; n++) {
        const float *xn = x + (n * x_blocks + (c0 >> 4)) * plane + (c0 & 15);
        for (long b = 0; b < oc / 16; b++) {
            v16 init = bias ? CK(ld)(bias + b * 16) : (v16)0;
            float *yb = y + (n * (oc / 16) + b) * plane;
            for (long oy = 0; oy < h; oy++)
                CK(conv_row)(xn + oy * w * 16, oy, h, w, 0, 1, k, ks, packed + b * 16, oc, init, 16, yb + oy * w * 16, 16);
        }
    }
    free(packed);
    return 0;
}

/// Σ over the output pixels whose tap (kh, kw) lands on the map of that input pixel's lanes
/// [0, KC) of `x` times dy (one 16-channel block), added to acc_out[ic][16].
#define CK_DEFINE_WEIGHT_SWEEP(KC)                                                                                 \
    static void CK(weight_sweep_##KC)(const float *x, long kh, long kw, long pad, const float *dy, long h, long w,     \
                                      float *acc_out) {                                                                \
        v16 acc[KC];                                                                                                   \
        for (int c = 0; c < KC; c++) acc[c] = 0;                                                                       \
        long y0 = pad > kh ? pad - kh : 0, y1 = h + pad - kh < h ? h + pad - kh : h;                                   \
        long x0 = pad > kw ? pad - kw : 0, x1 = w + pad - kw < w ? w + pad - kw : w;                                   \
        for (long oy = y0; oy < y1; oy++) {                                                                            \
            const float *t = x + ((oy + kh - pad) * w + x0 + kw - pad) * 16;                                           \
            const float *g = dy + (oy * w + x0) * 16;                                                                  \
            for (long i = 0; i < x1 - x0; i++) {                                                                       \
                v16 gv = CK(ld)(g + i * 16);                                                                           \
                for (int c = 0; c < KC; c++) acc[c] = __builtin_elementwise_fma((v16)t[i * 16 + c], gv, acc[c]);       \
            }                                                                                                          \
        }                                                                                                              \
        for (int c = 0; c < KC; c++) CK(st)(acc_out + c * 16, CK(ld)(acc_out + c * 16) + acc[c]);                     \
    }
CK_DEFINE_WEIGHT_SWEEP(8)
CK_DEFINE_WEIGHT_SWEEP(4)
CK_DEFINE_WEIGHT_SWEEP(1)
#undef CK_DEFINE_WEIGHT_SWEEP

static int CK(narrow_conv_backward)(long n0, long n1, long h, long w, const float *x, long x_blocks, long c0, long k,
                                    const float *weight, long oc, long ks, const float *dy, float *dx, int accumulate,
                                    float *grad_weight, float *grad_bias) {
    long pad = (ks - 1) / 2, taps = ks * ks, ob = oc / 16, lane0 = c0 & 15, plane = h * w * 16;
    long lanes = k <= 8 ? 8 : 16, chunks = (k + lanes - 1) / lanes;
    float *flipped = calloc((size_t)(chunks * taps * oc * lanes), sizeof(float));
    float *sums = calloc((size_t)(taps * k * oc), sizeof(float));
    float *row = malloc((size_t)(w * lanes) * sizeof(float));
    if (!flipped || !sums || !row) { free(flipped); free(sums); free(row); return -1; }
    // The input gradient is the convolution of dy (padded by ks - 1 - pad = pad) with the
    // weight flipped in both spatial axes and transposed:
    // flipped[chunk][((cb taps + tap') 16 + ic) lanes + l] = weight[16 cb + ic][chunk lanes + l][taps - 1 - tap'].
    for (long ch = 0; ch < chunks; ch++)
        for (long cb = 0; cb < ob; cb++)
            for (long t = 0; t < taps; t++)
                for (long ic = 0; ic < 16; ic++)
                    for (long l = 0; l < lanes && ch * lanes + l < k; l++)
                        flipped[(((ch * ob + cb) * taps + t) * 16 + ic) * lanes + l]
                            = weight[((cb * 16 + ic) * k + ch * lanes + l) * taps + (taps - 1 - t)];
    for (long n = n0; n < n1; n++) {
        const float *dyn = dy + n * ob * plane, *xn = x + (n * x_blocks + (c0 >> 4)) * plane + lane0;
        float *dxn = dx + n * x_blocks * plane, *dxb = dxn + (c0 >> 4) * plane;
        // Input gradient: zero outside the k channels, unless added to dx as it is.
        if (!accumulate) memset(dxn, 0, (size_t)(x_blocks * plane) * sizeof(float));
        for (long ch = 0; ch < chunks; ch++) {
            long count = k - ch * lanes < lanes ? k - ch * lanes : lanes, first = lane0 + ch * lanes;
            // Whole chunks inside the block are stored in place; others, and all when adding to
            // dx, go through `row`.
            int direct = !accumulate && count == lanes && first + lanes <= 16;
            const float *f = flipped + ch * ob * taps * 16 * lanes;
            for (long oy = 0; oy < h; oy++) {
                float *out = direct ? dxb + oy * w * 16 + first : row;
                CK(conv_row)(dyn + oy * w * 16, oy, h, w, plane, ob, 16, ks, f, lanes, (v16)0, (int)lanes, out, direct ? 16 : lanes);
                if (accumulate && count == 8 && lanes == 8 && first + 8 <= 16) {
                    for (long j = 0; j < w; j++) {
                        float *d = dxb + (oy * w + j) * 16 + first;
                        CK(st8)(d, CK(ld8)(d) + CK(ld8)(row + j * 8));
                    }
                } else if (accumulate) {
                    for (long j = 0; j < w; j++)
                        for (long l = 0; l < count; l++) dxb[(oy * w + j) * 16 + first + l] += row[j * lanes + l];
                } else if (!direct) {
                    for (long j = 0; j < w; j++) memcpy(dxb + (oy * w + j) * 16 + first, row + j * lanes, (size_t)count * sizeof(float));
                }
            }
        }
        // Weight gradient: sums[((b taps + tap) k + ic) 16 + lane]; bias gradient: Σ dy.
        for (long b = 0; b < ob; b++) {
            const float *g = dyn + b * plane;
            for (long t = 0; t < taps; t++) {
                float *s = sums + (b * taps + t) * k * 16;
                long ic = 0;
                for (; ic + 8 <= k; ic += 8) CK(weight_sweep_8)(xn + ic, t / ks, t % ks, pad, g, h, w, s + ic * 16);
                for (; ic + 4 <= k; ic += 4) CK(weight_sweep_4)(xn + ic, t / ks, t % ks, pad, g, h, w, s + ic * 16);
                for (; ic < k; ic++) CK(weight_sweep_1)(xn + ic, t / ks, t % ks, pad, g, h, w, s + ic * 16);
            }
            if (grad_bias) {
                v16 total = 0;
                for (long i = 0; i < h * w; i++) total += CK(ld)(g + i * 16);
                CK(st)(grad_bias + b * 16, CK(ld)(grad_bias + b * 16) + total);
            }
        }
    }
    for (long b = 0; b < ob; b++)
        for (long t = 0; t < taps; t++)
            for (long ic = 0; ic < k; ic++)
                for (long l = 0; l < 16; l++)
                    grad_weight[((b * 16 + l) * k + ic) * taps + t] += sums[((b * taps + t) * k + ic) * 16 + l];
    free(flipped);
    free(sums);
    free(row);
    return 0;
}

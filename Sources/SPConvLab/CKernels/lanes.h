// The kernels' bodies. No include guard: the three ck_*.c files include it once each, after
// defining CK(name) (a function's name in that build), CK_TABLE and the functions' target.
// Float operations are never contracted into FMA, so every build gives the same bits.
#pragma clang fp contract(off)
// The vector helpers are always inlined, so no 64-byte vector crosses a call and the ABI note
// about passing them without AVX-512 does not apply.
#pragma clang diagnostic ignored "-Wpsabi"
#include <math.h>
#define CK_INLINE static inline __attribute__((always_inline))

typedef float v16 __attribute__((ext_vector_type(16)));
typedef int v16i __attribute__((ext_vector_type(16)));

CK_INLINE v16 CK(ld)(const float *p) { v16 v; __builtin_memcpy(&v, p, 64); return v; }
CK_INLINE void CK(st)(float *p, v16 v) { __builtin_memcpy(p, &v, 64); }
/// v with every lane <= 0 made +0: Swift's max(v, 0) (NaN kept, -0 made +0).
CK_INLINE v16 CK(relu)(v16 v) { return (v16)((v16i)v & ~(v16i)(v <= 0)); }
/// g where c > 0, else +0 (also where c is NaN).
CK_INLINE v16 CK(keep_positive)(v16 g, v16 c) { return (v16)((v16i)g & (v16i)(c > 0)); }
CK_INLINE void CK(put)(float *out, v16 v) { CK(st)(out, v); }

static void CK(lane_sum)(const float *x, long pixels, float *out) {
    v16 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    long i = 0;
    for (; i + 4 <= pixels; i += 4) {
        a0 += CK(ld)(x + i * 16); a1 += CK(ld)(x + i * 16 + 16); a2 += CK(ld)(x + i * 16 + 32); a3 += CK(ld)(x + i * 16 + 48);
    }
    for (; i < pixels; i++) a0 += CK(ld)(x + i * 16);
    CK(put)(out, (a0 + a1) + (a2 + a3));
}

static void CK(lane_squared_deviations)(const float *x, long pixels, const float *mean, float *out) {
    v16 m = CK(ld)(mean), a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    long i = 0;
    for (; i + 4 <= pixels; i += 4) {
        v16 d0 = CK(ld)(x + i * 16) - m, d1 = CK(ld)(x + i * 16 + 16) - m, d2 = CK(ld)(x + i * 16 + 32) - m, d3 = CK(ld)(x + i * 16 + 48) - m;
        a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3;
    }
    for (; i < pixels; i++) { v16 d = CK(ld)(x + i * 16) - m; a0 += d * d; }
    CK(put)(out, (a0 + a1) + (a2 + a3));
}

static void CK(lane_affine)(const float *x, float *o, long pixels, const float *scale, const float *shift, int relu) {
    v16 a = CK(ld)(scale), s = CK(ld)(shift);
    if (relu) {
        for (long i = 0; i < pixels; i++) CK(st)(o + i * 16, CK(relu)(CK(ld)(x + i * 16) * a + s));
    } else {
        for (long i = 0; i < pixels; i++) CK(st)(o + i * 16, CK(ld)(x + i * 16) * a + s);
    }
}

static void CK(lane_batch_norm_sums)(const float *x, const float *dy, long pixels, const float *mean, const float *scale,
                                     const float *shift, int relu, float *sum, float *centred) {
    v16 m = CK(ld)(mean), a = CK(ld)(scale), s = CK(ld)(shift), total = 0, cross = 0;
    for (long i = 0; i < pixels; i++) {
        v16 xv = CK(ld)(x + i * 16), g = CK(ld)(dy + i * 16);
        if (relu) g = CK(keep_positive)(g, xv * a + s);
        total += g;
        cross += g * (xv - m);
    }
    CK(put)(sum, total);
    CK(put)(centred, cross);
}

static void CK(lane_batch_norm_input)(const float *x, const float *dy, float *o, long pixels, const float *mean,
                                      const float *scale, const float *shift, const float *inv_std, const float *k,
                                      const float *grad_bias, const float *grad_weight, float count, int relu) {
    v16 m = CK(ld)(mean), a = CK(ld)(scale), s = CK(ld)(shift), inv = CK(ld)(inv_std), kv = CK(ld)(k);
    v16 gb = CK(ld)(grad_bias), gw = CK(ld)(grad_weight), cv = count;
    for (long i = 0; i < pixels; i++) {
        v16 xv = CK(ld)(x + i * 16), g = CK(ld)(dy + i * 16);
        if (relu) g = CK(keep_positive)(g, xv * a + s);
        v16 xhat = (xv - m) * inv;
        CK(st)(o + i * 16, kv * (cv * g - gb - xhat * gw));
    }
}

static void CK(lane_centred_moments)(const float *r, const float *d, long pixels, const float *m1, const float *m2, float *out) {
    v16 ma = CK(ld)(m1), mb = CK(ld)(m2), sr = 0, sd = 0, srr = 0, sdd = 0, srd = 0;
    for (long i = 0; i < pixels; i++) {
        v16 a = CK(ld)(r + i * 16) - ma, b = CK(ld)(d + i * 16) - mb;
        sr += a; sd += b; srr += a * a; sdd += b * b; srd += a * b;
    }
    CK(put)(out, sr); CK(put)(out + 16, sd); CK(put)(out + 32, srr); CK(put)(out + 48, sdd); CK(put)(out + 64, srd);
}

CK_INLINE v16 CK(pre_activation)(v16 r, v16 d, v16 ca, v16 cb, v16 c0) { return r * ca + d * cb + c0; }

static void CK(lane_affine_pair)(const float *r, const float *d, float *o, long pixels, const float *ca, const float *cb,
                                 const float *c0, int relu) {
    v16 va = CK(ld)(ca), vb = CK(ld)(cb), v0 = CK(ld)(c0);
    for (long i = 0; i < pixels; i++) {
        v16 v = CK(pre_activation)(CK(ld)(r + i * 16), CK(ld)(d + i * 16), va, vb, v0);
        CK(st)(o + i * 16, relu ? CK(relu)(v) : v);
    }
}

static void CK(lane_masked_gradient_sums)(const float *dy, const float *r, const float *d, long pixels, const float *m1,
                                          const float *m2, const float *ca, const float *cb, const float *c0, int relu,
                                          float *out) {
    v16 ma = CK(ld)(m1), mb = CK(ld)(m2), va = CK(ld)(ca), vb = CK(ld)(cb), v0 = CK(ld)(c0), sg = 0, sgr = 0, sgd = 0;
    for (long i = 0; i < pixels; i++) {
        v16 x = CK(ld)(r + i * 16), y = CK(ld)(d + i * 16), g = CK(ld)(dy + i * 16);
        if (relu) g = CK(keep_positive)(g, CK(pre_activation)(x, y, va, vb, v0));
        sg += g; sgr += g * (x - ma); sgd += g * (y - mb);
    }
    CK(put)(out, sg); CK(put)(out + 16, sgr); CK(put)(out + 32, sgd);
}

static void CK(lane_pair_gradient)(const float *dy, const float *r, const float *d, float *oa, float *ob, long pixels,
                                   const float *c, int relu) {
    v16 ma = CK(ld)(c), mb = CK(ld)(c + 16), va = CK(ld)(c + 32), vb = CK(ld)(c + 48), v0 = CK(ld)(c + 64);
    v16 ag = CK(ld)(c + 80), ar = CK(ld)(c + 96), ad = CK(ld)(c + 112), a0 = CK(ld)(c + 128);
    v16 bg = CK(ld)(c + 144), br = CK(ld)(c + 160), bd = CK(ld)(c + 176), b0 = CK(ld)(c + 192);
    for (long i = 0; i < pixels; i++) {
        v16 x = CK(ld)(r + i * 16), y = CK(ld)(d + i * 16), g = CK(ld)(dy + i * 16);
        if (relu) g = CK(keep_positive)(g, CK(pre_activation)(x, y, va, vb, v0));
        v16 xc = x - ma, yc = y - mb;
        CK(st)(oa + i * 16, ((g * ag + xc * ar) + yc * ad) + a0);
        CK(st)(ob + i * 16, ((g * bg + xc * br) + yc * bd) + b0);
    }
}

// The fusion for a block size known at compile time, so the lane loops vectorise. A plane's sum
// is its rows' sums (each from 0, pixel by pixel) added in row order, in the whole-image fusion
// and in the one split by rows over threads alike, so both give the same bits.
#define CK_FUSE_UNROLL _Pragma("clang loop unroll(full)")
#define CK_FUSE(B)                                                                                                  \
    typedef float ck_fv##B __attribute__((ext_vector_type(B)));                                                     \
    typedef int ck_iv##B __attribute__((ext_vector_type(B)));                                                       \
    CK_INLINE ck_fv##B CK(fuse_ld##B)(const float *p) { ck_fv##B v; __builtin_memcpy(&v, p, 4 * B); return v; }    \
    CK_INLINE void CK(fuse_st##B)(float *p, ck_fv##B v) { __builtin_memcpy(p, &v, 4 * B); }                         \
    /* v with every lane <= 0 made +0 (NaN kept): `v <= 0 ? 0 : v`. */                                              \
    CK_INLINE ck_fv##B CK(fuse_relu##B)(ck_fv##B v) { return (ck_fv##B)((ck_iv##B)v & ~(ck_iv##B)(v <= 0)); }      \
    /* The sums of ROWS consecutive rows (each from 0, pixel by pixel) of a and of r, rows `row` floats apart:     \
       the rows' chains of additions are independent, so they run side by side. */                               \
    CK_INLINE void CK(fuse_row_sums_of##B)(const float *a, const float *r, long wo, long row, const int ROWS,       \
                                          ck_fv##B *sa, ck_fv##B *sr) {                                             \
        ck_fv##B ta[4], tr[4];                                                                                      \
        CK_FUSE_UNROLL for (int q = 0; q < ROWS; q++) { ta[q] = 0; tr[q] = 0; }                                       \
        for (long i = 0; i < wo; i++)                                                                               \
            CK_FUSE_UNROLL for (int q = 0; q < ROWS; q++) {                                                           \
                ta[q] += CK(fuse_ld##B)(a + q * row + i * B);                                                       \
                tr[q] += CK(fuse_ld##B)(r + q * row + i * B);                                                       \
            }                                                                                                       \
        CK_FUSE_UNROLL for (int q = 0; q < ROWS; q++) { sa[q] = ta[q]; sr[q] = tr[q]; }                               \
    }                                                                                                               \
    /* Rows [y0, y1) of one block of both maps, four at a time: each row's sums to `out` (a's at row y's          \
       place, r's half a stride further) when given, and added in row order to the totals when given. */         \
    CK_INLINE void CK(fuse_block_row_sums##B)(const float *a, const float *r, long wo, long y0, long y1,            \
                                             float *out, long out_stride, float *total_a, float *total_r) {         \
        ck_fv##B sa[4], sr[4], ta = 0, tr = 0;                                                                      \
        if (total_a) { ta = CK(fuse_ld##B)(total_a); tr = CK(fuse_ld##B)(total_r); }                                \
        long row = wo * B, y = y0;                                                                                  \
        for (; y < y1; ) {                                                                                          \
            int n = y1 - y >= 4 ? 4 : 1;                                                                            \
            if (n == 4) CK(fuse_row_sums_of##B)(a + y * row, r + y * row, wo, row, 4, sa, sr);                     \
            else CK(fuse_row_sums_of##B)(a + y * row, r + y * row, wo, row, 1, sa, sr);                            \
            for (int q = 0; q < n; q++) {                                                                           \
                if (out) {                                                                                          \
                    __builtin_memcpy(out + (y + q) * out_stride, &sa[q], 4 * B);                                    \
                    __builtin_memcpy(out + (y + q) * out_stride + out_stride / 2, &sr[q], 4 * B);                   \
                }                                                                                                   \
                ta += sa[q]; tr += sr[q];                                                                           \
            }                                                                                                       \
            y += n;                                                                                                 \
        }                                                                                                           \
        if (total_a) { __builtin_memcpy(total_a, &ta, 4 * B); __builtin_memcpy(total_r, &tr, 4 * B); }              \
    }                                                                                                               \
    /* The softmax weights of one block's lanes (times the epilogue's scale) from its plane sums. */               \
    CK_INLINE void CK(fuse_weights##B)(const float *sa, const float *sr, long plane, const float *scale,           \
                                       const float *shift, float *wa, float *wr, float *sh) {                       \
        for (int l = 0; l < B; l++) {                                                                               \
            float ma = sa[l] / (float)plane, mr = sr[l] / (float)plane;                                             \
            float m = ma < mr ? mr : ma;                                                                            \
            float ea = expf(ma - m), er = expf(mr - m);                                                             \
            wa[l] = scale[l] * ea / (ea + er);                                                                      \
            wr[l] = scale[l] * er / (ea + er);                                                                      \
            sh[l] = shift[l];                                                                                       \
        }                                                                                                           \
    }                                                                                                               \
    /* One sweep: relu?(((w_a a + w_r r) + shift) + residual), a branch per case outside the loop. */           \
    CK_INLINE void CK(fuse_apply##B)(const float *pa, const float *pr, const float *pres, float *po, long pixels,   \
                                     const float *wa, const float *wr, const float *sh, int relu) {                 \
        ck_fv##B va = CK(fuse_ld##B)(wa), vr = CK(fuse_ld##B)(wr), vs = CK(fuse_ld##B)(sh);                         \
        if (pres && relu) {                                                                                         \
            for (long i = 0; i < pixels; i++)                                                                       \
                CK(fuse_st##B)(po + i * B, CK(fuse_relu##B)(va * CK(fuse_ld##B)(pa + i * B) + vr * CK(fuse_ld##B)(pr + i * B) \
                                                           + vs + CK(fuse_ld##B)(pres + i * B)));                   \
        } else if (pres) {                                                                                          \
            for (long i = 0; i < pixels; i++)                                                                       \
                CK(fuse_st##B)(po + i * B, va * CK(fuse_ld##B)(pa + i * B) + vr * CK(fuse_ld##B)(pr + i * B) + vs    \
                                           + CK(fuse_ld##B)(pres + i * B));                                         \
        } else if (relu) {                                                                                          \
            for (long i = 0; i < pixels; i++)                                                                       \
                CK(fuse_st##B)(po + i * B, CK(fuse_relu##B)(va * CK(fuse_ld##B)(pa + i * B) + vr * CK(fuse_ld##B)(pr + i * B) \
                                                           + vs));                                                  \
        } else {                                                                                                    \
            for (long i = 0; i < pixels; i++)                                                                       \
                CK(fuse_st##B)(po + i * B, va * CK(fuse_ld##B)(pa + i * B) + vr * CK(fuse_ld##B)(pr + i * B) + vs);  \
        }                                                                                                           \
    }                                                                                                               \
    static void CK(fuse##B)(long first, long last, long cb, long plane, long wo, const float *a, const float *r,   \
                            const float *residual, float *out, const float *scale, const float *shift, int relu) { \
        float sa[B], sr[B], wa[B], wr[B], sh[B];                                                                    \
        for (long item = first; item < last; item++) {                                                             \
            long block = item % cb, base = item * plane * B;                                                        \
            const float *pa = a + base, *pr = r + base;                                                             \
            for (int l = 0; l < B; l++) { sa[l] = 0; sr[l] = 0; }                                                   \
            CK(fuse_block_row_sums##B)(pa, pr, wo, 0, plane / wo, 0, 0, sa, sr);                                   \
            CK(fuse_weights##B)(sa, sr, plane, scale + block * B, shift + block * B, wa, wr, sh);                   \
            CK(fuse_apply##B)(pa, pr, residual ? residual + base : 0, out + base, plane, wa, wr, sh, relu);         \
        }                                                                                                           \
    }                                                                                                               \
    /* Rows [y0, y1) of one image's two maps: each row's sums per channel into sums[y][2][cb B]. */                 \
    static void CK(fuse_row_sums##B)(long cb, long plane, long wo, long y0, long y1, const float *a, const float *r, \
                                     float *sums) {                                                                 \
        for (long b = 0; b < cb; b++)                                                                               \
            CK(fuse_block_row_sums##B)(a + b * plane * B, r + b * plane * B, wo, y0, y1, sums + b * B,              \
                                       2 * cb * B, 0, 0);                                                           \
    }                                                                                                               \
    /* Rows [y0, y1) of one image fused, from every row's sums (sums[y][2][cb B], plane / wo rows). */              \
    static void CK(fuse_rows##B)(long cb, long plane, long wo, const float *sums, long y0, long y1, const float *a,  \
                                 const float *r, const float *residual, float *out, const float *scale,              \
                                 const float *shift, int relu) {                                                    \
        float sa[B], sr[B], wa[B], wr[B], sh[B];                                                                    \
        for (long b = 0; b < cb; b++) {                                                                             \
            for (int l = 0; l < B; l++) { sa[l] = 0; sr[l] = 0; }                                                   \
            for (long y = 0; y < plane / wo; y++)                                                                   \
                for (int l = 0; l < B; l++) {                                                                       \
                    sa[l] += sums[(y * 2 * cb + b) * B + l];                                                        \
                    sr[l] += sums[((y * 2 + 1) * cb + b) * B + l];                                                  \
                }                                                                                                   \
            CK(fuse_weights##B)(sa, sr, plane, scale + b * B, shift + b * B, wa, wr, sh);                           \
            long at = (b * plane + y0 * wo) * B;                                                                    \
            CK(fuse_apply##B)(a + at, r + at, residual ? residual + at : 0, out + at, (y1 - y0) * wo, wa, wr, sh, relu); \
        }                                                                                                           \
    }
CK_FUSE(8)
CK_FUSE(16)

static void CK(fuse_blocks)(long first, long last, long cb, long plane, long wo, const float *a, const float *r,
                            const float *residual, float *out, const float *scale, const float *shift, int relu, int block) {
    if (block == 16) CK(fuse16)(first, last, cb, plane, wo, a, r, residual, out, scale, shift, relu);
    else CK(fuse8)(first, last, cb, plane, wo, a, r, residual, out, scale, shift, relu);
}

static void CK(fuse_row_sums)(long cb, long plane, long wo, long y0, long y1, const float *a, const float *r, float *sums,
                              int block) {
    if (block == 16) CK(fuse_row_sums16)(cb, plane, wo, y0, y1, a, r, sums);
    else CK(fuse_row_sums8)(cb, plane, wo, y0, y1, a, r, sums);
}

static void CK(fuse_rows)(long cb, long plane, long wo, const float *sums, long y0, long y1, const float *a, const float *r,
                          const float *residual, float *out, const float *scale, const float *shift, int relu, int block) {
    if (block == 16) CK(fuse_rows16)(cb, plane, wo, sums, y0, y1, a, r, residual, out, scale, shift, relu);
    else CK(fuse_rows8)(cb, plane, wo, sums, y0, y1, a, r, residual, out, scale, shift, relu);
}

static void CK(relu_flat)(const float *x, float *o, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) CK(st)(o + i, CK(relu)(CK(ld)(x + i)));
    for (; i < count; i++) o[i] = x[i] <= 0 ? 0 : x[i];
}

static void CK(add_relu_flat)(const float *a, const float *b, float *o, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) CK(st)(o + i, CK(relu)(CK(ld)(a + i) + CK(ld)(b + i)));
    for (; i < count; i++) { float v = a[i] + b[i]; o[i] = v <= 0 ? 0 : v; }
}

static void CK(masked_by_positive_flat)(const float *g, const float *y, float *o, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) CK(st)(o + i, CK(keep_positive)(CK(ld)(g + i), CK(ld)(y + i)));
    for (; i < count; i++) o[i] = y[i] > 0 ? g[i] : 0;
}

static void CK(add_in_place_flat)(float *a, const float *b, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) CK(st)(a + i, CK(ld)(a + i) + CK(ld)(b + i));
    for (; i < count; i++) a[i] += b[i];
}

#include "narrow_conv.h"
#include "direct_conv.h"
#include "winograd.h"
#include "pool_linear.h"

const ck_table CK_TABLE = {
    CK(lane_sum), CK(lane_squared_deviations), CK(lane_affine), CK(lane_batch_norm_sums), CK(lane_batch_norm_input),
    CK(lane_centred_moments), CK(lane_affine_pair), CK(lane_masked_gradient_sums), CK(lane_pair_gradient),
    CK(fuse_blocks), CK(fuse_row_sums), CK(fuse_rows), CK(relu_flat), CK(add_relu_flat), CK(masked_by_positive_flat), CK(add_in_place_flat),
    CK(narrow_conv_forward), CK(narrow_conv_backward), CK(direct_conv_rows), CK(direct_conv_images), CK(dc_border),
    CK(winograd_tiles), CK(pool_planes), CK(linear_rows),
};

// Winograd F(4x4, 3x3) convolutions for inference (3x3, stride 1, padding 1) on channel-blocked
// maps, included by lanes.h once per build after direct_conv.h. See ck_winograd in CKernels.h.
//
// Lavin and Gray's algorithm with the interpolation points 0, +-1, +-2: each 4x4 output tile is
// A^T [(G g G^T) . (B^T d B)] A for the 6x6 input patch d around it, so its 16 outputs cost 36
// multiply-adds per (input, output) channel pair instead of 144. A thread takes a chunk of tiles
// (across images) at a time:
//   1. the input transform writes V[36][chunk][vrow]: for each of the 36 positions of the 6x6
//      transformed patch, one row of the chunk's input channels per tile;
//   2. 36 matrix products M[pos] = V[pos] U[pos] (U, the transformed weight, packed as
//      [36][out_blocks][k][B]) in register tiles of R tiles x NOB output blocks, each a broadcast
//      of V times weight vectors, as in direct_conv.h; M is [36][out_blocks][chunk][B];
//   3. the output transform adds the bias (and the output's own values with `sum`), applies the
//      ReLU, and stores the tile's pixels that lie on the map.
// The chunk's V and M stay in L2 (the caller sizes the chunk), and the weights stream through.

#if CK_VREGS >= 32
#define CK_WG_NOB 4
#define CK_WG_MAXR 16
#else
#define CK_WG_NOB 2
#define CK_WG_MAXR 12
#endif

// Tiles per register tile with NOB output blocks: acc takes NOB x R registers, the weights NOB
// and a broadcast one.
CK_INLINE long CK(wg_rows)(long nob) {
#if CK_VREGS >= 32
    return nob == 1 ? 16 : nob == 2 ? 12 : nob == 3 ? 8 : 6;
#else
    return nob == 1 ? 12 : 6;
#endif
}

typedef int ck_v8i __attribute__((ext_vector_type(8)));

#define CK_WG_KERNELS(VT, IT, B, LD, ST)                                                                            \
    /* M rows [0, R) of output blocks [0, NOB): m[i * ms + j * B] = sum over c of v[j * vs + c] u[(i * k + c) B]. */   \
    CK_INLINE void CK(wg_tile_##B)(const float *v, long vs, const float *u, long k, float *m, long ms, const int NOB,     \
                                   const int R) {                                                                    \
        VT acc[CK_WG_NOB][CK_WG_MAXR];                                                                              \
        CK_DC_UNROLL for (int i = 0; i < NOB; i++) CK_DC_UNROLL for (int j = 0; j < R; j++) acc[i][j] = (VT)0;          \
        for (long c = 0; c < k; c++) {                                                                               \
            VT wv[CK_WG_NOB];                                                                                        \
            CK_DC_UNROLL for (int i = 0; i < NOB; i++) wv[i] = LD(u + (i * k + c) * B);                                \
            CK_DC_UNROLL for (int j = 0; j < R; j++) {                                                               \
                VT xv = (VT)v[j * vs + c];                                                                           \
                CK_DC_UNROLL for (int i = 0; i < NOB; i++) acc[i][j] = __builtin_elementwise_fma(xv, wv[i], acc[i][j]);  \
            }                                                                                                        \
        }                                                                                                            \
        CK_DC_UNROLL for (int i = 0; i < NOB; i++) CK_DC_UNROLL for (int j = 0; j < R; j++) ST(m + i * ms + j * B, acc[i][j]); \
    }                                                                                                                \
                                                                                                                     \
    /* B^T d for six vectors d[0], d[s], ..., d[5 s] into o[0], o[os], ... */                                         \
    CK_INLINE void CK(wg_bt_##B)(const VT *d, long s, VT *o, long os) {                                               \
        VT d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];                           \
        o[0] = __builtin_elementwise_fma((VT)4, d0, __builtin_elementwise_fma((VT)-5, d2, d4));                        \
        o[os] = __builtin_elementwise_fma((VT)-4, d1 + d2, d3 + d4);                                                  \
        o[2 * os] = __builtin_elementwise_fma((VT)4, d1 - d2, d4 - d3);                                               \
        o[3 * os] = __builtin_elementwise_fma((VT)2, d3 - d1, d4 - d2);                                               \
        o[4 * os] = __builtin_elementwise_fma((VT)2, d1 - d3, d4 - d2);                                               \
        o[5 * os] = __builtin_elementwise_fma((VT)4, d1, __builtin_elementwise_fma((VT)-5, d3, d5));                   \
    }                                                                                                                \
                                                                                                                     \
    /* A^T m for six vectors m[0], m[s], ... into four o[0], o[os], ... */                                            \
    CK_INLINE void CK(wg_at_##B)(const VT *m, long s, VT *o, long os) {                                               \
        VT s12 = m[s] + m[2 * s], d12 = m[s] - m[2 * s], s34 = m[3 * s] + m[4 * s], d34 = m[3 * s] - m[4 * s];         \
        o[0] = (m[0] + s12) + s34;                                                                                   \
        o[os] = __builtin_elementwise_fma((VT)2, d34, d12);                                                           \
        o[2 * os] = __builtin_elementwise_fma((VT)4, s34, s12);                                                       \
        o[3 * os] = __builtin_elementwise_fma((VT)8, d34, d12) + m[5 * s];                                            \
    }                                                                                                                \
                                                                                                                     \
    /* The input transform of one tile (image n, tile row ty, column tx) into row tl of V. */                         \
    CK_INLINE void CK(wg_input_##B)(const ck_winograd *c, const float *x, long n, long ty, long tx, float *vt, long chunk) {  \
        long h = c->h, w = c->w, iy0 = ty * 4 - 1, ix0 = tx * 4 - 1, cb0 = c->c0 / B, cb1 = (c->c0 + c->k - 1) / B;    \
        long vrow = (cb1 - cb0 + 1) * B;                                                                             \
        int inside = iy0 >= 0 && ix0 >= 0 && iy0 + 6 <= h && ix0 + 6 <= w;                                             \
        for (long cb = cb0; cb <= cb1; cb++) {                                                                       \
            const float *base = x + ((n * c->in_blocks + cb) * h * w) * B;                                            \
            VT d[36], t[36];                                                                                         \
            if (inside) {                                                                                            \
                CK_DC_UNROLL for (int i = 0; i < 6; i++)                                                             \
                    CK_DC_UNROLL for (int j = 0; j < 6; j++) d[i * 6 + j] = LD(base + ((iy0 + i) * w + ix0 + j) * B);    \
            } else {                                                                                                 \
                for (int i = 0; i < 6; i++)                                                                          \
                    for (int j = 0; j < 6; j++) {                                                                    \
                        long iy = iy0 + i, ix = ix0 + j;                                                             \
                        d[i * 6 + j] = iy >= 0 && iy < h && ix >= 0 && ix < w ? LD(base + (iy * w + ix) * B) : (VT)0;   \
                    }                                                                                                \
            }                                                                                                        \
            CK_DC_UNROLL for (int j = 0; j < 6; j++) CK(wg_bt_##B)(d + j, 6, t + j, 6);                               \
            CK_DC_UNROLL for (int i = 0; i < 6; i++) CK(wg_bt_##B)(t + i * 6, 1, d + i * 6, 1);                        \
            float *out = vt + (cb - cb0) * B;                                                                        \
            CK_DC_UNROLL for (int p = 0; p < 36; p++) ST(out + p * chunk * vrow, d[p]);                               \
        }                                                                                                            \
    }                                                                                                                \
                                                                                                                     \
    /* The output transform of row tl of M for output block ob, into the tile's pixels on the map. */                \
    CK_INLINE void CK(wg_output_##B)(const ck_winograd *c, const float *mt, long chunk, long ob, float *y, long n,      \
                                     long ty, long tx) {                                                             \
        VT m[36], s[24], o[16];                                                                                      \
        long ps = c->out_blocks * chunk * B;                                                                         \
        CK_DC_UNROLL for (int p = 0; p < 36; p++) m[p] = LD(mt + p * ps);                                             \
        CK_DC_UNROLL for (int j = 0; j < 6; j++) CK(wg_at_##B)(m + j, 6, s + j, 6);                                   \
        CK_DC_UNROLL for (int i = 0; i < 4; i++) CK(wg_at_##B)(s + i * 6, 1, o + i * 4, 1);                            \
        VT bias = c->bias ? LD(c->bias + ob * B) : (VT)0;                                                             \
        long h = c->h, w = c->w, oy0 = ty * 4, ox0 = tx * 4;                                                         \
        long rows = h - oy0 < 4 ? h - oy0 : 4, cols = w - ox0 < 4 ? w - ox0 : 4;                                     \
        float *base = y + ((n * c->out_blocks + ob) * h * w) * B;                                                    \
        for (long i = 0; i < rows; i++)                                                                              \
            for (long j = 0; j < cols; j++) {                                                                        \
                float *p = base + ((oy0 + i) * w + ox0 + j) * B;                                                     \
                VT v = o[i * 4 + j] + bias;                                                                          \
                if (c->sum) v += LD(p);                                                                              \
                if (c->relu) v = (VT)((IT)v & ~(IT)(v <= 0));                                                        \
                ST(p, v);                                                                                            \
            }                                                                                                        \
    }                                                                                                                \
                                                                                                                     \
    static void CK(wg_run_##B)(const ck_winograd *c, const float *x, float *y, long t0, long t1, float *scratch) {     \
        long th = (c->h + 3) / 4, tw = (c->w + 3) / 4, chunk = c->chunk, ob = c->out_blocks;                          \
        long cb0 = c->c0 / B, vrow = ((c->c0 + c->k - 1) / B - cb0 + 1) * B, off = c->c0 - cb0 * B;                   \
        float *vbuf = scratch, *mbuf = scratch + 36 * chunk * vrow;                                                  \
        for (long first = t0; first < t1; first += chunk) {                                                          \
            long count = t1 - first < chunk ? t1 - first : chunk;                                                    \
            for (long t = 0; t < count; t++) {                                                                       \
                long g = first + t, n = g / (th * tw), r = g % (th * tw);                                            \
                CK(wg_input_##B)(c, x, n, r / tw, r % tw, vbuf + t * vrow, chunk);                                    \
            }                                                                                                        \
            for (long p = 0; p < 36; p++) {                                                                          \
                const float *vp = vbuf + p * chunk * vrow + off, *up = c->weight + p * ob * c->k * B;                 \
                float *mp = mbuf + p * ob * chunk * B;                                                               \
                for (long b = 0; b < ob; b += CK_WG_NOB) {                                                           \
                    long nob = ob - b < CK_WG_NOB ? ob - b : CK_WG_NOB, rows = CK(wg_rows)(nob);                      \
                    for (long j = 0; j < count; j += rows) {                                                         \
                        long r = count - j < rows ? count - j : rows;                                                \
                        CK(wg_tiles_##B)(vp + j * vrow, vrow, up + b * c->k * B, c->k, mp + (b * chunk + j) * B,       \
                                         chunk * B, nob, r);                                                         \
                    }                                                                                                \
                }                                                                                                    \
            }                                                                                                        \
            for (long t = 0; t < count; t++) {                                                                       \
                long g = first + t, n = g / (th * tw), r = g % (th * tw);                                            \
                for (long b = 0; b < ob; b++) CK(wg_output_##B)(c, mbuf + (b * chunk + t) * B, chunk, b, y, n, r / tw, r % tw); \
            }                                                                                                        \
        }                                                                                                            \
    }

// The register tile dispatchers: (output blocks, rows) to an inlined tile.
#define CK_WG_CASE(F, NOB, R) \
    case NOB * 100 + R: F(v, vs, u, k, m, ms, NOB, R); return;
#define CK_WG_CASES_12(F, NOB) \
    CK_WG_CASE(F, NOB, 1) CK_WG_CASE(F, NOB, 2) CK_WG_CASE(F, NOB, 3) CK_WG_CASE(F, NOB, 4) CK_WG_CASE(F, NOB, 5) \
    CK_WG_CASE(F, NOB, 6) CK_WG_CASE(F, NOB, 7) CK_WG_CASE(F, NOB, 8) CK_WG_CASE(F, NOB, 9) CK_WG_CASE(F, NOB, 10) \
    CK_WG_CASE(F, NOB, 11) CK_WG_CASE(F, NOB, 12)
#define CK_WG_CASES_6(F, NOB) \
    CK_WG_CASE(F, NOB, 1) CK_WG_CASE(F, NOB, 2) CK_WG_CASE(F, NOB, 3) CK_WG_CASE(F, NOB, 4) CK_WG_CASE(F, NOB, 5) \
    CK_WG_CASE(F, NOB, 6)
#if CK_VREGS >= 32
#define CK_WG_CASES(F)                                                                                               \
    CK_WG_CASES_12(F, 1) CK_WG_CASE(F, 1, 13) CK_WG_CASE(F, 1, 14) CK_WG_CASE(F, 1, 15) CK_WG_CASE(F, 1, 16)          \
    CK_WG_CASES_12(F, 2) CK_WG_CASES_6(F, 3) CK_WG_CASE(F, 3, 7) CK_WG_CASE(F, 3, 8) CK_WG_CASES_6(F, 4)
#else
#define CK_WG_CASES(F) CK_WG_CASES_12(F, 1) CK_WG_CASES_6(F, 2)
#endif
#define CK_WG_TILES(B)                                                                                               \
    static void CK(wg_tiles_##B)(const float *v, long vs, const float *u, long k, float *m, long ms, long nob, long r) { \
        switch (nob * 100 + r) { CK_WG_CASES(CK(wg_tile_##B)) }                                                     \
    }

// Both widths in the AVX2 and AVX-512 builds (a 16-lane vector is two registers with AVX2: slower,
// but the same lanes' arithmetic, so a test that switches builds while another runs gets the same
// numbers); none in the baseline build, which has no fused multiply-add instruction
// (CK_NO_WINOGRAD).
#ifndef CK_NO_WINOGRAD
static void CK(wg_tiles_16)(const float *v, long vs, const float *u, long k, float *m, long ms, long nob, long r);
CK_WG_KERNELS(v16, v16i, 16, CK(ld), CK(st))
CK_WG_TILES(16)
static void CK(wg_tiles_8)(const float *v, long vs, const float *u, long k, float *m, long ms, long nob, long r);
CK_WG_KERNELS(ck_v8, ck_v8i, 8, CK(dc_ld8), CK(dc_st8))
CK_WG_TILES(8)
#endif
#undef CK_WG_KERNELS
#undef CK_WG_TILES
#undef CK_WG_CASES
#undef CK_WG_CASES_6
#undef CK_WG_CASES_12
#undef CK_WG_CASE

static int CK(winograd_tiles)(const ck_winograd *c, const float *x, float *y, long t0, long t1, float *scratch) {
#ifdef CK_NO_WINOGRAD
    (void)c, (void)x, (void)y, (void)t0, (void)t1, (void)scratch;
    return -1;
#else
    if (c->block == 16) { CK(wg_run_16)(c, x, y, t0, t1, scratch); return 0; }
    if (c->block == 8) { CK(wg_run_8)(c, x, y, t0, t1, scratch); return 0; }
    return -1;
#endif
}

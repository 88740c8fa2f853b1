// Direct convolutions for inference on a channel range of a channel-blocked map, included by
// lanes.h (so once per build, after CK(name) is defined). SPConv's two branches read their
// channels of the layer's input where they lie, with no split into separate maps.
//
// Layout: input [in_blocks][h][w][B] and output [out_blocks][ho][wo][B] of one image, B = 8 or
// 16 lanes; the weight packed as [out_blocks][ks * ks][k][B]. Each output vector (B output
// channels of one pixel) is the sum over taps and input channels of a broadcast input scalar
// times a weight vector. A register tile holds NOB output blocks times R pixels of one row, so a
// broadcast feeds NOB multiply-adds and a weight vector R; pixels whose taps leave the map run
// one at a time with those taps left out (the same as zero padding). Multiply-adds are fused
// and summed tap by tap, channel by channel, in one order in every build.

#ifndef CK_VREGS
#error "define CK_VREGS (vector registers of the build) before including lanes.h"
#endif

typedef float ck_v8 __attribute__((ext_vector_type(8)));

CK_INLINE ck_v8 CK(dc_ld8)(const float *p) { ck_v8 v; __builtin_memcpy(&v, p, 32); return v; }
CK_INLINE void CK(dc_st8)(float *p, ck_v8 v) { __builtin_memcpy(p, &v, 32); }

// Register tiles: up to 28 pixels with one output block, 14 with two, 6 with four with 32
// vector registers (AVX-512); 12, 6 and 2 with 16 (AVX2); the rest hold the weight vectors and a
// broadcast. Dispatchers map (nob, r) to an inlined tile.
#if CK_VREGS >= 32
#define CK_DC_MAX1 28
#define CK_DC_MAX2 14
#define CK_DC_MAX4 6
#else
#define CK_DC_MAX1 12
#define CK_DC_MAX2 6
#define CK_DC_MAX4 2
#endif

// One register tile: output pixels ox0 + j (j < R) of row oy, output blocks ob0 + i (i < NOB),
// taps [kh0, kh1) x [kw0, kw1). `x` is the image, `y` the output block ob0's row start. NOB and
// R are constants once inlined into a case of the dispatchers below, so `acc` lives in registers.
#define CK_DC_TILE(VT, B, LD, ST)                                                                                    \
    CK_INLINE void CK(dc_tile_##B)(const ck_direct_conv *c, const float *x, float *y, long ob0, long iy0, long ix0,    \
                                   long kh0, long kh1, long kw0, long kw1, const int NOB, const int R, const int S) { \
        VT acc[4][CK_DC_MAX1];                                                                                        \
        long taps = c->ks * c->ks, plane = c->h * c->w * B, oplane = c->ho * c->wo * B, step = S * B;                   \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < NOB; i++) {                                                                               \
            VT init = c->bias ? LD(c->bias + (ob0 + i) * B) : (VT)0;                                                   \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < R; j++) acc[i][j] = init;                                                             \
        }                                                                                                             \
        long cb0 = c->c0 / B, cb1 = (c->c0 + c->k - 1) / B, wstride = taps * c->k * B;                               \
        for (long kh = kh0; kh < kh1; kh++)                                                                           \
            for (long kw = kw0; kw < kw1; kw++) {                                                                     \
                const float *px = x + ((iy0 + kh) * c->w + ix0 + kw) * B;                                             \
                const float *wt = c->weight + (ob0 * taps + kh * c->ks + kw) * c->k * B;                              \
                for (long cb = cb0; cb <= cb1; cb++) {                                                                \
                    long l0 = cb == cb0 ? c->c0 % B : 0, l1 = cb == cb1 ? (c->c0 + c->k - 1) % B + 1 : B;             \
                    const float *xc = px + cb * plane;                                                                \
                    const float *wc = wt + (cb * B - c->c0) * B;                                                      \
                    for (long l = l0; l < l1; l++) {                                                                  \
                        VT wv[4];                                                                                     \
                        _Pragma("clang loop unroll(full)") for (int i = 0; i < NOB; i++) wv[i] = LD(wc + l * B + i * wstride);                           \
                        _Pragma("clang loop unroll(full)") for (int j = 0; j < R; j++) {                                                                 \
                            VT xv = (VT)xc[j * step + l];                                                             \
                            _Pragma("clang loop unroll(full)") for (int i = 0; i < NOB; i++) acc[i][j] = __builtin_elementwise_fma(xv, wv[i], acc[i][j]); \
                        }                                                                                             \
                    }                                                                                                 \
                }                                                                                                     \
            }                                                                                                         \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < NOB; i++)                                                                                 \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < R; j++) ST(y + i * oplane + j * B, acc[i][j]);                                        \
    }

CK_DC_TILE(v16, 16, CK(ld), CK(st))
CK_DC_TILE(ck_v8, 8, CK(dc_ld8), CK(dc_st8))
#undef CK_DC_TILE

static void CK(dc_tiles_16)(const ck_direct_conv *c, const float *x, float *y, long nob, long r, long ob0, long iy0,
                             long ix0, long kh0, long kh1, long kw0, long kw1) {
#define CK_DC_CASE(NOB, R) \
    case NOB * 100 + R: \
        if (c->stride == 1) CK(dc_tile_16)(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, NOB, R, 1); \
        else if (c->stride == 2) CK(dc_tile_16)(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, NOB, R, 2); \
        else CK(dc_tile_16)(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, NOB, R, (int)c->stride); \
        return;
    switch (nob * 100 + r) {
    CK_DC_CASE(1, 1) CK_DC_CASE(1, 2) CK_DC_CASE(1, 3) CK_DC_CASE(1, 4) CK_DC_CASE(1, 5) CK_DC_CASE(1, 6) CK_DC_CASE(1, 7) CK_DC_CASE(1, 8) CK_DC_CASE(1, 9) CK_DC_CASE(1, 10) CK_DC_CASE(1, 11) CK_DC_CASE(1, 12)
#if CK_VREGS >= 32
    CK_DC_CASE(1, 13) CK_DC_CASE(1, 14) CK_DC_CASE(1, 15) CK_DC_CASE(1, 16) CK_DC_CASE(1, 17) CK_DC_CASE(1, 18) CK_DC_CASE(1, 19) CK_DC_CASE(1, 20) CK_DC_CASE(1, 21) CK_DC_CASE(1, 22) CK_DC_CASE(1, 23) CK_DC_CASE(1, 24) CK_DC_CASE(1, 25) CK_DC_CASE(1, 26) CK_DC_CASE(1, 27) CK_DC_CASE(1, 28)
#endif
    CK_DC_CASE(2, 1) CK_DC_CASE(2, 2) CK_DC_CASE(2, 3) CK_DC_CASE(2, 4) CK_DC_CASE(2, 5) CK_DC_CASE(2, 6)
#if CK_VREGS >= 32
    CK_DC_CASE(2, 7) CK_DC_CASE(2, 8) CK_DC_CASE(2, 9) CK_DC_CASE(2, 10) CK_DC_CASE(2, 11) CK_DC_CASE(2, 12) CK_DC_CASE(2, 13) CK_DC_CASE(2, 14)
#endif
    CK_DC_CASE(4, 1) CK_DC_CASE(4, 2)
#if CK_VREGS >= 32
    CK_DC_CASE(4, 3) CK_DC_CASE(4, 4) CK_DC_CASE(4, 5) CK_DC_CASE(4, 6)
#endif
    }
#undef CK_DC_CASE
}

static void CK(dc_tiles_8)(const ck_direct_conv *c, const float *x, float *y, long nob, long r, long ob0, long iy0,
                             long ix0, long kh0, long kh1, long kw0, long kw1) {
#define CK_DC_CASE(NOB, R) \
    case NOB * 100 + R: \
        if (c->stride == 1) CK(dc_tile_8)(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, NOB, R, 1); \
        else if (c->stride == 2) CK(dc_tile_8)(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, NOB, R, 2); \
        else CK(dc_tile_8)(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, NOB, R, (int)c->stride); \
        return;
    switch (nob * 100 + r) {
    CK_DC_CASE(1, 1) CK_DC_CASE(1, 2) CK_DC_CASE(1, 3) CK_DC_CASE(1, 4) CK_DC_CASE(1, 5) CK_DC_CASE(1, 6) CK_DC_CASE(1, 7) CK_DC_CASE(1, 8) CK_DC_CASE(1, 9) CK_DC_CASE(1, 10) CK_DC_CASE(1, 11) CK_DC_CASE(1, 12)
#if CK_VREGS >= 32
    CK_DC_CASE(1, 13) CK_DC_CASE(1, 14) CK_DC_CASE(1, 15) CK_DC_CASE(1, 16) CK_DC_CASE(1, 17) CK_DC_CASE(1, 18) CK_DC_CASE(1, 19) CK_DC_CASE(1, 20) CK_DC_CASE(1, 21) CK_DC_CASE(1, 22) CK_DC_CASE(1, 23) CK_DC_CASE(1, 24) CK_DC_CASE(1, 25) CK_DC_CASE(1, 26) CK_DC_CASE(1, 27) CK_DC_CASE(1, 28)
#endif
    CK_DC_CASE(2, 1) CK_DC_CASE(2, 2) CK_DC_CASE(2, 3) CK_DC_CASE(2, 4) CK_DC_CASE(2, 5) CK_DC_CASE(2, 6)
#if CK_VREGS >= 32
    CK_DC_CASE(2, 7) CK_DC_CASE(2, 8) CK_DC_CASE(2, 9) CK_DC_CASE(2, 10) CK_DC_CASE(2, 11) CK_DC_CASE(2, 12) CK_DC_CASE(2, 13) CK_DC_CASE(2, 14)
#endif
    CK_DC_CASE(4, 1) CK_DC_CASE(4, 2)
#if CK_VREGS >= 32
    CK_DC_CASE(4, 3) CK_DC_CASE(4, 4) CK_DC_CASE(4, 5) CK_DC_CASE(4, 6)
#endif
    }
#undef CK_DC_CASE
}

static void CK(direct_conv_rows)(const ck_direct_conv *c, const float *x, float *y, long b0, long b1, long y0, long y1) {
    long B = c->block, ks = c->ks, s = c->stride, pad = c->pad;
    // Output columns [xa, xb) have every tap on the map.
    long xa = (pad + s - 1) / s, xb = c->w + pad - ks < 0 ? 0 : (c->w + pad - ks) / s + 1;
    if (xb > c->wo) xb = c->wo;
    if (xa > xb) xa = xb;
    // The tile shape with the most multiply-adds per load (nob weight vectors and r broadcasts
    // feed nob * r of them) over the interior's width.
    long nob = 1, most = CK_DC_MAX1, count = xb - xa;
    float best = 0;
    for (long candidate = 1; candidate <= 4; candidate *= 2) {
        if ((b1 - b0) % candidate != 0) continue;
        long limit = candidate == 1 ? CK_DC_MAX1 : candidate == 2 ? CK_DC_MAX2 : CK_DC_MAX4;
        long tiles = count > 0 ? (count + limit - 1) / limit : 1;
        float r = count > 0 ? (float)count / (float)tiles : 1, score = (float)candidate * r / ((float)candidate + r);
        if (score > best) { best = score; nob = candidate; most = limit; }
    }
    for (long ob = b0; ob < b1; ob += nob)
        for (long oy = y0; oy < y1; oy++) {
            long iy0 = oy * s - pad, kh0 = iy0 < 0 ? -iy0 : 0, kh1 = iy0 + ks > c->h ? c->h - iy0 : ks;
            float *row = y + (ob * c->ho + oy) * c->wo * B;
#define CK_DC_CALL(R, OX, KW0, KW1)                                                                                  \
    if (B == 16) CK(dc_tiles_16)(c, x, row + (OX) * 16, nob, R, ob, iy0, (OX) * s - pad, kh0, kh1, KW0, KW1);           \
    else CK(dc_tiles_8)(c, x, row + (OX) * 8, nob, R, ob, iy0, (OX) * s - pad, kh0, kh1, KW0, KW1)
            for (long ox = 0; ox < c->wo; ox++) {
                if (ox == xa && xa < xb) {
                    // The interior in tiles of nearly equal width.
                    long tiles = (count + most - 1) / most;
                    for (long t = 0, at = xa; t < tiles; t++) {
                        long r = (xb - at + (tiles - t) - 1) / (tiles - t);
                        CK_DC_CALL(r, at, 0, ks);
                        at += r;
                    }
                    ox = xb - 1;
                    continue;
                }
                long ix = ox * s - pad, kw0 = ix < 0 ? -ix : 0, kw1 = ix + ks > c->w ? c->w - ix : ks;
                CK_DC_CALL(1, ox, kw0, kw1);
            }
#undef CK_DC_CALL
        }
}

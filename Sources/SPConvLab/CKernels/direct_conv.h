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

typedef int ck_v8i __attribute__((ext_vector_type(8)));

CK_INLINE ck_v8 CK(dc_ld8)(const float *p) { ck_v8 v; __builtin_memcpy(&v, p, 32); return v; }
CK_INLINE void CK(dc_st8)(float *p, ck_v8 v) { __builtin_memcpy(p, &v, 32); }
CK_INLINE ck_v8 CK(dc_relu8)(ck_v8 v) { return (ck_v8)((ck_v8i)v & ~(ck_v8i)(v <= 0)); }

// The epilogue of every store: the residual held in the output added (`sum`), then a ReLU.
#define CK_DC_STORE(VT, LD, ST, RELU, p, value)                         \
    do {                                                                \
        VT out_ = (value);                                              \
        if (c->sum) out_ = out_ + LD(p);                                \
        if (c->relu) out_ = RELU(out_);                                 \
        ST(p, out_);                                                    \
    } while (0)

// Register tiles: up to 28 pixels with one output block, 14 with two, 6 with four with 32
// vector registers (AVX-512); 12, 6 and 2 with 16 (AVX2); the rest hold the weight vectors and a
// broadcast. Dispatchers map (nob, r) to an inlined tile.
#if CK_VREGS >= 32
#define CK_DC_MAX1 28
#define CK_DC_MAX2 14
#define CK_DC_MAX4 6
#define CK_DC_MAXACC 28
#else
#define CK_DC_MAX1 12
#define CK_DC_MAX2 6
#define CK_DC_MAX4 2
#define CK_DC_MAXACC 12
#endif
// Rows of a grouped-mode tile (each its own input and output pointer).
#define CK_DC_MAXY 6
// Floats of a strided 1x1's gathered input rows (on the stack).
#define CK_DC_GATHER 16384
// Input channels per call of a dense-mode tile of a 1x1 convolution with many channels.
#define CK_DC_KC 64

// One register tile: output pixels ox0 + j (j < R) of row oy, output blocks ob0 + i (i < NOB),
// taps [kh0, kh1) x [kw0, kw1), input channels c0 + [ka, kb). `x` is the image, `y` the output
// block ob0's row start. NOB and R are constants once inlined into a case of the dispatchers
// below, so `acc` lives in registers. A convolution's channels may come in several calls (a
// 1x1's, so a chunk's weights stay in L1 for a whole row): the `first` starts from the bias (and
// the residual, when there are more), the others from the partial sums in `y`, and the `last`
// applies the epilogue.
#define CK_DC_UNROLL _Pragma("clang loop unroll(full)")
// Floats between two output blocks.
#define CK_DC_OPLANE(c) ((c)->out_plane ? (c)->out_plane : (c)->ho * (c)->wo * (c)->block)
// One tap (kh, kw) of a tile: every input channel of [lo, hi), each a broadcast times NOB weight
// vectors; in a tile at a row's end (EDGE: 1 the left end, 2 the right, 3 both) the pixels whose
// tap lies off the map leave it out.
#define CK_DC_TAP(VT, LD, B)                                                                                          \
    {                                                                                                                 \
        const float *px = x + ((iy0 + kh) * c->w + ix0 + kw) * IB;                                                    \
        const float *wt = c->weight + (ob0 * taps + kh * c->ks + kw) * c->k * B;                                      \
        for (long cb = cb0; cb <= cb1; cb++) {                                                                        \
            long l0 = cb == cb0 ? lo % IB : 0, l1 = cb == cb1 ? (hi - 1) % IB + 1 : IB;                               \
            const float *xc = px + cb * plane;                                                                        \
            const float *wc = wt + (cb * IB - c->c0) * B;                                                             \
            for (long l = l0; l < l1; l++) {                                                                          \
                VT wv[4];                                                                                             \
                CK_DC_UNROLL for (int i = 0; i < NOB; i++) wv[i] = LD(wc + l * B + i * wstride);                      \
                CK_DC_UNROLL for (int j = 0; j < R; j++) {                                                            \
                    if (((EDGE & 1) && j * S + kw < 1) || ((EDGE & 2) && j * S + kw > S * R)) continue;                \
                    VT xv = (VT)xc[j * step + l];                                                                     \
                    CK_DC_UNROLL for (int i = 0; i < NOB; i++) acc[i][j] = __builtin_elementwise_fma(xv, wv[i], acc[i][j]); \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
    }
#define CK_DC_TILE(VT, B, LD, ST, RELU)                                                                                  \
    CK_INLINE void CK(dc_tile_##B)(const ck_direct_conv *c, const float *x, float *y, long ob0, long iy0, long ix0,    \
                                   long kh0, long kh1, long kw0, long kw1, long ka, long kb, int first, int last,      \
                                   const int NOB, const int R, const int S, const int IB, const int EDGE) {           \
        VT acc[4][CK_DC_MAX1];                                                                                        \
        long taps = c->ks * c->ks, plane = c->h * c->w * IB, oplane = CK_DC_OPLANE(c), step = S * IB;                    \
        CK_DC_UNROLL for (int i = 0; i < NOB; i++) {                                                                  \
            VT init = c->bias ? LD(c->bias + (ob0 + i) * B) : (VT)0;                                                   \
            CK_DC_UNROLL for (int j = 0; j < R; j++) {                                                                \
                float *p = y + i * oplane + j * B;                                                                    \
                acc[i][j] = !first ? LD(p) : c->sum && !last ? init + LD(p) : init;                                   \
            }                                                                                                         \
        }                                                                                                             \
        long lo = c->c0 + ka, hi = c->c0 + kb;                                                                        \
        long cb0 = lo / IB, cb1 = (hi - 1) / IB, wstride = taps * c->k * B;                                           \
        for (long kh = kh0; kh < kh1; kh++) {                                                                         \
            if (EDGE) {                                                                                               \
                CK_DC_UNROLL for (long kw = 0; kw < 3; kw++) CK_DC_TAP(VT, LD, B)                                     \
            } else {                                                                                                  \
                for (long kw = kw0; kw < kw1; kw++) CK_DC_TAP(VT, LD, B)                                              \
            }                                                                                                         \
        }                                                                                                             \
        CK_DC_UNROLL for (int i = 0; i < NOB; i++)                                                                    \
            CK_DC_UNROLL for (int j = 0; j < R; j++) {                                                                \
                float *p = y + i * oplane + j * B;                                                                    \
                VT out = acc[i][j];                                                                                   \
                if (last && first && c->sum) out = out + LD(p);                                                       \
                if (last && c->relu) out = RELU(out);                                                                 \
                ST(p, out);                                                                                           \
            }                                                                                                         \
    }

CK_DC_TILE(v16, 16, CK(ld), CK(st), CK(relu))
CK_DC_TILE(ck_v8, 8, CK(dc_ld8), CK(dc_st8), CK(dc_relu8))
#undef CK_DC_TILE
#undef CK_DC_TAP

// Dense mode's dispatchers: (output blocks, pixels) to an inlined tile, for the strides the tiles
// are specialised on.
#define CK_DC_CASE(F, NOB, R)                                                                                        \
    case NOB * 100 + R:                                                                                               \
        if (c->in_lanes == 1 && c->stride == 1) F(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, ka, kb, first, last, NOB, R, 1, 1, 0); \
        else if (c->in_lanes == 1 && c->stride == 2) F(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, ka, kb, first, last, NOB, R, 2, 1, 0); \
        else if (c->in_lanes == 1) F(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, ka, kb, first, last, NOB, R, (int)c->stride, 1, 0); \
        else if (c->stride == 1) F(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, ka, kb, first, last, NOB, R, 1, lanes, 0); \
        else if (c->stride == 2) F(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, ka, kb, first, last, NOB, R, 2, lanes, 0); \
        else F(c, x, y, ob0, iy0, ix0, kh0, kh1, kw0, kw1, ka, kb, first, last, NOB, R, (int)c->stride, lanes, 0); \
        return;
#define CK_DC_CASES_FEW(F) \
    CK_DC_CASE(F, 1, 1) CK_DC_CASE(F, 1, 2) CK_DC_CASE(F, 1, 3) CK_DC_CASE(F, 1, 4) CK_DC_CASE(F, 1, 5) \
    CK_DC_CASE(F, 1, 6) CK_DC_CASE(F, 1, 7) CK_DC_CASE(F, 1, 8) CK_DC_CASE(F, 1, 9) CK_DC_CASE(F, 1, 10) \
    CK_DC_CASE(F, 1, 11) CK_DC_CASE(F, 1, 12) CK_DC_CASE(F, 2, 1) CK_DC_CASE(F, 2, 2) CK_DC_CASE(F, 2, 3) \
    CK_DC_CASE(F, 2, 4) CK_DC_CASE(F, 2, 5) CK_DC_CASE(F, 2, 6) CK_DC_CASE(F, 4, 1) CK_DC_CASE(F, 4, 2)
#if CK_VREGS >= 32
#define CK_DC_CASES_MORE(F) \
    CK_DC_CASE(F, 1, 13) CK_DC_CASE(F, 1, 14) CK_DC_CASE(F, 1, 15) CK_DC_CASE(F, 1, 16) CK_DC_CASE(F, 1, 17) \
    CK_DC_CASE(F, 1, 18) CK_DC_CASE(F, 1, 19) CK_DC_CASE(F, 1, 20) CK_DC_CASE(F, 1, 21) CK_DC_CASE(F, 1, 22) \
    CK_DC_CASE(F, 1, 23) CK_DC_CASE(F, 1, 24) CK_DC_CASE(F, 1, 25) CK_DC_CASE(F, 1, 26) CK_DC_CASE(F, 1, 27) \
    CK_DC_CASE(F, 1, 28) CK_DC_CASE(F, 2, 7) CK_DC_CASE(F, 2, 8) CK_DC_CASE(F, 2, 9) CK_DC_CASE(F, 2, 10) \
    CK_DC_CASE(F, 2, 11) CK_DC_CASE(F, 2, 12) CK_DC_CASE(F, 2, 13) CK_DC_CASE(F, 2, 14) CK_DC_CASE(F, 4, 3) \
    CK_DC_CASE(F, 4, 4) CK_DC_CASE(F, 4, 5) CK_DC_CASE(F, 4, 6)
#else
#define CK_DC_CASES_MORE(F)
#endif
#define CK_DC_TILES(B)                                                                                               \
    static void CK(dc_tiles_##B)(const ck_direct_conv *c, const float *x, float *y, long nob, long r, long ob0,        \
                                 long iy0, long ix0, long kh0, long kh1, long kw0, long kw1, long ka, long kb,        \
                                 int first, int last) {                                                               \
        const int lanes = B;                                                                                          \
        switch (nob * 100 + r) { CK_DC_CASES_FEW(CK(dc_tile_##B)) CK_DC_CASES_MORE(CK(dc_tile_##B)) }               \
    }
CK_DC_TILES(16)
CK_DC_TILES(8)
#undef CK_DC_TILES

// Edge tiles of a 3x3 convolution with padding 1 and stride 1 or 2 (input width stride times the
// output's): a row's border pixels share the registers of their neighbours, each leaving out its
// taps off the map (decided when the tile is compiled), so a narrow row reads each weight vector
// once or twice, not once for its interior and once more for each border pixel (weights that do
// not fit L1 came from L2 three times per row). Four output blocks for tiles of 4-6 pixels and
// two for 7-14 with 32 vector registers; two for 4-6 and one for 7-12 with 16.
#if CK_VREGS >= 32
#define CK_DC_EDGE_MAX 14
#define CK_DC_EDGE_NOB(r) ((r) >= 4 && (r) <= 6 ? 4 : (r) >= 7 && (r) <= 14 ? 2 : 0)
#define CK_DC_ECASES(F)                                                                                              \
    CK_DC_ECASE(F, 4, 4) CK_DC_ECASE(F, 4, 5) CK_DC_ECASE(F, 4, 6) CK_DC_ECASE(F, 2, 7) CK_DC_ECASE(F, 2, 8)          \
    CK_DC_ECASE(F, 2, 9) CK_DC_ECASE(F, 2, 10) CK_DC_ECASE(F, 2, 11) CK_DC_ECASE(F, 2, 12) CK_DC_ECASE(F, 2, 13)      \
    CK_DC_ECASE(F, 2, 14)
#else
#define CK_DC_EDGE_MAX 12
#define CK_DC_EDGE_NOB(r) ((r) >= 4 && (r) <= 6 ? 2 : (r) >= 7 && (r) <= 12 ? 1 : 0)
#define CK_DC_ECASES(F)                                                                                              \
    CK_DC_ECASE(F, 2, 4) CK_DC_ECASE(F, 2, 5) CK_DC_ECASE(F, 2, 6) CK_DC_ECASE(F, 1, 7) CK_DC_ECASE(F, 1, 8)          \
    CK_DC_ECASE(F, 1, 9) CK_DC_ECASE(F, 1, 10) CK_DC_ECASE(F, 1, 11) CK_DC_ECASE(F, 1, 12)
#endif
// A row-major input's (the stem's: few channels, one output block) at stride 1: 8-16 pixels with
// 32 registers, 8-12 with 16.
#if CK_VREGS >= 32
#define CK_DC_EDGE1_MAX 16
#define CK_DC_E1CASES(F)                                                                                             \
    CK_DC_E1CASE(F, 8) CK_DC_E1CASE(F, 9) CK_DC_E1CASE(F, 10) CK_DC_E1CASE(F, 11) CK_DC_E1CASE(F, 12)                 \
    CK_DC_E1CASE(F, 13) CK_DC_E1CASE(F, 14) CK_DC_E1CASE(F, 15) CK_DC_E1CASE(F, 16)
#else
#define CK_DC_EDGE1_MAX 12
#define CK_DC_E1CASES(F)                                                                                             \
    CK_DC_E1CASE(F, 8) CK_DC_E1CASE(F, 9) CK_DC_E1CASE(F, 10) CK_DC_E1CASE(F, 11) CK_DC_E1CASE(F, 12)
#endif
#define CK_DC_E1CASE(F, R)                                                                                           \
    case (R * 4 + 1): F(c, x, y, ob0, iy0, ix0, kh0, kh1, 0, 3, 0, c->k, 1, 1, 1, R, 1, 1, 1); return;                \
    case (R * 4 + 2): F(c, x, y, ob0, iy0, ix0, kh0, kh1, 0, 3, 0, c->k, 1, 1, 1, R, 1, 1, 2); return;                \
    case (R * 4 + 3): F(c, x, y, ob0, iy0, ix0, kh0, kh1, 0, 3, 0, c->k, 1, 1, 1, R, 1, 1, 3); return;
#define CK_DC_ECALL(F, NOB, R, S, E) F(c, x, y, ob0, iy0, ix0, kh0, kh1, 0, 3, 0, c->k, 1, 1, NOB, R, S, lanes, E); return;
#define CK_DC_ECASE(F, NOB, R)                                                                                       \
    case ((NOB * 100 + R) * 4 + 1) * 4 + 1: CK_DC_ECALL(F, NOB, R, 1, 1)                                              \
    case ((NOB * 100 + R) * 4 + 2) * 4 + 1: CK_DC_ECALL(F, NOB, R, 1, 2)                                              \
    case ((NOB * 100 + R) * 4 + 3) * 4 + 1: CK_DC_ECALL(F, NOB, R, 1, 3)                                              \
    case ((NOB * 100 + R) * 4 + 1) * 4 + 2: CK_DC_ECALL(F, NOB, R, 2, 1)                                              \
    case ((NOB * 100 + R) * 4 + 2) * 4 + 2: CK_DC_ECALL(F, NOB, R, 2, 2)                                              \
    case ((NOB * 100 + R) * 4 + 3) * 4 + 2: CK_DC_ECALL(F, NOB, R, 2, 3)
#define CK_DC_EDGES(B)                                                                                               \
    static void CK(dc_edge_##B)(const ck_direct_conv *c, const float *x, float *y, long nob, long r, long edge,       \
                                long ob0, long iy0, long ix0, long kh0, long kh1) {                                   \
        const int lanes = B;                                                                                          \
        if (c->in_lanes == 1) {                                                                                       \
            switch (r * 4 + edge) { CK_DC_E1CASES(CK(dc_tile_##B)) }                                                  \
            return;                                                                                                   \
        }                                                                                                             \
        switch (((nob * 100 + r) * 4 + edge) * 4 + c->stride) { CK_DC_ECASES(CK(dc_tile_##B)) }                       \
    }
CK_DC_EDGES(16)
CK_DC_EDGES(8)
#undef CK_DC_EDGES
#undef CK_DC_ECASE
#undef CK_DC_ECALL
#undef CK_DC_ECASES
#undef CK_DC_E1CASE
#undef CK_DC_E1CASES
#undef CK_DC_CASES_FEW
#undef CK_DC_CASES_MORE
#undef CK_DC_CASE

// Grouped mode (see CKernels.h): one output block (all its lanes in registers for R pixels), the
// group-wise taps with a broadcast of the G interleaved group inputs, then the extra taps with a
// broadcast of each input channel; with G = 2 the lanes are put back in channel order on store.
typedef double ck_v8d __attribute__((ext_vector_type(8)));
typedef double ck_v4d __attribute__((ext_vector_type(4)));
CK_INLINE v16 CK(dc_pair16)(const float *p) { double d; __builtin_memcpy(&d, p, 8); return (v16)(ck_v8d)d; }
CK_INLINE ck_v8 CK(dc_pair8)(const float *p) { double d; __builtin_memcpy(&d, p, 8); return (ck_v8)(ck_v4d)d; }
CK_INLINE v16 CK(dc_unpair16)(v16 v) {
    return __builtin_shufflevector(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
}
CK_INLINE ck_v8 CK(dc_unpair8)(ck_v8 v) { return __builtin_shufflevector(v, v, 0, 2, 4, 6, 1, 3, 5, 7); }

// An extra tap's channel p: its weight vector times each pixel's input at `at` floats from its
// row's pointer in `rows`, pixels `step` floats apart.
#define CK_DC_EXTRA(VT, LD, BW, rows, at_, step_)                                                                        \
    {                                                                                                                 \
        long at = (at_);                                                                                              \
        VT wv = LD(wt + p * (BW));                                                                                    \
        CK_DC_UNROLL for (int r = 0; r < RY; r++) {                                                                   \
            const float *xc = rows[r] + at;                                                                           \
            CK_DC_UNROLL for (int j = 0; j < RX; j++) acc[r][j] = __builtin_elementwise_fma((VT)xc[j * (step_)], wv, acc[r][j]); \
        }                                                                                                             \
    }
#define CK_DC_GTILE(VT, B, LD, ST, RELU, PAIR, UNPAIR)                                                                 \
    CK_INLINE void CK(dc_gtile_##B)(const ck_direct_conv *c, const float *const *xr, const float *const *er,            \
                                    float *const *yr, long ob, const int G, const int RY, const int RX, const int S) { \
        VT acc[CK_DC_MAXY][CK_DC_MAX1];                                                                               \
        long ks = c->ks, taps = ks * ks, plane = c->h * c->w * B, step = S * B, gk = c->group_k, w = c->w;            \
        VT init = c->bias ? LD(c->bias + ob * B) : (VT)0;                                                              \
        CK_DC_UNROLL for (int r = 0; r < RY; r++)                                               \
            CK_DC_UNROLL for (int j = 0; j < RX; j++) acc[r][j] = init;                         \
        long gbase = c->c0 + (G == 2 ? ob * 2 * gk : (ob * B / c->group_out) * gk);                                   \
        for (long kh = 0; kh < ks; kh++)                                                                              \
            for (long kw = 0; kw < ks; kw++) {                                                                        \
                long tap = (kh * w + kw) * B;                                                                         \
                const float *wt = c->weight + (ob * taps + kh * ks + kw) * gk * B;                                    \
                for (long i = 0; i < gk; i++) {                                                                       \
                    long p = gbase + G * i, at = tap + (p / B) * plane + p % B;                                       \
                    VT wv = LD(wt + i * B);                                                                           \
                    CK_DC_UNROLL for (int r = 0; r < RY; r++) {                                 \
                        const float *xc = xr[r] + at;                                                                 \
                        CK_DC_UNROLL for (int j = 0; j < RX; j++) {                             \
                            VT xv = G == 2 ? PAIR(xc + j * step) : (VT)xc[j * step];                                  \
                            acc[r][j] = __builtin_elementwise_fma(xv, wv, acc[r][j]);                                 \
                        }                                                                                             \
                    }                                                                                                 \
                }                                                                                                     \
            }                                                                                                         \
        if (c->extra_x) {                                                                                             \
            long eplane = c->ho * c->wo * B;                                                                          \
            const float *wt = c->extra_weight + ob * c->k * B;                                                        \
            for (long p = 0; p < c->k; p++) CK_DC_EXTRA(VT, LD, B, er, (p / B) * eplane + p % B, B)                       \
        } else {                                                                                                      \
            for (long e = 0; e < c->extra_taps; e++) {                                                                \
                long tap = (c->extra_h[e] * w + c->extra_w[e]) * B;                                                   \
                const float *wt = c->extra_weight + (ob * c->extra_taps + e) * c->k * B;                              \
                for (long p = 0; p < c->k; p++) CK_DC_EXTRA(VT, LD, B, xr, tap + (p / B) * plane + p % B, step)          \
            }                                                                                                         \
        }                                                                                                             \
        CK_DC_UNROLL for (int r = 0; r < RY; r++)                                               \
            CK_DC_UNROLL for (int j = 0; j < RX; j++)                                           \
                CK_DC_STORE(VT, LD, ST, RELU, yr[r] + j * B, G == 2 ? UNPAIR(acc[r][j]) : acc[r][j]);                 \
    }
CK_DC_GTILE(v16, 16, CK(ld), CK(st), CK(relu), CK(dc_pair16), CK(dc_unpair16))
CK_DC_GTILE(ck_v8, 8, CK(dc_ld8), CK(dc_st8), CK(dc_relu8), CK(dc_pair8), CK(dc_unpair8))
#undef CK_DC_GTILE
#undef CK_DC_EXTRA
#undef CK_DC_STORE

// The dispatchers map (rows, columns) to an inlined tile: every shape within the build's
// accumulators (CK_DC_MAXACC), for the group lanes and strides the tiles are specialised on.
#define CK_DC_GCASE(F, RY, RX)                                                                                       \
    case RY * 100 + RX:                                                                                               \
        if (g == 2 && s == 1) F(c, xr, er, yr, ob, 2, RY, RX, 1);                                                     \
        else if (g == 2) F(c, xr, er, yr, ob, 2, RY, RX, s);                                                          \
        else if (s == 1) F(c, xr, er, yr, ob, 1, RY, RX, 1);                                                          \
        else F(c, xr, er, yr, ob, 1, RY, RX, s);                                                                      \
        return;
#define CK_DC_GCASES_FEW(F) \
    CK_DC_GCASE(F, 1, 1) CK_DC_GCASE(F, 1, 2) CK_DC_GCASE(F, 1, 3) CK_DC_GCASE(F, 1, 4) CK_DC_GCASE(F, 1, 5) \
    CK_DC_GCASE(F, 1, 6) CK_DC_GCASE(F, 1, 7) CK_DC_GCASE(F, 1, 8) CK_DC_GCASE(F, 1, 9) CK_DC_GCASE(F, 1, 10) \
    CK_DC_GCASE(F, 1, 11) CK_DC_GCASE(F, 1, 12) CK_DC_GCASE(F, 2, 1) CK_DC_GCASE(F, 2, 2) CK_DC_GCASE(F, 2, 3) \
    CK_DC_GCASE(F, 2, 4) CK_DC_GCASE(F, 2, 5) CK_DC_GCASE(F, 2, 6) CK_DC_GCASE(F, 3, 1) CK_DC_GCASE(F, 3, 2) \
    CK_DC_GCASE(F, 3, 3) CK_DC_GCASE(F, 3, 4) CK_DC_GCASE(F, 4, 1) CK_DC_GCASE(F, 4, 2) CK_DC_GCASE(F, 4, 3) \
    CK_DC_GCASE(F, 5, 1) CK_DC_GCASE(F, 5, 2) CK_DC_GCASE(F, 6, 1) CK_DC_GCASE(F, 6, 2)
#if CK_VREGS >= 32
#define CK_DC_GCASES_MORE(F) \
    CK_DC_GCASE(F, 1, 13) CK_DC_GCASE(F, 1, 14) CK_DC_GCASE(F, 1, 15) CK_DC_GCASE(F, 1, 16) CK_DC_GCASE(F, 1, 17) \
    CK_DC_GCASE(F, 1, 18) CK_DC_GCASE(F, 1, 19) CK_DC_GCASE(F, 1, 20) CK_DC_GCASE(F, 1, 21) CK_DC_GCASE(F, 1, 22) \
    CK_DC_GCASE(F, 1, 23) CK_DC_GCASE(F, 1, 24) CK_DC_GCASE(F, 1, 25) CK_DC_GCASE(F, 1, 26) CK_DC_GCASE(F, 1, 27) \
    CK_DC_GCASE(F, 1, 28) CK_DC_GCASE(F, 2, 7) CK_DC_GCASE(F, 2, 8) CK_DC_GCASE(F, 2, 9) CK_DC_GCASE(F, 2, 10) \
    CK_DC_GCASE(F, 2, 11) CK_DC_GCASE(F, 2, 12) CK_DC_GCASE(F, 2, 13) CK_DC_GCASE(F, 2, 14) CK_DC_GCASE(F, 3, 5) \
    CK_DC_GCASE(F, 3, 6) CK_DC_GCASE(F, 3, 7) CK_DC_GCASE(F, 3, 8) CK_DC_GCASE(F, 3, 9) CK_DC_GCASE(F, 4, 4) \
    CK_DC_GCASE(F, 4, 5) CK_DC_GCASE(F, 4, 6) CK_DC_GCASE(F, 4, 7) CK_DC_GCASE(F, 5, 3) CK_DC_GCASE(F, 5, 4) \
    CK_DC_GCASE(F, 5, 5) CK_DC_GCASE(F, 6, 3) CK_DC_GCASE(F, 6, 4)
#else
#define CK_DC_GCASES_MORE(F)
#endif
#define CK_DC_GTILES(B)                                                                                              \
    static void CK(dc_gtiles_##B)(const ck_direct_conv *c, const float *const *xr, const float *const *er,              \
                                  float *const *yr, long ry, long rx, long ob) {                                      \
        int g = (int)c->group_lanes, s = (int)c->stride;                                                              \
        switch (ry * 100 + rx) { CK_DC_GCASES_FEW(CK(dc_gtile_##B)) CK_DC_GCASES_MORE(CK(dc_gtile_##B)) }           \
    }
CK_DC_GTILES(16)
CK_DC_GTILES(8)
#undef CK_DC_GTILES
#undef CK_DC_GCASES_FEW
#undef CK_DC_GCASES_MORE
#undef CK_DC_GCASE

// Grouped mode's input copy: `blocks` channel blocks of one image with a one-pixel zero border
// (rows [r0, r1) of the bordered copy, so threads can share the work), each block's lanes in pairs of groups (lane p holds channel (p / 2gk) 2gk + (p % 2) gk + (p % 2gk) / 2
// of the block; gk = 1 keeps the order), so a 64-bit broadcast reads both groups' inputs.
CK_INLINE v16 CK(dc_pairs_16)(v16 v, long gk) {
    switch (gk) {
    case 2: return __builtin_shufflevector(v, v, 0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
    case 4: return __builtin_shufflevector(v, v, 0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15);
    case 8: return __builtin_shufflevector(v, v, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    default: return v;
    }
}
CK_INLINE ck_v8 CK(dc_pairs_8)(ck_v8 v, long gk) {
    switch (gk) {
    case 2: return __builtin_shufflevector(v, v, 0, 2, 1, 3, 4, 6, 5, 7);
    case 4: return __builtin_shufflevector(v, v, 0, 4, 1, 5, 2, 6, 3, 7);
    default: return v;
    }
}

static void CK(dc_border)(const float *x, long blocks, long h, long w, long gk, long block, long r0, long r1, float *out) {
    long pw = w + 2, plane = h * w * block, pplane = (h + 2) * pw * block;
    for (long cb = 0; cb < blocks; cb++) {
        const float *src = x + cb * plane;
        float *dst = out + cb * pplane;
        for (long r = r0; r < r1; r++) {
            float *line = dst + r * pw * block;
            if (r == 0 || r == h + 1) {
                __builtin_memset(line, 0, (size_t)(pw * block) * sizeof(float));
                continue;
            }
            const float *from = src + (r - 1) * w * block;
            __builtin_memset(line, 0, (size_t)block * sizeof(float));
            __builtin_memset(line + (w + 1) * block, 0, (size_t)block * sizeof(float));
            if (gk <= 1) {
                __builtin_memcpy(line + block, from, (size_t)(w * block) * sizeof(float));
            } else if (block == 16) {
                for (long j = 0; j < w; j++)
                    CK(st)(line + (j + 1) * 16, CK(dc_pairs_16)(CK(ld)(from + j * 16), gk));
            } else {
                for (long j = 0; j < w; j++)
                    CK(dc_st8)(line + (j + 1) * 8, CK(dc_pairs_8)(CK(dc_ld8)(from + j * 8), gk));
            }
        }
    }
}

static void CK(dc_run)(const ck_direct_conv *c, const float *x0, long xs, float *y0s, long ys, long images, long b0,
                       long b1, long y0, long y1);

// A strided 1x1 reads every s-th pixel of every s-th row: its rows are short, and the pixels it
// skips share its cache lines and prefetches. Groups of output rows have their input pixels
// gathered into a 64 KiB buffer on the stack (in this function's frame only, not dc_run's), one
// long row per channel block, which then runs as a 1x1 with stride 1 (the same multiply-adds in
// the same order), per chunk of output blocks whose weights fit about 256 KiB (as in dc_run),
// each row group gathered again per chunk (a copy of at most 64 KiB).
__attribute__((noinline)) static void CK(dc_gathered)(const ck_direct_conv *c, const float *x0, long xs, float *y0s, long ys,
                                                      long images, long b0, long b1, long y0, long y1) {
    long B = c->block, s = c->stride, need = (c->k + B - 1) / B;
    float buf[CK_DC_GATHER] __attribute__((aligned(64)));
    long g = CK_DC_GATHER / (c->wo * need * B);
    ck_direct_conv v = *c;
    v.in_blocks = need; v.h = 1; v.stride = 1; v.ho = 1; v.out_plane = c->ho * c->wo * B;
    long per_block = c->k * B * (long)sizeof(float), chunk = (256L << 10) / per_block / 4 * 4;
    if (chunk < 4) chunk = 4;
    for (long first = b0; first < b1; first += chunk)
        for (long n = 0; n < images; n++)
            for (long oy = y0; oy < y1; oy += g) {
                long rows = y1 - oy < g ? y1 - oy : g, width = rows * c->wo;
                const float *x = x0 + n * xs;
                for (long cb = 0; cb < need; cb++)
                    for (long r = 0; r < rows; r++) {
                        const float *src = x + (cb * c->h + (oy + r) * s) * c->w * B;
                        float *dst = buf + (cb * width + r * c->wo) * B;
                        if (B == 16)
                            for (long ox = 0; ox < c->wo; ox++) CK(st)(dst + ox * 16, CK(ld)(src + ox * s * 16));
                        else
                            for (long ox = 0; ox < c->wo; ox++) CK(dc_st8)(dst + ox * 8, CK(dc_ld8)(src + ox * s * 8));
                    }
                v.w = width; v.wo = width;
                CK(dc_run)(&v, buf, 0, y0s + n * ys + oy * c->wo * B, 0, 1, first, first + chunk < b1 ? first + chunk : b1, 0, 1);
            }
}

// Output rows [y0, y1) of output blocks [b0, b1) of `images` images (x and y `xs` and `ys` floats
// apart): output blocks outermost, so a block's weights are read from cache for every image.
static void CK(dc_run)(const ck_direct_conv *c, const float *x0, long xs, float *y0s, long ys, long images, long b0,
                       long b1, long y0, long y1) {
    long B = c->block, ks = c->ks, s = c->stride, pad = c->pad;
    if (c->group_lanes > 0) {
        // Grouped mode: every pixel interior (pad 0), one output block per tile. A tile is rx
        // pixels of up to CK_DC_MAXY output rows, the rows taken in order over the images (so
        // small maps still fill the registers), rx the row in nearly equal parts.
        // The split of the row into tiles that fills the most accumulators (the fewest tiles
        // among equals).
        long rows = images * (y1 - y0), tiles = 1, ry = 1, filled = 0;
        for (long t = 1; t <= c->wo; t++) {
            long widest = (c->wo + t - 1) / t, rows_fit = CK_DC_MAXACC / widest;
            if (rows_fit < 1) continue;
            if (rows_fit > CK_DC_MAXY) rows_fit = CK_DC_MAXY;
            if (rows_fit * widest > filled) { filled = rows_fit * widest; tiles = t; ry = rows_fit; }
        }
        const float *xr[CK_DC_MAXY], *er[CK_DC_MAXY];
        float *yr[CK_DC_MAXY];
        for (long ob = b0; ob < b1; ob++)
            for (long first = 0; first < rows; first += ry) {
                long count = rows - first < ry ? rows - first : ry;
                for (long t = 0, at = 0; t < tiles; t++) {
                    long r = (c->wo - at + (tiles - t) - 1) / (tiles - t);
                    for (long q = 0; q < count; q++) {
                        long n = (first + q) / (y1 - y0), oy = y0 + (first + q) % (y1 - y0);
                        xr[q] = x0 + n * xs + (oy * s * c->w + at * s) * B;
                        yr[q] = y0s + n * ys + ((ob * c->ho + oy) * c->wo + at) * B;
                        er[q] = c->extra_x ? c->extra_x + n * c->extra_xs + (oy * c->wo + at) * B : 0;
                    }
                    if (B == 16) CK(dc_gtiles_16)(c, xr, er, yr, count, r, ob);
                    else CK(dc_gtiles_8)(c, xr, er, yr, count, r, ob);
                    at += r;
                }
            }
        return;
    }
    // A narrow map's 3x3 rows (at most two edge tiles wide) in edge tiles, where the output
    // blocks come in whole tiles: one tile, or a left and a right one.
    // A row-major input (the stem) at stride 1 in tiles of one output block.
    long row_major = c->in_lanes == 1, edge_max = row_major ? CK_DC_EDGE1_MAX : CK_DC_EDGE_MAX;
    long halves = c->wo > edge_max ? 2 : 1, er = (c->wo + halves - 1) / halves, enob = 0;
    if (ks == 3 && pad == 1 && c->w == s * c->wo && c->wo <= 2 * edge_max) {
        if (!row_major && (s == 1 || s == 2) && (halves == 1 || CK_DC_EDGE_NOB(c->wo - er) == CK_DC_EDGE_NOB(er)))
            enob = CK_DC_EDGE_NOB(er);
        else if (row_major && s == 1 && c->wo - (halves - 1) * er >= 8 && er >= 8)
            enob = 1;
    }
    if (enob > 0 && (b1 - b0) % enob == 0) {
        for (long n = 0; n < images; n++)
            for (long oy = y0; oy < y1; oy++)
                for (long ob = b0; ob < b1; ob += enob) {
                    long iy0 = oy * s - 1, kh0 = iy0 < 0 ? 1 : 0, kh1 = iy0 + 3 > c->h ? c->h - iy0 : 3;
                    const float *x = x0 + n * xs;
                    float *row = y0s + n * ys + ob * CK_DC_OPLANE(c) + oy * c->wo * B;
                    for (long t = 0, at = 0; t < halves; t++) {
                        long r = t == 0 ? er : c->wo - er, edge = halves == 1 ? 3 : t == 0 ? 1 : 2;
                        if (B == 16) CK(dc_edge_16)(c, x, row + at * 16, enob, r, edge, ob, iy0, at * s - 1, kh0, kh1);
                        else CK(dc_edge_8)(c, x, row + at * 8, enob, r, edge, ob, iy0, at * s - 1, kh0, kh1);
                        at += r;
                    }
                }
        return;
    }
    // A strided 1x1 (the ResNets' projection shortcuts): its input pixels gathered into long rows.
    if (ks == 1 && s > 1 && pad == 0 && c->in_lanes == B && c->c0 == 0 && c->out_plane == 0
        && c->wo * ((c->k + B - 1) / B) * B <= CK_DC_GATHER) {
        CK(dc_gathered)(c, x0, xs, y0s, ys, images, b0, b1, y0, y1);
        return;
    }
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
    // Output blocks in chunks whose weights fit in about 256 KiB (the L2 cache of every CPU of
    // this kind holds them): per chunk, every row of every image, each row's input read from cache
    // for all the chunk's blocks. A chunk of one block's weights alone is the old order (each
    // block's weights applied to every row before the next block's).
    long per_block = c->ks * c->ks * c->k * B * (long)sizeof(float);
    long chunk = (256L << 10) / (per_block > 0 ? per_block : 1) / nob * nob;
    if (chunk < nob) chunk = nob;
    // A 1x1's input channels in chunks of CK_DC_KC (the same in every build, so the sums agree),
    // whose weights for a tile's output blocks (at most 4 x 64 x 16 floats, 16 KiB) stay in L1
    // while the row's tiles read them; where the channels are few, all at once.
    long kc = c->ks == 1 && c->k > 2 * CK_DC_KC ? CK_DC_KC : c->k;
    for (long first = b0; first < b1; first += chunk)
    for (long n = 0; n < images; n++)
    for (long oy = y0; oy < y1; oy++)
    for (long ob = first; ob < (first + chunk < b1 ? first + chunk : b1); ob += nob)
    for (long ka = 0; ka < c->k; ka += kc) {
            long kb = ka + kc < c->k ? ka + kc : c->k;
            int first_k = ka == 0, last_k = kb == c->k;
            long iy0 = oy * s - pad, kh0 = iy0 < 0 ? -iy0 : 0, kh1 = iy0 + ks > c->h ? c->h - iy0 : ks;
            const float *x = x0 + n * xs;
            float *row = y0s + n * ys + ob * CK_DC_OPLANE(c) + oy * c->wo * B;
#define CK_DC_CALL(R, OX, KW0, KW1)                                                                                  \
    if (B == 16) CK(dc_tiles_16)(c, x, row + (OX) * 16, nob, R, ob, iy0, (OX) * s - pad, kh0, kh1, KW0, KW1, ka, kb,    \
                                 first_k, last_k);                                                                    \
    else CK(dc_tiles_8)(c, x, row + (OX) * 8, nob, R, ob, iy0, (OX) * s - pad, kh0, kh1, KW0, KW1, ka, kb, first_k,      \
                        last_k)
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

static void CK(direct_conv_rows)(const ck_direct_conv *c, const float *x, float *y, long b0, long b1, long y0, long y1) {
    CK(dc_run)(c, x, 0, y, 0, 1, b0, b1, y0, y1);
}

static void CK(direct_conv_images)(const ck_direct_conv *c, const float *x, long xs, float *y, long ys, long images) {
    CK(dc_run)(c, x, xs, y, ys, images, 0, c->out_blocks, 0, c->ho);
}

// Pooling of channel-blocked maps and the classifier's matrix product, included by lanes.h
// after direct_conv.h (so once per build). Both write into buffers the caller owns and allocate
// nothing, so a planned forward pass stays free of heap allocations.

// Planes [p0, p1) (image, channel block) of [planes][h][w][B] pooled into [planes][ho][wo][B]:
// the maximum over the window's taps on the map (a NaN wins, as in PyTorch), or their sum in
// tap order divided by ks * ks (PyTorch's AvgPool2d: padding counts in the divisor). A block's
// lanes are one vector (16 or 8 floats).
#define CK_POOL(VT, B, LD, ST)                                                                                      \
    static void CK(pool_planes_##B)(const ck_pool *p, const float *x, float *y, long p0, long p1) {                  \
        long ks = p->ks, s = p->stride, pad = p->pad;                                                                 \
        VT divisor = (VT)(float)(ks * ks);                                                                            \
        for (long plane = p0; plane < p1; plane++) {                                                                  \
            const float *src = x + plane * p->h * p->w * B;                                                           \
            float *dst = y + plane * p->ho * p->wo * B;                                                               \
            for (long oy = 0; oy < p->ho; oy++) {                                                                     \
                long iy0 = oy * s - pad, ky0 = iy0 < 0 ? -iy0 : 0, ky1 = iy0 + ks > p->h ? p->h - iy0 : ks;         \
                for (long ox = 0; ox < p->wo; ox++) {                                                                 \
                    long ix0 = ox * s - pad, kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + ks > p->w ? p->w - ix0 : ks;     \
                    VT acc = p->is_max ? (VT)(-INFINITY) : (VT)0;                                                     \
                    for (long ky = ky0; ky < ky1; ky++)                                                               \
                        for (long kx = kx0; kx < kx1; kx++) {                                                         \
                            VT v = LD(src + ((iy0 + ky) * p->w + ix0 + kx) * B);                                      \
                            if (p->is_max) acc = (v > acc || v != v) ? v : acc;                                       \
                            else acc = acc + v;                                                                       \
                        }                                                                                             \
                    ST(dst + (oy * p->wo + ox) * B, p->is_max ? acc : acc / divisor);                                 \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
    }
CK_POOL(v16, 16, CK(ld), CK(st))
CK_POOL(ck_v8, 8, CK(dc_ld8), CK(dc_st8))
#undef CK_POOL

static void CK(pool_planes)(const ck_pool *p, const float *x, float *y, long p0, long p1) {
    if (p->block == 16) CK(pool_planes_16)(p, x, y, p0, p1);
    else CK(pool_planes_8)(p, x, y, p0, p1);
}

// y[i][o] = bias[o] + sum_j w[o][j] x[i][j] for outputs [o0, o1) of rows [0, n): 16 lanes of j at
// a time with fused multiply-adds (four rows of x per weight row read, so each weight row is read
// from memory once per four rows), the lanes summed in one order, then the tail of j in order.
CK_INLINE float CK(lin_sum)(v16 v) {
    float t = 0;
    for (int l = 0; l < 16; l++) t += v[l];
    return t;
}

static void CK(linear_rows)(const float *x, long n, long in, const float *w, const float *bias, float *y, long out, long o0,
                            long o1) {
    long body = in / 16 * 16;
    for (long o = o0; o < o1; o++) {
        const float *wr = w + o * in;
        float b = bias ? bias[o] : 0;
        long i = 0;
        for (; i + 4 <= n; i += 4) {
            const float *x0 = x + i * in, *x1 = x0 + in, *x2 = x1 + in, *x3 = x2 + in;
            v16 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (long j = 0; j < body; j += 16) {
                v16 wv = CK(ld)(wr + j);
                a0 = __builtin_elementwise_fma(wv, CK(ld)(x0 + j), a0);
                a1 = __builtin_elementwise_fma(wv, CK(ld)(x1 + j), a1);
                a2 = __builtin_elementwise_fma(wv, CK(ld)(x2 + j), a2);
                a3 = __builtin_elementwise_fma(wv, CK(ld)(x3 + j), a3);
            }
            float t0 = CK(lin_sum)(a0), t1 = CK(lin_sum)(a1), t2 = CK(lin_sum)(a2), t3 = CK(lin_sum)(a3);
            for (long j = body; j < in; j++) {
                t0 += wr[j] * x0[j];
                t1 += wr[j] * x1[j];
                t2 += wr[j] * x2[j];
                t3 += wr[j] * x3[j];
            }
            y[i * out + o] = b + t0;
            y[(i + 1) * out + o] = b + t1;
            y[(i + 2) * out + o] = b + t2;
            y[(i + 3) * out + o] = b + t3;
        }
        for (; i < n; i++) {
            const float *xi = x + i * in;
            v16 a = 0;
            for (long j = 0; j < body; j += 16) a = __builtin_elementwise_fma(CK(ld)(wr + j), CK(ld)(xi + j), a);
            float t = CK(lin_sum)(a);
            for (long j = body; j < in; j++) t += wr[j] * xi[j];
            y[i * out + o] = b + t;
        }
    }
}

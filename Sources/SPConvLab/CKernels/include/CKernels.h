#ifndef SPCONVLAB_CKERNELS_H
#define SPCONVLAB_CKERNELS_H

/// The memory-bound training kernels' inner loops and the engine's own inference convolution
/// for SPConv's branches, compiled three times (AVX-512, AVX2 + FMA, and the x86-64 baseline)
/// and chosen at run time: the build assumes no CPU, so Swift's own
/// `SIMD16<Float>` code is baseline SSE with spills, four instructions per 16-lane operation.
///
/// "Lanes" kernels work on one (sample, 16-channel block) item of oneDNN's `nChw16c` layout:
/// `pixels` consecutive vectors of 16 floats, one lane per channel; per-lane parameters are
/// arrays of 16 floats. "Flat" kernels work on `count` consecutive floats. Every kernel keeps the
/// order of its float operations on every instruction set (no contraction into FMA; the narrow
/// convolutions use explicit fused multiply-adds, exactly rounded in every build), so all three
/// builds give the same bits.

/// Chooses the widest build at most `max_level` (2 AVX-512, 1 AVX2 + FMA, 0 baseline) that this
/// CPU runs. Until called, the widest this CPU runs is used.
void ck_select_isa(int max_level);
/// The build in use: 2, 1 or 0 as above.
int ck_active_isa(void);
/// ck_select_isa for the engine: also records the level as the engine's, which its choices of
/// algorithm read (ck_engine_isa). Tests switch builds with ck_select_isa alone.
void ck_select_engine_isa(int max_level);
/// The engine's level (the widest this CPU runs until ck_select_engine_isa is called).
int ck_engine_isa(void);

// MARK: Lanes kernels (nChw16c items)

/// out[l] = Σ x[i][l].
void ck_lane_sum(const float *x, long pixels, float *out);
/// out[l] = Σ (x[i][l] - mean[l])^2.
void ck_lane_squared_deviations(const float *x, long pixels, const float *mean, float *out);
/// o[i] = x[i] * scale + shift, then zero where that is <= 0 when relu.
void ck_lane_affine(const float *x, float *o, long pixels, const float *scale, const float *shift, int relu);
/// Batch norm backward's sums: g = dy, zeroed where not (x * scale + shift > 0) when relu;
/// sum[l] = Σ g, centred[l] = Σ g (x - mean).
void ck_lane_batch_norm_sums(const float *x, const float *dy, long pixels, const float *mean, const float *scale,
                             const float *shift, int relu, float *sum, float *centred);
/// Batch norm backward's input gradient, g masked as above:
/// o = k * (count * g - grad_bias - ((x - mean) * inv_std) * grad_weight).
void ck_lane_batch_norm_input(const float *x, const float *dy, float *o, long pixels, const float *mean, const float *scale,
                              const float *shift, const float *inv_std, const float *k, const float *grad_bias,
                              const float *grad_weight, float count, int relu);
/// SPConv: per lane Σ r', Σ d', Σ r'^2, Σ d'^2, Σ r' d' with r' = r - m1, d' = d - m2 (out: 5 x 16).
void ck_lane_centred_moments(const float *r, const float *d, long pixels, const float *m1, const float *m2, float *out);
/// SPConv: o = r * ca + d * cb + c0, zeroed where <= 0 when relu.
void ck_lane_affine_pair(const float *r, const float *d, float *o, long pixels, const float *ca, const float *cb,
                         const float *c0, int relu);
/// SPConv: g = dy, zeroed where not (r * ca + d * cb + c0 > 0) when relu; per lane Σ g,
/// Σ g (r - m1), Σ g (d - m2) (out: 3 x 16).
void ck_lane_masked_gradient_sums(const float *dy, const float *r, const float *d, long pixels, const float *m1,
                                  const float *m2, const float *ca, const float *cb, const float *c0, int relu, float *out);
/// SPConv: g masked as above; r' = r - m1, d' = d - m2;
/// oa = ((g * ag + r' * ar) + d' * ad) + a0, ob = ((g * bg + r' * br) + d' * bd) + b0.
/// coefficients: 13 x 16 floats, in order m1, m2, ca, cb, c0, ag, ar, ad, a0, bg, br, bd, b0.
void ck_lane_pair_gradient(const float *dy, const float *r, const float *d, float *oa, float *ob, long pixels,
                           const float *coefficients, int relu);

/// SPConv's inference fusion on (sample, channel block) items [first, last) of channel-blocked maps
/// with `block` (8 or 16) lanes and `plane` pixels per item in rows of `width`: per lane the plane
/// means of `a` and `r`, their softmax weights times `scale`, then
/// o = relu?(((w_a a + w_r r) + shift) + residual) (residual may be NULL). A plane's sum per lane
/// is the sum of its rows' sums (each row's from 0, pixel by pixel), added in row order.
void ck_fuse_blocks(long first, long last, long channel_blocks, long plane, long width, const float *a, const float *r,
                    const float *residual, float *out, const float *scale, const float *shift, int relu, int block);
/// The fusion of one image split by rows over threads, in two steps with a barrier between:
/// `ck_fuse_row_sums` writes the sums of rows [y0, y1) of both maps to sums[y][2][channel_blocks
/// block] (a's, then r's); `ck_fuse_rows`, once every row's sums are in, fuses rows [y0, y1) of
/// every block. The same sums in the same order as `ck_fuse_blocks`, so the same bits.
void ck_fuse_row_sums(long channel_blocks, long plane, long width, long y0, long y1, const float *a, const float *r, float *sums,
                      int block);
void ck_fuse_rows(long channel_blocks, long plane, long width, const float *sums, long y0, long y1, const float *a, const float *r,
                  const float *residual, float *out, const float *scale, const float *shift, int relu, int block);

// MARK: Flat kernels

/// o = x, zeroed where <= 0 (so +0 for -0, NaN kept): Swift's max(x, 0).
void ck_relu(const float *x, float *o, long count);
/// o = a + b, zeroed where <= 0.
void ck_add_relu(const float *a, const float *b, float *o, long count);
/// o = g where y > 0, else 0.
void ck_masked_by_positive(const float *g, const float *y, float *o, long count);
/// a += b.
void ck_add_in_place(float *a, const float *b, long count);

// MARK: Narrow convolutions (SPConv's few channels of a block)

/// y = conv(x[:, c0 ..< c0 + k], weight) + bias for images [n0, n1): stride 1, ks odd, padding
/// (ks - 1) / 2. x is channel-blocked [N][x_blocks][h][w][16], weight PyTorch's [oc][k][ks][ks],
/// bias [oc] or NULL, y channel-blocked [N][oc / 16][h][w][16] (oc a multiple of 16). Multiply-adds
/// are fused (so the three builds still agree bit for bit). Returns 0, or -1 when out of memory.
int ck_narrow_conv_forward(long n0, long n1, long h, long w, const float *x, long x_blocks, long c0, long k,
                           const float *weight, const float *bias, long oc, long ks, float *y);
/// The gradients of ck_narrow_conv_forward for images [n0, n1) from dy (shaped like y): writes
/// those images of dx (shaped like x, zero outside channels c0 ..< c0 + k), or with accumulate
/// adds the input gradient to dx's channels c0 ..< c0 + k and leaves the others; adds the
/// images' share to grad_weight ([oc][k][ks][ks]) and grad_bias ([oc], or NULL). Returns 0, or
/// -1 when out of memory.
int ck_narrow_conv_backward(long n0, long n1, long h, long w, const float *x, long x_blocks, long c0, long k,
                            const float *weight, long oc, long ks, const float *dy, float *dx, int accumulate,
                            float *grad_weight, float *grad_bias);

// MARK: Direct convolutions for inference (SPConv's branches)

/// A convolution that reads input channels [c0, c0 + k) of one image's channel-blocked map
/// ([in_blocks][h][w][block]) where they lie and writes a channel-blocked output
/// ([out_blocks][ho][wo][block]); padding is implicit zeros. `weight` is packed as
/// [out_blocks][ks * ks][k][block] (output lane fastest; zero past the real output channels),
/// `bias` has out_blocks * block floats or is NULL.
///
/// Grouped mode (`group_lanes` 1 or 2; pad 0, so every tap on the map): SPConv's group-wise
/// 3x3 and point-wise 1x1 as one pass, or (one group of all output channels, no extra taps) any
/// conv with padding 0. The ks x ks taps read only the `group_k` input channels from c0 on of the
/// output block's group, `weight` packed as [out_blocks][ks * ks][group_k][block]; with
/// `group_lanes` 2 an output block holds two groups of block / 2 channels, its lanes interleaved
/// (lane l is channel (l % 2) * block / 2 + l / 2 of the block, restored on store) and the input's
/// channels interleaved in pairs of groups (position (2q + s) ... see direct_conv.h), so one
/// 64-bit broadcast feeds both groups. Then `extra_taps` taps (at extra_h, extra_w) read all k
/// channels, `extra_weight` packed as [out_blocks][extra_taps][k][block], in the same lanes.
/// With `extra_x` set, the one extra tap reads a second map instead, at the output pixel itself
/// (extra_h and extra_w unused): channels [0, k) of a channel-blocked [blocks][ho][wo][block] map
/// per image, the next image's `extra_xs` floats on. SPConv at stride 2 hands it AvgPool2d(2, 2)
/// of the input, so pwc reads the pooled map as in the module, a quarter of the four taps' work.
///
/// With `sum` the output's values are added to the result (a residual held there), then with
/// `relu` a ReLU (max(v, 0), NaN kept) is applied, in either mode.
///
/// `in_lanes` is the input's channels per block: `block`, or (dense mode only) 1 for a row-major
/// NCHW input read where it lies, `in_blocks` then being its channel count. `out_plane` is 0, or
/// (used within the kernels) the floats between two output blocks where they are not ho wo block.
typedef struct {
    long block, in_blocks, h, w, c0, k;
    long ks, stride, pad;
    long out_blocks, ho, wo;
    const float *weight, *bias;
    long group_lanes, group_k, group_out, extra_taps;
    long extra_h[4], extra_w[4];
    const float *extra_weight;
    const float *extra_x;
    long extra_xs;
    long sum, relu;
    long in_lanes;
    long out_plane;
} ck_direct_conv;

/// Output rows [y0, y1) of output blocks [b0, b1) of one image. Runs only where the build in use
/// has the registers for it: block 16 needs AVX-512 (level 2), block 8 AVX2 + FMA or better.
void ck_direct_conv_rows(const ck_direct_conv *conv, const float *x, float *y, long b0, long b1, long y0, long y1);
/// The whole output of `images` images, x_stride and y_stride floats apart, each output block's
/// weights applied to every image before the next block's (read once from memory per call).
void ck_direct_conv_images(const ck_direct_conv *conv, const float *x, long x_stride, float *y, long y_stride, long images);
/// The input copy a conv with padding 1 reads as padding 0: `blocks` channel blocks of one image
/// ([blocks][h][w][block]) into [blocks][h + 2][w + 2][block] with a zero border, and with
/// group_k 2, 4 or 8 each block's lanes in grouped mode's pair order (group_lanes 2); 1 keeps them.
/// Writes rows [r0, r1) of the bordered copy (0 and h + 1 are the zero border rows).
void ck_direct_conv_border(const float *x, long blocks, long h, long w, long group_k, long block, long r0, long r1, float *out);

// MARK: Winograd convolutions for inference

/// A 3x3 convolution with stride 1 and padding 1 by Winograd's F(4x4, 3x3) (winograd.h), reading
/// input channels [c0, c0 + k) of channel-blocked maps ([images][in_blocks][h][w][block]) and
/// writing channel-blocked maps of the same extent ([images][out_blocks][h][w][block]). `weight`
/// is the transformed weight G g G^T packed as [36][out_blocks][k][block] (position p = 6 i + j of
/// the 6x6 patch, output lane fastest), `bias` out_blocks * block floats or NULL. With `sum` the
/// output's values are added (a residual held there), then with `relu` a ReLU. Tiles are the
/// 4x4 output tiles of every image in order (image, tile row, tile column); a call takes `chunk`
/// at a time and needs 36 * chunk * (vrow + out_blocks * block) floats of scratch, vrow being
/// block times the channel blocks [c0, c0 + k) touches.
typedef struct {
    long block, in_blocks, h, w, c0, k;
    long out_blocks;
    const float *weight, *bias;
    long sum, relu;
    long chunk;
} ck_winograd;

/// Tiles [t0, t1). Returns 0, or -1 where the build in use has no kernel for the block (16 lanes
/// need AVX-512, 8 lanes AVX2 + FMA).
int ck_winograd_tiles(const ck_winograd *conv, const float *x, float *y, long t0, long t1, float *scratch);

// MARK: Pooling and the classifier (pool_linear.h)

/// Max or average pooling of channel-blocked maps: `block` (at most 16) lanes, a ks x ks window
/// moved by `stride` over the map with `pad` pixels of padding; `ho` and `wo` the output extent.
typedef struct {
    long block, h, w, ho, wo, ks, stride, pad, is_max;
} ck_pool;

/// Planes [p0, p1) (image times channel block) of x ([planes][h][w][block]) into y
/// ([planes][ho][wo][block]): the maximum over the window's taps on the map (NaN propagates), or
/// their sum divided by ks * ks (PyTorch's AvgPool2d with count_include_pad).
void ck_pool_planes(const ck_pool *pool, const float *x, float *y, long p0, long p1);

/// y[i][o] = bias[o] + sum_j w[o][j] x[i][j] (x [n][in], w [out][in], y [n][out], bias [out] or
/// NULL) for outputs [o0, o1): fused multiply-adds 16 lanes of j at a time, the lanes summed in
/// order, then the rest of j. Allocates nothing.
void ck_linear_rows(const float *x, long n, long in, const float *w, const float *bias, float *y, long out, long o0, long o1);

#endif

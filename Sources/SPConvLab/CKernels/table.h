// The kernels of one build, as a table; include/CKernels.h documents each.
#ifndef SPCONVLAB_CKERNELS_TABLE_H
#define SPCONVLAB_CKERNELS_TABLE_H

#include "CKernels.h"

typedef struct {
    void (*lane_sum)(const float *, long, float *);
    void (*lane_squared_deviations)(const float *, long, const float *, float *);
    void (*lane_affine)(const float *, float *, long, const float *, const float *, int);
    void (*lane_batch_norm_sums)(const float *, const float *, long, const float *, const float *, const float *, int, float *, float *);
    void (*lane_batch_norm_input)(const float *, const float *, float *, long, const float *, const float *, const float *,
                                  const float *, const float *, const float *, const float *, float, int);
    void (*lane_centred_moments)(const float *, const float *, long, const float *, const float *, float *);
    void (*lane_affine_pair)(const float *, const float *, float *, long, const float *, const float *, const float *, int);
    void (*lane_masked_gradient_sums)(const float *, const float *, const float *, long, const float *, const float *,
                                      const float *, const float *, const float *, int, float *);
    void (*lane_pair_gradient)(const float *, const float *, const float *, float *, float *, long, const float *, int);
    void (*fuse_blocks)(long, long, long, long, long, const float *, const float *, const float *, float *, const float *,
                        const float *, int, int);
    void (*fuse_row_sums)(long, long, long, long, long, const float *, const float *, float *, int);
    void (*fuse_rows)(long, long, long, const float *, long, long, const float *, const float *, const float *, float *,
                      const float *, const float *, int, int);
    void (*relu)(const float *, float *, long);
    void (*add_relu)(const float *, const float *, float *, long);
    void (*masked_by_positive)(const float *, const float *, float *, long);
    void (*add_in_place)(float *, const float *, long);
    int (*narrow_conv_forward)(long, long, long, long, const float *, long, long, long, const float *, const float *, long, long,
                               float *);
    int (*narrow_conv_backward)(long, long, long, long, const float *, long, long, long, const float *, long, long, const float *,
                                float *, int, float *, float *);
    void (*direct_conv_rows)(const ck_direct_conv *, const float *, float *, long, long, long, long);
    void (*direct_conv_images)(const ck_direct_conv *, const float *, long, float *, long, long);
    void (*dc_border)(const float *, long, long, long, long, long, long, long, float *);
    int (*winograd_tiles)(const ck_winograd *, const float *, float *, long, long, float *);
    void (*pool_planes)(const ck_pool *, const float *, float *, long, long);
    void (*linear_rows)(const float *, long, long, const float *, const float *, float *, long, long, long);
} ck_table;

extern const ck_table ck_table_avx512, ck_table_avx2, ck_table_baseline;

#endif

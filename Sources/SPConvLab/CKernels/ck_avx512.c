// The kernels built for avx512; see lanes.h.
#include "table.h"

#define CK(name) ck_avx512_##name
#define CK_VREGS 32
#define CK_TABLE ck_table_avx512
#pragma clang attribute push (__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))), apply_to = function)
#include "lanes.h"
#pragma clang attribute pop

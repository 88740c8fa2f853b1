// The kernels built for avx2; see lanes.h.
#include "table.h"

#define CK(name) ck_avx2_##name
#define CK_VREGS 16
#define CK_TABLE ck_table_avx2
#pragma clang attribute push (__attribute__((target("avx2,fma,bmi2"))), apply_to = function)
#include "lanes.h"
#pragma clang attribute pop

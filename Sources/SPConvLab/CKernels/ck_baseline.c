// The kernels built for baseline; see lanes.h.
#include "table.h"

#define CK(name) ck_baseline_##name
#define CK_VREGS 16
#define CK_TABLE ck_table_baseline
#define CK_NO_WINOGRAD
#pragma clang attribute push (__attribute__((target("sse2"))), apply_to = function)
#include "lanes.h"
#pragma clang attribute pop

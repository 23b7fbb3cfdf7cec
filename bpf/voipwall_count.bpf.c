// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test build of the XDP program: the same code with the allowlist decision's map lookups counted
 * in vw_lookups (.bss), so tests/unit/test_lookups.c can bound them for any config and source.
 * Never installed or attached.
 */
#define VW_COUNT_LOOKUPS 1
#include "voipwall.bpf.c"

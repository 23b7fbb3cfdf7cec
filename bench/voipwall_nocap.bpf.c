// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark build of the XDP program without the capture hook (VW_NO_CAPTURE), so bench/capcost
 * can state what the hook costs when no capture runs. Never installed or attached.
 */
#define VW_NO_CAPTURE 1
#include "../bpf/voipwall.bpf.c"

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The Prometheus text format (version 0.0.4) of voipwall's state: the metrics of
 * `voipwall stats --prometheus`, of the textfile collector timer and of `voipwall exporter`. */
#ifndef VW_PROM_H
#define VW_PROM_H

#include <stdio.h>
#include "tables.h"

/* Content-Type of the text format, for HTTP. */
#define VW_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Write every metric of the state whose maps are m to f, voipwall_up 1 first; m NULL (nothing
 * loaded or readable): voipwall_up 0 alone. Returns 0, or -errno after saying why (then what
 * was written is incomplete and must not be published). */
int vw_prom_write(FILE *f, const struct vw_maps *m);

#endif

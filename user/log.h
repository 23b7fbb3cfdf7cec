/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Logging for the voipwall command: one place for warnings, progress and libbpf's chatter. */
#ifndef VW_LOG_H
#define VW_LOG_H

#include <stdbool.h>

enum vw_log_level {
	VW_LOG_WARN = 0,
	VW_LOG_INFO = 1,
	VW_LOG_DEBUG = 2,
};

/* verbose: show pr_debug and libbpf's messages. json: keep warnings off stderr and remember
 * them, so the command can report them as {"error": ...} on stdout. */
void vw_log_init(bool verbose, bool json);
void vw_log(enum vw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The warnings logged so far, joined by "; " (empty string when none). */
const char *vw_log_errors(void);
/* Forget the warnings logged so far. */
void vw_log_clear_errors(void);

#define pr_warn(fmt, ...)  vw_log(VW_LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  vw_log(VW_LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) vw_log(VW_LOG_DEBUG, fmt, ##__VA_ARGS__)

#endif

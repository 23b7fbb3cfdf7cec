// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Warnings go to stderr as "voipwall: ..." (or are kept for the JSON error object), info lines
 * go to stderr, debug lines and libbpf's own messages only with -v. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"

#define VW_LOG_ERRBUF 4096

static bool log_verbose;
static bool log_json;
static char log_errors[VW_LOG_ERRBUF];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!log_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void vw_log_init(bool verbose, bool json)
{
	log_verbose = verbose;
	log_json = json;
	libbpf_set_print(libbpf_print);
}

static void remember(const char *msg)
{
	size_t used = strlen(log_errors);
	size_t len = strlen(msg);

	while (len && msg[len - 1] == '\n')
		len--;
	if (used && used + 2 < sizeof(log_errors)) {
		memcpy(log_errors + used, "; ", 2);
		used += 2;
	}
	if (used + len >= sizeof(log_errors))
		len = sizeof(log_errors) - used - 1;
	memcpy(log_errors + used, msg, len);
	log_errors[used + len] = '\0';
}

void vw_log(enum vw_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level == VW_LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (level == VW_LOG_WARN) {
		remember(msg);
		if (log_json)
			return;
		fprintf(stderr, "voipwall: %s", msg);
	} else {
		fputs(msg, stderr);
	}
	if (!*msg || msg[strlen(msg) - 1] != '\n')
		fputc('\n', stderr);
}

const char *vw_log_errors(void)
{
	return log_errors;
}

void vw_log_clear_errors(void)
{
	log_errors[0] = '\0';
}

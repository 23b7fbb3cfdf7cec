/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A tiny streaming JSON writer for -j output: objects, arrays, strings, numbers, booleans. */
#ifndef VW_JSON_H
#define VW_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VW_JSON_MAX_DEPTH 16

struct vw_json {
	FILE *f;
	int depth;
	bool need_comma[VW_JSON_MAX_DEPTH];
	bool after_key;
};

void vw_json_init(struct vw_json *w, FILE *f);
void vw_json_obj_begin(struct vw_json *w);
void vw_json_obj_end(struct vw_json *w);
void vw_json_arr_begin(struct vw_json *w);
void vw_json_arr_end(struct vw_json *w);
void vw_json_key(struct vw_json *w, const char *key);
void vw_json_str(struct vw_json *w, const char *s);
void vw_json_uint(struct vw_json *w, uint64_t v);
void vw_json_int(struct vw_json *w, int64_t v);
void vw_json_double(struct vw_json *w, double v);
void vw_json_bool(struct vw_json *w, bool v);
void vw_json_null(struct vw_json *w);

/* key + value in one call */
void vw_json_kv_str(struct vw_json *w, const char *key, const char *s);
void vw_json_kv_uint(struct vw_json *w, const char *key, uint64_t v);
void vw_json_kv_int(struct vw_json *w, const char *key, int64_t v);
void vw_json_kv_double(struct vw_json *w, const char *key, double v);
void vw_json_kv_bool(struct vw_json *w, const char *key, bool v);

/* Write a JSON string literal (quotes and escapes) for s. */
void vw_json_print_string(FILE *f, const char *s);

#endif

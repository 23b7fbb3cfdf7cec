// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Streaming JSON writer: the caller nests begin/end calls, the writer places commas and
 * escapes strings (RFC 8259). A top-level value ends with a newline. */
#include <inttypes.h>
#include <math.h>
#include "json.h"

void vw_json_init(struct vw_json *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
}

void vw_json_print_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Before any value: a comma when a sibling precedes it (not after a key). */
static void value_start(struct vw_json *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	/* top-level values are separate documents (one per line), never comma-joined */
	if (w->depth && w->need_comma[w->depth])
		fputc(',', w->f);
	w->need_comma[w->depth] = true;
}

static void value_end(struct vw_json *w)
{
	if (w->depth == 0)
		fputc('\n', w->f);
}

static void open_nested(struct vw_json *w, char c)
{
	value_start(w);
	fputc(c, w->f);
	if (w->depth < VW_JSON_MAX_DEPTH - 1)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_nested(struct vw_json *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	fputc(c, w->f);
	value_end(w);
}

void vw_json_obj_begin(struct vw_json *w)
{
	open_nested(w, '{');
}

void vw_json_obj_end(struct vw_json *w)
{
	close_nested(w, '}');
}

void vw_json_arr_begin(struct vw_json *w)
{
	open_nested(w, '[');
}

void vw_json_arr_end(struct vw_json *w)
{
	close_nested(w, ']');
}

void vw_json_key(struct vw_json *w, const char *key)
{
	value_start(w);
	vw_json_print_string(w->f, key);
	fputc(':', w->f);
	w->after_key = true;
}

void vw_json_str(struct vw_json *w, const char *s)
{
	value_start(w);
	vw_json_print_string(w->f, s);
	value_end(w);
}

void vw_json_uint(struct vw_json *w, uint64_t v)
{
	value_start(w);
	fprintf(w->f, "%" PRIu64, v);
	value_end(w);
}

void vw_json_int(struct vw_json *w, int64_t v)
{
	value_start(w);
	fprintf(w->f, "%" PRId64, v);
	value_end(w);
}

void vw_json_double(struct vw_json *w, double v)
{
	value_start(w);
	/* JSON has no NaN or infinity */
	if (isfinite(v))
		fprintf(w->f, "%.3f", v);
	else
		fputs("null", w->f);
	value_end(w);
}

void vw_json_bool(struct vw_json *w, bool v)
{
	value_start(w);
	fputs(v ? "true" : "false", w->f);
	value_end(w);
}

void vw_json_null(struct vw_json *w)
{
	value_start(w);
	fputs("null", w->f);
	value_end(w);
}

void vw_json_kv_str(struct vw_json *w, const char *key, const char *s)
{
	vw_json_key(w, key);
	vw_json_str(w, s);
}

void vw_json_kv_uint(struct vw_json *w, const char *key, uint64_t v)
{
	vw_json_key(w, key);
	vw_json_uint(w, v);
}

void vw_json_kv_int(struct vw_json *w, const char *key, int64_t v)
{
	vw_json_key(w, key);
	vw_json_int(w, v);
}

void vw_json_kv_double(struct vw_json *w, const char *key, double v)
{
	vw_json_key(w, key);
	vw_json_double(w, v);
}

void vw_json_kv_bool(struct vw_json *w, const char *key, bool v)
{
	vw_json_key(w, key);
	vw_json_bool(w, v);
}

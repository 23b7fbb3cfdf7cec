// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Addresses in text. A config of a million prefixes spent a tenth of its load in inet_pton(3),
 * most of it copying each word into a terminated buffer and the per-character calls of the
 * general parser. These parse the word in place. They accept exactly what inet_pton accepts
 * (tests/unit/test_config.c compares both on random and crafted text), and the one IPv6 form they
 * leave to it, an IPv4 tail, still goes through it.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "addrtext.h"

/* Hex digit values plus one, 0 for any other byte: a table, since the digits and letters of
 * random addresses alternate unpredictably and a chain of comparisons pays a mispredicted branch
 * on each. */
static const unsigned char hex_values[256] = {
    ['0'] = 1,	['1'] = 2,  ['2'] = 3,	['3'] = 4,  ['4'] = 5,	['5'] = 6,  ['6'] = 7,	['7'] = 8,
    ['8'] = 9,	['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The value of a hex digit, or -1. */
static int hex_value(char c)
{
	return (int)hex_values[(unsigned char)c] - 1;
}

int vw_text_v4(const char *s, size_t len, __u8 *out)
{
	unsigned int part = 0, parts = 0, digits = 0;
	__u8 a[4];
	size_t i;

	for (i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c >= '0' && c <= '9') {
			/* a part is 0, or starts with 1..9: "01" is not a part */
			if (digits && part == 0)
				return 0;
			part = part * 10 + (unsigned int)(c - '0');
			if (part > 255)
				return 0;
			digits++;
			continue;
		}
		if (c != '.' || !digits || parts == 4)
			return 0;
		a[parts++] = (__u8)part;
		part = 0;
		digits = 0;
	}
	if (parts != 4)
		return 0;
	memcpy(out, a, 4);
	return 1;
}

/* The full parser, for an IPv4 tail: its text copied out and terminated. */
static int v6_with_tail(const char *s, size_t len, __u8 *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1;
}

int vw_text_v6(const char *s, size_t len, __u8 *out)
{
	unsigned int groups[8], n = 0, gap = 0, k;
	bool has_gap = false;
	size_t i = 0;

	if (memchr(s, '.', len))
		return v6_with_tail(s, len, out);
	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		has_gap = true;
		i = 2;
	} else if (len && s[0] == ':') {
		return 0;
	}
	while (i < len) {
		unsigned int v = 0, digits = 0;
		int d;

		while (i < len && (d = hex_value(s[i])) >= 0) {
			if (++digits > 4)
				return 0;
			v = v << 4 | (unsigned int)d;
			i++;
		}
		if (!digits || n == 8)
			return 0;
		groups[n++] = v;
		if (i == len)
			break;
		if (s[i++] != ':' || i == len) /* another character, or a trailing single ':' */
			return 0;
		if (s[i] == ':') {
			if (has_gap)
				return 0;
			has_gap = true;
			gap = n;
			i++;
		}
	}
	/* Without "::" the groups are all eight; with it, "::" stands for at least one. */
	if (has_gap ? n == 8 : n != 8)
		return 0;
	memset(out, 0, 16);
	for (k = 0; k < n; k++) {
		unsigned int at = k < gap || !has_gap ? k : 8 - n + k;

		out[2 * at] = (__u8)(groups[k] >> 8);
		out[2 * at + 1] = (__u8)groups[k];
	}
	return 1;
}

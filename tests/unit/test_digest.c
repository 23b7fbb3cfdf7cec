// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy digest tests: SHA-256 against the FIPS 180-4 example vectors, the exact normalized form of
 * a config, equal digests for the same policy written otherwise, different digests for every
 * kind of difference, and independence from class ids.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "digest.h"
#include "sha256.h"

static int failures;

static void check(bool ok, const char *name, const char *why)
{
	if (ok) {
		printf("PASS %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, why);
		failures++;
	}
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_sha256(void)
{
	static const struct {
		const char *msg, *sum;
		size_t repeat;
	} v[] = {
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 1},
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 1},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", 1},
	    {"a", "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", 1000000},
	};
	char got[2 * VW_SHA256_LEN + 1], why[200];
	bool ok = true;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct vw_sha256 s;
		uint8_t sum[VW_SHA256_LEN];

		vw_sha256_init(&s);
		for (size_t r = 0; r < v[i].repeat; r++)
			vw_sha256_update(&s, v[i].msg, strlen(v[i].msg));
		vw_sha256_final(&s, sum);
		hex(sum, sizeof(sum), got);
		if (strcmp(got, v[i].sum)) {
			snprintf(why, sizeof(why), "vector %zu: %s, expected %s", i, got, v[i].sum);
			ok = false;
			break;
		}
	}
	check(ok, "sha256_vectors", why);
}

static bool parse(const char *text, struct vw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	return !vw_config_parse_buf(cfg, "t.conf", text, strlen(text), stderr) &&
	       !vw_config_assign_ids(cfg, NULL);
}

static bool digest_of(const char *text, char out[VW_DIGEST_STRLEN])
{
	struct vw_config cfg;
	bool ok = parse(text, &cfg) && !vw_policy_digest(&cfg, out);

	vw_config_free(&cfg);
	return ok;
}

static const char base[] = "class sip 5060/udp 5061/tcp\n"
			   "class rtp 10000-20000/udp policy monitor\n"
			   "allow sip,rtp 198.51.100.0/24 2001:db8:1::/48\n"
			   "allow sip 203.0.113.7\n";

static void test_normalized_form(void)
{
	static const char want[] = "voipwall-policy 1\n"
				   "class rtp monitor\n"
				   "class sip drop\n"
				   "port rtp udp 10000-20000\n"
				   "port sip udp 5060-5060\n"
				   "port sip tcp 5061-5061\n"
				   "allow 198.51.100.0/24 rtp,sip\n"
				   "allow 203.0.113.7/32 sip\n"
				   "allow 2001:db8:1::/48 rtp,sip\n";
	struct vw_config cfg;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool ok = f && parse(base, &cfg) && !vw_policy_write_normalized(&cfg, f);

	if (f)
		fclose(f);
	check(ok && text && !strcmp(text, want), "normalized_form", text ? text : "no output");
	vw_config_free(&cfg);
	free(text);
}

static void test_equal_and_different(void)
{
	/* the same policy: other order, split ranges, /32 spelled out, one allow per class */
	static const char same[] = "# comment\n"
				   "class rtp 15001-20000/udp 10000-15000/udp policy monitor\n"
				   "class sip 5061/tcp 5060/udp\n"
				   "allow sip 203.0.113.7/32\n"
				   "allow rtp 2001:db8:1::/48 198.51.100.0/24\n"
				   "allow sip 2001:db8:1::/48 198.51.100.0/24\n";
	static const char *const differ[] = {
	    /* one more prefix */
	    "class sip 5060/udp 5061/tcp\nclass rtp 10000-20000/udp policy monitor\n"
	    "allow sip,rtp 198.51.100.0/24 2001:db8:1::/48\nallow sip 203.0.113.7 203.0.113.8\n",
	    /* a policy */
	    "class sip 5060/udp 5061/tcp\nclass rtp 10000-20000/udp\n"
	    "allow sip,rtp 198.51.100.0/24 2001:db8:1::/48\nallow sip 203.0.113.7\n",
	    /* a port */
	    "class sip 5060/udp 5062/tcp\nclass rtp 10000-20000/udp policy monitor\n"
	    "allow sip,rtp 198.51.100.0/24 2001:db8:1::/48\nallow sip 203.0.113.7\n",
	    /* a prefix length */
	    "class sip 5060/udp 5061/tcp\nclass rtp 10000-20000/udp policy monitor\n"
	    "allow sip,rtp 198.51.100.0/25 2001:db8:1::/48\nallow sip 203.0.113.7\n",
	    /* a class of a rule */
	    "class sip 5060/udp 5061/tcp\nclass rtp 10000-20000/udp policy monitor\n"
	    "allow sip,rtp 198.51.100.0/24 2001:db8:1::/48\nallow rtp 203.0.113.7\n",
	    /* a class name */
	    "class voice 5060/udp 5061/tcp\nclass rtp 10000-20000/udp policy monitor\n"
	    "allow voice,rtp 198.51.100.0/24 2001:db8:1::/48\nallow voice 203.0.113.7\n",
	};
	char d0[VW_DIGEST_STRLEN], d1[VW_DIGEST_STRLEN], d[VW_DIGEST_STRLEN], why[200] = "";
	bool ok = digest_of(base, d0) && digest_of(same, d1);

	check(ok && !strcmp(d0, d1) && strlen(d0) == VW_DIGEST_STRLEN - 1, "digest_same_policy",
	      ok ? d1 : "parse failed");
	ok = true;
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]) && ok; i++) {
		if (!digest_of(differ[i], d) || !strcmp(d, d0)) {
			snprintf(why, sizeof(why), "difference %zu gives the same digest %s", i, d);
			ok = false;
		}
	}
	check(ok, "digest_differences", why);
}

static void test_ids(void)
{
	struct vw_config cfg;
	char d0[VW_DIGEST_STRLEN], d1[VW_DIGEST_STRLEN] = "";
	bool ok = digest_of(base, d0) && parse(base, &cfg);

	/* ids as a node with history would have them: sip 7, rtp 3 */
	if (ok) {
		for (size_t r = 0; r < cfg.nrules; r++) {
			__u32 m = cfg.rules[r].mask, n = 0;

			n |= (m & (1U << cfg.classes[0].id)) ? 1U << 7 : 0;
			n |= (m & (1U << cfg.classes[1].id)) ? 1U << 3 : 0;
			cfg.rules[r].mask = n;
		}
		cfg.classes[0].id = 7;
		cfg.classes[1].id = 3;
		ok = !vw_policy_digest(&cfg, d1);
		vw_config_free(&cfg);
	}
	check(ok && !strcmp(d0, d1), "digest_ignores_class_ids", d1);
}

/* The IPv4 fast path of the normalized form writes what vw_format_prefix writes. */
static void test_v4_text(void)
{
	struct vw_config cfg;
	char *text = NULL, want[VW_PREFIX_STRLEN + 16], why[200] = "";
	size_t len = 0;
	FILE *f;
	bool ok = parse("class sip 5060/udp\n", &cfg);

	srandom(7);
	for (int i = 0; ok && i < 2000; i++) {
		struct vw_rule r = {.family = VW_FAMILY_V4, .plen = (__u8)(random() % 33), .mask = 1};
		__u32 a = (__u32)random() ^ ((__u32)random() << 16);

		a &= r.plen ? ~0U << (32 - r.plen) : 0;
		for (int b = 0; b < 4; b++)
			r.addr[b] = (__u8)(a >> (24 - 8 * b));
		ok = !vw_config_add_rule(&cfg, &r);
	}
	f = open_memstream(&text, &len);
	ok = ok && f && !vw_policy_write_normalized(&cfg, f);
	if (f)
		fclose(f);
	for (size_t i = 0; ok && i < cfg.nrules; i++) {
		char pfx[VW_PREFIX_STRLEN];

		snprintf(want, sizeof(want), "\nallow %s sip\n",
			 vw_format_prefix(&cfg.rules[i], pfx, sizeof(pfx)));
		if (!strstr(text, want)) {
			snprintf(why, sizeof(why), "no line '%s' in the normalized form", want + 1);
			ok = false;
		}
	}
	check(ok, "normalized_ipv4_text", why);
	vw_config_free(&cfg);
	free(text);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_sha256();
	test_normalized_form();
	test_equal_and_different();
	test_ids();
	test_v4_text();
	return failures ? 1 : 0;
}

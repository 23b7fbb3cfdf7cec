// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Config parser tests: valid files (checked through their canonical text), every error with its
 * exact "file:line: message" output, includes, prefixes, the rule index, class ids, and the parse
 * time of a 1,000,000-line allow file (printed, not asserted).
 *
 * Files are written to a temporary directory that is also the working directory, so messages name
 * files as the config does ("top.conf", "sub/a.conf"). "@" in a file or in an expected text stands
 * for that directory's absolute path.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addrtext.h"
#include "config.h"

#define MAX_FILES 12

static char tmpdir[] = "/tmp/vw-test-config.XXXXXX";
static int failures;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Leave the temporary directory and remove it. */
static void remove_tmpdir(void)
{
	if (chdir("/"))
		failures++;
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

__attribute__((format(printf, 2, 3))) static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
	/* VW_TEST_FAILFAST (make mutate): the first failure is the answer. */
	if (getenv("VW_TEST_FAILFAST")) {
		remove_tmpdir();
		exit(1);
	}
}

static void pass(const char *name)
{
	printf("PASS %s\n", name);
}

/* s with every "@" replaced by the temporary directory (malloc'd). */
static char *subst(const char *s)
{
	size_t n = strlen(s) + 1, at = 0, i;
	char *out, *o;

	for (i = 0; s[i]; i++)
		at += s[i] == '@';
	out = malloc(n + at * strlen(tmpdir));
	if (!out)
		abort();
	for (o = out; *s; s++) {
		if (*s == '@') {
			strcpy(o, tmpdir);
			o += strlen(tmpdir);
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static int rm_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return ftw->level ? remove(path) : 0;
}

/* Empties the temporary directory, the working directory (keeps the directory itself). */
static void clean_dir(void)
{
	nftw(tmpdir, rm_below, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_file(const char *path, const char *text, size_t len)
{
	char *dir = strdup(path), *slash;
	FILE *f;

	if (!dir)
		return -ENOMEM;
	/* create parent directories under the working directory */
	for (slash = strchr(dir, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (*dir)
			mkdir(dir, 0700);
		*slash = '/';
	}
	free(dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}

/* Canonical text of cfg (malloc'd). */
static char *dump(const struct vw_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	if (vw_config_write(cfg, f))
		fputs("(vw_config_write failed)\n", f);
	fclose(f);
	return buf;
}

static bool cfg_empty(const struct vw_config *cfg)
{
	return cfg->nclasses == 0 && cfg->nrules == 0 && cfg->rules == NULL && !cfg->source[0];
}

struct file {
	const char *path;
	const char *text;
};

struct config_case {
	const char *name;
	struct file files[MAX_FILES]; /* files[0] is the one loaded */
	int rc;			      /* 0 or -EINVAL */
	/* rc 0: the canonical text (vw_config_write); else the error output */
	const char *out;
};

static const struct config_case cases[] = {
    /* ---- valid ---- */
    {"valid_issue_example",
     {{"top.conf", "class sip   5060/udp 5060/tcp 5061/tcp\n"
		   "class rtp   10000-20000/udp  policy monitor\n"
		   "class mgmt  22/tcp 23/tcp 80/tcp 443/tcp 8080/tcp 8443/tcp 69/udp 161/udp "
		   "7547/tcp\n"
		   "allow sip,rtp 203.0.113.10 2001:db8:10::/48     # Cloud PBX\n"
		   "allow mgmt    198.51.100.0/24                   # support provider\n"}},
     0,
     "class sip 5060/udp 5060/tcp 5061/tcp\n"
     "class rtp 10000-20000/udp policy monitor\n"
     "class mgmt 22/tcp 23/tcp 80/tcp 443/tcp 8080/tcp 8443/tcp 69/udp 161/udp 7547/tcp\n"
     "allow sip,rtp 203.0.113.10/32 2001:db8:10::/48\n"
     "allow mgmt 198.51.100.0/24\n"},
    {"valid_comments_blank_crlf_tabs",
     {{"top.conf", "# a comment line\n"
		   "\n"
		   "   \t  \n"
		   "class\tsip 5060/udp#no space before the comment\r\n"
		   "\tallow sip 198.18.0.1 # trailing\r\n"
		   "allow sip 198.18.0.2#x"}},
     0,
     "class sip 5060/udp\n"
     "allow sip 198.18.0.1/32 198.18.0.2/32\n"},
    {"valid_allow_before_class",
     {{"top.conf", "allow voice 198.18.0.0/15\n"
		   "class voice 5060/udp policy drop\n"}},
     0,
     "class voice 5060/udp\n"
     "allow voice 198.18.0.0/15\n"},
    {"valid_identical_prefixes_merge",
     {{"top.conf", "class sip 5060/udp\n"
		   "class mgmt 22/tcp\n"
		   "allow sip 198.18.2.0/24 2001:db8::/32\n"
		   "allow mgmt 198.18.2.0/24 198.18.3.0/24\n"
		   "allow mgmt,sip 2001:DB8:0:0::/32\n"
		   "allow sip 198.18.2.0/24\n"}},
     0,
     "class sip 5060/udp\n"
     "class mgmt 22/tcp\n"
     "allow sip,mgmt 198.18.2.0/24 2001:db8::/32\n"
     "allow mgmt 198.18.3.0/24\n"},
    {"valid_same_port_other_protocol_and_adjacent_ranges",
     {{"top.conf", "class a 5060/udp 10000-19999/udp 1-1023/sctp\n"
		   "class b 5060/tcp 20000-20010/udp 1024/sctp 65535/udp\n"}},
     0,
     "class a 5060/udp 10000-19999/udp 1-1023/sctp\n"
     "class b 5060/tcp 20000-20010/udp 1024/sctp 65535/udp\n"},
    {"valid_overlap_within_one_class",
     {{"top.conf", "class rtp 10000-20000/udp 15000/udp\n"}},
     0,
     "class rtp 10000-20000/udp 15000/udp\n"},
    {"valid_relative_include",
     {{"top.conf", "include sub/a.conf\nallow sip 198.18.0.0/16\n"},
      {"sub/a.conf", "class sip 5060/udp\ninclude b.conf\n"},
      {"sub/b.conf", "allow sip 2001:db8::1\n"}},
     0,
     "class sip 5060/udp\n"
     "allow sip 2001:db8::1/128 198.18.0.0/16\n"},
    {"valid_absolute_include",
     {{"top.conf", "class sip 5060/udp\ninclude @/lists/carrier.conf\n"},
      {"lists/carrier.conf", "allow sip 198.18.7.0/24\n"}},
     0,
     "class sip 5060/udp\n"
     "allow sip 198.18.7.0/24\n"},
    {"valid_same_file_included_twice",
     {{"top.conf", "class sip 5060/udp\ninclude a.conf\ninclude a.conf\n"},
      {"a.conf", "allow sip 198.18.0.9\n"}},
     0,
     "class sip 5060/udp\n"
     "allow sip 198.18.0.9/32\n"},
    {"valid_include_depth_8",
     {{"top.conf", "include d1.conf\n"},
      {"d1.conf", "include d2.conf\n"},
      {"d2.conf", "include d3.conf\n"},
      {"d3.conf", "include d4.conf\n"},
      {"d4.conf", "include d5.conf\n"},
      {"d5.conf", "include d6.conf\n"},
      {"d6.conf", "include d7.conf\n"},
      {"d7.conf", "include d8.conf\n"},
      {"d8.conf", "class deep 1/udp\n"}},
     0,
     "class deep 1/udp\n"},
    {"valid_empty_file", {{"top.conf", ""}}, 0, ""},
    {"valid_default_routes_and_canonical_ipv6",
     {{"top.conf", "class x 1-65535/tcp\n"
		   "allow x 0.0.0.0/0 ::/0 2001:0db8:0000::0001 ::ffff:198.18.0.1 "
		   "198.18.0.128/25\n"}},
     0,
     "class x 1-65535/tcp\n"
     "allow x 0.0.0.0/0 ::/0 2001:db8::1/128 ::ffff:198.18.0.1/128 "
     "198.18.0.128/25\n"},
    {"valid_name_charset_and_15_chars",
     {{"top.conf", "class a-b_c9 1/udp\nclass abcdefghijklmno 2/udp\n"}},
     0,
     "class a-b_c9 1/udp\nclass abcdefghijklmno 2/udp\n"},
    {"valid_policy_explicit_drop_and_first",
     {{"top.conf", "class a policy monitor 1/udp\nclass b 2/tcp policy drop\n"}},
     0,
     "class a 1/udp policy monitor\nclass b 2/tcp\n"},

    /* ---- errors, one kind per case ---- */
    {"error_unknown_keyword",
     {{"top.conf", "class sip 5060/udp\nalow sip 198.18.0.1\n"}},
     -EINVAL,
     "top.conf:2: unknown keyword 'alow' (class, allow, block or include)\n"},
    {"error_unknown_class",
     {{"top.conf", "class sip 5060/udp\nallow sip,x 198.18.0.1\n"}},
     -EINVAL,
     "top.conf:2: unknown class 'x'\n"},
    {"error_unknown_class_every_line",
     {{"top.conf", "allow voice 198.18.0.1\nallow voice 198.18.0.2 198.18.0.3\n"}},
     -EINVAL,
     "top.conf:1: unknown class 'voice'\ntop.conf:2: unknown class 'voice'\n"},
    {"error_empty_class_name",
     {{"top.conf", "class sip 5060/udp\nallow sip,,sip 198.18.0.1\nallow sip, "
		   "198.18.0.1\n"}},
     -EINVAL,
     "top.conf:2: empty class name in 'sip,,sip'\n"
     "top.conf:3: empty class name in 'sip,'\n"},
    {"error_port_out_of_range",
     {{"top.conf",
       "class sip 70000/udp\nclass b 0/tcp\nclass c 1-65536/sctp\n"
       "class d 99999999999999999999/udp\nclass e 0-10/udp\nclass f 65536-65535/tcp\n"}},
     -EINVAL,
     "top.conf:1: port out of range '70000/udp' (1-65535)\n"
     "top.conf:2: port out of range '0/tcp' (1-65535)\n"
     "top.conf:3: port out of range '1-65536/sctp' (1-65535)\n"
     "top.conf:4: port out of range '99999999999999999999/udp' (1-65535)\n"
     "top.conf:5: port out of range '0-10/udp' (1-65535)\n"
     "top.conf:6: port out of range '65536-65535/tcp' (1-65535)\n"},
    {"error_port_in_two_classes",
     {{"top.conf", "class sip 5060/udp\nclass voice 5060/udp\n"}},
     -EINVAL,
     "top.conf:2: port 5060/udp in classes sip and voice\n"},
    {"error_range_overlap",
     {{"top.conf", "class rtp 10000-20000/udp\nclass sip 5060/udp\n"
		   "class voice 19990-30000/udp 5000-5100/udp 5061/tcp\n"}},
     -EINVAL,
     "top.conf:3: ports 19990-20000/udp in classes rtp and voice\n"
     "top.conf:3: port 5060/udp in classes sip and voice\n"},
    {"error_bad_port_syntax",
     {{"top.conf", "class a 5060\nclass b 5o60/udp\nclass c -5/udp\nclass d 5-/udp\n"
		   "class e drop\n"}},
     -EINVAL,
     "top.conf:1: bad port '5060' (PORT/PROTO or LO-HI/PROTO, e.g. 5060/udp)\n"
     "top.conf:2: bad port '5o60/udp' (PORT/PROTO or LO-HI/PROTO, e.g. 5060/udp)\n"
     "top.conf:3: bad port '-5/udp' (PORT/PROTO or LO-HI/PROTO, e.g. 5060/udp)\n"
     "top.conf:4: bad port '5-/udp' (PORT/PROTO or LO-HI/PROTO, e.g. 5060/udp)\n"
     "top.conf:5: bad port 'drop' (PORT/PROTO or LO-HI/PROTO, e.g. "
     "5060/udp)\n"},
    {"error_bad_protocol",
     {{"top.conf", "class a 5060/icmp\nclass b 5060/UDP\nclass c 5060/\n"}},
     -EINVAL,
     "top.conf:1: bad protocol in '5060/icmp' (udp, tcp or sctp)\n"
     "top.conf:2: bad protocol in '5060/UDP' (udp, tcp or sctp)\n"
     "top.conf:3: bad protocol in '5060/' (udp, tcp or sctp)\n"},
    {"error_port_range_reversed",
     {{"top.conf", "class rtp 20000-10000/udp\n"}},
     -EINVAL,
     "top.conf:1: bad port range '20000-10000/udp' (start above end)\n"},
    {"error_bad_prefix",
     {{"top.conf", "class sip 5060/udp\n"
		   "allow sip 1.2.3/8 1.2.3.4/33 2001:db8::/129 2001:db8::g 198.18.0.0/ "
		   "198.18.0.0/+8 01.2.3.4 fe80::1%eth0\n"}},
     -EINVAL,
     "top.conf:2: bad prefix '1.2.3/8' (not an IPv4 address)\n"
     "top.conf:2: bad prefix '1.2.3.4/33' (prefix length must be 0-32)\n"
     "top.conf:2: bad prefix '2001:db8::/129' (prefix length must be 0-128)\n"
     "top.conf:2: bad prefix '2001:db8::g' (not an IPv6 address)\n"
     "top.conf:2: bad prefix '198.18.0.0/' (prefix length must be 0-32)\n"
     "top.conf:2: bad prefix '198.18.0.0/+8' (prefix length must be 0-32)\n"
     "top.conf:2: bad prefix '01.2.3.4' (not an IPv4 address)\n"
     "top.conf:2: bad prefix 'fe80::1%eth0' (not an IPv6 address)\n"},
    {"error_host_bits_set",
     {{"top.conf", "class sip 5060/udp\nallow sip 10.0.0.1/8 2001:db8::1/64 "
		   "198.18.0.1/31\n"}},
     -EINVAL,
     "top.conf:2: host bits set in '10.0.0.1/8' (the network is 10.0.0.0/8)\n"
     "top.conf:2: host bits set in '2001:db8::1/64' (the network is 2001:db8::/64)\n"
     "top.conf:2: host bits set in '198.18.0.1/31' (the network is "
     "198.18.0.0/31)\n"},
    {"error_missing_include",
     {{"top.conf", "class sip 5060/udp\ninclude x.conf\n"}},
     -EINVAL,
     "top.conf:2: missing include 'x.conf': No such file or directory\n"},
    {"error_include_directory",
     {{"top.conf", "include sub\n"}, {"sub/a.conf", ""}},
     -EINVAL,
     "top.conf:1: cannot read include 'sub': not a regular file\n"},
    {"error_duplicate_class",
     {{"top.conf", "class sip 5060/udp\nclass sip 5061/tcp\n"}},
     -EINVAL,
     "top.conf:2: duplicate class 'sip' (first defined at top.conf:1)\n"},
    {"error_too_many_classes",
     {{"top.conf", "class c1 1/udp\nclass c2 2/udp\nclass c3 3/udp\nclass c4 4/udp\n"
		   "class c5 5/udp\nclass c6 6/udp\nclass c7 7/udp\nclass c8 8/udp\n"
		   "class c9 9/udp\nclass c10 10/udp\nclass c11 11/udp\nclass c12 12/udp\n"
		   "class c13 13/udp\nclass c14 14/udp\nclass c15 15/udp\nclass c16 16/udp\n"
		   "class c17 17/udp\nclass c18 18/udp\nclass c19 19/udp\nclass c20 20/udp\n"
		   "class c21 21/udp\nclass c22 22/udp\nclass c23 23/udp\nclass c24 24/udp\n"
		   "class c25 25/udp\nclass c26 26/udp\nclass c27 27/udp\nclass c28 28/udp\n"
		   "class c29 29/udp\nclass c30 30/udp\nclass c31 31/udp\nclass c32 32/udp\n"
		   "class c33 33/udp\n"}},
     -EINVAL,
     "top.conf:33: too many classes (more than 32): 'c33'\n"},
    {"error_bad_policy",
     {{"top.conf", "class a 1/udp policy allow\nclass b 2/udp policy\n"
		   "class c 3/udp policy drop policy monitor\n"}},
     -EINVAL,
     "top.conf:1: bad policy 'allow' (drop, monitor or open)\n"
     "top.conf:2: missing policy after 'policy' (drop, monitor or open)\n"
     "top.conf:3: policy given twice\n"},
    {"error_missing_ports",
     {{"top.conf", "class sip\nclass rtp policy monitor\nclass\n"}},
     -EINVAL,
     "top.conf:1: missing ports for class 'sip'\n"
     "top.conf:2: missing ports for class 'rtp'\n"
     "top.conf:3: missing class name\n"},
    {"error_bad_class_name",
     {{"top.conf", "class Sip 1/udp\nclass 9x 2/udp\nclass abcdefghijklmnop 3/udp\n"
		   "class none 4/udp\nclass a.b 5/udp\nclass _x 6/udp\n"}},
     -EINVAL,
     "top.conf:1: bad class name 'Sip' (1-15 of a-z 0-9 _ -, starting with a letter)\n"
     "top.conf:2: bad class name '9x' (1-15 of a-z 0-9 _ -, starting with a letter)\n"
     "top.conf:3: bad class name 'abcdefghijklmnop' (1-15 of a-z 0-9 _ -, starting with a letter)\n"
     "top.conf:4: class name 'none' is reserved (traffic of no class)\n"
     "top.conf:5: bad class name 'a.b' (1-15 of a-z 0-9 _ -, starting with a "
     "letter)\n"
     "top.conf:6: bad class name '_x' (1-15 of a-z 0-9 _ -, starting with a letter)\n"},
    {"error_allow_missing_parts",
     {{"top.conf", "class sip 1/udp\nallow\nallow sip\nallow nosuch\n"}},
     -EINVAL,
     "top.conf:2: missing class list and prefixes\n"
     "top.conf:3: missing prefixes\n"
     "top.conf:4: missing prefixes\n"
     "top.conf:4: unknown class 'nosuch'\n"},
    {"error_include_arguments",
     {{"top.conf", "include\ninclude a.conf b.conf\n"}},
     -EINVAL,
     "top.conf:1: missing include path\n"
     "top.conf:2: include takes one path, not 2\n"},
    {"error_include_self_loop",
     {{"top.conf", "class sip 1/udp\ninclude top.conf\n"}},
     -EINVAL,
     "top.conf:2: include loop: 'top.conf' is already being read\n"},
    {"error_include_loop_two_files",
     {{"top.conf", "include a.conf\n"},
      {"a.conf", "include sub/b.conf\n"},
      {"sub/b.conf", "include ../a.conf\n"}},
     -EINVAL,
     "sub/b.conf:1: include loop: '../a.conf' is already being read\n"},
    {"error_include_depth_9",
     {{"top.conf", "include d1.conf\n"},
      {"d1.conf", "include d2.conf\n"},
      {"d2.conf", "include d3.conf\n"},
      {"d3.conf", "include d4.conf\n"},
      {"d4.conf", "include d5.conf\n"},
      {"d5.conf", "include d6.conf\n"},
      {"d6.conf", "include d7.conf\n"},
      {"d7.conf", "include d8.conf\n"},
      {"d8.conf", "include d9.conf\n"},
      {"d9.conf", "class deep 1/udp\n"}},
     -EINVAL,
     "d8.conf:1: include 'd9.conf' nested too deeply (more than 8 levels)\n"},
    {"error_in_included_file_named",
     {{"top.conf", "class sip 5060/udp\ninclude sub/list.conf\n"},
      {"sub/list.conf", "allow sip 198.18.0.1\n\nallow sip 198.18.0.300\n"}},
     -EINVAL,
     "sub/list.conf:3: bad prefix '198.18.0.300' (not an IPv4 address)\n"},
    {"error_too_many_port_ranges",
     {{"top.conf", "class a 1/udp 2/udp 3/udp 4/udp 5/udp 6/udp 7/udp 8/udp "
		   "9/udp 10/udp 11/udp 12/udp "
		   "13/udp 14/udp 15/udp 16/udp 17/udp 18/udp 19/udp 20/udp "
		   "21/udp 22/udp 23/udp 24/udp "
		   "25/udp 26/udp 27/udp 28/udp 29/udp 30/udp 31/udp 32/udp "
		   "33/udp 34/udp 35/udp 36/udp "
		   "37/udp 38/udp 39/udp 40/udp 41/udp 42/udp 43/udp 44/udp "
		   "45/udp 46/udp 47/udp 48/udp "
		   "49/udp 50/udp 51/udp 52/udp 53/udp 54/udp 55/udp 56/udp "
		   "57/udp 58/udp 59/udp 60/udp "
		   "61/udp 62/udp 63/udp 64/udp 65/udp 66/udp\n"}},
     -EINVAL,
     "top.conf:1: too many port ranges in class 'a' (more than 64)\n"},
    {"error_token_quoted_safely",
     {{"top.conf", "\x01\x7f\\x\n"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaaa\n"}},
     -EINVAL,
     "top.conf:1: unknown keyword '\\x01\\x7f\\x5cx' (class, allow, block or include)\n"
     "top.conf:2: unknown keyword "
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' (class, allow, block or "
     "include)\n"},

    /* ---- several errors in one file, and across an include: all reported, in order ---- */
    {"error_many_in_one_file",
     {{"top.conf", "class sip 5060/udp 5060/tcp 5061/tcp\n"
		   "class voice 5060/udp 70000/udp\n"
		   "alow sip 198.18.0.1\n"
		   "allow sip,rtp 1.2.3/8 10.0.0.1/8\n"
		   "include missing.conf\n"
		   "class sip 1/udp\n"
		   "include list.conf\n"
		   "class mgmt 22/tcp policy block\n"},
      {"list.conf", "allow mgmt 198.18.0.0/33\nallow mgmt 198.18.0.0/16\n"}},
     -EINVAL,
     "top.conf:2: port out of range '70000/udp' (1-65535)\n"
     "top.conf:2: port 5060/udp in classes sip and voice\n"
     "top.conf:3: unknown keyword 'alow' (class, allow, block or include)\n"
     "top.conf:4: bad prefix '1.2.3/8' (not an IPv4 address)\n"
     "top.conf:4: host bits set in '10.0.0.1/8' (the network is 10.0.0.0/8)\n"
     "top.conf:4: unknown class 'rtp'\n"
     "top.conf:5: missing include 'missing.conf': No such file or directory\n"
     "top.conf:6: duplicate class 'sip' (first defined at top.conf:1)\n"
     "top.conf:8: bad policy 'block' (drop, monitor or open)\n"
     "list.conf:1: bad prefix '198.18.0.0/33' (prefix length must be 0-32)\n"},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void run_case(const struct config_case *c)
{
	struct vw_config cfg, again;
	char *errbuf = NULL, *out = NULL, *want = subst(c->out), *text2 = NULL;
	size_t errlen = 0, i;
	FILE *ef;
	int rc;

	clean_dir();
	for (i = 0; i < MAX_FILES && c->files[i].path; i++) {
		char *t = subst(c->files[i].text);
		int err = write_file(c->files[i].path, t, strlen(t));

		free(t);
		if (err) {
			fail(c->name, "cannot write %s: %s", c->files[i].path, strerror(-err));
			goto out;
		}
	}
	ef = open_memstream(&errbuf, &errlen);
	if (!ef)
		abort();
	rc = vw_config_load(&cfg, c->files[0].path, ef);
	fclose(ef);
	if (rc != c->rc) {
		fail(c->name, "returned %d, expected %d; errors:\n%s", rc, c->rc, errbuf);
		goto out_cfg;
	}
	if (rc) {
		if (strcmp(errbuf, want))
			fail(c->name, "error output differs:\n--- got\n%s--- expected\n%s", errbuf,
			     want);
		else if (!cfg_empty(&cfg))
			fail(c->name, "config not empty after an error");
		else
			pass(c->name);
		goto out_cfg;
	}
	out = dump(&cfg);
	if (errlen) {
		fail(c->name, "valid config printed: %s", errbuf);
	} else if (strcmp(out, want)) {
		fail(c->name, "canonical text differs:\n--- got\n%s--- expected\n%s", out, want);
	} else if (strcmp(cfg.source, c->files[0].path) || cfg.builtin) {
		fail(c->name, "source '%s' builtin %d", cfg.source, cfg.builtin);
	} else {
		/* ids follow definition order; the canonical text parses back to itself */
		for (i = 0; i < cfg.nclasses; i++) {
			if (cfg.classes[i].id != i) {
				fail(c->name, "class %s has id %u, expected %zu",
				     cfg.classes[i].name, cfg.classes[i].id, i);
				goto out_cfg;
			}
		}
		rc = vw_config_parse_buf(&again, "canonical", out, strlen(out), stderr);
		if (rc) {
			fail(c->name, "canonical text does not parse: %d", rc);
			goto out_cfg;
		}
		text2 = dump(&again);
		if (strcmp(text2, out) || again.nrules != cfg.nrules ||
		    (cfg.nrules && memcmp(again.rules, cfg.rules, cfg.nrules * sizeof(*cfg.rules))))
			fail(c->name, "canonical text does not round-trip:\n%s", text2);
		else
			pass(c->name);
		vw_config_free(&again);
	}
out_cfg:
	vw_config_free(&cfg);
out:
	free(text2);
	free(out);
	free(errbuf);
	free(want);
}

/* ---- the other entry points ------------------------------------------------------------------ */

static void test_builtin(void)
{
	const char *name = "builtin_default";
	const char *want = "class sip 5060/udp 5060/tcp 5061/tcp\n"
			   "class mgmt 22/tcp 23/tcp 80/tcp 443/tcp 8080/tcp 8443/tcp 69/udp "
			   "161/udp 7547/tcp\n";
	struct vw_config cfg;
	char *out;
	int rc = vw_config_builtin(&cfg);

	if (rc) {
		fail(name, "returned %d", rc);
		return;
	}
	out = dump(&cfg);
	if (strcmp(out, want))
		fail(name, "got:\n%s", out);
	else if (!cfg.builtin || strcmp(cfg.source, VW_BUILTIN_SOURCE) || cfg.nrules ||
		 cfg.classes[0].policy != VW_POLICY_DROP || cfg.classes[1].policy != VW_POLICY_DROP)
		fail(name, "builtin %d source '%s' rules %zu", cfg.builtin, cfg.source, cfg.nrules);
	else
		pass(name);
	free(out);
	vw_config_free(&cfg);
}

static void test_load_io_errors(void)
{
	const char *name = "load_io_errors_print_nothing";
	char *errbuf = NULL, longpath[VW_SOURCE_MAX + 8];
	struct vw_config cfg;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errbuf, &errlen);
	int a, b, c;

	clean_dir();
	mkdir("adir", 0700);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	a = vw_config_load(&cfg, "nonexistent.conf", ef);
	b = vw_config_load(&cfg, "adir", ef);
	c = vw_config_load(&cfg, longpath, ef);
	fclose(ef);
	if (a != -ENOENT || b != -EISDIR || c != -ENAMETOOLONG)
		fail(name, "got %d %d %d, expected %d %d %d", a, b, c, -ENOENT, -EISDIR,
		     -ENAMETOOLONG);
	else if (errlen)
		fail(name, "printed '%s'", errbuf);
	else if (!cfg_empty(&cfg))
		fail(name, "config not empty");
	else
		pass(name);
	free(errbuf);
}

static void test_buffer_and_confined(void)
{
	const char *name = "parse_buf_includes_and_confinement";
	const char *ok = "class sip 5060/udp\ninclude inc/a.conf\n";
	const char *bad = "include @/inc/a.conf\ninclude ../x.conf\ninclude inc/../inc/a.conf\n";
	char *b = subst(bad), *errbuf = NULL, *want = NULL, *buf_name = NULL;
	struct vw_config cfg;
	size_t errlen = 0;
	FILE *ef;
	int rc;

	clean_dir();
	write_file("inc/a.conf", "allow sip 198.18.0.1\n", 21);
	if (asprintf(&buf_name, "%s/input.conf", tmpdir) < 0)
		abort();
	/* unconfined: relative to the buffer name's directory */
	rc = vw_config_parse_buf(&cfg, buf_name, ok, strlen(ok), stderr);
	if (rc || cfg.nrules != 1) {
		fail(name, "unconfined relative include: rc %d rules %zu", rc, cfg.nrules);
		goto out;
	}
	vw_config_free(&cfg);
	rc = vw_config_parse_buf_confined(&cfg, "input", ok, strlen(ok), tmpdir, stderr);
	if (rc || cfg.nrules != 1) {
		fail(name, "confined relative include: rc %d rules %zu", rc, cfg.nrules);
		goto out;
	}
	vw_config_free(&cfg);
	ef = open_memstream(&errbuf, &errlen);
	rc = vw_config_parse_buf_confined(&cfg, "input", b, strlen(b), tmpdir, ef);
	fclose(ef);
	if (asprintf(&want,
		     "input:1: include '%s/inc/a.conf' leaves %s (relative paths without '..' "
		     "only)\n"
		     "input:2: include '../x.conf' leaves %s (relative paths without '..' only)\n"
		     "input:3: include 'inc/../inc/a.conf' leaves %s (relative paths without '..' "
		     "only)\n",
		     tmpdir, tmpdir, tmpdir, tmpdir) < 0)
		abort();
	if (rc != -EINVAL || strcmp(errbuf, want))
		fail(name, "confined escapes: rc %d, output:\n%s--- expected\n%s", rc, errbuf,
		     want);
	else
		pass(name);
out:
	vw_config_free(&cfg);
	free(want);
	free(errbuf);
	free(buf_name);
	free(b);
}

/* Files including others several times at every level: the number of files read is bounded. */
static void test_include_fanout(void)
{
	const char *name = "error_include_fanout_bounded";
	char *text = NULL, *errbuf = NULL;
	struct vw_config cfg;
	size_t len = 0, errlen = 0, i;
	FILE *f, *ef;
	int rc, lines = 0;

	clean_dir();
	/* a.conf includes b.conf 200 times, b.conf includes c.conf 200 times: 40,201 reads */
	f = open_memstream(&text, &len);
	for (i = 0; i < 200; i++)
		fputs("include c.conf\n", f);
	fclose(f);
	write_file("b.conf", text, len);
	free(text);
	f = open_memstream(&text, &len);
	for (i = 0; i < 200; i++)
		fputs("include b.conf\n", f);
	fclose(f);
	write_file("a.conf", text, len);
	write_file("c.conf", "# empty\n", 8);
	write_file("top.conf", "include a.conf\n", 15);
	ef = open_memstream(&errbuf, &errlen);
	rc = vw_config_load(&cfg, "top.conf", ef);
	fclose(ef);
	for (i = 0; i < errlen; i++)
		lines += errbuf[i] == '\n';
	if (rc != -EINVAL || lines != 1 ||
	    !strstr(errbuf, ": include 'c.conf': too many files read (more than 10000)\n"))
		fail(name, "rc %d, %d lines:\n%s", rc, lines, errbuf);
	else
		pass(name);
	free(text);
	free(errbuf);
}

static void test_nul_byte(void)
{
	const char *name = "error_nul_byte";
	const char text[] = "class sip 5060/udp\nallow sip 198.18.0.1\0 junk\nalow\n";
	const char *want = "buf:2: NUL byte in line\nbuf:3: unknown keyword 'alow' (class, "
			   "allow, block or include)\n";
	struct vw_config cfg;
	char *errbuf = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errbuf, &errlen);
	int rc = vw_config_parse_buf(&cfg, "buf", text, sizeof(text) - 1, ef);

	fclose(ef);
	if (rc != -EINVAL || strcmp(errbuf, want))
		fail(name, "rc %d output:\n%s", rc, errbuf);
	else
		pass(name);
	free(errbuf);
}

struct prefix_case {
	const char *in;
	const char *out; /* formatted, or NULL */
	const char *why; /* when out is NULL */
};

static const struct prefix_case prefix_cases[] = {
    {"198.51.100.0/24", "198.51.100.0/24", NULL},
    {"203.0.113.10", "203.0.113.10/32", NULL},
    {"0.0.0.0/0", "0.0.0.0/0", NULL},
    {"255.255.255.255/32", "255.255.255.255/32", NULL},
    {"2001:DB8::/32", "2001:db8::/32", NULL},
    {"2001:db8:0:0:0:0:0:1", "2001:db8::1/128", NULL},
    {"::/0", "::/0", NULL},
    {"::", "::/128", NULL},
    {"198.18.0.0/015", "198.18.0.0/15", NULL},
    {"10.0.0.1/8", NULL, "host bits set"},
    {"2001:db8::1/127", NULL, "host bits set"},
    {"1.2.3/8", NULL, "not an IPv4 address"},
    {"", NULL, "not an IPv4 address"},
    {"/8", NULL, "not an IPv4 address"},
    {"1.2.3.4/", NULL, "prefix length must be 0-32"},
    {"1.2.3.4/-1", NULL, "prefix length must be 0-32"},
    {"1.2.3.4/0x8", NULL, "prefix length must be 0-32"},
    {"1.2.3.4/1000", NULL, "prefix length must be 0-32"},
    {"1.2.3.4/32/1", NULL, "prefix length must be 0-32"},
    {"2001:db8::/200", NULL, "prefix length must be 0-128"},
    {"2001:db8:::1", NULL, "not an IPv6 address"},
    {"1.2.3.4 ", NULL, "not an IPv4 address"},
};

static void test_prefixes(void)
{
	const char *name = "parse_and_format_prefix";
	char buf[VW_PREFIX_STRLEN];
	size_t i, bad = 0;
	struct vw_rule r;

	for (i = 0; i < ARRAY_LEN(prefix_cases); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		const char *why = "unset", *out;
		int rc = vw_parse_prefix(c->in, &r, &why);

		out = rc ? NULL : vw_format_prefix(&r, buf, sizeof(buf));
		if (c->out ? (rc || !out || strcmp(out, c->out) || why)
			   : (rc != -EINVAL || !why || strcmp(why, c->why))) {
			fail(name, "'%s': rc %d out '%s' why '%s'", c->in, rc, out ? out : "-",
			     why ? why : "-");
			bad++;
		}
	}
	/* IPv4 layout: addr[0..3] network order, the rest zero */
	vw_parse_prefix("198.51.100.7", &r, NULL);
	if (r.family != VW_FAMILY_V4 || r.plen != 32 || r.addr[0] != 198 || r.addr[3] != 7 ||
	    r.addr[4] || r.addr[15] || r.mask) {
		fail(name, "IPv4 layout wrong");
		bad++;
	}
	/* short buffers are refused, never truncated */
	vw_parse_prefix("2001:db8::1", &r, NULL);
	if (vw_format_prefix(&r, buf, 10) ||
	    !vw_format_prefix(&r, buf, strlen("2001:db8::1/128") + 1)) {
		fail(name, "buffer length handling wrong");
		bad++;
	}
	r.plen = 129;
	if (vw_format_prefix(&r, buf, sizeof(buf))) {
		fail(name, "formats plen 129");
		bad++;
	}
	if (!bad)
		pass(name);
}

/* One text against inet_pton: the same verdict and, when it is an address, the same bytes. */
static bool text_agrees(const char *txt, size_t len, unsigned int *checked)
{
	__u8 want[16] = {0}, got[16] = {0};
	char buf[64];
	int w4, w6, g4, g6;

	if (len >= sizeof(buf))
		return true;
	memcpy(buf, txt, len);
	buf[len] = '\0';
	w4 = inet_pton(AF_INET, buf, want) == 1;
	g4 = vw_text_v4(txt, len, got);
	if (w4 != g4 || (w4 && memcmp(want, got, 4)))
		return false;
	memset(want, 0, sizeof(want));
	memset(got, 0, sizeof(got));
	w6 = inet_pton(AF_INET6, buf, want) == 1;
	g6 = vw_text_v6(txt, len, got);
	if (w6 != g6 || (w6 && memcmp(want, got, 16)))
		return false;
	*checked += w4 + w6;
	return true;
}

/* The address parsers accept exactly what inet_pton accepts: random text over the characters
 * addresses are made of, and addresses as inet_ntop writes them, then mutated (a character
 * dropped, doubled or changed, groups written with leading zeros or in capitals, "::" inserted). */
static void test_address_text(void)
{
	static const char alphabet[] = "0123456789abcdefABCDEF::::....g /";
	const char *name = "address_text_as_inet_pton";
	unsigned int seed = 20261202, i, valid = 0, n = 0;
	char txt[64], out[64];

	for (i = 0; i < 400000; i++) {
		size_t len, k;

		if (i & 1) {
			len = (size_t)rand_r(&seed) % 44;
			for (k = 0; k < len; k++)
				txt[k] = alphabet[(unsigned int)rand_r(&seed) % (sizeof(alphabet) - 1)];
		} else {
			__u8 a[16];
			int v6 = rand_r(&seed) & 1, op = rand_r(&seed) % 7;

			for (k = 0; k < 16; k++)
				a[k] = rand_r(&seed) % 3 ? 0 : (__u8)rand_r(&seed);
			inet_ntop(v6 ? AF_INET6 : AF_INET, a, out, sizeof(out));
			len = strlen(out);
			memcpy(txt, out, len);
			k = len ? (size_t)rand_r(&seed) % len : 0;
			if (op == 1 && len) { /* drop a character */
				memmove(txt + k, txt + k + 1, len - k - 1);
				len--;
			} else if (op == 2 && len && len < 60) { /* double one */
				memmove(txt + k + 1, txt + k, len - k);
				len++;
			} else if (op == 3 && len) { /* change one */
				txt[k] = alphabet[(unsigned int)rand_r(&seed) % (sizeof(alphabet) - 1)];
			} else if (op == 4) { /* capitals */
				for (k = 0; k < len; k++)
					if (txt[k] >= 'a' && txt[k] <= 'f')
						txt[k] = (char)(txt[k] - 'a' + 'A');
			} else if (op == 5 && len < 58) { /* "::" or "0" inserted */
				const char *ins = rand_r(&seed) & 1 ? "::" : "0";
				size_t il = strlen(ins);

				memmove(txt + k + il, txt + k, len - k);
				memcpy(txt + k, ins, il);
				len += il;
			} else if (op == 6 && v6) { /* every group written out in full */
				len = 0;
				for (k = 0; k < 8; k++)
					len += (size_t)snprintf(txt + len, sizeof(txt) - len, "%s%02x%02x",
								k ? ":" : "", a[2 * k], a[2 * k + 1]);
			}
		}
		n++;
		if (!text_agrees(txt, len, &valid)) {
			fail(name, "'%.*s' parsed differently from inet_pton", (int)len, txt);
			return;
		}
	}
	/* the forms around the edges of the grammar */
	{
		static const char *const edge[] = {
		    "::", ":", ":::", "::1", "1::", "1:", ":1", "1::2::3", "1:2:3:4:5:6:7:8",
		    "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "1::2:3:4:5:6:7:8", "::2:3:4:5:6:7:8",
		    "1:2:3:4:5:6:7:8::", "12345::", "0000::", "00000::", "::ffff:1.2.3.4",
		    "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::01.2.3.4",
		    "0.0.0.0", "255.255.255.255", "256.0.0.0", "01.2.3.4", "1.2.3.4.", ".1.2.3",
		    "1..2.3", "1.2.3", "1.2.3.4.5", "00.0.0.0", "1.2.3.04", "fe80::1%eth0",
		};

		for (i = 0; i < ARRAY_LEN(edge); i++, n++) {
			if (!text_agrees(edge[i], strlen(edge[i]), &valid)) {
				fail(name, "'%s' parsed differently from inet_pton", edge[i]);
				return;
			}
		}
	}
	printf("  %u texts, %u of them addresses\n", n, valid);
	pass(name);
}

static void test_class_mask(void)
{
	const char *name = "class_mask";
	const char *text = "class sip 1/udp\nclass rtp 2/udp\nclass mgmt 3/tcp\n";
	struct vw_config cfg;
	char *errbuf = NULL;
	size_t errlen = 0;
	__u32 m1 = 0, m2 = 0;
	FILE *ef;
	int a, b;

	if (vw_config_parse_buf(&cfg, "t", text, strlen(text), stderr)) {
		fail(name, "parse failed");
		return;
	}
	ef = open_memstream(&errbuf, &errlen);
	a = vw_config_class_mask(&cfg, "mgmt,sip", &m1, ef);
	b = vw_config_class_mask(&cfg, "sip,voice,,x", &m2, ef);
	fclose(ef);
	if (a || m1 != 5 || b != -EINVAL ||
	    strcmp(errbuf, "unknown class 'voice'\nempty class name in 'sip,voice,,x'\n"
			   "unknown class 'x'\n"))
		fail(name, "a %d m1 %#x b %d output:\n%s", a, m1, b, errbuf);
	else if (!vw_config_class(&cfg, "rtp") || vw_config_class(&cfg, "rt") ||
		 vw_config_class(&cfg, "rtpx") || vw_config_class(&cfg, "none"))
		fail(name, "vw_config_class lookup wrong");
	else
		pass(name);
	free(errbuf);
	vw_config_free(&cfg);
}

/* The rule index against a plain array model, under random add/del on a small prefix space. */
static void test_rules_random(void)
{
	const char *name = "add_del_rule_against_model";
	enum { SPACE = 512, OPS = 40000 };
	__u32 model[SPACE] = {};
	struct vw_config cfg = {};
	unsigned int seed = 12345, op;
	size_t i, live;

	for (op = 0; op < OPS; op++) {
		unsigned int k = (unsigned int)rand_r(&seed) % SPACE;
		__u32 m = 1U << (rand_r(&seed) % 4);
		struct vw_rule r = {};

		/* k selects one of 256 IPv4 /32s or 256 IPv6 /64s */
		if (k < 256) {
			r.family = VW_FAMILY_V4;
			r.plen = 32;
			r.addr[0] = 198;
			r.addr[1] = 18;
			r.addr[3] = (__u8)k;
		} else {
			r.family = VW_FAMILY_V6;
			r.plen = 64;
			r.addr[0] = 0x20;
			r.addr[1] = 0x01;
			r.addr[2] = 0x0d;
			r.addr[3] = 0xb8;
			r.addr[7] = (__u8)k;
		}
		r.mask = m;
		if (rand_r(&seed) % 3) {
			if (vw_config_add_rule(&cfg, &r)) {
				fail(name, "add failed at op %u", op);
				goto out;
			}
			model[k] |= m;
		} else {
			size_t changed = vw_config_del_rule(&cfg, &r);

			if (changed != ((model[k] & m) ? 1 : 0)) {
				fail(name, "del returned %zu at op %u", changed, op);
				goto out;
			}
			model[k] &= ~m;
		}
	}
	for (i = 0, live = 0; i < SPACE; i++)
		live += model[i] != 0;
	if (cfg.nrules != live) {
		fail(name, "%zu rules, model has %zu", cfg.nrules, live);
		goto out;
	}
	for (i = 0; i < cfg.nrules; i++) {
		const struct vw_rule *r = &cfg.rules[i];
		unsigned int k = r->family == VW_FAMILY_V4 ? r->addr[3] : 256U + r->addr[7];

		if (r->mask != model[k]) {
			fail(name, "rule %zu mask %#x, model %#x", i, r->mask, model[k]);
			goto out;
		}
	}
	pass(name);
out:
	vw_config_free(&cfg);
}

static void test_rules_edge(void)
{
	const char *name = "add_rule_validation_and_reindex";
	struct vw_config cfg = {};
	struct vw_rule r = {.family = VW_FAMILY_V4, .plen = 24, .mask = 1, .addr = {198, 18, 0, 1}};
	int a, b, c;

	a = vw_config_add_rule(&cfg, &r); /* host bits */
	r.addr[3] = 0;
	r.family = 7;
	b = vw_config_add_rule(&cfg, &r);
	r.family = VW_FAMILY_V4;
	r.plen = 33;
	c = vw_config_add_rule(&cfg, &r);
	if (a != -EINVAL || b != -EINVAL || c != -EINVAL || cfg.nrules) {
		fail(name, "invalid rules accepted: %d %d %d", a, b, c);
		goto out;
	}
	/* rules filled in directly (as a generation reader would) are found by the index */
	cfg.rules = calloc(4, sizeof(*cfg.rules));
	cfg.cap = 4;
	cfg.nrules = 2;
	cfg.rules[0] =
	    (struct vw_rule){.family = VW_FAMILY_V4, .plen = 16, .mask = 1, .addr = {198, 18}};
	cfg.rules[1] = (struct vw_rule){
	    .family = VW_FAMILY_V6, .plen = 32, .mask = 2, .addr = {0x20, 0x01, 0x0d, 0xb8}};
	r = cfg.rules[1];
	r.mask = 4;
	if (vw_config_add_rule(&cfg, &r) || cfg.nrules != 2 || cfg.rules[1].mask != 6) {
		fail(name, "direct rules not indexed (nrules %zu)", cfg.nrules);
		goto out;
	}
	r = cfg.rules[0];
	if (vw_config_del_rule(&cfg, &r) != 1 || cfg.nrules != 1 || cfg.rules[0].mask != 6 ||
	    vw_config_del_rule(&cfg, &r) != 0) {
		fail(name, "del of a direct rule wrong (nrules %zu)", cfg.nrules);
		goto out;
	}
	pass(name);
out:
	vw_config_free(&cfg);
}

static void set_prev(struct vw_gen_cfg *g, const char *const *names, unsigned int n)
{
	unsigned int i;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < n; i++) {
		if (!names[i][0])
			continue;
		g->class_mask |= 1U << i;
		snprintf(g->class_names[i], VW_CLASS_NAME_MAX, "%s", names[i]);
	}
}

static void test_assign_ids(void)
{
	const char *name = "assign_ids_stable";
	const char *text = "class mgmt 22/tcp\nclass rtp 10000-20000/udp\nclass sip 5060/udp\n"
			   "class fax 4000/udp\n"
			   "allow sip 198.18.0.1\nallow mgmt,rtp 198.18.0.2\nallow fax,sip "
			   "198.18.0.3\n";
	/* live generation: sip=0, mgmt=1, old=2 (removed now), slot 3 free, voice=4 (removed) */
	const char *const live[] = {"sip", "mgmt", "old", "", "voice"};
	struct vw_gen_cfg prev;
	struct vw_config cfg;
	__u32 want_id[4] = {1, 3, 0, 5}; /* mgmt, rtp, sip, fax */
	char *before = NULL, *after = NULL;
	unsigned int i;

	if (vw_config_parse_buf(&cfg, "t", text, strlen(text), stderr)) {
		fail(name, "parse failed");
		return;
	}
	before = dump(&cfg);
	set_prev(&prev, live, 5);
	if (vw_config_assign_ids(&cfg, &prev)) {
		fail(name, "assign failed");
		goto out;
	}
	for (i = 0; i < 4; i++) {
		if (cfg.classes[i].id != want_id[i]) {
			fail(name, "class %s got id %u, expected %u", cfg.classes[i].name,
			     cfg.classes[i].id, want_id[i]);
			goto out;
		}
	}
	if (cfg.rules[0].mask != 1U << 0 || cfg.rules[1].mask != ((1U << 1) | (1U << 3)) ||
	    cfg.rules[2].mask != ((1U << 5) | (1U << 0))) {
		fail(name, "masks not rewritten: %#x %#x %#x", cfg.rules[0].mask, cfg.rules[1].mask,
		     cfg.rules[2].mask);
		goto out;
	}
	/* same meaning as before: the canonical text names the same classes per prefix */
	after = dump(&cfg);
	if (strcmp(before, after)) {
		fail(name, "meaning changed:\n%s---\n%s", before, after);
		goto out;
	}
	/* applying again against a generation built from the result changes nothing */
	memset(&prev, 0, sizeof(prev));
	for (i = 0; i < cfg.nclasses; i++) {
		prev.class_mask |= 1U << cfg.classes[i].id;
		memcpy(prev.class_names[cfg.classes[i].id], cfg.classes[i].name, VW_CLASS_NAME_MAX);
	}
	if (vw_config_assign_ids(&cfg, &prev) || cfg.classes[0].id != 1 || cfg.classes[3].id != 5 ||
	    cfg.rules[2].mask != ((1U << 5) | (1U << 0))) {
		fail(name, "second assignment moved ids");
		goto out;
	}
	/* prev NULL: ids in order */
	if (vw_config_assign_ids(&cfg, NULL) || cfg.classes[0].id != 0 || cfg.classes[3].id != 3 ||
	    cfg.rules[2].mask != ((1U << 3) | (1U << 2))) {
		fail(name, "ids not in order without prev");
		goto out;
	}
	pass(name);
out:
	free(before);
	free(after);
	vw_config_free(&cfg);
}

/* 32 live classes with other names: new classes must reuse the removed classes' ids. */
static void test_assign_ids_full(void)
{
	const char *name = "assign_ids_reuses_when_full";
	char names[VW_MAX_CLASSES][8];
	const char *live[VW_MAX_CLASSES];
	const char *text = "class a 1/udp\nclass n5 2/udp\nclass b 3/udp\n";
	struct vw_gen_cfg prev;
	struct vw_config cfg;
	unsigned int i;

	for (i = 0; i < VW_MAX_CLASSES; i++) {
		snprintf(names[i], sizeof(names[i]), "n%u", i);
		live[i] = names[i];
	}
	set_prev(&prev, live, VW_MAX_CLASSES);
	if (vw_config_parse_buf(&cfg, "t", text, strlen(text), stderr) ||
	    vw_config_assign_ids(&cfg, &prev)) {
		fail(name, "parse/assign failed");
		return;
	}
	if (cfg.classes[0].id != 0 || cfg.classes[1].id != 5 || cfg.classes[2].id != 1)
		fail(name, "ids %u %u %u, expected 0 5 1", cfg.classes[0].id, cfg.classes[1].id,
		     cfg.classes[2].id);
	else
		pass(name);
	vw_config_free(&cfg);
}

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wall and CPU time of a step: on a shared machine the CPU time is the steadier figure. */
struct stopwatch {
	double wall, cpu;
};

static void sw_start(struct stopwatch *sw)
{
	sw->wall = clock_ms(CLOCK_MONOTONIC);
	sw->cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
}

static void sw_stop(struct stopwatch *sw)
{
	sw->wall = clock_ms(CLOCK_MONOTONIC) - sw->wall;
	sw->cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - sw->cpu;
}

/* A 1,000,000-line allow file (900,000 IPv4 hosts, 100,000 IPv6 /64s), allow before class; then the
 * same lines over only 1,000 distinct prefixes (merging). Times are printed. */
static void test_million_lines(void)
{
	const char *name = "parse_1m_line_allow_file";
	enum { LINES = 1000000, V4 = 900000 };
	struct vw_config cfg;
	char *errbuf = NULL;
	size_t errlen = 0;
	struct stopwatch big, dup;
	FILE *f, *ef;
	unsigned int i;
	int rc;

	clean_dir();
	f = fopen("big.conf", "w");
	if (!f) {
		fail(name, "cannot write big.conf");
		return;
	}
	for (i = 0; i < LINES; i++) {
		if (i < V4)
			fprintf(f, "allow carrier 10.%u.%u.%u\n", i >> 16, (i >> 8) & 0xff,
				i & 0xff);
		else
			fprintf(f, "allow carrier,sip 2001:db8:%x:%x::/64\n", i >> 16, i & 0xffff);
	}
	fputs("class carrier 5060/udp\nclass sip 5061/tcp\n", f);
	fclose(f);
	f = fopen("dup.conf", "w");
	for (i = 0; f && i < LINES; i++)
		fprintf(f, "allow %s 10.0.%u.%u\n", (i / 1000) & 1 ? "sip" : "carrier",
			(i % 1000) >> 8, (i % 1000) & 0xff);
	if (f) {
		fputs("class carrier 5060/udp\nclass sip 5061/tcp\n", f);
		fclose(f);
	}

	ef = open_memstream(&errbuf, &errlen);
	sw_start(&big);
	rc = vw_config_load(&cfg, "big.conf", ef);
	sw_stop(&big);
	if (rc || cfg.nrules != LINES || cfg.rules[0].mask != 1 || cfg.rules[LINES - 1].mask != 3) {
		fail(name, "rc %d rules %zu", rc, cfg.nrules);
		goto out;
	}
	vw_config_free(&cfg);
	sw_start(&dup);
	rc = vw_config_load(&cfg, "dup.conf", ef);
	sw_stop(&dup);
	printf("# %u-line allow file, %u distinct prefixes: parsed in %.0f ms (%.0f ms CPU)\n",
	       LINES, LINES, big.wall, big.cpu);
	printf("# %u-line allow file, %zu distinct prefixes (masks merged): parsed in %.0f ms "
	       "(%.0f ms CPU)\n",
	       LINES, cfg.nrules, dup.wall, dup.cpu);
	if (rc || cfg.nrules != 1000 || cfg.rules[0].mask != 3) {
		fail(name, "duplicates: rc %d rules %zu", rc, cfg.nrules);
		goto out;
	}
	pass(name);
out:
	fclose(ef);
	vw_config_free(&cfg);
	free(errbuf);
	unlink("big.conf");
	unlink("dup.conf");
}

/* What parsing a file gives: return code, error output, canonical text, rule arrays. */
struct parse_result {
	int rc;
	char *errs, *text;
	struct vw_config cfg;
};

static void parse_with_split(struct parse_result *r, const char *path, size_t split_min)
{
	size_t len = 0, saved = vw_config_split_min;
	FILE *ef = open_memstream(&r->errs, &len);

	if (!ef)
		abort();
	vw_config_split_min = split_min;
	r->rc = vw_config_load(&r->cfg, path, ef);
	vw_config_split_min = saved;
	fclose(ef);
	r->text = dump(&r->cfg);
}

static void parse_result_free(struct parse_result *r)
{
	free(r->errs);
	free(r->text);
	vw_config_free(&r->cfg);
}

static bool rules_equal(const struct vw_rule *a, size_t na, const struct vw_rule *b, size_t nb)
{
	return na == nb && (!na || !memcmp(a, b, na * sizeof(*a)));
}

/* Parses path in one pass and cut in two threads; false (after failing name) if they differ. */
static bool split_agrees(const char *name, const char *path, const char *what,
			 unsigned int *accepted)
{
	struct parse_result one = {0}, two = {0};
	bool same;

	parse_with_split(&one, path, 0);
	parse_with_split(&two, path, 1);
	same = one.rc == two.rc && !strcmp(one.errs, two.errs) && !strcmp(one.text, two.text) &&
	       rules_equal(one.cfg.rules, one.cfg.nrules, two.cfg.rules, two.cfg.nrules) &&
	       rules_equal(one.cfg.exempt, one.cfg.nexempt, two.cfg.exempt, two.cfg.nexempt) &&
	       rules_equal(one.cfg.blocks, one.cfg.nblocks, two.cfg.blocks, two.cfg.nblocks);
	if (!same)
		fail(name, "%s: one pass rc %d, %zu rules, errors:\n%s--- two threads rc %d, %zu rules, "
			   "errors:\n%s",
		     what, one.rc, one.cfg.nrules, one.errs, two.rc, two.cfg.nrules, two.errs);
	*accepted += one.rc == 0;
	parse_result_free(&one);
	parse_result_free(&two);
	return same;
}

/* A random config line: classes, allow statements (valid, duplicate, bad prefixes, unknown or
 * later classes, exempt), blocks, includes, comments, blank lines and unknown keywords. */
static void random_line(FILE *f, unsigned int *seed, bool clean)
{
	static const char *const lists[] = {"sip", "rtp", "sip,rtp", "mgmt", "late", "nosuch",
					    "sip,,rtp"};
	unsigned int k = (unsigned int)rand_r(seed) % 100, i, n;

	if (clean && k < 10)
		k = 3 + k % 6; /* blocks, includes of inc.conf, comments */
	if (k < 3) {
		fprintf(f, "class c%u %u/udp\n", (unsigned int)rand_r(seed) % 6,
			30000 + (unsigned int)rand_r(seed) % 50);
	} else if (k < 5) {
		fprintf(f, "block 198.19.%u.0/24\n", (unsigned int)rand_r(seed) % 8);
	} else if (k < 7) {
		fputs(clean || rand_r(seed) % 2 ? "include inc.conf\n" : "include missing.conf\n", f);
	} else if (k < 9) {
		fputs(rand_r(seed) % 2 ? "# a comment\n" : "   \n", f);
	} else if (k < 10) {
		fputs("alow sip 198.18.0.1\n", f);
	} else {
		fprintf(f, "%sallow %s", rand_r(seed) % 4 ? "" : "  ",
			lists[(unsigned int)rand_r(seed) % 7 % (clean ? 3 : k < 95 ? 4 : 7)]);
		n = 1 + (unsigned int)rand_r(seed) % 4;
		for (i = 0; i < n; i++) {
			unsigned int a = (unsigned int)rand_r(seed), c = a % 20 + (clean ? 2 : 0);

			if (c == 0)
				fputs(" 198.18.1.1/33", f);
			else if (c == 1)
				fputs(" 198.18.1.1/24", f);
			else if (c < 12)
				fprintf(f, " 198.18.%u.%u", a >> 8 & 3, a >> 16 & 31);
			else
				fprintf(f, " 2001:db8:%x::/48", a >> 8 & 31);
		}
		fputs(rand_r(seed) % 10 ? "\n" : " exempt # ok\n", f);
	}
}

/* A long file is parsed by two threads: whatever the file, the result (rules in order, merged
 * masks, exempt and block lists, errors with their file:line) is the one a single pass gives. The
 * split falls mid-file, so files of random lines, with classes, errors and includes on either
 * side, cover many cut points; every table case is parsed both ways too. */
static void test_split_parse(void)
{
	const char *name = "parse_in_two_threads_as_one_pass";
	unsigned int seed = 20261202, accepted = 0, round, i, lines;
	unsigned long splits = vw_config_splits;
	size_t c, f;

	for (c = 0; c < ARRAY_LEN(cases); c++) {
		clean_dir();
		for (f = 0; f < MAX_FILES && cases[c].files[f].path; f++) {
			char *t = subst(cases[c].files[f].text);

			write_file(cases[c].files[f].path, t, strlen(t));
			free(t);
		}
		if (!split_agrees(name, cases[c].files[0].path, cases[c].name, &accepted))
			return;
	}
	clean_dir();
	write_file("inc.conf", "allow sip 198.18.9.9\nallow rtp 2001:db8:9::/48 # here\n", 54);
	accepted = 0;
	for (round = 0; round < 400; round++) {
		FILE *out = fopen("r.conf", "w");
		char what[32];

		if (!out) {
			fail(name, "cannot write r.conf");
			return;
		}
		if (round % 4)
			fputs("class sip 5060/udp\nclass rtp 10000-20000/udp\n", out);
		lines = 1 + (unsigned int)rand_r(&seed) % 60;
		for (i = 0; i < lines; i++)
			random_line(out, &seed, round % 2);
		if (round % 3 == 0)
			fputs("class late 5061/tcp\n", out);
		if (round % 2)
			fputs("include inc.conf\n", out);
		if (round % 5 == 0)
			fputs("allow sip 198.18.3.3", out); /* no final newline */
		fclose(out);
		snprintf(what, sizeof(what), "random file %u", round);
		if (!split_agrees(name, "r.conf", what, &accepted))
			return;
	}
	/* the random files must exercise both outcomes, and the parser must have split them */
	if (accepted < 100 || accepted > 300)
		fail(name, "%u of 400 random files accepted", accepted);
	else if (vw_config_splits - splits < 400)
		fail(name, "%lu buffers cut in two, expected at least 400", vw_config_splits - splits);
	else
		pass(name);
}

/* One distinct prefix more than a generation holds: refused at the line of the prefix past the
 * limit, with identical prefixes before it merged, not counted. */
static void test_too_many_rules(void)
{
	const char *name = "error_too_many_allow_rules";
	const unsigned int per_line = 1024, total = VW_MAX_RULES + 1;
	unsigned int i, line = 1, want_line = 0;
	struct vw_config cfg;
	char *errbuf = NULL, want[128];
	size_t errlen = 0;
	FILE *f, *ef;
	int rc;

	clean_dir();
	f = fopen("many.conf", "w");
	if (!f) {
		fail(name, "cannot write many.conf");
		return;
	}
	fputs("class sip 5060/udp\nallow sip 10.0.0.0 10.0.0.0\n", f);
	line++;
	for (i = 0; i < total; i++) {
		if (i % per_line == 0) {
			fputs(i ? "\nallow sip" : "allow sip", f);
			line++;
		}
		if (i == VW_MAX_RULES)
			want_line = line;
		/* 10.0.0.0 again first: a duplicate, not a new rule */
		fprintf(f, " 10.%u.%u.%u", i >> 16, (i >> 8) & 0xff, i & 0xff);
	}
	fputs("\n", f);
	fclose(f);
	ef = open_memstream(&errbuf, &errlen);
	rc = vw_config_load(&cfg, "many.conf", ef);
	fclose(ef);
	snprintf(want, sizeof(want), "many.conf:%u: too many allow rules (more than %u)\n", want_line,
		 VW_MAX_RULES);
	if (rc != -EINVAL || !errbuf || strcmp(errbuf, want))
		fail(name, "rc %d, output '%s', want '%s'", rc, errbuf ? errbuf : "", want);
	else
		pass(name);
	free(errbuf);
}

int main(void)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(tmpdir) || chdir(tmpdir)) {
		printf("FAIL setup: cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < ARRAY_LEN(cases); i++)
		run_case(&cases[i]);
	test_builtin();
	test_load_io_errors();
	test_buffer_and_confined();
	test_nul_byte();
	test_include_fanout();
	test_prefixes();
	test_address_text();
	test_class_mask();
	test_rules_random();
	test_rules_edge();
	test_assign_ids();
	test_assign_ids_full();
	test_split_parse();
	/* VW_TEST_QUICK (make mutate): the 1,000,000-line files take most of the run. */
	if (getenv("VW_TEST_QUICK"))
		printf("SKIP parse_1m_line_allow_file: VW_TEST_QUICK is set\n");
	else
		test_million_lines();
	if (getenv("VW_TEST_QUICK"))
		printf("SKIP error_too_many_allow_rules: VW_TEST_QUICK is set\n");
	else
		test_too_many_rules();

	remove_tmpdir();
	return failures ? 1 : 0;
}

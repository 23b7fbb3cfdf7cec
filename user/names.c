// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Name tables tied to the enums in include/voipwall.h. names.h declares them without a size, so
 * the assertions below see each table's real length: adding a value to an enum without a name
 * here fails the build. */
#include <stdio.h>
#include <string.h>
#include "names.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *const vw_verdict_names[] = {
	[VW_VERDICT_PASS] = "pass",
	[VW_VERDICT_DROP] = "drop",
	[VW_VERDICT_MONITOR] = "monitor",
};
_Static_assert(ARRAY_LEN(vw_verdict_names) == VW_VERDICT_MAX, "a verdict has no name");

const char *const vw_reason_names[] = {
	[VW_REASON_ALLOWLISTED] = "allowlisted",
	[VW_REASON_NOT_ALLOWLISTED] = "not_allowlisted",
	[VW_REASON_UNPROTECTED] = "unprotected",
	[VW_REASON_MALFORMED] = "malformed",
	[VW_REASON_FRAGMENT] = "fragment",
	[VW_REASON_FRAGMENT_UNKNOWN] = "fragment_unknown",
	[VW_REASON_NON_IP] = "non_ip",
	[VW_REASON_OPEN] = "open",
	[VW_REASON_RATE_LIMITED] = "rate_limited",
	[VW_REASON_BANNED] = "banned",
	[VW_REASON_BLOCKLISTED] = "blocklisted",
};
_Static_assert(ARRAY_LEN(vw_reason_names) == VW_REASON_MAX, "a reason has no name");

const char *const vw_l4_names[] = {
	[VW_L4_UDP] = "udp",
	[VW_L4_TCP] = "tcp",
	[VW_L4_SCTP] = "sctp",
};
_Static_assert(ARRAY_LEN(vw_l4_names) == VW_L4_MAX, "an L4 protocol has no name");

/* The words of `class ... policy NAME` in the config. */
const char *const vw_policy_names[] = {
	[VW_POLICY_DROP] = "drop",
	[VW_POLICY_MONITOR] = "monitor",
	[VW_POLICY_OPEN] = "open",
};
_Static_assert(ARRAY_LEN(vw_policy_names) == VW_POLICY_MAX, "a policy has no name");

static const char *name_of(const char *const *tab, unsigned int n, unsigned int v)
{
	return v < n && tab[v] ? tab[v] : "unknown";
}

const char *vw_verdict_name(unsigned int v)
{
	return name_of(vw_verdict_names, VW_VERDICT_MAX, v);
}

const char *vw_reason_name(unsigned int r)
{
	return name_of(vw_reason_names, VW_REASON_MAX, r);
}

const char *vw_l4_name(unsigned int p)
{
	return name_of(vw_l4_names, VW_L4_MAX, p);
}

const char *vw_policy_name(unsigned int p)
{
	return name_of(vw_policy_names, VW_POLICY_MAX, p);
}

int vw_policy_parse(const char *name)
{
	for (unsigned int p = 0; p < VW_POLICY_MAX; p++)
		if (!strcmp(vw_policy_names[p], name))
			return (int)p;
	return -1;
}

const char *vw_policy_list(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int p = 0; p < VW_POLICY_MAX && used < len; p++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 !p ? "" : p + 1 == VW_POLICY_MAX ? " or " : ", ",
					 vw_policy_names[p]);
	return buf;
}

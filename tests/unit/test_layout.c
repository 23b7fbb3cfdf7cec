// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The lists the build cannot check alone: the pin directory table of docs/cli.md against VW_MAPS,
 * the counter index against its inverse over every cell, and the name tables against parsing.
 * Run from the top of the tree (tests/run.sh does).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "maps.h"
#include "names.h"

#define CLI_DOC "docs/cli.md"

static int failures;

static void result(const char *name, bool ok, const char *why)
{
	if (ok) {
		printf("PASS %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, why);
		failures++;
	}
}

static int pinned_index(const char *name)
{
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++)
		if (!strcmp(vw_map_descs[i].name, name))
			return (int)i;
	return -1;
}

/* Every map the pin directory table of the doc names ("| `DIR/vw_a`, `DIR/vw_b` | ...") is a
 * PINNED map of VW_MAPS, and every PINNED map is in the table. */
static void doc_lists_every_pinned_map(void)
{
	bool documented[VW_NUM_MAPS] = {};
	char line[2048], why[512] = "";
	FILE *f = fopen(CLI_DOC, "r");

	if (!f) {
		result("doc_lists_every_pinned_map", false, "cannot open " CLI_DOC);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *cell_end = strstr(line, "` | ");

		/* a row of the table: its first cell names one map or more */
		if (strncmp(line, "| `DIR/", 7) || !cell_end)
			continue;
		*cell_end = '\0';
		for (char *p = line; (p = strstr(p, "`DIR/")); p += 5) {
			char name[64];
			int i;

			if (sscanf(p, "`DIR/%63[a-z0-9_]", name) != 1 || strncmp(name, "vw_", 3))
				continue;
			i = pinned_index(name);
			if (i < 0 && !why[0])
				snprintf(why, sizeof(why),
					 "%s documents DIR/%s, which is no PINNED map of VW_MAPS",
					 CLI_DOC, name);
			if (i >= 0)
				documented[i] = true;
		}
	}
	fclose(f);
	for (unsigned int i = 0; i < VW_NUM_MAPS && !why[0]; i++)
		if (!documented[i])
			snprintf(why, sizeof(why), "%s has no row for the pinned map %s", CLI_DOC,
				 vw_map_descs[i].name);
	result("doc_lists_every_pinned_map", !why[0], why);
}

/* The two kinds of map are apart: no map both pinned and program-only, no name twice. */
static void map_names_distinct(void)
{
	char why[256] = "";

	for (unsigned int i = 0; i < VW_NUM_MAPS && !why[0]; i++)
		if (pinned_index(vw_map_descs[i].name) != (int)i)
			snprintf(why, sizeof(why), "%s listed twice", vw_map_descs[i].name);
	for (unsigned int i = 0; i < VW_NUM_PROGRAM_MAPS - VW_NUM_MAPS && !why[0]; i++)
		if (pinned_index(vw_program_map_names[i]) >= 0 ||
		    strncmp(vw_program_map_names[i], "vw_", 3))
			snprintf(why, sizeof(why), "%s both pinned and program-only",
				 vw_program_map_names[i]);
	result("map_names_distinct", !why[0], why);
}

/* VW_COUNTER_SLOT/CLASS/VERDICT/REASON give back the parts of every cell's index, and the cells
 * cover 0..VW_COUNTERS-1 once each. */
static void counter_index_inverts(void)
{
	char why[256] = "";
	unsigned int next = 0;

	for (unsigned int s = 0; s < VW_IFACE_SLOTS && !why[0]; s++)
		for (unsigned int c = 0; c < VW_CLASS_SLOTS && !why[0]; c++)
			for (unsigned int v = 0; v < VW_VERDICT_MAX && !why[0]; v++)
				for (unsigned int r = 0; r < VW_REASON_MAX && !why[0]; r++) {
					unsigned int k = VW_COUNTER_INDEX(s, c, v, r);

					if (k == next++ && VW_COUNTER_SLOT(k) == s &&
					    VW_COUNTER_CLASS(k) == c &&
					    VW_COUNTER_VERDICT(k) == v && VW_COUNTER_REASON(k) == r)
						continue;
					snprintf(why, sizeof(why),
						 "cell (%u, %u, %u, %u) -> %u -> (%u, %u, %u, %u)",
						 s, c, v, r, k, VW_COUNTER_SLOT(k),
						 VW_COUNTER_CLASS(k), VW_COUNTER_VERDICT(k),
						 VW_COUNTER_REASON(k));
				}
	if (!why[0] && next != VW_COUNTERS)
		snprintf(why, sizeof(why), "%u cells, VW_COUNTERS is %u", next, VW_COUNTERS);
	result("counter_index_inverts", !why[0], why);
}

/* Every name is set and distinct within its table; policies parse back to their value. */
static void names_parse_back(void)
{
	const struct {
		const char *what;
		const char *(*name)(unsigned int);
		unsigned int n;
	} tabs[] = {
	    {"verdict", vw_verdict_name, VW_VERDICT_MAX},
	    {"reason", vw_reason_name, VW_REASON_MAX},
	    {"l4", vw_l4_name, VW_L4_MAX},
	    {"policy", vw_policy_name, VW_POLICY_MAX},
	};
	char why[256] = "", list[128];

	for (unsigned int t = 0; t < sizeof(tabs) / sizeof(tabs[0]) && !why[0]; t++)
		for (unsigned int a = 0; a < tabs[t].n && !why[0]; a++) {
			if (!strcmp(tabs[t].name(a), "unknown"))
				snprintf(why, sizeof(why), "%s %u has no name", tabs[t].what, a);
			for (unsigned int b = a + 1; b < tabs[t].n && !why[0]; b++)
				if (!strcmp(tabs[t].name(a), tabs[t].name(b)))
					snprintf(why, sizeof(why), "%ss %u and %u share a name",
						 tabs[t].what, a, b);
		}
	for (unsigned int p = 0; p < VW_POLICY_MAX && !why[0]; p++)
		if (vw_policy_parse(vw_policy_name(p)) != (int)p)
			snprintf(why, sizeof(why), "policy %u (%s) parses as %d", p,
				 vw_policy_name(p), vw_policy_parse(vw_policy_name(p)));
	if (!why[0] && vw_policy_parse("unknown") != -1)
		snprintf(why, sizeof(why), "'unknown' parses as a policy");
	vw_policy_list(list, sizeof(list));
	if (!why[0] && strcmp(list, "drop, monitor or open"))
		snprintf(why, sizeof(why), "the policy list reads '%s'", list);
	result("names_parse_back", !why[0], why);
}

int main(void)
{
	doc_lists_every_pinned_map();
	map_names_distinct();
	counter_index_inverts();
	names_parse_back();
	return failures ? 1 : 0;
}

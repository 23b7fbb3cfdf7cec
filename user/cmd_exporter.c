// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* voipwall exporter: serve the metrics of `stats --prometheus` over HTTP at /metrics, for hosts
 * without node_exporter. Each scrape opens the pinned maps afresh, so the exporter follows
 * loads, reloads and unloads without a restart, and holds nothing pinned open between scrapes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "http.h"
#include "log.h"
#include "pin.h"
#include "prom.h"

struct exporter {
	const char *pin_dir;
	int last_state; /* 1 loaded, 0 not, -1 unknown: said on stderr when it changes */
};

static volatile sig_atomic_t stop_serving;

static void on_signal(int sig)
{
	stop_serving = 1;
}

static int metrics(const char *path, FILE *body, const char **type, void *ctx)
{
	struct exporter *x = ctx;
	struct vw_maps m;
	int err, state;

	if (strcmp(path, "/metrics"))
		return 404;
	vw_maps_init(&m);
	err = vw_maps_open_pinned(x->pin_dir, &m);
	state = !err;
	if (state != x->last_state) {
		if (state)
			fprintf(stderr, "voipwall exporter: voipwall is loaded in %s\n", x->pin_dir);
		else
			fprintf(stderr, "voipwall exporter: voipwall is not loaded in %s (%s); "
					"serving voipwall_up 0\n",
				x->pin_dir,
				err == -ENOENT ? "nothing pinned" : vw_bpf_strerror(err));
		x->last_state = state;
	}
	err = vw_prom_write(body, state ? &m : NULL);
	vw_maps_close(&m);
	*type = VW_PROM_CONTENT_TYPE;
	return err ? 500 : 200;
}

int cmd_exporter(struct vw_cli *cli)
{
	struct exporter x = {.pin_dir = cli->pin_dir, .last_state = -1};
	const char *listen_on = cli->listen ? cli->listen : VW_EXPORTER_LISTEN;
	struct sigaction sa = {.sa_handler = on_signal};
	int lfd, err, rc;

	if (cli->argc) {
		pr_warn("exporter takes no arguments (--listen ADDR:PORT sets the address)\n");
		return -EINVAL;
	}
	rc = vw_cli_need_privs(cli);
	if (rc)
		return rc;
	lfd = vw_http_listen(listen_on);
	if (lfd < 0)
		return lfd == -EINVAL ? -EINVAL : -EIO;
	/* no SA_RESTART: a signal interrupts poll() so the loop sees it */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "voipwall exporter: serving http://%s/metrics for %s\n", listen_on,
		cli->pin_dir);
	err = vw_http_serve(lfd, metrics, &x, &stop_serving);
	close(lfd);
	if (err) {
		pr_warn("exporter: %s\n", strerror(-err));
		return -EIO;
	}
	fprintf(stderr, "voipwall exporter: stopped\n");
	return 0;
}

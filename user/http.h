/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small HTTP/1.1 server for the exporter: one thread, poll(), bounded everything. It answers
 * GET and HEAD of the paths the handler knows, one request per connection (Connection: close),
 * and closes connections that send too much or take too long. */
#ifndef VW_HTTP_H
#define VW_HTTP_H

#include <signal.h>
#include <stdio.h>

/* A request head (request line and headers) longer than this is refused (431): a scrape's is a
 * few hundred bytes. */
#define VW_HTTP_MAX_REQUEST 8192
/* Time a connection may take from accept to the last byte of the answer; a scrape takes
 * milliseconds, a client that trickles bytes (slowloris) is cut off. */
#define VW_HTTP_TIMEOUT_MS 10000
/* After answering, what a client still sends is read and discarded for this long at most, so
 * that closing does not reset the connection under the answer. */
#define VW_HTTP_DRAIN_MS 2000
/* Connections served at once; more wait in the listen backlog. */
#define VW_HTTP_MAX_CONNS 16

/* Writes the body for path to body and returns an HTTP status (200, or 404 for an unknown path,
 * 500 on failure); *content_type stays static. */
typedef int (*vw_http_handler)(const char *path, FILE *body, const char **content_type,
			       void *ctx);

/* Listen on "ADDR:PORT" (IPv4 "127.0.0.1:9725", IPv6 "[::1]:9725"; numeric only). Returns the
 * listening socket, or -errno after saying why. */
int vw_http_listen(const char *addr_port);
/* Serve on lfd until *stop is set (by a signal handler: poll is interrupted). 0 or -errno. */
int vw_http_serve(int lfd, vw_http_handler handler, void *ctx, volatile sig_atomic_t *stop);

#endif

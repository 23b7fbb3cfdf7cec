// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A small HTTP/1.1 server: poll() over the listening socket and at most VW_HTTP_MAX_CONNS
 * connections, each reading one request head into a fixed buffer, answering, closing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "http.h"
#include "log.h"

struct conn {
	int fd; /* -1: free */
	long long deadline_ms;
	size_t len;
	char req[VW_HTTP_MAX_REQUEST + 1];
	char *out; /* the whole answer, once known */
	size_t out_len, out_off;
	bool draining; /* answered: reading what the client still sends until it closes */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vw_http_listen(const char *addr_port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	char host[128], *port, *end;
	struct addrinfo *ai = NULL;
	int fd = -1, err, one = 1;
	long pnum;

	if (strlen(addr_port) >= sizeof(host))
		goto bad;
	strcpy(host, addr_port);
	port = strrchr(host, ':');
	if (!port || port == host)
		goto bad;
	*port++ = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			goto bad;
		host[n - 1] = '\0';
		memmove(host, host + 1, n - 1);
	} else if (strchr(host, ':')) {
		goto bad; /* IPv6 needs brackets */
	}
	errno = 0;
	pnum = strtol(port, &end, 10);
	if (errno || end == port || *end || pnum < 1 || pnum > 65535)
		goto bad;
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		pr_warn("--listen %s: %s\n", addr_port, gai_strerror(err));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		err = -errno;
		goto fail;
	}
	freeaddrinfo(ai);
	return fd;
fail:
	pr_warn("cannot listen on %s: %s\n", addr_port, strerror(-err));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return err;
bad:
	pr_warn("invalid --listen '%s' (ADDR:PORT, e.g. 127.0.0.1:9725 or [::1]:9725)\n",
		addr_port);
	return -EINVAL;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* Build the answer: status line, headers, and (unless head_only) the body. */
static int respond(struct conn *c, int status, const char *type, const char *body, size_t len,
		   bool head_only)
{
	FILE *f = open_memstream(&c->out, &c->out_len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
		reason_phrase(status), type, len);
	if (status == 405)
		fputs("Allow: GET, HEAD\r\n", f);
	fputs("Connection: close\r\n\r\n", f);
	if (!head_only && len)
		fwrite(body, 1, len, f);
	if (fclose(f)) {
		free(c->out);
		c->out = NULL;
		return -ENOMEM;
	}
	c->out_off = 0;
	return 0;
}

static int respond_text(struct conn *c, int status, bool head_only)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "%d %s\n", status, reason_phrase(status));

	return respond(c, status, "text/plain; charset=utf-8", msg, (size_t)n, head_only);
}

/* The request head is complete in c->req: parse the request line, call the handler. */
static int handle(struct conn *c, vw_http_handler handler, void *ctx)
{
	char *line_end = strpbrk(c->req, "\r\n"), *sp1, *sp2, *q;
	const char *type = "text/plain; charset=utf-8";
	bool head_only;
	char *body = NULL;
	size_t body_len = 0;
	FILE *f;
	int status, err;

	*line_end = '\0';
	sp1 = strchr(c->req, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || sp2 == sp1 + 1)
		return respond_text(c, 400, false);
	*sp1 = *sp2 = '\0';
	if (strcmp(sp2 + 1, "HTTP/1.1") && strcmp(sp2 + 1, "HTTP/1.0"))
		return respond_text(c, strncmp(sp2 + 1, "HTTP/", 5) ? 400 : 505, false);
	head_only = !strcmp(c->req, "HEAD");
	if (!head_only && strcmp(c->req, "GET"))
		return respond_text(c, 405, false);
	q = strchr(sp1 + 1, '?');
	if (q)
		*q = '\0';
	f = open_memstream(&body, &body_len);
	if (!f)
		return respond_text(c, 500, head_only);
	status = handler(sp1 + 1, f, &type, ctx);
	if (fclose(f))
		status = 500;
	if (status == 200)
		err = respond(c, 200, type, body, body_len, head_only);
	else
		err = respond_text(c, status, head_only);
	free(body);
	return err;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->len = 0;
	c->draining = false;
}

/* Answered and half-closed: discard what the client still sends until it closes. Closing with
 * unread data would make the kernel reset the connection, and the client could lose the answer
 * (a refused oversized request is still being sent when the 431 goes out). */
static void conn_drain(struct conn *c)
{
	char junk[4096];
	ssize_t n = recv(c->fd, junk, sizeof(junk), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		conn_close(c);
}

/* Read what is there; answer once the head is complete (or too long). */
static void conn_read(struct conn *c, vw_http_handler handler, void *ctx)
{
	ssize_t n = recv(c->fd, c->req + c->len, VW_HTTP_MAX_REQUEST - c->len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c); /* closed or reset before the head was complete */
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (memchr(c->req, '\0', c->len)) {
		if (respond_text(c, 400, false))
			conn_close(c);
	} else if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		if (handle(c, handler, ctx))
			conn_close(c);
	} else if (c->len == VW_HTTP_MAX_REQUEST) {
		if (respond_text(c, 431, false))
			conn_close(c);
	}
}

static void conn_write(struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len) {
		shutdown(c->fd, SHUT_WR);
		free(c->out);
		c->out = NULL;
		c->draining = true;
		if (c->deadline_ms > now_ms() + VW_HTTP_DRAIN_MS)
			c->deadline_ms = now_ms() + VW_HTTP_DRAIN_MS;
	}
}

int vw_http_serve(int lfd, vw_http_handler handler, void *ctx, volatile sig_atomic_t *stop)
{
	struct pollfd pfd[VW_HTTP_MAX_CONNS + 1];
	int which[VW_HTTP_MAX_CONNS + 1]; /* conns index of pfd[k], -1 for the listener */
	struct conn *conns;
	int err = 0;

	conns = calloc(VW_HTTP_MAX_CONNS, sizeof(*conns));
	if (!conns)
		return -ENOMEM;
	for (int i = 0; i < VW_HTTP_MAX_CONNS; i++)
		conns[i].fd = -1;
	while (!*stop) {
		long long now = now_ms(), wait = -1;
		int nfds = 0, used = 0, n;

		for (int i = 0; i < VW_HTTP_MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline_ms) {
				conn_close(c); /* too slow: no answer owed */
				continue;
			}
			used++;
			if (wait < 0 || c->deadline_ms - now < wait)
				wait = c->deadline_ms - now;
		}
		/* a full table leaves new connections in the backlog */
		if (used < VW_HTTP_MAX_CONNS) {
			which[nfds] = -1;
			pfd[nfds++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		}
		for (int i = 0; i < VW_HTTP_MAX_CONNS; i++) {
			if (conns[i].fd < 0)
				continue;
			which[nfds] = i;
			pfd[nfds++] = (struct pollfd){.fd = conns[i].fd,
						      .events = conns[i].out ? POLLOUT : POLLIN};
		}
		n = poll(pfd, nfds, (int)wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		for (int k = 0; k < nfds; k++) {
			struct conn *c = NULL;

			if (!pfd[k].revents)
				continue;
			if (which[k] < 0) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0)
					continue; /* EAGAIN, ECONNABORTED, EMFILE: try again later */
				for (int i = 0; i < VW_HTTP_MAX_CONNS && !c; i++)
					if (conns[i].fd < 0)
						c = &conns[i];
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				c->len = 0;
				c->draining = false;
				c->deadline_ms = now_ms() + VW_HTTP_TIMEOUT_MS;
				continue;
			}
			c = &conns[which[k]];
			if (c->fd != pfd[k].fd)
				continue; /* closed since (and maybe the slot taken by a new one) */
			if (c->draining)
				conn_drain(c);
			else if (c->out)
				conn_write(c);
			else
				conn_read(c, handler, ctx);
			/* answered at once: try to send it without another round of poll */
			if (c->fd >= 0 && !c->draining && c->out && c->out_off == 0)
				conn_write(c);
		}
	}
	for (int i = 0; i < VW_HTTP_MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			conn_close(&conns[i]);
	free(conns);
	return err;
}

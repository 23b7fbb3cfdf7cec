// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pcapng writer (see pcapng.h). Blocks are written in host byte order; the section header's
 * byte-order magic tells readers which one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pcapng.h"

#define BT_SHB 0x0A0D0D0AU
#define BT_IDB 0x00000001U
#define BT_EPB 0x00000006U
#define BYTE_ORDER_MAGIC 0x1A2B3C4DU

#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define EPB_FLAGS 2
#define EPB_FLAG_INBOUND 0x1U

#define PAD4(n) (((n) + 3) & ~(size_t)3)

static int reserve(struct vw_pcapng *w, size_t n)
{
	unsigned char *p;

	if (n <= w->cap)
		return 0;
	p = realloc(w->buf, n);
	if (!p)
		return -ENOMEM;
	w->buf = p;
	w->cap = n;
	return 0;
}

static size_t put32(unsigned char *p, size_t off, __u32 v)
{
	memcpy(p + off, &v, 4);
	return off + 4;
}

static size_t put16(unsigned char *p, size_t off, __u16 v)
{
	memcpy(p + off, &v, 2);
	return off + 2;
}

/* An option: code, length, value padded to 32 bits. */
static size_t put_opt(unsigned char *p, size_t off, __u16 code, const void *val, size_t len)
{
	off = put16(p, off, code);
	off = put16(p, off, (__u16)len);
	memcpy(p + off, val, len);
	memset(p + off + len, 0, PAD4(len) - len);
	return off + PAD4(len);
}

static size_t opt_size(size_t len)
{
	return 4 + PAD4(len);
}

/* Close a block that starts at 0 and ends at off: both length fields. */
static int finish(struct vw_pcapng *w, size_t off)
{
	size_t total = off + 4, done = 0;

	put32(w->buf, 4, (__u32)total);
	put32(w->buf, off, (__u32)total);
	while (done < total) {
		ssize_t n = write(w->fd, w->buf + done, total - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static size_t str_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0xfff0 ? 0xfff0 : n; /* an option holds at most 65535 bytes */
}

int vw_pcapng_open(struct vw_pcapng *w, int fd, const char *appl)
{
	size_t alen = str_len(appl), off;
	__u64 section_len = ~0ULL; /* unknown: the file is written as a stream */
	int err;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	err = reserve(w, 28 + opt_size(alen) + 4 + 4);
	if (err)
		return err;
	off = put32(w->buf, 0, BT_SHB);
	off = put32(w->buf, off, 0);
	off = put32(w->buf, off, BYTE_ORDER_MAGIC);
	off = put16(w->buf, off, 1); /* version 1.0 */
	off = put16(w->buf, off, 0);
	memcpy(w->buf + off, &section_len, 8);
	off += 8;
	if (alen)
		off = put_opt(w->buf, off, SHB_USERAPPL, appl, alen);
	off = put32(w->buf, off, OPT_ENDOFOPT);
	return finish(w, off);
}

int vw_pcapng_add_iface(struct vw_pcapng *w, __u32 ifindex, const char *name, const char *descr,
			__u32 snaplen)
{
	size_t nlen = str_len(name), dlen = str_len(descr), off;
	__u8 tsresol = 9; /* 10^-9 s */
	int err;

	if (w->nifaces >= VW_PCAPNG_MAX_IFACES)
		return -ENOSPC;
	err = reserve(w, 20 + opt_size(nlen) + opt_size(dlen) + opt_size(1) + 4 + 4);
	if (err)
		return err;
	off = put32(w->buf, 0, BT_IDB);
	off = put32(w->buf, off, 0);
	off = put16(w->buf, off, VW_PCAPNG_LINKTYPE_ETHERNET);
	off = put16(w->buf, off, 0);
	off = put32(w->buf, off, snaplen);
	if (nlen)
		off = put_opt(w->buf, off, IF_NAME, name, nlen);
	if (dlen)
		off = put_opt(w->buf, off, IF_DESCRIPTION, descr, dlen);
	off = put_opt(w->buf, off, IF_TSRESOL, &tsresol, 1);
	off = put32(w->buf, off, OPT_ENDOFOPT);
	err = finish(w, off);
	if (err)
		return err;
	w->ifindex[w->nifaces] = ifindex;
	return (int)w->nifaces++;
}

int vw_pcapng_iface_id(const struct vw_pcapng *w, __u32 ifindex)
{
	for (unsigned int i = 0; i < w->nifaces; i++)
		if (w->ifindex[i] == ifindex)
			return (int)i;
	return -1;
}

int vw_pcapng_packet(struct vw_pcapng *w, int iface_id, __u64 ts_ns, const void *data,
		     __u32 cap_len, __u32 orig_len, const char *comment)
{
	size_t clen = str_len(comment), off;
	__u32 flags = EPB_FLAG_INBOUND;
	int err;

	if (iface_id < 0 || (unsigned int)iface_id >= w->nifaces)
		return -EINVAL;
	err = reserve(w, 28 + PAD4(cap_len) + opt_size(clen) + opt_size(4) + 4 + 4);
	if (err)
		return err;
	off = put32(w->buf, 0, BT_EPB);
	off = put32(w->buf, off, 0);
	off = put32(w->buf, off, (__u32)iface_id);
	off = put32(w->buf, off, (__u32)(ts_ns >> 32));
	off = put32(w->buf, off, (__u32)ts_ns);
	off = put32(w->buf, off, cap_len);
	off = put32(w->buf, off, orig_len);
	memcpy(w->buf + off, data, cap_len);
	memset(w->buf + off + cap_len, 0, PAD4(cap_len) - cap_len);
	off += PAD4(cap_len);
	if (clen)
		off = put_opt(w->buf, off, OPT_COMMENT, comment, clen);
	off = put_opt(w->buf, off, EPB_FLAGS, &flags, 4);
	off = put32(w->buf, off, OPT_ENDOFOPT);
	return finish(w, off);
}

void vw_pcapng_close(struct vw_pcapng *w)
{
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Whether the host visibly uses a PCI function, so binding it away would cut the host's own
 * network, storage or console. Read once from proc/net/route, proc/net/ipv6_route,
 * proc/self/mountinfo and proc/swaps; per device from its sysfs net/ and block links.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "iommu-internal.h"

struct iov_inuse {
	struct iov_ctx *ctx;
	char *routes;       /* "iface flags\n" lines: 'D' default route, 'A' any other route */
	char *mounts;       /* "\nmajor:minor mountpoint" lines */
	char *swaps;        /* " name " list of swap devices (basename) */
	char **blocks;      /* sys/class/block entries */
	char **block_targets;   /* their link targets, same order */
};

static char *read_text(struct iov_ctx *ctx, const char *path)
{
	_cleanup_close_ int fd = iov_path_open(ctx, O_RDONLY, "%s", path);
	size_t cap = 0, len = 0;
	char *buf = NULL;

	if (fd < 0)
		return strdup("");
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *grown = realloc(buf, cap + 65536);

			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (!buf)
		return strdup("");
	buf[len] = '\0';
	return buf;
}

/* A digest of proc files: one short line out per line in, for cheap lookups later. */
struct digest {
	char *buf;
	size_t len, cap;
};

/*
 * Appends what @emit makes of each line of @path to @d. @emit writes at most @room bytes and
 * returns how many it wanted to write (snprintf style); a missing file adds nothing.
 */
static int digest_file(struct iov_ctx *ctx, const char *path, struct digest *d,
		       int (*emit)(char *line, char *out, size_t room))
{
	_cleanup_free_ char *text = read_text(ctx, path);
	char *save = NULL, *grown;

	if (!text)
		return -ENOMEM;
	grown = realloc(d->buf, d->len + strlen(text) + 2);
	if (!grown)
		return -ENOMEM;
	d->buf = grown;
	d->cap = d->len + strlen(text) + 2;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int n = emit(line, d->buf + d->len, d->cap - d->len);

		if (n > 0)
			d->len += (size_t)n < d->cap - d->len ? (size_t)n : d->cap - d->len - 1;
	}
	d->buf[d->len] = '\0';
	return 0;
}

/* IPv4 routes ("Iface Destination Gateway Flags RefCnt Use Metric Mask ...", hex fields) as
 * "iface D\n" for a default route, "iface A\n" for any other. */
static int emit_route4(char *line, char *out, size_t room)
{
	char iface[64], dest[16], mask[16] = "";

	if (sscanf(line, "%63s %15s %*s %*s %*s %*s %*s %15s", iface, dest, mask) < 2 || !strcmp(iface, "Iface"))
		return 0;
	return snprintf(out, room, "%s %c\n", iface, !strcmp(dest, "00000000") && !strcmp(mask, "00000000") ? 'D' : 'A');
}

/* IPv6 routes ("dest plen src splen next metric ref use flags iface") likewise; link-local and
 * multicast routes exist on every up interface and say nothing. */
static int emit_route6(char *line, char *out, size_t room)
{
	char dest[40], iface[64];
	unsigned int plen;

	if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %*s %63s", dest, &plen, iface) != 3 || !strcmp(iface, "lo") ||
	    !strncmp(dest, "fe80", 4) || !strncmp(dest, "ff", 2))
		return 0;
	return snprintf(out, room, "%s %c\n", iface, plen == 0 ? 'D' : 'A');
}

/* Mounts (mountinfo fields 3 and 5) as "\nmaj:min mountpoint". */
static int emit_mount(char *line, char *out, size_t room)
{
	char majmin[32], where[4096];

	if (sscanf(line, "%*s %*s %31s %*s %4095s", majmin, where) != 2)
		return 0;
	return snprintf(out, room, "\n%s %s", majmin, where);
}

/* Swap devices ("/dev/nvme0n1p3 partition ...") as "name " after a leading space. */
static int emit_swap(char *line, char *out, size_t room)
{
	char name[256];
	const char *base;

	if (sscanf(line, "%255s", name) != 1 || !strcmp(name, "Filename"))
		return 0;
	base = strrchr(name, '/');
	return snprintf(out, room, "%s ", base ? base + 1 : name);
}

/* Where device @majmin is mounted (the first mount), into @where; 0 if it is not. */
static int mount_point(const char *mounts, const char *majmin, char *where, size_t size)
{
	char key[40];
	const char *hit, *end;

	snprintf(key, sizeof(key), "\n%s ", majmin);
	hit = strstr(mounts, key);
	if (!hit)
		return 0;
	hit += strlen(key);
	end = strchr(hit, '\n');
	snprintf(where, size, "%.*s", (int)(end ? (size_t)(end - hit) : strlen(hit)), hit);
	return 1;
}

IOV_EXPORT void iov_inuse_free(struct iov_inuse *u)
{
	if (!u)
		return;
	free(u->routes);
	free(u->mounts);
	free(u->swaps);
	iov_strv_free(u->blocks);
	iov_strv_free(u->block_targets);
	free(u);
}

IOV_EXPORT int iov_inuse_new(struct iov_ctx *ctx, struct iov_inuse **ret)
{
	struct iov_inuse *u = calloc(1, sizeof(*u));
	int n, r;

	if (!u)
		return -ENOMEM;
	u->ctx = ctx;
	{
		struct digest routes = { 0 }, mounts = { 0 }, swaps = { .buf = strdup(" "), .len = 1, .cap = 2 };

		r = swaps.buf ? 0 : -ENOMEM;
		if (r == 0)
			r = digest_file(ctx, "proc/net/route", &routes, emit_route4);
		if (r == 0)
			r = digest_file(ctx, "proc/net/ipv6_route", &routes, emit_route6);
		if (r == 0)
			r = digest_file(ctx, "proc/self/mountinfo", &mounts, emit_mount);
		if (r == 0)
			r = digest_file(ctx, "proc/swaps", &swaps, emit_swap);
		u->routes = routes.buf;
		u->mounts = mounts.buf;
		u->swaps = swaps.buf;
	}
	if (r < 0)
		goto err;
	n = iov_dir_list(ctx, &u->blocks, "sys/class/block");
	if (n < 0 && n != -ENOENT) {
		r = n;
		goto err;
	}
	if (n < 0)
		n = 0;
	u->block_targets = calloc((size_t)n + 1, sizeof(char *));
	if (!u->block_targets) {
		r = -ENOMEM;
		goto err;
	}
	for (int i = 0; i < n; i++) {
		char target[PATH_MAX];

		if (iov_link_read(ctx, target, sizeof(target), "sys/class/block/%s", u->blocks[i]) < 0)
			target[0] = '\0';
		u->block_targets[i] = strdup(target);
		if (!u->block_targets[i]) {
			r = -ENOMEM;
			goto err;
		}
	}
	*ret = u;
	return 0;
err:
	iov_inuse_free(u);
	return r;
}

static int net_in_use(struct iov_inuse *u, const char *bdf, char *why, size_t size)
{
	char **ifaces = NULL;
	int n, found = 0;

	n = iov_dir_list(u->ctx, &ifaces, PCI_DEV_DIR "/net", bdf);
	for (int i = 0; n > 0 && ifaces[i] && !found; i++) {
		char want_d[80], want_a[80];

		snprintf(want_d, sizeof(want_d), "%s D\n", ifaces[i]);
		snprintf(want_a, sizeof(want_a), "%s A\n", ifaces[i]);
		/* Lines start at the buffer's start or after a newline. */
		for (const char *p = u->routes; p && *p && !found; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			if (!strncmp(p, want_d, strlen(want_d))) {
				snprintf(why, size, "%s: its interface %s carries the default route", bdf, ifaces[i]);
				found = 1;
			} else if (!strncmp(p, want_a, strlen(want_a))) {
				snprintf(why, size, "%s: its interface %s has an address (it has routes)", bdf, ifaces[i]);
				found = 1;
			}
		}
	}
	iov_strv_free(ifaces);
	return found;
}

static int block_in_use(struct iov_inuse *u, const char *bdf, char *why, size_t size)
{
	char needle[IOV_BDF_LEN + 2];

	snprintf(needle, sizeof(needle), "/%s/", bdf);
	for (size_t i = 0; u->blocks && u->blocks[i]; i++) {
		char majmin[32], key[40], where[256], **holders = NULL;
		int nh;

		if (!strstr(u->block_targets[i], needle))
			continue;
		if (iov_attr_read(u->ctx, majmin, sizeof(majmin), "sys/class/block/%s/dev", u->blocks[i]) > 0 &&
		    mount_point(u->mounts, majmin, where, sizeof(where))) {
			snprintf(why, size, "%s: its block device %s is mounted on %s", bdf, u->blocks[i], where);
			return 1;
		}
		snprintf(key, sizeof(key), " %s ", u->blocks[i]);
		if (strstr(u->swaps, key)) {
			snprintf(why, size, "%s: its block device %s is used for swap", bdf, u->blocks[i]);
			return 1;
		}
		nh = iov_dir_list(u->ctx, &holders, "sys/class/block/%s/holders", u->blocks[i]);
		if (nh > 0) {
			snprintf(why, size, "%s: its block device %s is held by %s (device-mapper, md or similar)", bdf,
				 u->blocks[i], holders[0]);
			iov_strv_free(holders);
			return 1;
		}
		iov_strv_free(holders);
	}
	return 0;
}

IOV_EXPORT int iov_inuse_check(struct iov_inuse *u, const struct iov_pci_dev *d, char *why, size_t size)
{
	if (d->boot_vga) {
		snprintf(why, size, "%s is the boot VGA device (the host's console)", d->bdf);
		return 1;
	}
	if (net_in_use(u, d->bdf, why, size))
		return 1;
	return block_in_use(u, d->bdf, why, size);
}

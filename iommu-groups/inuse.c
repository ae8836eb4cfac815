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

/* Appends "iface kind\n" for each route: kind D for a default route, A for any other. */
static int collect_routes(struct iov_ctx *ctx, char **out)
{
	_cleanup_free_ char *v4 = read_text(ctx, "proc/net/route"), *v6 = read_text(ctx, "proc/net/ipv6_route");
	size_t cap = 1, len = 0;
	char *save = NULL, *res;

	if (!v4 || !v6)
		return -ENOMEM;
	cap += strlen(v4) + strlen(v6);
	res = calloc(1, cap);
	if (!res)
		return -ENOMEM;
	/* IPv4: "Iface Destination Gateway Flags RefCnt Use Metric Mask ..." with hex fields. */
	for (char *line = strtok_r(v4, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char iface[64], dest[16], mask[16] = "";

		if (sscanf(line, "%63s %15s %*s %*s %*s %*s %*s %15s", iface, dest, mask) < 2 || !strcmp(iface, "Iface"))
			continue;
		len += (size_t)snprintf(res + len, cap - len, "%s %c\n", iface,
					!strcmp(dest, "00000000") && !strcmp(mask, "00000000") ? 'D' : 'A');
	}
	/* IPv6: "dest plen src splen next metric ref use flags iface"; link-local and multicast say nothing. */
	save = NULL;
	for (char *line = strtok_r(v6, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dest[40], iface[64];
		unsigned int plen;

		if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %*s %63s", dest, &plen, iface) != 3)
			continue;
		if (!strcmp(iface, "lo") || !strncmp(dest, "fe80", 4) || !strncmp(dest, "ff", 2))
			continue;
		len += (size_t)snprintf(res + len, cap - len, "%s %c\n", iface, plen == 0 ? 'D' : 'A');
	}
	*out = res;
	return 0;
}

/* "\nmaj:min mountpoint" for every mounted filesystem (mountinfo fields 3 and 5). */
static int collect_mounts(struct iov_ctx *ctx, char **out)
{
	_cleanup_free_ char *info = read_text(ctx, "proc/self/mountinfo");
	char *save = NULL, *res;
	size_t cap, len = 0;

	if (!info)
		return -ENOMEM;
	cap = strlen(info) + 2;
	res = calloc(1, cap);
	if (!res)
		return -ENOMEM;
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char majmin[32], where[4096];

		if (sscanf(line, "%*s %*s %31s %*s %4095s", majmin, where) == 2)
			len += (size_t)snprintf(res + len, cap - len, "\n%s %s", majmin, where);
	}
	*out = res;
	return 0;
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

/* " name " for every swap device in proc/swaps ("/dev/nvme0n1p3 partition ..."). */
static int collect_swaps(struct iov_ctx *ctx, char **out)
{
	_cleanup_free_ char *text = read_text(ctx, "proc/swaps");
	char *save = NULL, *res;
	size_t cap, len = 0;

	if (!text)
		return -ENOMEM;
	cap = strlen(text) + 2;
	res = calloc(1, cap);
	if (!res)
		return -ENOMEM;
	res[len++] = ' ';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256];
		const char *base;

		if (sscanf(line, "%255s", name) != 1 || !strcmp(name, "Filename"))
			continue;
		base = strrchr(name, '/');
		len += (size_t)snprintf(res + len, cap - len, "%s ", base ? base + 1 : name);
	}
	*out = res;
	return 0;
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
	r = collect_routes(ctx, &u->routes);
	if (r == 0)
		r = collect_mounts(ctx, &u->mounts);
	if (r == 0)
		r = collect_swaps(ctx, &u->swaps);
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

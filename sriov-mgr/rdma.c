/* SPDX-License-Identifier: MIT */
/*
 * RDMA devices and the PCI functions they belong to, from sys/class/infiniband (the tree
 * rdma-core's libibverbs enumerates; Documentation/ABI/stable/sysfs-class-infiniband): a
 * hardware device links to its function ("device"); a software one (rxe, siw) has no such
 * link and names its network interface in "parent" and in its ports' gid_attrs/ndevs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/common-internal.h"
#include "iovkit/sriov.h"

#define IB "sys/class/infiniband/%s"

/* "5054:00ff:fe10:0001" -> 0x505400fffe100001 */
static uint64_t guid_parse(const char *s)
{
	uint64_t v = 0;

	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f' ? (*s | 0x20) - 'a' + 10 : -1;

		if (d >= 0)
			v = v << 4 | (uint64_t)d;
	}
	return v;
}

static void fill_one(struct iov_ctx *ctx, const char *name, struct iov_rdma_dev *d)
{
	char buf[64], **ports = NULL;
	const char *colon;
	int n;

	snprintf(d->name, sizeof(d->name), "%s", name);
	if (iov_attr_read(ctx, buf, sizeof(buf), IB "/node_guid", name) > 0)
		d->node_guid = guid_parse(buf);
	n = iov_dir_list(ctx, &ports, IB "/ports", name);
	d->ports = n > 0 ? (unsigned int)n : 0;
	iov_strv_free(ports);
	iov_attr_read(ctx, d->link_layer, sizeof(d->link_layer), IB "/ports/1/link_layer", name);
	if (iov_attr_read(ctx, buf, sizeof(buf), IB "/ports/1/state", name) > 0) {
		colon = strchr(buf, ':');   /* "4: ACTIVE" */
		snprintf(d->state, sizeof(d->state), "%s", colon ? colon + 2 : buf);
	}

	/* A hardware device is its PCI function; a software one runs on a netdev. */
	if (iov_link_basename(ctx, buf, sizeof(buf), IB "/device", name) > 0 && iov_pci_bdf_parse(buf, d->bdf) == 0) {
		char **net = NULL;

		if (iov_dir_list(ctx, &net, "sys/bus/pci/devices/%s/net", d->bdf) > 0)
			snprintf(d->netdev, sizeof(d->netdev), "%s", net[0]);
		iov_strv_free(net);
		return;
	}
	d->soft = true;
	if (iov_attr_read(ctx, d->netdev, sizeof(d->netdev), IB "/parent", name) <= 0 &&
	    iov_attr_read(ctx, d->netdev, sizeof(d->netdev), IB "/ports/1/gid_attrs/ndevs/0", name) <= 0)
		d->netdev[0] = '\0';
	if (d->netdev[0] && iov_link_basename(ctx, buf, sizeof(buf), "sys/class/net/%s/device", d->netdev) > 0 &&
	    iov_pci_bdf_parse(buf, d->bdf) < 0)
		d->bdf[0] = '\0';
}

IOV_EXPORT int iov_rdma_list(struct iov_ctx *ctx, struct iov_rdma_dev **ret)
{
	struct iov_rdma_dev *devs;
	char **names = NULL;
	int n;

	n = iov_dir_list(ctx, &names, "sys/class/infiniband");
	if (n == -ENOENT)
		n = 0, names = NULL;
	if (n < 0)
		return n;
	devs = calloc((size_t)n + 1, sizeof(*devs));
	if (!devs) {
		iov_strv_free(names);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		fill_one(ctx, names[i], &devs[i]);
	iov_strv_free(names);
	*ret = devs;
	return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * VF settings over rtnetlink with libnl-route-3: a link change on the PF (libnl sends it as
 * RTM_NEWLINK on the existing ifindex, as iproute2's "ip link set ... vf" does; the kernel
 * applies it through do_setlink()) with IFLA_VFINFO_LIST / IFLA_VF_INFO (IFLA_VF_MAC, IFLA_VF_VLAN_LIST, IFLA_VF_SPOOFCHK,
 * IFLA_VF_TRUST, IFLA_VF_LINK_STATE, IFLA_VF_RATE), and RTM_GETLINK with IFLA_EXT_MASK
 * RTEXT_FILTER_VF to read them back (include/uapi/linux/if_link.h).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>

#include "../common/common-internal.h"
#include "vfnet-internal.h"

IOV_EXPORT int iov_vf_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int n = 0;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &n) != 6 ||
	    (size_t)n != strlen(s) || n != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

IOV_EXPORT int iov_vf_pf_netdev(struct iov_ctx *ctx, const char *pf, char *buf, size_t size)
{
	char bdf[IOV_BDF_LEN], **net = NULL;
	int n;

	if (iov_pci_bdf_parse(pf, bdf) < 0) {
		snprintf(buf, size, "%s", pf);
		return 0;
	}
	n = iov_dir_list(ctx, &net, "sys/bus/pci/devices/%s/net", bdf);
	if (n > 0)
		snprintf(buf, size, "%s", net[0]);
	iov_strv_free(net);
	if (n <= 0)
		return iov_ctx_fail(ctx, -ENODEV, "%s has no network interface (VF settings go through the PF's netdev)",
				    bdf);
	return 0;
}

int vf_settings_check(const struct iov_vf_settings *s, char *why, size_t size)
{
	if ((s->fields & IOV_VF_SET_MAC) && (s->mac[0] & 1)) {
		snprintf(why, size, "%02x:%02x:%02x:%02x:%02x:%02x is a multicast address; a VF needs a unicast one", s->mac[0],
			 s->mac[1], s->mac[2], s->mac[3], s->mac[4], s->mac[5]);
		return -EINVAL;
	}
	if (s->fields & IOV_VF_SET_VLAN) {
		if (s->vlan > 4094) {
			snprintf(why, size, "VLAN %u is out of range (0-4094)", s->vlan);
			return -EINVAL;
		}
		if (s->qos > 7) {
			snprintf(why, size, "QoS %u is out of range (0-7)", s->qos);
			return -EINVAL;
		}
		if (s->vlan_proto && s->vlan_proto != 0x8100 && s->vlan_proto != 0x88a8) {
			snprintf(why, size, "VLAN protocol 0x%04x is neither 802.1Q (0x8100) nor 802.1ad (0x88a8)", s->vlan_proto);
			return -EINVAL;
		}
		if (!s->vlan && s->qos) {
			snprintf(why, size, "a QoS needs a VLAN");
			return -EINVAL;
		}
	}
	if ((s->fields & IOV_VF_SET_LINK_STATE) && (unsigned int)s->link_state > IOV_VF_LINK_DISABLE) {
		snprintf(why, size, "link state %d is not auto, enable or disable", (int)s->link_state);
		return -EINVAL;
	}
	if ((s->fields & IOV_VF_SET_RATE) && s->max_tx_rate && s->min_tx_rate > s->max_tx_rate) {
		snprintf(why, size, "the minimum rate %u Mbit/s is above the maximum %u", s->min_tx_rate, s->max_tx_rate);
		return -EINVAL;
	}
	if ((s->fields & IOV_VF_SET_IB_GUIDS) && (!s->node_guid || !s->port_guid)) {
		snprintf(why, size, "InfiniBand VFs need both a node and a port GUID, neither zero");
		return -EINVAL;
	}
	if (!s->fields) {
		snprintf(why, size, "nothing to set");
		return -EINVAL;
	}
	return 0;
}

int vf_build_setlink(int ifindex, unsigned int vf, const struct iov_vf_settings *s, struct nl_msg **ret)
{
	struct rtnl_link *orig = rtnl_link_alloc(), *changes = rtnl_link_alloc();
	struct rtnl_link_vf *v = rtnl_link_vf_alloc();
	nl_vf_vlans_t *vlans = NULL;
	int r = -ENOMEM;

	if (!orig || !changes || !v)
		goto out;
	rtnl_link_set_ifindex(orig, ifindex);
	rtnl_link_vf_set_index(v, vf);
	if (s->fields & IOV_VF_SET_MAC) {
		struct nl_addr *addr = nl_addr_build(AF_LLC, s->mac, 6);

		if (!addr)
			goto out;
		rtnl_link_vf_set_addr(v, addr);
		nl_addr_put(addr);
	}
	if (s->fields & IOV_VF_SET_VLAN) {
		if (rtnl_link_vf_vlan_alloc(&vlans, 1) < 0)
			goto out;
		vlans->vlans[0].vf_vlan = s->vlan;
		vlans->vlans[0].vf_vlan_qos = s->qos;
		/* libnl copies this field to the wire as is when building (network order)... */
		vlans->vlans[0].vf_vlan_proto = htons(s->vlan_proto ? s->vlan_proto : 0x8100);
		rtnl_link_vf_set_vlans(v, vlans);
	}
	if (s->fields & IOV_VF_SET_SPOOFCHK)
		rtnl_link_vf_set_spoofchk(v, s->spoofchk);
	if (s->fields & IOV_VF_SET_TRUST)
		rtnl_link_vf_set_trust(v, s->trust);
	if (s->fields & IOV_VF_SET_LINK_STATE)
		rtnl_link_vf_set_linkstate(v, (uint32_t)s->link_state);
	if (s->fields & IOV_VF_SET_RATE) {
		struct nl_vf_rate rate = { .api = RTNL_LINK_VF_RATE_API_NEW, .min_tx_rate = s->min_tx_rate,
					   .max_tx_rate = s->max_tx_rate };

		rtnl_link_vf_set_rate(v, &rate);
	}
	if (s->fields & IOV_VF_SET_IB_GUIDS) {
		rtnl_link_vf_set_ib_node_guid(v, s->node_guid);
		rtnl_link_vf_set_ib_port_guid(v, s->port_guid);
	}
	r = rtnl_link_vf_add(changes, v);
	if (r < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = rtnl_link_build_change_request(orig, changes, 0, ret);
	r = r < 0 ? -EINVAL : 0;
out:
	if (vlans)
		rtnl_link_vf_vlan_put(vlans);
	rtnl_link_vf_put(v);
	rtnl_link_put(changes);
	rtnl_link_put(orig);
	return r;
}

struct parse_state {
	unsigned int vf;
	struct iov_vf_settings *out;
	int r;
};

static void parsed_link(struct nl_object *obj, void *arg)
{
	struct parse_state *st = arg;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	struct rtnl_link_vf *v = rtnl_link_vf_get(link, st->vf);
	struct iov_vf_settings s = { 0 };
	struct nl_addr *addr = NULL;
	nl_vf_vlans_t *vlans = NULL;
	struct nl_vf_rate rate = { 0 };
	uint32_t u;

	if (!v)
		return;
	if (rtnl_link_vf_get_addr(v, &addr) == 0 && addr && nl_addr_get_len(addr) >= 6) {
		memcpy(s.mac, nl_addr_get_binary_addr(addr), 6);
		s.fields |= IOV_VF_SET_MAC;
	}
	if (rtnl_link_vf_get_vlans(v, &vlans) == 0 && vlans && vlans->size > 0) {
		s.vlan = (uint16_t)vlans->vlans[0].vf_vlan;
		s.qos = (uint8_t)vlans->vlans[0].vf_vlan_qos;
		s.vlan_proto = vlans->vlans[0].vf_vlan_proto;   /* ...but converts it to host order when parsing */
		s.fields |= IOV_VF_SET_VLAN;
	}
	if (vlans)
		rtnl_link_vf_vlan_put(vlans);   /* rtnl_link_vf_get_vlans() took a reference */
	if (rtnl_link_vf_get_spoofchk(v, &u) == 0) {
		s.spoofchk = u == 1;
		s.fields |= IOV_VF_SET_SPOOFCHK;
	}
	if (rtnl_link_vf_get_trust(v, &u) == 0) {
		s.trust = u == 1;
		s.fields |= IOV_VF_SET_TRUST;
	}
	if (rtnl_link_vf_get_linkstate(v, &u) == 0) {
		s.link_state = (enum iov_vf_link_state)u;
		s.fields |= IOV_VF_SET_LINK_STATE;
	}
	if (rtnl_link_vf_get_rate(v, &rate) == 0) {
		s.min_tx_rate = rate.min_tx_rate;
		s.max_tx_rate = rate.api == RTNL_LINK_VF_RATE_API_OLD ? rate.rate : rate.max_tx_rate;
		s.fields |= IOV_VF_SET_RATE;
	}
	rtnl_link_vf_put(v);
	*st->out = s;
	st->r = 0;
}

int vf_parse_newlink(struct nl_msg *msg, unsigned int vf, struct iov_vf_settings *ret)
{
	struct parse_state st = { .vf = vf, .out = ret, .r = -ENOENT };

	nlmsg_set_proto(msg, NETLINK_ROUTE);   /* libnl picks the parser by protocol and type */
	if (nl_msg_parse(msg, parsed_link, &st) < 0)
		return -EBADMSG;
	return st.r;
}

/* The interface's index, and that @vf exists on its device. */
static int pf_lookup(struct iov_ctx *ctx, const char *netdev, unsigned int vf)
{
	uint64_t numvfs = 0;
	unsigned int idx;

	if (!netdev || !*netdev || strchr(netdev, '/') || strlen(netdev) >= IFNAMSIZ)
		return iov_ctx_fail(ctx, -EINVAL, "'%s' is not an interface name", netdev ? netdev : "");
	idx = if_nametoindex(netdev);
	if (!idx)
		return iov_ctx_fail(ctx, -ENODEV, "%s: no such network interface", netdev);
	if (iov_attr_read_u64(ctx, &numvfs, "sys/class/net/%s/device/sriov_numvfs", netdev) < 0)
		return iov_ctx_fail(ctx, -EOPNOTSUPP, "%s is not on an SR-IOV PF", netdev);
	if (vf >= numvfs)
		return iov_ctx_fail(ctx, -ERANGE, "%s has %llu VFs; VF %u does not exist", netdev, (unsigned long long)numvfs, vf);
	return (int)idx;
}

static int nl_err(int e)
{
	/* libnl error codes back to errno, for the ones a driver gives. */
	switch (e < 0 ? -e : e) {
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_PERM: return -EPERM;
	case NLE_NODEV: return -ENODEV;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_BUSY: return -EBUSY;
	case NLE_NOMEM: return -ENOMEM;
	default: return -EIO;
	}
}

/* One RTM_SETLINK request with @s's settings for VF @vf of interface @idx. */
static int vf_send(struct iov_ctx *ctx, int idx, const char *pf_netdev, unsigned int vf, const struct iov_vf_settings *s)
{
	struct nl_sock *sock = NULL;
	struct nl_msg *msg = NULL;
	int r;

	if (ctx->vf_store)
		return ctx->vf_store(ctx->vf_store_userdata, pf_netdev, vf, s);
	r = vf_build_setlink(idx, vf, s, &msg);
	if (r < 0)
		return r;
	sock = nl_socket_alloc();
	if (!sock || nl_connect(sock, NETLINK_ROUTE) < 0) {
		r = -EIO;
	} else {
		r = nl_send_auto_complete(sock, msg);
		if (r >= 0)
			r = nl_wait_for_ack(sock);
		r = r < 0 ? nl_err(r) : 0;
	}
	nlmsg_free(msg);
	nl_socket_free(sock);
	return r;
}

/*
 * The settings one at a time, in the order the kernel applies them within one request
 * (do_setvfinfo): it stops at the first a driver refuses, having applied those before, so one
 * request per setting is no less atomic and says which one the driver lacks.
 */
static const struct {
	enum iov_vf_set_field field;
	const char *name;
} vf_steps[] = {
	{ IOV_VF_SET_MAC, "MAC address" },
	{ IOV_VF_SET_VLAN, "port VLAN" },
	{ IOV_VF_SET_RATE, "transmit rate limits" },
	{ IOV_VF_SET_SPOOFCHK, "spoof check" },
	{ IOV_VF_SET_LINK_STATE, "link state" },
	{ IOV_VF_SET_TRUST, "trust" },
	{ IOV_VF_SET_IB_GUIDS, "InfiniBand GUIDs" },
};

IOV_EXPORT int iov_vf_set(struct iov_ctx *ctx, const char *pf_netdev, unsigned int vf, const struct iov_vf_settings *s)
{
	char why[200], done[160] = "", driver[64] = "";
	int idx = -1, r;

	iov_ctx_reason_clear(ctx);
	r = vf_settings_check(s, why, sizeof(why));
	if (r < 0)
		return iov_ctx_fail(ctx, r, "VF %u of %s: %s", vf, pf_netdev ? pf_netdev : "?", why);
	if (!ctx->vf_store) {
		idx = pf_lookup(ctx, pf_netdev, vf);
		if (idx < 0)
			return idx;
	}
	for (size_t i = 0; i < ARRAY_SIZE(vf_steps); i++) {
		struct iov_vf_settings one = *s;

		if (!(s->fields & vf_steps[i].field))
			continue;
		one.fields = vf_steps[i].field;
		r = vf_send(ctx, idx, pf_netdev, vf, &one);
		if (r == 0) {
			size_t used = strlen(done);

			snprintf(done + used, sizeof(done) - used, "%s%s", used ? ", " : "", vf_steps[i].name);
			continue;
		}
		iov_link_basename(ctx, driver, sizeof(driver), "sys/class/net/%s/device/driver", pf_netdev);
		return iov_ctx_fail(ctx, r, "VF %u of %s: %s%s%s %s the %s: %s%s%s%s", vf, pf_netdev,
				    driver[0] ? "the " : "the PF's driver", driver, driver[0] ? " driver" : "",
				    r == -EOPNOTSUPP ? "does not support setting" : "refused", vf_steps[i].name,
				    iov_strerror(r), done[0] ? " (set before it: " : " (nothing was set)", done,
				    done[0] ? ")" : "");
	}
	return 0;
}

IOV_EXPORT int iov_vf_get(struct iov_ctx *ctx, const char *pf_netdev, unsigned int vf, struct iov_vf_settings *ret)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_sock *sock = NULL;
	struct nl_msg *req = NULL, *reply = NULL;
	struct sockaddr_nl peer;
	unsigned char *buf = NULL;
	int idx, r, n;

	iov_ctx_reason_clear(ctx);
	idx = pf_lookup(ctx, pf_netdev, vf);
	if (idx < 0)
		return idx;
	ifi.ifi_index = idx;
	sock = nl_socket_alloc();
	req = nlmsg_alloc_simple(RTM_GETLINK, 0);
	if (!sock || !req || nl_connect(sock, NETLINK_ROUTE) < 0 || nlmsg_append(req, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(req, IFLA_EXT_MASK, RTEXT_FILTER_VF) < 0 || nl_send_auto(sock, req) < 0) {
		r = iov_ctx_fail(ctx, -EIO, "%s: cannot ask the kernel for its VFs", pf_netdev);
		goto out;
	}
	n = nl_recv(sock, &peer, &buf, NULL);
	if (n <= 0) {
		r = iov_ctx_fail(ctx, -EIO, "%s: no answer about its VFs", pf_netdev);
		goto out;
	}
	reply = nlmsg_convert((struct nlmsghdr *)buf);
	r = reply ? vf_parse_newlink(reply, vf, ret) : -ENOMEM;
	if (r == -ENOENT)
		iov_ctx_fail(ctx, r, "%s: the kernel reported no VF %u", pf_netdev, vf);
out:
	free(buf);
	nlmsg_free(reply);
	nlmsg_free(req);
	nl_socket_free(sock);
	return r;
}

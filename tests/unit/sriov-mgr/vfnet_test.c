/* SPDX-License-Identifier: MIT */
/*
 * VF settings over netlink without a NIC: checking, the link-change request as libnl builds it
 * (read back attribute by attribute with libnl's generic parser), and VF state parsed from an
 * RTM_NEWLINK laid out as the kernel's rtnl_fill_vfinfo() lays it out.
 */
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "../helpers/unit.h"
#include "../../../sriov-mgr/vfnet-internal.h"

static void test_mac_parse(void)
{
	uint8_t mac[6] = { 0 };

	ASSERT_OK(iov_vf_mac_parse("02:00:5e:10:00:0A", mac));
	ASSERT_INT_EQ(mac[5], 0x0a);
	const char *bad[] = { "", "02:00:5e:10:00", "02:00:5e:10:00:0a:01", "02-00-5e-10-00-0a", "0g:00:5e:10:00:0a",
			      "2:0:5e:10:0:a" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		unit_check(iov_vf_mac_parse(bad[i], mac) == -EINVAL, __LINE__, __FILE__, "'%s' accepted", bad[i]);
}

static void test_check(void)
{
	struct iov_vf_settings s;
	char why[200];

	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_MAC, .mac = { 0x01, 0, 0x5e, 0, 0, 1 } };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	ASSERT_TRUE(strstr(why, "multicast") != NULL);
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_MAC };   /* all zero: clears the MAC */
	ASSERT_OK(vf_settings_check(&s, why, sizeof(why)));
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_VLAN, .vlan = 4095 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	ASSERT_STR_EQ(why, "VLAN 4095 is out of range (0-4094)");
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_VLAN, .vlan = 10, .qos = 8 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_VLAN, .qos = 3 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_VLAN, .vlan = 10, .vlan_proto = 0x9100 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_RATE, .min_tx_rate = 500, .max_tx_rate = 100 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_RATE, .min_tx_rate = 500 };   /* no maximum */
	ASSERT_OK(vf_settings_check(&s, why, sizeof(why)));
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_LINK_STATE, .link_state = 7 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_IB_GUIDS, .node_guid = 1 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
	s = (struct iov_vf_settings){ 0 };
	ASSERT_ERR(vf_settings_check(&s, why, sizeof(why)), EINVAL);
}

/* The nested IFLA_VF_INFO of a message, parsed into @tb. */
static bool vf_info(struct nlmsghdr *h, struct nlattr *tb[IFLA_VF_MAX + 1])
{
	struct nlattr *top[IFLA_MAX + 1], *list[IFLA_VF_INFO + 1];

	if (nlmsg_parse(h, sizeof(struct ifinfomsg), top, IFLA_MAX, NULL) < 0 || !top[IFLA_VFINFO_LIST])
		return false;
	if (nla_parse_nested(list, IFLA_VF_INFO, top[IFLA_VFINFO_LIST], NULL) < 0 || !list[IFLA_VF_INFO])
		return false;
	return nla_parse_nested(tb, IFLA_VF_MAX, list[IFLA_VF_INFO], NULL) == 0;
}

static void test_build_setlink(void)
{
	struct iov_vf_settings s = {
		.fields = IOV_VF_SET_MAC | IOV_VF_SET_VLAN | IOV_VF_SET_SPOOFCHK | IOV_VF_SET_TRUST | IOV_VF_SET_LINK_STATE |
			  IOV_VF_SET_RATE,
		.mac = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a },
		.vlan = 100, .qos = 5, .vlan_proto = 0x88a8,
		.spoofchk = false, .trust = true, .link_state = IOV_VF_LINK_DISABLE,
		.min_tx_rate = 100, .max_tx_rate = 2500,
	};
	struct nlattr *tb[IFLA_VF_MAX + 1];
	struct nl_msg *msg = NULL;
	struct nlmsghdr *h;

	ASSERT_OK(vf_build_setlink(42, 3, &s, &msg));
	if (!msg)
		return;
	h = nlmsg_hdr(msg);
	ASSERT_INT_EQ(h->nlmsg_type, RTM_NEWLINK);   /* a change of an existing ifindex, as iproute2 sends */
	ASSERT_INT_EQ(h->nlmsg_flags & NLM_F_CREATE, 0);
	ASSERT_INT_EQ(((struct ifinfomsg *)nlmsg_data(h))->ifi_index, 42);
	ASSERT_TRUE(vf_info(h, tb));
	if (tb[IFLA_VF_MAC]) {
		struct ifla_vf_mac *m = nla_data(tb[IFLA_VF_MAC]);

		ASSERT_INT_EQ(m->vf, 3);
		ASSERT_TRUE(!memcmp(m->mac, s.mac, 6));
	} else {
		ASSERT_TRUE(!"no IFLA_VF_MAC");
	}
	if (tb[IFLA_VF_VLAN_LIST]) {
		struct nlattr *vl[IFLA_VF_VLAN_INFO + 1];

		ASSERT_OK(nla_parse_nested(vl, IFLA_VF_VLAN_INFO, tb[IFLA_VF_VLAN_LIST], NULL));
		if (vl[IFLA_VF_VLAN_INFO]) {
			struct ifla_vf_vlan_info *vi = nla_data(vl[IFLA_VF_VLAN_INFO]);

			ASSERT_INT_EQ(vi->vf, 3);
			ASSERT_INT_EQ(vi->vlan, 100);
			ASSERT_INT_EQ(vi->qos, 5);
			ASSERT_INT_EQ(ntohs(vi->vlan_proto), 0x88a8);
		}
	} else {
		ASSERT_TRUE(!"no IFLA_VF_VLAN_LIST (802.1ad needs it)");
	}
	if (tb[IFLA_VF_SPOOFCHK])
		ASSERT_INT_EQ(((struct ifla_vf_spoofchk *)nla_data(tb[IFLA_VF_SPOOFCHK]))->setting, 0);
	ASSERT_TRUE(tb[IFLA_VF_SPOOFCHK] != NULL);
	if (tb[IFLA_VF_TRUST])
		ASSERT_INT_EQ(((struct ifla_vf_trust *)nla_data(tb[IFLA_VF_TRUST]))->setting, 1);
	ASSERT_TRUE(tb[IFLA_VF_TRUST] != NULL);
	if (tb[IFLA_VF_LINK_STATE])
		ASSERT_INT_EQ(((struct ifla_vf_link_state *)nla_data(tb[IFLA_VF_LINK_STATE]))->link_state, IFLA_VF_LINK_STATE_DISABLE);
	ASSERT_TRUE(tb[IFLA_VF_LINK_STATE] != NULL);
	if (tb[IFLA_VF_RATE]) {
		struct ifla_vf_rate *r = nla_data(tb[IFLA_VF_RATE]);

		ASSERT_INT_EQ(r->min_tx_rate, 100);
		ASSERT_INT_EQ(r->max_tx_rate, 2500);
	}
	ASSERT_TRUE(tb[IFLA_VF_RATE] != NULL);
	nlmsg_free(msg);

	/* InfiniBand VF GUIDs. */
	s.fields = IOV_VF_SET_IB_GUIDS;
	s.node_guid = 0x0002c90300a1b2c3ull;
	s.port_guid = 0x0002c90300a1b2c4ull;
	ASSERT_OK(vf_build_setlink(42, 1, &s, &msg));
	if (msg) {
		ASSERT_TRUE(vf_info(nlmsg_hdr(msg), tb));
		ASSERT_TRUE(tb[IFLA_VF_IB_NODE_GUID] && tb[IFLA_VF_IB_PORT_GUID]);
		/* Attributes are only 4-byte aligned and this one holds a u64: copy it out. */
		struct ifla_vf_guid g;

		if (tb[IFLA_VF_IB_NODE_GUID]) {
			memcpy(&g, nla_data(tb[IFLA_VF_IB_NODE_GUID]), sizeof(g));
			ASSERT_INT_EQ(g.guid, 0x0002c90300a1b2c3ull);
			ASSERT_INT_EQ(g.vf, 1);
		}
		if (tb[IFLA_VF_IB_PORT_GUID]) {
			memcpy(&g, nla_data(tb[IFLA_VF_IB_PORT_GUID]), sizeof(g));
			ASSERT_INT_EQ(g.guid, 0x0002c90300a1b2c4ull);
		}
		nlmsg_free(msg);
	}

	/* Only what was asked goes into the request. */
	s.fields = IOV_VF_SET_TRUST;
	ASSERT_OK(vf_build_setlink(42, 0, &s, &msg));
	if (msg) {
		ASSERT_TRUE(vf_info(nlmsg_hdr(msg), tb));
		ASSERT_TRUE(tb[IFLA_VF_TRUST] && !tb[IFLA_VF_MAC] && !tb[IFLA_VF_VLAN_LIST] && !tb[IFLA_VF_RATE]);
		nlmsg_free(msg);
	}
}

/* One IFLA_VF_INFO as rtnl_fill_vfinfo() writes it (net/core/rtnetlink.c). */
static void put_vf(struct nl_msg *msg, uint32_t vf, const uint8_t mac[6], uint32_t vlan, uint32_t qos, uint32_t spoof,
		   uint32_t trust, uint32_t state, uint32_t min_rate, uint32_t max_rate)
{
	struct nlattr *info = nla_nest_start(msg, IFLA_VF_INFO), *vl;
	struct ifla_vf_mac m = { .vf = vf };
	struct ifla_vf_vlan v = { .vf = vf, .vlan = vlan, .qos = qos };
	struct ifla_vf_vlan_info vi = { .vf = vf, .vlan = vlan, .qos = qos, .vlan_proto = htons(0x8100) };
	struct ifla_vf_tx_rate tx = { .vf = vf, .rate = max_rate };
	struct ifla_vf_spoofchk sc = { .vf = vf, .setting = spoof };
	struct ifla_vf_link_state ls = { .vf = vf, .link_state = state };
	struct ifla_vf_rate rate = { .vf = vf, .min_tx_rate = min_rate, .max_tx_rate = max_rate };
	struct ifla_vf_rss_query_en rss = { .vf = vf, .setting = 0 };
	struct ifla_vf_trust tr = { .vf = vf, .setting = trust };

	memcpy(m.mac, mac, 6);
	nla_put(msg, IFLA_VF_MAC, sizeof(m), &m);
	nla_put(msg, IFLA_VF_VLAN, sizeof(v), &v);
	vl = nla_nest_start(msg, IFLA_VF_VLAN_LIST);
	nla_put(msg, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
	nla_nest_end(msg, vl);
	nla_put(msg, IFLA_VF_TX_RATE, sizeof(tx), &tx);
	nla_put(msg, IFLA_VF_SPOOFCHK, sizeof(sc), &sc);
	nla_put(msg, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
	nla_put(msg, IFLA_VF_RATE, sizeof(rate), &rate);
	nla_put(msg, IFLA_VF_RSS_QUERY_EN, sizeof(rss), &rss);
	nla_put(msg, IFLA_VF_TRUST, sizeof(tr), &tr);
	nla_nest_end(msg, info);
}

static void test_parse_newlink(void)
{
	static const uint8_t mac0[6] = { 0, 0, 0, 0, 0, 0 }, mac1[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 7 };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	struct iov_vf_settings s = { 0 };
	struct nlattr *list;

	nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	nla_put_string(msg, IFLA_IFNAME, "enp1s0f0");
	nla_put_u32(msg, IFLA_NUM_VF, 2);
	list = nla_nest_start(msg, IFLA_VFINFO_LIST);
	put_vf(msg, 0, mac0, 0, 0, 1, 0, IFLA_VF_LINK_STATE_AUTO, 0, 0);
	put_vf(msg, 1, mac1, 42, 3, 0, 1, IFLA_VF_LINK_STATE_ENABLE, 10, 1000);
	nla_nest_end(msg, list);

	ASSERT_OK(vf_parse_newlink(msg, 1, &s));
	ASSERT_INT_EQ(s.fields & (IOV_VF_SET_MAC | IOV_VF_SET_VLAN | IOV_VF_SET_SPOOFCHK | IOV_VF_SET_TRUST |
				  IOV_VF_SET_LINK_STATE | IOV_VF_SET_RATE),
		      IOV_VF_SET_MAC | IOV_VF_SET_VLAN | IOV_VF_SET_SPOOFCHK | IOV_VF_SET_TRUST | IOV_VF_SET_LINK_STATE |
			      IOV_VF_SET_RATE);
	ASSERT_TRUE(!memcmp(s.mac, mac1, 6));
	ASSERT_INT_EQ(s.vlan, 42);
	ASSERT_INT_EQ(s.qos, 3);
	ASSERT_INT_EQ(s.vlan_proto, 0x8100);
	ASSERT_FALSE(s.spoofchk);
	ASSERT_TRUE(s.trust);
	ASSERT_INT_EQ(s.link_state, IOV_VF_LINK_ENABLE);
	ASSERT_INT_EQ(s.min_tx_rate, 10);
	ASSERT_INT_EQ(s.max_tx_rate, 1000);
	ASSERT_OK(vf_parse_newlink(msg, 0, &s));
	ASSERT_TRUE(s.spoofchk);
	ASSERT_INT_EQ(s.link_state, IOV_VF_LINK_AUTO);
	ASSERT_ERR(vf_parse_newlink(msg, 5, &s), ENOENT);
	nlmsg_free(msg);
}

/* One request per setting, in the kernel's order; a refusal names the setting and what was set. */
static void test_one_request_per_setting(void)
{
	struct iov_vf_settings s = {
		.fields = IOV_VF_SET_MAC | IOV_VF_SET_VLAN | IOV_VF_SET_RATE | IOV_VF_SET_TRUST,
		.mac = { 0x02, 0, 0, 0, 0, 1 }, .vlan = 7, .min_tx_rate = 100, .max_tx_rate = 1000, .trust = true,
	};
	struct fake_vf_net fn = { 0 };
	struct iov_ctx *ctx;

	ASSERT_OK(iov_ctx_new(NULL, &ctx));
	fake_vf_net_attach(&fn, ctx);
	ASSERT_OK(iov_vf_set(ctx, "enp1s0f0", 3, &s));
	ASSERT_INT_EQ(fn.requests, 4);
	ASSERT_INT_EQ(fn.s.fields, s.fields);
	ASSERT_INT_EQ(fn.vf, 3);
	ASSERT_INT_EQ(fn.s.max_tx_rate, 1000);

	/* A driver without a minimum rate (Intel's): MAC and VLAN are set, then it stops. */
	memset(&fn, 0, sizeof(fn));
	fn.fail_field = IOV_VF_SET_RATE;
	ASSERT_ERR(iov_vf_set(ctx, "enp1s0f0", 3, &s), EOPNOTSUPP);
	ASSERT_INT_EQ(fn.requests, 3);
	ASSERT_INT_EQ(fn.s.fields, IOV_VF_SET_MAC | IOV_VF_SET_VLAN);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "VF 3 of enp1s0f0: the PF's driver does not support setting the transmit rate "
					   "limits: Operation not supported (set before it: MAC address, port VLAN)");
	memset(&fn, 0, sizeof(fn));
	fn.fail_field = IOV_VF_SET_MAC;
	ASSERT_ERR(iov_vf_set(ctx, "enp1s0f0", 3, &s), EOPNOTSUPP);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "(nothing was set)") != NULL);
	iov_ctx_free(ctx);
}

static void test_live_refusals(void)
{
	struct iov_vf_settings s = { .fields = IOV_VF_SET_TRUST, .trust = true };
	struct iov_ctx *ctx;

	/* Before any netlink: a missing interface, a bad name, bad settings. */
	ASSERT_OK(iov_ctx_new(NULL, &ctx));
	ASSERT_ERR(iov_vf_set(ctx, "iovkit-none0", 0, &s), ENODEV);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "iovkit-none0: no such network interface");
	ASSERT_ERR(iov_vf_set(ctx, "../eth0", 0, &s), EINVAL);
	ASSERT_ERR(iov_vf_set(ctx, "lo", 0, &s), EOPNOTSUPP);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "lo is not on an SR-IOV PF");
	s = (struct iov_vf_settings){ .fields = IOV_VF_SET_VLAN, .vlan = 5000 };
	ASSERT_ERR(iov_vf_set(ctx, "lo", 0, &s), EINVAL);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "VLAN 5000 is out of range") != NULL);
	iov_ctx_free(ctx);
}

UNIT_MAIN("sriov-mgr/vfnet",
	  UNIT_TEST(test_mac_parse),
	  UNIT_TEST(test_check),
	  UNIT_TEST(test_build_setlink),
	  UNIT_TEST(test_parse_newlink),
	  UNIT_TEST(test_one_request_per_setting),
	  UNIT_TEST(test_live_refusals))

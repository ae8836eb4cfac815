/* SPDX-License-Identifier: MIT */
/* The netlink side of VF settings, split from the socket so tests can check the messages. */
#ifndef IOVKIT_VFNET_INTERNAL_H
#define IOVKIT_VFNET_INTERNAL_H

#include <jansson.h>
#include <netlink/msg.h>

#include "iovkit/sriov.h"

/* Checks @s; 0, or -EINVAL with a sentence in @why. */
int vf_settings_check(const struct iov_vf_settings *s, char *why, size_t size);

/* The link-change request that applies @s to VF @vf of interface @ifindex. The caller frees it. */
int vf_build_setlink(int ifindex, unsigned int vf, const struct iov_vf_settings *s, struct nl_msg **ret);

/* VF @vf's settings from an RTM_NEWLINK message (with IFLA_VFINFO_LIST). -ENOENT if absent. */
int vf_parse_newlink(struct nl_msg *msg, unsigned int vf, struct iov_vf_settings *ret);

/*
 * VF settings from a configuration object (config.c): {"index", "mac", "vlan", ...}, checked
 * as iov_vf_set() would. With @index NULL no "index" is expected (pool defaults).
 */
int vf_settings_from_json(struct iov_ctx *ctx, const char *what, json_t *o, unsigned int *index, struct iov_vf_settings *s);

#endif

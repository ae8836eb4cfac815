/* SPDX-License-Identifier: MIT */
/*
 * iovm's control socket: JSON-RPC 2.0, one object per line (the framing and limits of
 * iovkit/jsonrpc.h, served by iov_rpc_server_*). Read-only for clients that are neither root
 * nor iovm's uid.
 *
 *   vm.info    state, RAM, vCPUs, exits (all, MMIO), uptime, and each device (type, PCI slot, backend socket,
 *              connected, DRIVER_OK, negotiated features, MAC; a passed-through device's
 *              name and whether its MSI is on)
 *   vm.pause   every vCPU leaves KVM_RUN and waits; devices' backends keep their rings
 *   vm.resume  they run again
 *   vm.stop    the guest stops and iovm exits with status 124
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iovkit/jsonrpc.h"
#include "vmm-internal.h"

static const char *state_name(struct vm *vm)
{
	if (__atomic_load_n(&vm->stop_status, __ATOMIC_ACQUIRE) >= 0)
		return "stopping";
	return vm->pause_requested ? "paused" : "running";
}

static int m_info(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct vm *vm = userdata;
	json_t *devs = json_array();
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0 || !devs) {
		json_decref(devs);
		return r < 0 ? r : iov_rpc_fail(e, IOV_RPC_INTERNAL_ERROR, ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; i < vm->n_devs; i++) {
		struct vhost_dev_info di;
		char mac[18];
		json_t *d;

		vhost_dev_info(vm->devs[i], &di);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", di.mac[0], di.mac[1], di.mac[2], di.mac[3],
			 di.mac[4], di.mac[5]);
		d = json_pack("{s:s,s:i,s:s,s:b,s:b,s:I}", "type", di.type, "slot", (int)di.slot, "socket", di.path,
			      "connected", di.connected, "driver_ok", di.driver_ok, "features", (json_int_t)di.features);
		if (d && !strcmp(di.type, "virtio-net"))
			json_object_set_new(d, "mac", json_string(mac));
		json_array_append_new(devs, d);
	}
	for (unsigned int i = 0; i < vm->n_pt; i++) {
		const char *name;
		unsigned int slot;
		bool msi;

		vfio_dev_info(vm->pt[i], &name, &slot, &msi);
		json_array_append_new(devs, json_pack("{s:s,s:i,s:s,s:b}", "type", "passthrough", "slot", (int)slot,
						      "device", name, "msi", msi));
	}
	*ret = json_pack("{s:s,s:i,s:I,s:i,s:I,s:I,s:f,s:o}", "state", state_name(vm), "pid", (int)getpid(), "ram_mib",
			 (json_int_t)(vm->ram_size >> 20), "vcpus", (int)vm->n_vcpus, "exits", (json_int_t)vm_exits(vm, false),
			 "mmio_exits", (json_int_t)vm_exits(vm, true), "uptime_s", vm_now() - vm->started_at, "devices", devs);
	return *ret ? 0 : iov_rpc_fail(e, IOV_RPC_INTERNAL_ERROR, ENOMEM, "out of memory");
}

static int m_pause(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct vm *vm = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	if (vm->pause_requested)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EALREADY, "the VM is already paused");
	vm_pause(vm);
	*ret = json_pack("{s:s}", "state", state_name(vm));
	return 0;
}

static int m_resume(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct vm *vm = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	if (!vm->pause_requested)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EALREADY, "the VM is not paused");
	vm_resume(vm);
	*ret = json_pack("{s:s}", "state", "running");
	return 0;
}

static int m_stop(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct vm *vm = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	vm_stop(vm, VM_STOP_REQUESTED);
	*ret = json_pack("{s:s}", "state", "stopping");
	return 0;
}

static const struct iov_rpc_method methods[] = {
	{ "vm.info", m_info, 0, "the VM's state, RAM, exits and devices", NULL },
	{ "vm.pause", m_pause, IOV_RPC_MUTATES, "stops the vCPU until vm.resume", NULL },
	{ "vm.resume", m_resume, IOV_RPC_MUTATES, "runs a paused vCPU again", NULL },
	{ "vm.stop", m_stop, IOV_RPC_MUTATES, "stops the guest; iovm exits with status 124", NULL },
};

const struct iov_rpc_service vm_service = { "iovm", IOVKIT_VERSION, methods, sizeof(methods) / sizeof(methods[0]) };

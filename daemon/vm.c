/* SPDX-License-Identifier: MIT */
/*
 * Guests. vm.create records a definition (kernel, command line, memory, NICs, disks); vm.start
 * gives each NIC a vhost-user port on iovswitch ("vm-NAME.N", listening at RUN/vm-NAME.N.sock)
 * and each disk a vhost-user-blk device there ("vm-NAME.dN", RUN/vm-NAME.dN.sock, serving its
 * image), and runs iovm with its control socket at RUN/vm-NAME.ctl and its console in
 * RUN/vm-NAME.log; when iovm exits, iovkitd records why (iovm's exit status, docs/vmm.md) and
 * says so as a vm.state event. The ports and disks stay, with their counters, until vm.destroy:
 * a guest's NICs stay plugged in while it is off, as a cable would. Guests outlive an iovkitd
 * restart: the next one adopts them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "iovkit/pci.h"
#include "iovkit/vhost.h"         /* IOV_VHOST_BLK_MAX_POLL_US: a constant, no library */
#include "iovkit-internal/macro.h"

#define VM_MEMORY_MAX 3582u     /* iovm: RAM below the 3.5 GiB PCI hole */
#define CONSOLE_TAIL 4096
#define IOVM_CALL_TIMEOUT_S 2   /* iovm answers its control socket from its main loop at once */

static const char *const state_names[] = { "defined", "running", "stopping", "stopped" };

struct vm *vm_find(struct daemon *d, const char *name)
{
	for (unsigned int i = 0; i < d->n_vms; i++)
		if (!strcmp(d->vms[i]->name, name))
			return d->vms[i];
	return NULL;
}

#define ATTACH_NAME_MAX 40

/*
 * A guest's NICs and disks on iovswitch, numbered NICs first: attachment @i's name there
 * ("vm-NAME.N" for NIC N, "vm-NAME.dN" for disk N) and, with @sock, its vhost-user socket
 * (RUN/<name>.sock; @d is needed only for that). Returns whether it is a disk.
 */
static bool attachment(const struct daemon *d, const struct vm *vm, unsigned int i, char name[ATTACH_NAME_MAX],
		       char *sock, size_t sock_size)
{
	bool disk = i >= vm->n_nics;

	snprintf(name, ATTACH_NAME_MAX, "vm-%s.%s%u", vm->name, disk ? "d" : "", disk ? i - vm->n_nics : i);
	if (sock)
		snprintf(sock, sock_size, "%s/%s.sock", d->run_dir, name);
	return disk;
}

/* What iovm's exit status means (docs/vmm.md). */
static void describe_exit(int status, char *buf, size_t size)
{
	if (status < 0 || status >= 128)
		proc_describe(status, buf, size);
	else if (status == 0)
		snprintf(buf, size, "the guest finished (status 0)");
	else if (status < 120)
		snprintf(buf, size, "the guest exited with status %d", status);
	else if (status == 120)
		snprintf(buf, size, "the guest powered off");
	else if (status == 121)
		snprintf(buf, size, "the guest shut down or reset");
	else if (status == 122)
		snprintf(buf, size, "KVM failed (see the console log)");
	else if (status == 123)
		snprintf(buf, size, "its --timeout expired");
	else if (status == 124)
		snprintf(buf, size, "stopped on request (vm.stop)");
	else if (status == 125)
		snprintf(buf, size, "iovm could not set the guest up (see the console log)");
	else
		snprintf(buf, size, "iovm exited with status %d", status);
}

static char *console_tail(const struct vm *vm)
{
	char buf[CONSOLE_TAIL + 1];
	ssize_t n;
	int fd = open(vm->log, O_RDONLY | O_CLOEXEC);
	off_t end;

	if (fd < 0)
		return NULL;
	end = lseek(fd, 0, SEEK_END);
	if (end > CONSOLE_TAIL)
		lseek(fd, end - CONSOLE_TAIL, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, CONSOLE_TAIL);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	/* Start at a line, and keep the text valid for JSON (the guest may print anything). */
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] >= 0x80 || (buf[i] < 0x20 && buf[i] != '\n'))
			buf[i] = '?';
	return strdup(end > CONSOLE_TAIL && strchr(buf, '\n') ? strchr(buf, '\n') + 1 : buf);
}

json_t *vm_json(const struct vm *vm, bool full)
{
	json_t *nics = json_array(), *j;

	for (unsigned int i = 0; i < vm->n_nics; i++) {
		char port[ATTACH_NAME_MAX];

		attachment(NULL, vm, i, port, NULL, 0);
		json_array_append_new(nics, json_pack("{s:s,s:s,s:i}", "mac", vm->macs[i], "port", port, "queues",
						      (int)vm->queues[i]));
	}
	json_t *disks = json_array();

	for (unsigned int i = 0; i < vm->n_disks; i++) {
		const struct vm_disk *k = &vm->disks[i];
		char dev[ATTACH_NAME_MAX];

		attachment(NULL, vm, vm->n_nics + i, dev, NULL, 0);
		json_t *disk = json_pack("{s:s,s:b,s:s?,s:i,s:s}", "image", k->image, "readonly", k->readonly, "serial",
					 k->serial[0] ? k->serial : NULL, "queues", (int)k->queues, "device", dev);

		if (disk && k->poll_us)
			json_object_set_new(disk, "poll_us", json_integer(k->poll_us));
		json_array_append_new(disks, disk);
	}
	json_t *pts = json_array();

	for (unsigned int i = 0; i < vm->n_pt; i++)
		json_array_append_new(pts, json_pack("{s:s}", vm->pt_user[i] ? "vfio_user" : "device", vm->pt[i]));
	j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:o,s:o,s:i,s:I}", "name", vm->name, "state", state_names[vm->state],
		      "kernel", vm->kernel, "cmdline", vm->cmdline, "memory", vm->memory, "cpus", vm->cpus, "timeout", vm->timeout,
		      "nics", nics, "passthrough", pts, "pid", (int)vm->proc.pid, "start_time",
		      (json_int_t)vm->proc.start_time);
	if (!j) {
		json_decref(disks);
		return NULL;
	}
	json_object_set_new(j, "exit_status", vm->exit_status >= 0 ? json_integer(vm->exit_status) : json_null());
	json_object_set_new(j, "reason", vm->reason[0] ? json_string(vm->reason) : json_null());
	json_object_set_new(j, "started", vm->started ? json_integer(vm->started) : json_null());
	json_object_set_new(j, "stopped", vm->stopped ? json_integer(vm->stopped) : json_null());
	json_object_set_new(j, "disks", disks);
	json_object_set_new(j, "hugepages", json_boolean(vm->hugepages));
	json_object_set_new(j, "initrd", vm->initrd[0] ? json_string(vm->initrd) : json_null());
	json_object_set_new(j, "control", json_string(vm->ctl));
	json_object_set_new(j, "console", json_string(vm->log));
	if (full) {
		char *tail = console_tail(vm);

		json_object_set_new(j, "console_tail", tail ? json_string(tail) : json_null());
		free(tail);
	}
	return j;
}

static void state_event(struct daemon *d, struct vm *vm)
{
	daemon_event(d, "vm.state", json_pack("{s:s,s:s,s:i,s:o,s:s?}", "name", vm->name, "state",
					      state_names[vm->state], "pid", (int)vm->proc.pid, "exit_status",
					      vm->exit_status >= 0 ? json_integer(vm->exit_status) : json_null(),
					      "reason", vm->reason[0] ? vm->reason : NULL));
	state_save(d);
}

/* Removes @vm's NIC ports and disks from iovswitch. */
static void ports_del(struct daemon *d, struct vm *vm)
{
	struct iov_rpc_error e;

	for (unsigned int i = 0; i < vm->n_nics + vm->n_disks && switch_ready(d); i++) {
		char name[ATTACH_NAME_MAX];
		bool disk = attachment(d, vm, i, name, NULL, 0);
		json_t *res = NULL;

		if (switch_call(d, disk ? "blk.del" : "port.del", json_pack("{s:s}", "name", name), &res, &e) < 0 &&
		    e.err != ENOENT)
			dlog(4, "guest %s: removing its %s %s: %s", vm->name, disk ? "disk" : "port", name, e.message);
		json_decref(res);
	}
}

/* Gives @vm's NICs their ports and its disks their devices on iovswitch (those it has are kept). */
static int ports_add(struct daemon *d, struct vm *vm, struct iov_rpc_error *e)
{
	for (unsigned int i = 0; i < vm->n_nics + vm->n_disks; i++) {
		char name[ATTACH_NAME_MAX], sock[PATH_MAX];
		bool disk = attachment(d, vm, i, name, sock, sizeof(sock));
		json_t *res = NULL, *req;
		int r;

		if (!disk) {
			req = json_pack("{s:s,s:s,s:s,s:i}", "name", name, "type", "vhost", "path", sock, "queues",
					(int)vm->queues[i]);
		} else {
			const struct vm_disk *k = &vm->disks[i - vm->n_nics];

			req = json_pack("{s:s,s:s,s:s,s:b,s:i}", "name", name, "path", sock, "image", k->image, "readonly",
					k->readonly, "queues", (int)k->queues);
			if (req && k->serial[0])
				json_object_set_new(req, "serial", json_string(k->serial));
			if (req && k->poll_us)
				json_object_set_new(req, "poll_us", json_integer(k->poll_us));
		}
		r = switch_call(d, disk ? "blk.add" : "port.add", req, &res, e);
		json_decref(res);
		if (r < 0 && e->err != EEXIST)
			return r;
	}
	return 0;
}

static void on_vm_exit(struct daemon *d, struct proc *p, int status, const char *how)
{
	struct vm *vm = p->owner;

	vm->exit_status = status;
	describe_exit(status, vm->reason, sizeof(vm->reason));
	vm->state = VM_STOPPED;
	vm->stopped = time(NULL);
	dlog(6, "guest %s: %s", vm->name, vm->reason);
	unlink(vm->ctl);
	state_event(d, vm);
}

/* Removes iovswitch's guest ports (or disks: "blk") whose guests were destroyed meanwhile. */
static void drop_orphans(struct daemon *d, const char *kind)
{
	char list[16], del[16];
	struct iov_rpc_error e;
	json_t *ports = NULL, *p;
	size_t i;

	snprintf(list, sizeof(list), "%s.list", kind);
	snprintf(del, sizeof(del), "%s.del", kind);
	if (switch_call(d, list, NULL, &ports, &e) < 0) {
		dlog(4, "reading iovswitch's %s: %s", list, e.message);
		return;
	}
	json_array_foreach(ports, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		char vname[VM_NAME_MAX + 1];
		const char *dot;
		struct vm *vm;

		if (!name || strncmp(name, "vm-", 3) || !(dot = strrchr(name, '.')) || dot - name - 3 > VM_NAME_MAX)
			continue;
		snprintf(vname, sizeof(vname), "%.*s", (int)(dot - name - 3), name + 3);
		vm = vm_find(d, vname);
		if (!vm) {
			json_t *res = NULL;

			dlog(6, "dropping %s %s: its guest was destroyed", kind, name);
			switch_call(d, del, json_pack("{s:s}", "name", name), &res, &e);
			json_decref(res);
		}
	}
	json_decref(ports);
}

void vm_switch_up(struct daemon *d)
{
	struct iov_rpc_error e;

	drop_orphans(d, "port");
	drop_orphans(d, "blk");
	for (unsigned int v = 0; v < d->n_vms; v++)
		if (d->vms[v]->state == VM_RUNNING && ports_add(d, d->vms[v], &e) < 0)
			dlog(4, "guest %s: giving its NICs and disks back: %s", d->vms[v]->name, e.message);
}

static void vm_paths(struct daemon *d, struct vm *vm)
{
	snprintf(vm->ctl, sizeof(vm->ctl), "%s/vm-%s.ctl", d->run_dir, vm->name);
	snprintf(vm->log, sizeof(vm->log), "%s/vm-%s.log", d->run_dir, vm->name);
	vm->proc.owner = vm;
	vm->proc.on_exit = on_vm_exit;
	vm->proc.pidfd = -1;
}

/* A stable locally administered MAC per guest and NIC: 02:<FNV-1a of the name>:<nic>. */
static void default_mac(const char *name, unsigned int nic, char mac[18])
{
	uint32_t h = 2166136261u;

	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	snprintf(mac, 18, "02:%02x:%02x:%02x:%02x:%02x", h >> 24, (h >> 16) & 255, (h >> 8) & 255, h & 255, nic & 255);
}

static bool valid_mac(const char *s)
{
	unsigned int b[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return false;
	return !(b[0] & 1) && (b[0] | b[1] | b[2] | b[3] | b[4] | b[5]);
}

/* A file iovm will open: an absolute path (iovkitd's working directory is not the caller's)
 * that is there and readable now. */
static int readable_path(struct iov_rpc_error *e, const char *what, const char *path)
{
	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "%s \"%s\": an absolute path", what, path);
	if (access(path, R_OK) < 0)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, errno, "%s %s: %s", what, path, strerror(errno));
	return 0;
}

/* Fills @vm from a definition (vm.create's params, or the state file's record). */
static int vm_define(struct daemon *d, struct vm *vm, json_t *def, struct iov_rpc_error *e)
{
	const char *name, *kernel = NULL, *initrd = NULL, *cmdline = "";
	int memory = 64, cpus = 1, timeout = 0, huge = 0, r;
	json_t *nics = NULL, *pts = NULL, *disks = NULL, *n;
	size_t i;

	/* A record of a guest without an initramfs says "initrd": null (as vm.info does). */
	if (json_is_null(json_object_get(def, "initrd")))
		json_object_del(def, "initrd");
	r = iov_rpc_params(e, def, "{s:s,s?:s,s?:s,s?:s,s?:i,s?:i,s?:b,s?:i,s?:o,s?:o,s?:o}", "name", &name, "kernel",
			   &kernel, "initrd", &initrd, "cmdline", &cmdline, "memory", &memory, "cpus", &cpus, "hugepages", &huge,
			   "timeout", &timeout, "nics", &nics, "passthrough", &pts, "disks", &disks);
	if (r < 0)
		return r;
	if (!*name || strlen(name) > VM_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "guest name \"%s\": 1 to %d of a-z 0-9 _ -", name,
				    VM_NAME_MAX);
	kernel = kernel ? kernel : d->guest;
	r = readable_path(e, "kernel", kernel);
	if (r == 0 && initrd)
		r = readable_path(e, "initrd", initrd);
	if (r < 0)
		return r;
	if (strlen(cmdline) >= sizeof(vm->cmdline) || strpbrk(cmdline, "\n\r"))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "cmdline: one line, under %zu characters",
				    sizeof(vm->cmdline));
	if (memory < 2 || memory > (int)VM_MEMORY_MAX || memory % 2)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "memory %d MiB: 2 to %u in 2 MiB steps", memory,
				    VM_MEMORY_MAX);
	if (cpus < 1 || cpus > VM_CPUS_MAX)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "cpus %d: 1 to %d vCPUs", cpus, VM_CPUS_MAX);
	if (timeout < 0 || timeout > 86400 * 365)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "timeout %d: seconds, 0 for none", timeout);
	if (nics && (!json_is_array(nics) || json_array_size(nics) > VM_NICS_MAX))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "nics: an array of at most %d {\"mac\": ..., \"queues\": ...}",
				    VM_NICS_MAX);
	memset(vm, 0, sizeof(*vm));
	json_array_foreach(nics, i, n) {
		const char *mac = NULL;
		int queues = 1;

		if (iov_rpc_params(e, n, "{s?:s,s?:i}", "mac", &mac, "queues", &queues) < 0)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0,
					    "nics[%zu]: an object with an optional \"mac\" and \"queues\"", i);
		if (mac && !valid_mac(mac))
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "nics[%zu]: \"%s\" is not a unicast MAC", i, mac);
		if (queues < 1 || queues > 8)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "nics[%zu]: queues %d: 1 to 8 queue pairs", i, queues);
		vm->queues[i] = (unsigned int)queues;
		if (mac)
			snprintf(vm->macs[i], sizeof(vm->macs[i]), "%s", mac);
		else
			default_mac(name, (unsigned int)i, vm->macs[i]);
		for (size_t k = 0; k < i; k++)
			if (!strcasecmp(vm->macs[k], vm->macs[i]))
				return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "nics[%zu]: MAC %s is used twice", i, vm->macs[i]);
	}
	vm->n_nics = (unsigned int)json_array_size(nics);
	if (pts && (!json_is_array(pts) || json_array_size(pts) > VM_PT_MAX))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0,
				    "passthrough: an array of at most %d {\"vfio_user\": SOCKET} or {\"device\": ADDRESS}",
				    VM_PT_MAX);
	json_array_foreach(pts, i, n) {
		const char *sock = NULL, *bdf = NULL;
		char canon[IOV_UUID_LEN];

		if (iov_rpc_params(e, n, "{s?:s,s?:s}", "vfio_user", &sock, "device", &bdf) < 0 || !sock == !bdf)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0,
					    "passthrough[%zu]: one of \"vfio_user\" (a socket) or \"device\" (a PCI address "
					    "or mdev UUID)", i);
		if (sock && (sock[0] != '/' || strlen(sock) >= sizeof(vm->pt[i])))
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "passthrough[%zu]: \"%s\" is not an absolute "
					    "socket path", i, sock);
		/* A device is a PCI function on vfio-pci or a mediated device (a vGPU) by its UUID. */
		if (bdf && !iov_uuid_canon(bdf, canon) && iov_pci_bdf_parse(bdf, canon) < 0)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0,
					    "passthrough[%zu]: \"%s\" is not a PCI address or mdev UUID", i, bdf);
		snprintf(vm->pt[i], sizeof(vm->pt[i]), "%s", sock ? sock : canon);
		vm->pt_user[i] = sock != NULL;
	}
	vm->n_pt = (unsigned int)json_array_size(pts);
	if (disks && (!json_is_array(disks) || json_array_size(disks) > VM_DISKS_MAX))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0,
				    "disks: an array of at most %d {\"image\": PATH, \"readonly\", \"serial\", \"queues\", "
				    "\"poll_us\"}",
				    VM_DISKS_MAX);
	json_array_foreach(disks, i, n) {
		struct vm_disk *k = &vm->disks[i];
		const char *image, *serial = NULL;
		int ro = 0, queues = 1, poll_us = 0;
		char what[16];

		if (iov_rpc_params(e, n, "{s:s,s?:b,s?:s,s?:i,s?:i}", "image", &image, "readonly", &ro, "serial", &serial,
				   "queues", &queues, "poll_us", &poll_us) < 0)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "disks[%zu]: an object with \"image\" and an "
					    "optional \"readonly\", \"serial\", \"queues\" and \"poll_us\"", i);
		snprintf(what, sizeof(what), "disks[%zu]", i);
		r = readable_path(e, what, image);
		if (r < 0)
			return r;
		if (serial && (strlen(serial) > 20 || strpbrk(serial, "\n\r")))
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "disks[%zu]: serial: one line of at most 20 bytes", i);
		if (queues < 1 || queues > 8)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "disks[%zu]: queues %d: 1 to 8 request queues", i,
					    queues);
		if (poll_us < 0 || poll_us > IOV_VHOST_BLK_MAX_POLL_US)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "disks[%zu]: poll_us %d: 0 to %d microseconds", i,
					    poll_us, IOV_VHOST_BLK_MAX_POLL_US);
		for (size_t m = 0; m < i; m++)
			if (!strcmp(vm->disks[m].image, image))
				return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "disks[%zu]: %s is disks[%zu] already", i,
						    image, m);
		snprintf(k->image, sizeof(k->image), "%s", image);
		snprintf(k->serial, sizeof(k->serial), "%s", serial ? serial : "");
		k->readonly = ro;
		k->queues = (unsigned int)queues;
		k->poll_us = (unsigned int)poll_us;
	}
	vm->n_disks = (unsigned int)json_array_size(disks);
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	snprintf(vm->kernel, sizeof(vm->kernel), "%s", kernel);
	snprintf(vm->initrd, sizeof(vm->initrd), "%s", initrd ? initrd : "");
	snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", cmdline);
	vm->memory = (unsigned int)memory;
	vm->cpus = (unsigned int)cpus;
	vm->hugepages = huge;
	vm->timeout = (unsigned int)timeout;
	vm->exit_status = -1;
	vm_paths(d, vm);
	return 0;
}

/* Reads a guest back from the state file's record, adopting its iovm if it still runs. */
int vm_from_json(struct daemon *d, const char *name, json_t *j)
{
	_cleanup_(json_decrefp) json_t *def = json_deep_copy(j);
	struct iov_rpc_error e;
	struct vm *vm;
	const char *state = json_string_value(json_object_get(j, "state")), *reason;
	json_int_t pid = json_integer_value(json_object_get(j, "pid"));
	json_int_t start = json_integer_value(json_object_get(j, "start_time"));
	int r;

	if (!def || d->n_vms >= VM_MAX || !(vm = calloc(1, sizeof(*vm))))
		return -ENOMEM;
	json_object_set_new(def, "name", json_string(name));
	/* Only the definition's keys go through vm_define's strict check. */
	for (const char *const *k = (const char *const[]){ "state", "pid", "start_time", "exit_status", "reason",
							   "started", "stopped", "control", "console", NULL };
	     *k; k++)
		json_object_del(def, *k);
	{
		json_t *nic;
		size_t i;

		json_array_foreach(json_object_get(def, "nics"), i, nic)
			json_object_del(nic, "port");
		json_array_foreach(json_object_get(def, "disks"), i, nic) {
			json_object_del(nic, "device");
			if (json_is_null(json_object_get(nic, "serial")))
				json_object_del(nic, "serial");
		}
	}
	r = vm_define(d, vm, def, &e);
	if (r < 0) {
		dlog(3, "state file: guest %s: %s; forgetting it", name, e.message);
		free(vm);
		return r;
	}
	vm->exit_status = json_is_integer(json_object_get(j, "exit_status")) ?
				  (int)json_integer_value(json_object_get(j, "exit_status")) : -1;
	reason = json_string_value(json_object_get(j, "reason"));
	snprintf(vm->reason, sizeof(vm->reason), "%s", reason ? reason : "");
	vm->started = json_integer_value(json_object_get(j, "started"));
	vm->stopped = json_integer_value(json_object_get(j, "stopped"));
	vm->state = VM_DEFINED;
	if (state && strcmp(state, "defined"))
		vm->state = VM_STOPPED;
	if (state && (!strcmp(state, "running") || !strcmp(state, "stopping"))) {
		if (proc_adopt(d, &vm->proc, (pid_t)pid, (unsigned long long)start) == 0) {
			vm->state = !strcmp(state, "running") ? VM_RUNNING : VM_STOPPING;
			dlog(6, "guest %s: adopted its running iovm, pid %d", name, (int)pid);
		} else {
			snprintf(vm->reason, sizeof(vm->reason), "exited while iovkitd was not running");
			vm->exit_status = -1;
			vm->stopped = time(NULL);
			unlink(vm->ctl);
			dlog(6, "guest %s: %s", name, vm->reason);
		}
	}
	d->vms[d->n_vms++] = vm;
	return 0;
}

void vm_adopt(struct daemon *d, struct vm *vm, pid_t pid)
{
	if (proc_adopt_found(d, &vm->proc, pid) < 0)
		return;
	dlog(5, "guest %s: adopted iovm pid %d, started before a crash could record it", vm->name, (int)pid);
	vm->state = VM_RUNNING;
	vm->exit_status = -1;
	vm->reason[0] = '\0';
	vm->started = time(NULL);
	vm->stopped = 0;
	state_save(d);
}

static int find(struct daemon *d, json_t *params, struct iov_rpc_error *e, struct vm **ret)
{
	const char *name;
	int r = iov_rpc_params(e, params, "{s:s}", "name", &name);

	if (r < 0)
		return r;
	*ret = vm_find(d, name);
	if (!*ret)
		return iov_rpc_fail(e, IOV_RPC_FAILED, ENOENT, "no guest named %s (vm.list)", name);
	return 0;
}

/* ---- methods ---- */

static int m_create(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct vm *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm)
		return iov_rpc_fail(e, IOV_RPC_INTERNAL_ERROR, ENOMEM, "out of memory");
	r = vm_define(d, vm, params, e);
	if (r == 0 && vm_find(d, vm->name))
		r = iov_rpc_fail(e, IOV_RPC_FAILED, EEXIST, "a guest named %s exists", vm->name);
	if (r == 0 && d->n_vms >= VM_MAX)
		r = iov_rpc_fail(e, IOV_RPC_BUSY, ENOSPC, "at most %d guests", VM_MAX);
	if (r < 0) {
		free(vm);
		return r;
	}
	d->vms[d->n_vms++] = vm;
	dlog(6, "guest %s defined", vm->name);
	state_event(d, vm);
	*ret = vm_json(vm, false);
	return 0;
}

static int m_start(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	char mem[16], cpus[16], timeout[16], nets[VM_NICS_MAX][PATH_MAX + 32], blks[VM_DISKS_MAX][PATH_MAX];
	char *argv[48];
	unsigned int n = 0;
	struct vm *vm;
	int r = find(d, params, e, &vm);

	if (r < 0)
		return r;
	if (vm->state == VM_RUNNING || vm->state == VM_STOPPING)
		return iov_rpc_fail(e, IOV_RPC_BUSY, EBUSY, "guest %s is %s (pid %d)", vm->name, state_names[vm->state],
				    (int)vm->proc.pid);
	if ((vm->n_nics || vm->n_disks) && !switch_ready(d))
		return iov_rpc_fail(e, IOV_RPC_FAILED, EHOSTDOWN, "guest %s has %s and iovswitch is not running (switch.start, "
				    "then wait for switch.status \"running\")", vm->name,
				    vm->n_nics ? "NICs" : "disks");
	r = ports_add(d, vm, e);
	if (r < 0) {
		ports_del(d, vm);
		return r;
	}
	snprintf(mem, sizeof(mem), "%u", vm->memory);
	argv[n++] = (char *)d->iovm;
	argv[n++] = "--kernel";
	argv[n++] = vm->kernel;
	if (vm->initrd[0]) {
		argv[n++] = "--initrd";
		argv[n++] = vm->initrd;
	}
	argv[n++] = "--memory";
	argv[n++] = mem;
	snprintf(cpus, sizeof(cpus), "%u", vm->cpus);
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--control";
	argv[n++] = vm->ctl;
	if (vm->hugepages)
		argv[n++] = "--hugepages";
	if (vm->cmdline[0]) {
		argv[n++] = "--cmdline";
		argv[n++] = vm->cmdline;
	}
	if (vm->timeout) {
		snprintf(timeout, sizeof(timeout), "%u", vm->timeout);
		argv[n++] = "--timeout";
		argv[n++] = timeout;
	}
	for (unsigned int i = 0; i < vm->n_pt; i++) {
		argv[n++] = vm->pt_user[i] ? "--vfio-user" : "--vfio";
		argv[n++] = vm->pt[i];
	}
	for (unsigned int i = 0; i < vm->n_nics; i++) {
		char name[ATTACH_NAME_MAX], sock[PATH_MAX];

		attachment(d, vm, i, name, sock, sizeof(sock));
		snprintf(nets[i], sizeof(nets[i]), "%s,mac=%s,queues=%u", sock, vm->macs[i], vm->queues[i]);
		argv[n++] = "--net";
		argv[n++] = nets[i];
	}
	for (unsigned int i = 0; i < vm->n_disks; i++) {
		char name[ATTACH_NAME_MAX];

		attachment(d, vm, vm->n_nics + i, name, blks[i], sizeof(blks[i]));
		argv[n++] = "--blk";
		argv[n++] = blks[i];
	}
	argv[n] = NULL;
	/* A fresh console log per run: vm.info's console_tail is this run's. */
	truncate(vm->log, 0);
	r = proc_spawn(d, &vm->proc, argv, vm->log);
	if (r < 0) {
		ports_del(d, vm);
		return iov_rpc_fail(e, IOV_RPC_FAILED, r, "cannot run %s: %s", d->iovm, iov_strerror(r));
	}
	vm->state = VM_RUNNING;
	vm->exit_status = -1;
	vm->reason[0] = '\0';
	vm->started = time(NULL);
	vm->stopped = 0;
	dlog(6, "guest %s: iovm started, pid %d", vm->name, (int)vm->proc.pid);
	state_event(d, vm);
	*ret = vm_json(vm, false);
	return 0;
}

/* Asks iovm to stop through its control socket (it exits 124); 0 or a negative errno. */
static int ask_stop(struct vm *vm)
{
	struct iov_rpc_error e;
	json_t *res = NULL;
	int r = daemon_call(vm->ctl, IOVM_CALL_TIMEOUT_S, "vm.stop", NULL, &res, &e);

	json_decref(res);
	return r;
}

static int m_stop(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *name;
	int force = 0, r = iov_rpc_params(e, params, "{s:s,s?:b}", "name", &name, "force", &force);
	struct vm *vm;

	if (r < 0)
		return r;
	vm = vm_find(d, name);
	if (!vm)
		return iov_rpc_fail(e, IOV_RPC_FAILED, ENOENT, "no guest named %s (vm.list)", name);
	if (vm->state != VM_RUNNING && vm->state != VM_STOPPING)
		return iov_rpc_fail(e, IOV_RPC_FAILED, ESRCH, "guest %s is %s", vm->name, state_names[vm->state]);
	if (force || ask_stop(vm) < 0) {
		dlog(6, "guest %s: %s", vm->name, force ? "killing iovm (force)" : "its control socket does not answer; killing iovm");
		proc_signal(&vm->proc, SIGKILL);
	}
	if (vm->state == VM_RUNNING) {
		vm->state = VM_STOPPING;
		state_event(d, vm);
	}
	*ret = vm_json(vm, false);
	return 0;
}

static int m_destroy(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct vm *vm;
	int r = find(d, params, e, &vm);

	if (r < 0)
		return r;
	if (vm->state == VM_RUNNING || vm->state == VM_STOPPING)
		return iov_rpc_fail(e, IOV_RPC_BUSY, EBUSY, "guest %s is %s: vm.stop it first", vm->name,
				    state_names[vm->state]);
	for (unsigned int i = 0; i < d->n_vms; i++)
		if (d->vms[i] == vm)
			d->vms[i] = d->vms[--d->n_vms];
	ports_del(d, vm);
	unlink(vm->log);
	daemon_event(d, "vm.state", json_pack("{s:s,s:s}", "name", vm->name, "state", "destroyed"));
	dlog(6, "guest %s destroyed", vm->name);
	free(vm);
	state_save(d);
	*ret = json_true();
	return 0;
}

static int m_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	json_t *arr;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	arr = json_array();
	for (unsigned int i = 0; arr && i < d->n_vms; i++)
		json_array_append_new(arr, vm_json(d->vms[i], false));
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

static int m_info(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct vm *vm;
	int r = find(d, params, e, &vm);
	json_t *j;

	if (r < 0)
		return r;
	j = vm_json(vm, true);
	for (unsigned int i = 0; j && i < vm->n_nics && switch_ready(d); i++) {
		json_t *nic = json_array_get(json_object_get(j, "nics"), i), *stats = NULL;
		struct iov_rpc_error se;

		if (switch_call(d, "port.stats", json_pack("{s:s}", "name", json_string_value(json_object_get(nic, "port"))),
				&stats, &se) == 0)
			json_object_set_new(nic, "stats", json_is_array(stats) ? json_incref(json_array_get(stats, 0)) :
								 json_incref(stats));
		json_decref(stats);
	}
	if (j && vm->n_disks && switch_ready(d)) {
		json_t *blks = NULL, *b;
		struct iov_rpc_error se;
		size_t k;

		if (switch_call(d, "blk.list", NULL, &blks, &se) == 0)
			for (unsigned int i = 0; i < vm->n_disks; i++) {
				json_t *disk = json_array_get(json_object_get(j, "disks"), i);
				const char *dev = json_string_value(json_object_get(disk, "device"));

				json_array_foreach(blks, k, b)
					if (dev && !strcmp(dev, json_string_value(json_object_get(b, "name")) ?: ""))
						json_object_set(disk, "stats", json_object_get(b, "stats"));
			}
		json_decref(blks);
	}
	if (j && vm->state == VM_RUNNING) {
		struct iov_rpc_error ve;
		json_t *live = NULL;

		if (daemon_call(vm->ctl, IOVM_CALL_TIMEOUT_S, "vm.info", NULL, &live, &ve) < 0)
			live = NULL;
		json_object_set_new(j, "live", live ? live : json_null());
	}
	*ret = j;
	return j ? 0 : -ENOMEM;
}

static const char create_schema[] =
	"{\"type\":\"object\",\"required\":[\"name\"],\"additionalProperties\":false,\"properties\":{"
	"\"name\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9_-]{1,24}$\"},"
	"\"kernel\":{\"type\":\"string\",\"description\":\"absolute path; default: the bundled test guest\"},"
	"\"initrd\":{\"type\":\"string\",\"description\":\"Linux's initramfs, an absolute path\"},"
	"\"cmdline\":{\"type\":\"string\",\"maxLength\":1023},"
	"\"memory\":{\"type\":\"integer\",\"minimum\":2,\"maximum\":3582,\"multipleOf\":2,\"default\":64},"
	"\"cpus\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":8,\"default\":1},"
	"\"hugepages\":{\"type\":\"boolean\",\"default\":false},"
	"\"timeout\":{\"type\":\"integer\",\"minimum\":0,\"default\":0},"
	"\"nics\":{\"type\":\"array\",\"maxItems\":4,\"items\":{\"type\":\"object\",\"properties\":{"
	"\"mac\":{\"type\":\"string\"},"
	"\"queues\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":8,\"default\":1,"
	"\"description\":\"queue pairs (multiqueue: the guest's driver may use one per vCPU)\"}}}},"
	"\"passthrough\":{\"type\":\"array\",\"maxItems\":4,\"items\":{\"type\":\"object\",\"properties\":{"
	"\"vfio_user\":{\"type\":\"string\",\"description\":\"a vfio-user server's socket\"},"
	"\"device\":{\"type\":\"string\",\"description\":\"a PCI address bound to vfio-pci, or an mdev UUID\"}}}},"
	"\"disks\":{\"type\":\"array\",\"maxItems\":4,\"items\":{\"type\":\"object\",\"required\":[\"image\"],"
	"\"properties\":{\"image\":{\"type\":\"string\",\"description\":\"a raw image, an absolute path (file or "
	"block device); iovswitch serves it over vhost-user-blk\"},"
	"\"readonly\":{\"type\":\"boolean\",\"default\":false},"
	"\"serial\":{\"type\":\"string\",\"maxLength\":20},"
	"\"queues\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":8,\"default\":1},"
	"\"poll_us\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000,\"default\":0,"
	"\"description\":\"iovswitch's device thread polls this long after each request (a core's time)\"}}}}}}";
#define NAME_SCHEMA "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"}}}"

const struct iov_rpc_method vm_methods[] = {
	{ "vm.create", m_create, IOV_RPC_MUTATES, "defines a guest: kernel, command line, memory, NICs, disks", create_schema },
	{ "vm.start", m_start, IOV_RPC_MUTATES, "runs a guest in iovm, its NICs on iovswitch ports, its disks served by iovswitch",
	  NAME_SCHEMA },
	{ "vm.stop", m_stop, IOV_RPC_MUTATES, "stops a running guest (force: kill iovm)",
	  "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"},"
	  "\"force\":{\"type\":\"boolean\",\"default\":false}}}" },
	{ "vm.destroy", m_destroy, IOV_RPC_MUTATES, "forgets a guest that is not running", NAME_SCHEMA },
	{ "vm.list", m_list, 0, "the guests and their state", NULL },
	{ "vm.info", m_info, 0, "one guest: definition, state, why it stopped, console tail, iovm's live vm.info",
	  NAME_SCHEMA },
};
const size_t n_vm_methods = ARRAY_SIZE(vm_methods);

/* SPDX-License-Identifier: MIT */
/*
 * daemon.json in the state directory: the guests' definitions and the processes iovkitd runs
 * (pid and start time, so a restarted iovkitd adopts them rather than starting others). It is
 * replaced whole and atomically (tmp + fsync + rename, iov_state_save) after every change, so
 * a kill at any moment leaves either the old or the new file, never a torn one.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "daemon.h"
#include "iovkit-internal/ctx.h"

#define STATE_FILE "daemon.json"

void state_save(struct daemon *d)
{
	json_t *root = json_pack("{s:i,s:o,s:o}", "version", 1, "switch", switch_json(d), "vms", json_object());
	json_t *vms = json_object_get(root, "vms");
	int r;

	for (unsigned int i = 0; root && i < d->n_vms; i++)
		json_object_set_new(vms, d->vms[i]->name, vm_json(d->vms[i], false));
	r = root ? iov_state_save(d->ctx, STATE_FILE, root, 0600) : -ENOMEM;
	json_decref(root);
	if (r < 0)
		dlog(3, "cannot save the state: %s", iov_ctx_reason(d->ctx)[0] ? iov_ctx_reason(d->ctx) : iov_strerror(r));
}

static void found_switch(struct daemon *d, pid_t pid, const char *sock)
{
	if (strcmp(sock, d->sw.sock) || d->sw.proc.pid == pid)
		return;
	if (d->sw.proc.pid) {
		dlog(4, "killing a second iovswitch on %s, pid %d, that nothing records", sock, (int)pid);
		kill(pid, SIGKILL);
	} else if (proc_adopt_found(d, &d->sw.proc, pid) == 0) {
		dlog(5, "adopted iovswitch pid %d, started before a crash could record it", (int)pid);
		d->sw.wanted = true;
		switch_adopted(d);
	}
}

static void found_vm(struct daemon *d, pid_t pid, const char *ctl)
{
	size_t len = strlen(d->run_dir);
	char name[VM_NAME_MAX + 1];
	const char *end;
	struct vm *vm;

	/* Ours are RUN/vm-NAME.ctl; another iovkitd's or a person's iovm is not our business. */
	if (strncmp(ctl, d->run_dir, len) || strncmp(ctl + len, "/vm-", 4) || !(end = strstr(ctl + len, ".ctl")) ||
	    end[4] || end - (ctl + len + 4) > VM_NAME_MAX)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(end - (ctl + len + 4)), ctl + len + 4);
	vm = vm_find(d, name);
	if (vm && vm->proc.pid == pid)
		return;
	if (!vm || vm->proc.pid) {
		dlog(4, "killing iovm pid %d (%s): %s", (int)pid, ctl, vm ? "its guest already runs in another" :
									       "no such guest is defined");
		kill(pid, SIGKILL);
	} else {
		vm_adopt(d, vm, pid);
	}
}

int state_load(struct daemon *d)
{
	static const char *const keys[] = { "switch", "vms", NULL };
	json_t *root = NULL, *sw, *vm;
	const char *name;
	int r = iov_state_load(d->ctx, STATE_FILE, keys, &root);

	if (r < 0)
		return r;
	sw = json_object_get(root, "switch");
	d->sw.wanted = json_is_true(json_object_get(sw, "wanted"));
	d->sw.restarts = (unsigned int)json_integer_value(json_object_get(sw, "restarts"));
	if (proc_adopt(d, &d->sw.proc, (pid_t)json_integer_value(json_object_get(sw, "pid")),
		       (unsigned long long)json_integer_value(json_object_get(sw, "start_time"))) == 0) {
		dlog(6, "adopted the running iovswitch, pid %d", (int)d->sw.proc.pid);
		switch_adopted(d);
	}
	json_object_foreach(json_object_get(root, "vms"), name, vm)
		vm_from_json(d, name, vm);
	json_decref(root);
	/* What the file does not know: children a crash caught between their start and the save. */
	proc_scan(d, "iovswitch", "--socket", found_switch);
	proc_scan(d, "iovm", "--control", found_vm);
	return 0;
}

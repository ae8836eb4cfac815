/* SPDX-License-Identifier: MIT */
/*
 * daemon.json in the state directory: the guests' definitions and the processes iovkitd runs
 * (pid and start time, so a restarted iovkitd adopts them rather than starting others). It is
 * replaced whole and atomically (tmp + fsync + rename, iov_state_save) after every change, so
 * a kill at any moment leaves either the old or the new file, never a torn one.
 */
#include <errno.h>
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
	return 0;
}

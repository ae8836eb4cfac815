/* SPDX-License-Identifier: MIT */
/*
 * iovkitd's pieces (docs/api.md says what it serves, docs/daemon.md how it runs):
 *   main.c     options, the sd-event loop, the socket and who may change what, events
 *   proc.c     child processes: spawned or adopted, watched through pidfds
 *   host.c     methods over the libraries: host, PCI, IOMMU groups, binding, SR-IOV, pools
 *   switch.c   the supervised iovswitch, and its methods proxied as switch.*
 *   vm.c       guests: definitions, iovm processes, their switch ports
 *   vgpu.c     GPUs, mdev instances, MIG (NVML) and the MIG planner
 *   state.c    the state file (daemon.json) written after every change, read at start
 */
#ifndef IOVKITD_DAEMON_H
#define IOVKITD_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "iovkit/common.h"
#include "iovkit/jsonrpc.h"

#define VM_NAME_MAX 24          /* so "vm-NAME.N" fits iovswitch's 31-character port names */
#define VM_MAX 64
#define VM_NICS_MAX 4
#define VM_PT_MAX 4             /* iovm's limit on passed-through devices */
#define VM_DISKS_MAX 4
#define VM_CPUS_MAX 8           /* iovm's limit on vCPUs */

struct daemon;

/* A process iovkitd supervises: one it spawned, or one it found running at start (adopted). */
struct proc {
	pid_t pid;                      /* 0: none */
	unsigned long long start_time;  /* /proc/PID/stat's starttime: a reused pid does not match */
	bool adopted;                   /* not our child: its exit status cannot be known */
	int pidfd;
	sd_event_source *src;
	/* Called once when it is gone; @status is its exit status, 128 + signal, or -1 unknown. */
	void (*on_exit)(struct daemon *d, struct proc *p, int status, const char *how);
	void *owner;
	struct daemon *d;
};

enum sw_state { SW_STOPPED, SW_STARTING, SW_RUNNING, SW_STOPPING };

struct sw {
	enum sw_state state;
	bool wanted;                    /* switch.start was called and switch.stop was not */
	struct proc proc;
	unsigned int restarts;
	char last_exit[160];
	sd_event_source *timer;         /* readiness polling, or the restart delay */
	unsigned int ticks;
	char sock[108], log[PATH_MAX], state_file[PATH_MAX];
};

enum vm_state { VM_DEFINED, VM_RUNNING, VM_STOPPING, VM_STOPPED };

struct vm {
	char name[VM_NAME_MAX + 1];
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];          /* Linux's initramfs; "" none */
	char cmdline[1024];
	unsigned int memory;            /* MiB */
	unsigned int cpus;              /* vCPUs */
	unsigned int timeout;           /* s; 0: none */
	bool hugepages;                 /* guest RAM in 2 MiB hugepages */
	unsigned int n_nics;
	char macs[VM_NICS_MAX][18];
	unsigned int queues[VM_NICS_MAX];       /* each NIC's queue pairs (1-8) */
	unsigned int n_disks;
	struct vm_disk {                /* a virtio-blk disk served by iovswitch ("vm-NAME.dN") */
		char image[PATH_MAX];
		char serial[21];        /* "" iovswitch's default */
		bool readonly;
		unsigned int queues;    /* request queues (1-8) */
		unsigned int poll_us;   /* iovswitch's device polls this long after each request (0: no) */
	} disks[VM_DISKS_MAX];
	unsigned int n_pt;
	char pt[VM_PT_MAX][108];        /* a vfio-user socket, a PCI address on vfio-pci, or an mdev UUID */
	bool pt_user[VM_PT_MAX];
	enum vm_state state;
	struct proc proc;
	int exit_status;                /* the last run's; -1 unknown */
	char reason[200];
	long long started, stopped;     /* wall clock, s */
	char ctl[108], log[PATH_MAX];
};

struct daemon {
	sd_event *ev;
	struct iov_ctx *ctx;
	struct iov_rpc_server rpc;
	sd_event_source *listen_src;
	const char *root;               /* --root */
	const char *run_dir;            /* children's sockets and logs */
	const char *iovswitch, *iovm, *guest;   /* programs */
	unsigned int switch_memory;     /* MiB for iovswitch without hugepages */
	bool switch_hugepages;          /* iovswitch --hugepages instead */
	unsigned int switch_idle_sleep_us; /* iovswitch --idle-sleep (0: it polls without pause) */
	gid_t admin_gid;                /* (gid_t)-1: none */
	bool state_dirty;
	struct sw sw;
	struct vm *vms[VM_MAX];
	unsigned int n_vms;
	json_int_t events_sent;
	json_t *cache_pci, *cache_groups;       /* pci.list and iommu.groups until a change */
	bool cache_ok;                          /* uevents arrive, or a fixture root */
	int uevent_fd;
	sd_event_source *uevent_src;
};

/* main.c */
void dlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends the event @type with the fields of @fields (taken) to every subscribed client. */
void daemon_event(struct daemon *d, const char *type, json_t *fields);

/* proc.c */
int proc_spawn(struct daemon *d, struct proc *p, char *const argv[], const char *log_path);
/* Watches @pid if it is still the process that started at @start_time; -ESRCH if not. */
int proc_adopt(struct daemon *d, struct proc *p, pid_t pid, unsigned long long start_time);
int proc_signal(struct proc *p, int sig);
/* Stops watching without touching the process (iovkitd exits, the child lives on). */
void proc_forget(struct proc *p);
/* Watches @pid, whatever process it is now (found by proc_scan). */
int proc_adopt_found(struct daemon *d, struct proc *p, pid_t pid);
/*
 * Calls @fn for every process whose program is named @exe and whose arguments hold @flag
 * followed by a value: how iovkitd finds children a crash left unrecorded (started just
 * before the state file was written).
 */
void proc_scan(struct daemon *d, const char *exe, const char *flag,
	       void (*fn)(struct daemon *d, pid_t pid, const char *value));
/* "exited with status 3", "killed by SIGKILL" for a status as on_exit gets it. */
void proc_describe(int status, char *buf, size_t size);

/* state.c */
void state_save(struct daemon *d);
int state_load(struct daemon *d);

/* switch.c */
/* One call to the JSON-RPC socket @sock (iovswitch's, an iovm's), waiting at most @timeout_s for
 * the answer; @params borrowed. As iov_rpc_call, a failure to connect named in @e. */
int daemon_call(const char *sock, unsigned int timeout_s, const char *method, json_t *params, json_t **ret,
		struct iov_rpc_error *e);
int switch_start(struct daemon *d);
bool switch_ready(const struct daemon *d);
/* Calls @method on iovswitch (params taken). As an iov_rpc_fn's result. */
int switch_call(struct daemon *d, const char *method, json_t *params, json_t **ret, struct iov_rpc_error *e);
json_t *switch_json(const struct daemon *d);
void switch_adopted(struct daemon *d);
extern const struct iov_rpc_method switch_methods[];
extern const size_t n_switch_methods;

/* vm.c */
struct vm *vm_find(struct daemon *d, const char *name);
json_t *vm_json(const struct vm *vm, bool full);
int vm_from_json(struct daemon *d, const char *name, json_t *j);
/* @vm runs in iovm @pid, which the state file did not record: watch it as running. */
void vm_adopt(struct daemon *d, struct vm *vm, pid_t pid);
/* iovswitch came up: give running guests their ports back, drop ports of guests that are gone. */
void vm_switch_up(struct daemon *d);
extern const struct iov_rpc_method vm_methods[];
extern const size_t n_vm_methods;

/* vgpu.c */
extern const struct iov_rpc_method vgpu_methods[];
extern const size_t n_vgpu_methods;

/* host.c */
/* A library call's failure as the answer: the context's reason (it names the object) or strerror. */
int daemon_lib_fail(struct daemon *d, struct iov_rpc_error *e, int r, const char *what);
/* Forgets the cached inventory: devices changed (a uevent, a bind, a VF count). */
void host_cache_drop(struct daemon *d);
/* Listens for the kernel's PCI, IOMMU and VFIO uevents, each dropping the cache. */
int host_watch_uevents(struct daemon *d);
extern const struct iov_rpc_method host_methods[];
extern const size_t n_host_methods;

#endif

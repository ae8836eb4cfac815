/* SPDX-License-Identifier: MIT */
/*
 * iovm: one guest per process. Setup happens here (arguments, KVM, RAM, devices, the image);
 * then the vCPU runs in its thread and this thread watches the vhost-user backends, reconnecting
 * one that went away (the guest's queues resume where the backend had left them).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iovkit/common.h"
#include "iovkit/jsonrpc.h"
#include "vmm-internal.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: iovm [OPTIONS] --kernel FILE\n"
		"Runs one guest under KVM with virtio devices served by vhost-user backends.\n"
		"\n"
		"  -k, --kernel FILE     the guest: a 64-bit ELF executable (iovm's test guest),\n"
		"                        started in long mode at its entry point; or Linux, a bzImage\n"
		"                        or an uncompressed vmlinux, through the boot protocol's\n"
		"                        64-bit entry (docs/vmm.md)\n"
		"      --initrd FILE     Linux's initramfs\n"
		"  -c, --cmdline TEXT    the guest's command line (the test guest's commands, or\n"
		"                        Linux's: console=ttyS0 for its console on iovm's serial port)\n"
		"  -m, --memory MIB      guest RAM in MiB (default 64; 2 MiB steps, below 3584)\n"
		"      --cpus N          vCPUs, one thread each (default 1, at most 8); Linux starts\n"
		"                        the others itself, the test guest gets all of them at once\n"
		"      --hugepages       guest RAM in 2 MiB hugepages (reserved at start)\n"
		"      --net SOCK[,mac=MAC][,queues=N]  a virtio-net NIC whose queues the vhost-user\n"
		"                        backend listening on SOCK serves (iovswitch port, DPDK vhost\n"
		"                        PMD); MAC defaults to 02:00:00:00:00:NN, NN the NIC's number;\n"
		"                        N queue pairs (1-8, default 1; more need the backend's\n"
		"                        multiqueue: iovswitch's --queues N)\n"
		"      --blk SOCK        a virtio-blk disk served by the vhost-user backend at SOCK\n"
		"      --vfio-user SOCK[,trap]  pass through the PCI device a vfio-user server\n"
		"                        exposes at SOCK\n"
		"      --vfio BDF|UUID[,trap]  pass through the PCI device BDF, bound to vfio-pci,\n"
		"                        or the mediated device UUID (a vGPU). BARs the device lets\n"
		"                        iovm map go straight into the guest; ,trap traps every\n"
		"                        access instead (debugging, comparisons)\n"
		"      --serial FILE     the serial console's output (default: standard output); its\n"
		"                        input is standard input (lines, as the terminal gives them)\n"
		"      --no-console-input  leave standard input alone\n"
		"      --timeout SECS    stop the guest after SECS seconds (exit status 123)\n"
		"      --control SOCK    serve JSON-RPC 2.0 on the Unix socket SOCK: vm.info,\n"
		"                        vm.pause, vm.resume, vm.stop (docs/vmm.md)\n"
		"      --user USER       once set up, run as USER (a name or UID; its primary group)\n"
		"      --no-seccomp      do not apply the seccomp filter (debugging only)\n"
		"      --stats           at exit, print how many exits iovm handled (and of them MMIO)\n"
		"  -h, --help            this text\n"
		"      --version         iovm's version\n"
		"\n"
		"Exit status: what the guest wrote to port 0x501 (0-119: the test guest's result);\n"
		"120 the guest powered off (ACPI), 121 it reset or shut down (triple fault), 122 KVM\n"
		"could not run it, 123 --timeout expired, 124 stopped by vm.stop, 125 iovm could not\n"
		"set the VM up.\n");
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

struct dev_arg {
	enum vhost_dev_type type;
	char sock[256];
	uint8_t mac[6];
	unsigned int pairs;
};

/* "SOCK[,mac=MAC][,queues=N]", the options in any order, each once at most */
static int parse_net(const char *arg, unsigned int n, struct dev_arg *d)
{
	const char *comma = strchr(arg, ',');
	size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
	bool have_mac = false, have_queues = false;

	d->type = VHOST_DEV_NET;
	d->pairs = 1;
	if (!len || len >= sizeof(d->sock))
		return -EINVAL;
	memcpy(d->sock, arg, len);
	d->sock[len] = '\0';
	memcpy(d->mac, (uint8_t[]){ 0x02, 0, 0, 0, 0, (uint8_t)(n + 1) }, 6);
	while (comma) {
		const char *opt = comma + 1;
		char buf[32];

		comma = strchr(opt, ',');
		len = comma ? (size_t)(comma - opt) : strlen(opt);
		if (len >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, opt, len);
		buf[len] = '\0';
		if (!strncmp(buf, "mac=", 4) && !have_mac) {
			if (parse_mac(buf + 4, d->mac) < 0 || (d->mac[0] & 1))
				return -EINVAL;
			have_mac = true;
		} else if (!strncmp(buf, "queues=", 7) && !have_queues) {
			unsigned long q;

			if (iov_parse_ulong(buf + 7, 10, 1, 8, &q) < 0)
				return -EINVAL;
			d->pairs = (unsigned int)q;
			have_queues = true;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* "SOCK" */
static int parse_blk(const char *arg, struct dev_arg *d)
{
	d->type = VHOST_DEV_BLK;
	if (!*arg || strlen(arg) >= sizeof(d->sock))
		return -EINVAL;
	memcpy(d->sock, arg, strlen(arg) + 1);
	return 0;
}

/* After setup, before the guest runs: give up root for @user (a name or a number). */
static int drop_privileges(const char *user, char *why, size_t why_len)
{
	struct passwd *pw = getpwnam(user);
	char *end;
	unsigned long uid = strtoul(user, &end, 10);
	gid_t gid;

	if (!pw && (*end || !*user)) {
		snprintf(why, why_len, "--user %s: no such user", user);
		return -EINVAL;
	}
	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else {
		pw = getpwuid((uid_t)uid);
		gid = pw ? pw->pw_gid : (gid_t)uid;
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid((uid_t)uid) < 0) {
		snprintf(why, why_len, "--user %s: %s", user, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Until the vCPU stops: watch the backends, reconnect those that left. */
static void supervise(struct vm *vm, struct iov_rpc_server *ctl, double deadline, int *console_in)
{
	bool away[PCI_MAX_DEVS] = { false };
	double next_try = 0;

	for (;;) {
		struct pollfd p[PCI_MAX_DEVS + 2 + IOV_RPC_SERVER_POLLFDS] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			/* Console input, while there is room for it in the 8250's queue. */
			{ .fd = *console_in >= 0 && vm_serial_room(vm) ? *console_in : -1, .events = POLLIN },
		};
		unsigned int idx[PCI_MAX_DEVS + 2], n = 2, n_ctl = 0, first_ctl;
		int wait_ms = 200;

		for (unsigned int i = 0; i < vm->n_devs; i++)
			if (!away[i] && vhost_dev_fd(vm->devs[i]) >= 0) {
				/* Hang-ups only: the vCPU thread reads the backend's answers on this socket. */
				p[n] = (struct pollfd){ .fd = vhost_dev_fd(vm->devs[i]), .events = 0 };
				idx[n++] = i;
			}
		first_ctl = n;
		if (ctl)
			n_ctl = (unsigned int)iov_rpc_server_pollfds(ctl, p + n);
		if (deadline > 0 && vm_now() >= deadline) {
			fprintf(stderr, "iovm: --timeout expired; stopping the guest\n");
			vm_stop(vm, VM_STOP_TIMEOUT);
		}
		if (poll(p, n + n_ctl, wait_ms) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			return;
		if (p[1].revents) {
			uint8_t buf[256];
			ssize_t got = read(*console_in, buf, vm_serial_room(vm) < sizeof(buf) ? vm_serial_room(vm) : sizeof(buf));

			if (got <= 0)
				*console_in = -1;       /* end of input: stop watching it */
			else
				vm_serial_input(vm, buf, (size_t)got);
		}
		if (ctl)
			iov_rpc_server_handle(ctl, p + first_ctl);
		for (unsigned int k = 2; k < n; k++)
			if (p[k].revents & (POLLHUP | POLLERR)) {
				unsigned int i = idx[k];

				fprintf(stderr, "iovm: %s: the backend went away; reconnecting\n", vhost_dev_path(vm->devs[i]));
				vhost_dev_disconnected(vm->devs[i]);
				away[i] = true;
			}
		if (vm_now() < next_try)
			continue;
		next_try = vm_now() + 0.2;
		for (unsigned int i = 0; i < vm->n_devs; i++)
			if (away[i] && vhost_dev_reconnect(vm->devs[i]) == 0) {
				fprintf(stderr, "iovm: %s: reconnected\n", vhost_dev_path(vm->devs[i]));
				away[i] = false;
			}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "cmdline", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' }, { "net", required_argument, NULL, 'n' },
		{ "blk", required_argument, NULL, 'b' },    { "serial", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { "user", required_argument, NULL, 'u' },
		{ "no-seccomp", no_argument, NULL, 'S' },    { "control", required_argument, NULL, 'C' },
		{ "vfio-user", required_argument, NULL, 'U' }, { "vfio", required_argument, NULL, 'F' },
		{ "initrd", required_argument, NULL, 'I' }, { "no-console-input", no_argument, NULL, 'N' },
		{ "hugepages", no_argument, NULL, 'H' },    { "cpus", required_argument, NULL, 'P' },
		{ "stats", no_argument, NULL, 'T' },
		{ 0 },
	};
	struct dev_arg devs[PCI_MAX_DEVS - 1];
	struct { char target[256]; bool user, trap; } pts[VM_MAX_PASSTHROUGH];
	unsigned int n_devs = 0, n_nets = 0, n_pts = 0;
	const char *kernel = NULL, *cmdline = "", *serial = NULL, *user = NULL, *control = NULL, *initrd = NULL;
	struct iov_rpc_server ctl;
	int console_in = STDIN_FILENO;  /* the 8250's input; --no-console-input: none */
	bool sandbox = true, hugepages = false, stats = false;
	unsigned long memory = 64, cpus = 1;
	double timeout = 0;
	char why[512] = "", *end;
	struct vm vm;
	uint64_t entry;
	enum linux_kind kind;
	int c, r, status;

	while ((c = getopt_long(argc, argv, "k:c:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kernel = optarg; break;
		case 'c': cmdline = optarg; break;
		case 's': serial = optarg; break;
		case 'm':
			if (iov_parse_ulong(optarg, 10, 0, ULONG_MAX, &memory) < 0) {
				fprintf(stderr, "iovm: --memory '%s' is not a number of MiB\n", optarg);
				return VM_STOP_SETUP;
			}
			break;
		case 'P':
			if (iov_parse_ulong(optarg, 10, 1, VM_MAX_VCPUS, &cpus) < 0) {
				fprintf(stderr, "iovm: --cpus '%s': a number of vCPUs, 1 to %d\n", optarg, VM_MAX_VCPUS);
				return VM_STOP_SETUP;
			}
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || !*optarg || timeout <= 0) {
				fprintf(stderr, "iovm: --timeout '%s' is not a number of seconds\n", optarg);
				return VM_STOP_SETUP;
			}
			break;
		case 'n':
		case 'b':
			if (n_devs == PCI_MAX_DEVS - 1) {
				fprintf(stderr, "iovm: at most %d devices\n", PCI_MAX_DEVS - 1);
				return VM_STOP_SETUP;
			}
			if ((c == 'n' ? parse_net(optarg, n_nets++, &devs[n_devs]) : parse_blk(optarg, &devs[n_devs])) < 0) {
				fprintf(stderr, "iovm: --%s '%s': expected SOCK%s\n", c == 'n' ? "net" : "blk", optarg,
					c == 'n' ? "[,mac=aa:bb:cc:dd:ee:ff][,queues=1..8] with a unicast MAC" : "");
				return VM_STOP_SETUP;
			}
			n_devs++;
			break;
		case 'U':
		case 'F':
			if (n_pts == VM_MAX_PASSTHROUGH) {
				fprintf(stderr, "iovm: at most %d passed-through devices\n", VM_MAX_PASSTHROUGH);
				return VM_STOP_SETUP;
			}
			pts[n_pts].user = c == 'U';
			pts[n_pts].trap = strlen(optarg) >= 5 && !strcmp(optarg + strlen(optarg) - 5, ",trap");
			if (strlen(optarg) - (pts[n_pts].trap ? 5 : 0) >= sizeof(pts[n_pts].target) ||
			    strlen(optarg) == (pts[n_pts].trap ? 5u : 0u)) {
				fprintf(stderr, "iovm: --%s '%s': a %s\n", c == 'U' ? "vfio-user" : "vfio", optarg,
					c == 'U' ? "socket path" : "PCI address or mdev UUID");
				return VM_STOP_SETUP;
			}
			snprintf(pts[n_pts].target, sizeof(pts[n_pts].target), "%.*s",
				 (int)(strlen(optarg) - (pts[n_pts].trap ? 5 : 0)), optarg);
			n_pts++;
			break;
		case 'I': initrd = optarg; break;
		case 'N': console_in = -1; break;
		case 'H': hugepages = true; break;
		case 'T': stats = true; break;
		case 'u': user = optarg; break;
		case 'C': control = optarg; break;
		case 'S': sandbox = false; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("iovm %s\n", IOVKIT_VERSION); return 0;
		default: usage(stderr); return VM_STOP_SETUP;
		}
	}
	if (!kernel || optind != argc) {
		fprintf(stderr, "iovm: %s\n", kernel ? "unexpected arguments" : "--kernel FILE is required");
		usage(stderr);
		return VM_STOP_SETUP;
	}

	/* A terminal we do not own (iovm started in the background) would stop us with SIGTTIN. */
	if (console_in >= 0 && isatty(console_in) && tcgetpgrp(console_in) != getpgrp())
		console_in = -1;
	/* jansson seeds its hash tables from /dev/urandom on first use: now, before the sandbox. */
	json_object_seed(0);
	/* What the kernel is decides how it boots; a wrong pairing is refused before KVM is opened. */
	kind = linux_kind(kernel);
	if (access(kernel, R_OK) < 0) {
		fprintf(stderr, "iovm: --kernel %s: %s\n", kernel, strerror(errno));
		return VM_STOP_SETUP;
	}
	if (initrd && kind == LINUX_NONE) {
		fprintf(stderr, "iovm: --initrd is for Linux; %s is not a Linux kernel\n", kernel);
		return VM_STOP_SETUP;
	}
	r = vm_create(&vm, (uint64_t)memory << 20, hugepages, (unsigned int)cpus, why, sizeof(why));
	if (r == 0 && serial) {
		vm.uart.out_fd = open(serial, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (vm.uart.out_fd < 0)
			r = -errno, snprintf(why, sizeof(why), "--serial %s: %s", serial, strerror(errno));
	}
	for (unsigned int i = 0; r == 0 && i < n_devs; i++)
		r = vhost_dev_add(&vm, devs[i].type, devs[i].sock, devs[i].type == VHOST_DEV_NET ? devs[i].mac : NULL,
				  devs[i].type == VHOST_DEV_NET ? devs[i].pairs : 1, why, sizeof(why));
	for (unsigned int i = 0; r == 0 && i < n_pts; i++)
		r = vfio_dev_add(&vm, pts[i].target, pts[i].user, pts[i].trap, why, sizeof(why));
	if (r == 0 && kind != LINUX_NONE) {
		r = linux_load(&vm, kernel, initrd, cmdline, &entry, why, sizeof(why));
		if (r == 0)
			r = vm_setup_linux(&vm, entry, why, sizeof(why));
	} else if (r == 0) {
		r = vm_load_elf(&vm, kernel, &entry, why, sizeof(why));
		if (r == 0)
			r = vm_setup_direct(&vm, entry, cmdline, why, sizeof(why));
	}
	if (r == 0 && control && (r = iov_rpc_server_listen(&ctl, control, 0660, 0, &vm_service, &vm)) < 0) {
		snprintf(why, sizeof(why), "--control %s: %s", control,
			 r == -EADDRINUSE ? "another process serves there" : strerror(-r));
		control = NULL;
	}
	if (r == 0 && user)
		r = drop_privileges(user, why, sizeof(why));
	if (r == 0 && (r = vm_start(&vm)) < 0)
		snprintf(why, sizeof(why), "starting the vCPU threads: %s", strerror(-r));
	if (r == 0 && sandbox && (r = sandbox_apply(why, sizeof(why))) < 0)
		vm_stop(&vm, VM_STOP_SETUP);
	if (r < 0) {
		fprintf(stderr, "iovm: %s\n", why);
		if (control) {
			iov_rpc_server_close(&ctl);
			unlink(control);
		}
		vm_stop(&vm, VM_STOP_SETUP);    /* vCPU threads that exist see it once they go */
		vm_go(&vm);
		vm_join(&vm);
		vm_destroy(&vm);
		return VM_STOP_SETUP;
	}
	vm_go(&vm);
	vm.started_at = vm_now();
	supervise(&vm, control ? &ctl : NULL, timeout > 0 ? vm_now() + timeout : 0, &console_in);
	if (control)
		iov_rpc_server_close(&ctl);     /* the file stays (the sandbox allows no unlink); a later --control replaces it */
	vm_join(&vm);
	status = vm.stop_status;
	if (stats)
		fprintf(stderr, "iovm: %llu exits handled by iovm, %llu of them MMIO\n", (unsigned long long)vm_exits(&vm, false),
			(unsigned long long)vm_exits(&vm, true));
	vm_destroy(&vm);
	return status;
}

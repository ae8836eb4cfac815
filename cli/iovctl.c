/* SPDX-License-Identifier: MIT */
/*
 * iovctl: the iovkit command line. Each command is one row of the table below; its
 * implementation lives in cmd-<name>.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "iovkit-internal/macro.h"

static const struct cli_command commands[] = {
	{ "host", "[--check]", "what this host offers for device assignment, with fixes for what is missing",
	  "  --check   exit with status 3 when a required prerequisite is missing\n", cmd_host },
	{ "devices", "[--class KIND]", "PCI functions with their IOMMU group, driver, SR-IOV role and assignability",
	  "  --class KIND   only net, storage, gpu, accelerator, bridge or other devices\n", cmd_devices },
	{ "groups", "", "IOMMU groups: type, viability for VFIO, members", NULL, cmd_groups },
	{ "group", "GROUP", "one IOMMU group: members, viability, reserved regions, why its devices share it", NULL,
	  cmd_group },
	{ "bind", "DEVICE|GROUP [--driver NAME] [--force]",
	  "bind a whole IOMMU group to vfio-pci, recording the original drivers for restore",
	  "  --driver NAME  bind to NAME instead of vfio-pci\n"
	  "  --force        bind even devices the host is using (default route, mounts, console)\n"
	  "\nA DEVICE (a PCI address, dddd:bb:dd.f or bb:dd.f) means its whole group. If anything fails,\n"
	  "every device already moved is put back. The journal is <root>/var/lib/iovkit/bind-journal.json.\n",
	  cmd_bind },
	{ "sriov", "[PF] | set PF --numvfs N [--vfio] [--autoprobe on|off] | apply FILE|- | save | recover",
	  "SR-IOV PFs and their VFs; create or remove VFs; apply or save a configuration",
	  "  set PF --numvfs N   make PF have N VFs (a non-zero count is changed through 0, as the\n"
	  "                      kernel requires); waits until the VFs exist\n"
	  "  --vfio              bind every VF's IOMMU group to vfio-pci (journaled; iovctl restore)\n"
	  "  --autoprobe on|off  whether new VFs get host drivers (sriov_drivers_autoprobe)\n"
	  "  apply FILE|-        bring the PFs to a saved configuration (docs/sriov.md); checked whole\n"
	  "                      first, idempotent, so it also restores a configuration after a reboot\n"
	  "  save                print the current state as such a configuration (PFs by stable path)\n"
	  "  recover             finish a 'set' that a crash interrupted (apply does this first);\n"
	  "                      a 'set' that fails puts the PF back to its old VF count\n",
	  cmd_sriov },
	{ "vf", "show PF VF | set PF VF [SETTINGS]", "a VF's MAC, VLAN, spoof check, trust, link state and rate (netlink)",
	  "  PF is the PF's interface name or PCI address; VF its index.\n"
	  "  --mac aa:bb:cc:dd:ee:ff      administrative MAC (00:00:00:00:00:00 clears it)\n"
	  "  --vlan N [--qos Q] [--vlan-proto 802.1Q|802.1ad]   port VLAN (0: none), priority 0-7\n"
	  "  --spoofchk on|off   --trust on|off   --link-state auto|enable|disable\n"
	  "  --min-rate MBPS --max-rate MBPS     transmit rate limits (0: none)\n"
	  "Settings the PF's driver does not implement fail with its error; bad values change nothing.\n",
	  cmd_vf },
	{ "pool", "[list] | define NAME [SELECTORS] [--defaults JSON] | delete NAME | alloc NAME CONSUMER | release VF",
	  "named pools of VFs; allocate a VF to a consumer, release it reset to the pool's defaults",
	  "  define NAME   create or replace a pool of the VFs that match every selector given:\n"
	  "      --vendor ID --device ID   the VF's PCI IDs, in hex     --driver NAME   its driver now\n"
	  "      --pf ADDRESS --pf-netdev IF   its PF     --link-type ethernet|infiniband   the PF's link\n"
	  "      --rdma yes|no   the PF or VF has an RDMA device\n"
	  "      --defaults JSON  the settings a released VF gets, as in a configuration's vfs[]\n"
	  "                       (docs/sriov.md); default: MAC cleared, VLAN 0, spoof check on,\n"
	  "                       trust off, link state auto\n"
	  "  delete NAME   remove a pool that has nothing allocated\n"
	  "  alloc NAME CONSUMER   give the first free VF to CONSUMER; prints its address\n"
	  "  release VF    reset the VF to its pool's defaults, then free it (if the reset fails it\n"
	  "                stays allocated)\n"
	  "Pools and allocations live in <root>/var/lib/iovkit/pools.json. Membership follows the VFs\n"
	  "that exist: create VFs (iovctl sriov set) and they join the pools they match.\n",
	  cmd_pool },
	{ "rdma", "", "RDMA devices and the PCI functions (PF or VF) they belong to", NULL, cmd_rdma },
	{ "switch",
	  "[--socket PATH] [info] | ports | stats [PORT] | add NAME --vhost PATH [--client] [--queues N] | add NAME --dpdk DEVARGS"
	  " | del NAME | xconnect NAME PEER|--none | pool-assign UPLINK POOL PORT | pool-release UPLINK POOL | pools"
	  " | blk-add NAME --vhost PATH --image FILE [--queues N] [--poll-us US] | blk-del NAME | blks",
	  "iovswitch's ports, counters, cross-connects and VMDq pools, over its control socket",
	  "  --socket PATH      the switch's socket (default $IOVSWITCH_SOCKET, else\n"
	  "                     /run/iovkit/iovswitch.sock)\n"
	  "  info               version, ports, mbufs, learned MACs\n"
	  "  ports              the ports and their state (vhost: waiting, connected, running)\n"
	  "  stats [PORT]       packets, bytes, flooded frames and drops by reason\n"
	  "  add NAME --vhost PATH [--client]   a vhost-user port: listen at PATH (a VMM connects),\n"
	  "                     or with --client connect to a VMM listening there and reconnect;\n"
	  "                     --queues N offers N queue pairs (1..8, default 1), all polled\n"
	  "  add NAME --dpdk DEVARGS [--vmdq-pools N]   a DPDK port: a PCI address on vfio-pci,\n"
	  "                     net_tap0,...; --vmdq-pools: steer pools in the NIC (8/16/32/64)\n"
	  "      --vlan N       access VLAN (frames on the port untagged); default trunk\n"
	  "      --mtu N        largest payload accepted from the port (default 1500)\n"
	  "  del NAME           remove a port\n"
	  "  xconnect NAME PEER wire two ports together, bypassing learning; --none undoes it\n"
	  "  pool-assign UPLINK POOL PORT [--mac MAC]... [--vlan N]... [--no-broadcast] [--multicast]\n"
	  "                     frames arriving on UPLINK for these MACs and VLANs (default VLAN:\n"
	  "                     untagged) go to PORT alone, as a VMDq pool would\n"
	  "  pool-release UPLINK POOL          pools     the assignments\n"
	  "  blk-add NAME --vhost PATH --image FILE [--readonly] [--serial ID] [--client] [--queues N]\n"
	  "          [--poll-us US]\n"
	  "                     serve a raw image (file or block device) as a vhost-user virtio-blk\n"
	  "                     device (QEMU vhost-user-blk-pci, iovm); --queues: request queues (1..8);\n"
	  "                     --poll-us: after each request the device's thread polls its rings\n"
	  "                     that long (0..1000, default 0) before it sleeps, for drivers that\n"
	  "                     wait on each request, at the price of that thread's core\n"
	  "  blk-del NAME       stop serving it          blks      the blk devices, with I/O counters\n",
	  cmd_switch },
	{ "rpc", "[--socket PATH] METHOD [PARAMS]", "call a JSON-RPC method of an iovkit socket and print the result",
	  "  --socket PATH   default $IOVKITD_SOCKET, else /run/iovkit/iovkitd.sock; rpc.discover lists a socket's methods\n", cmd_rpc },
	{ "vgpu", "[list] | types [PARENT] | instances | create PARENT TYPE [--uuid UUID] | remove UUID"
	  " | define PARENT TYPE [--uuid UUID] [--no-autostart] | undefine UUID | definitions | start-defined"
	  " | vf-type VF TYPE | mig | sched | sched-set INDEX POLICY [--timeslice-us US | --arr [--frequency N]"
	  " [--avg-factor N]] | plan MODEL PROFILE... [--existing PROFILE@START]...",
	  "GPUs and their partitions: mdev types and instances, VF vGPU types, NVIDIA MIG and vGPU scheduling, a MIG planner",
	  "  list             GPUs with IOMMU group, driver, how they split (mdev, sriov, per-VF\n"
	  "                   vGPU types) and the functions that go with them (HDMI audio)\n"
	  "  types [PARENT]   mdev types: name, available instances, instances\n"
	  "  instances        existing mdev instances\n"
	  "  create PARENT TYPE [--uuid UUID]   a new instance (a random UUID unless given); checked\n"
	  "                   first: type, UUID form and use, available_instances\n"
	  "  remove UUID      remove an instance\n"
	  "  define PARENT TYPE [--uuid UUID] [--no-autostart]   record an instance to create at\n"
	  "                   every start (iovkitd creates autostart ones when it starts; so does\n"
	  "                   start-defined), in <root>/var/lib/iovkit/mdev.json\n"
	  "  undefine UUID    forget a definition   definitions   list them, with whether each exists\n"
	  "  vf-type VF TYPE  give an NVIDIA VF a vGPU type from its creatable list (the ID), or\n"
	  "                   take its type away (0); refused if it has another type already\n"
	  "  mig              MIG mode, profiles with placements, GPU instances, from NVML\n"
	  "                   (libnvidia-ml.so.1; $IOVKIT_NVML_LIBRARY another); read-only\n"
	  "  sched            each GPU's time-sliced vGPU scheduler: policy, adaptive round robin\n"
	  "                   (ARR), time slice, and the ranges it accepts, from NVML\n"
	  "  sched-set INDEX POLICY   best-effort, equal-share or fixed-share, with --timeslice-us\n"
	  "                   (default: the driver's), or best-effort --arr with --frequency and\n"
	  "                   --avg-factor; checked against what the GPU offers; NVML refuses it\n"
	  "                   while VMs run on the GPU, and it lasts until the driver reloads\n"
	  "  plan MODEL PROFILE... [--existing PROFILE@START]...   a MIG layout for the profiles\n"
	  "                   on MODEL (A100-40GB, A100-80GB, H100-80GB, H200-141GB), or the\n"
	  "                   smallest change to the existing instances that admits them\n",
	  cmd_vgpu },
	{ "vm",
	  "[--socket PATH] [list] | create NAME [--kernel FILE [--initrd FILE]] [--cmdline TEXT] [--memory MIB] [--cpus N]"
	  " [--nic[=MAC][,queues=N]]... [--disk=IMAGE[,ro][,serial=ID][,queues=N][,poll=US]]..."
	  " [--vfio-user SOCK]... [--vfio BDF]... [--hugepages] [--timeout S] | start NAME [--wait] | stop NAME [--force]"
	  " | info NAME | destroy NAME",
	  "guests run by iovkitd in iovm, their NICs on iovswitch, their disks served by it",
	  "  --socket PATH   iovkitd's socket (default $IOVKITD_SOCKET, else /run/iovkit/iovkitd.sock)\n"
	  "  create NAME     define a guest (a-z 0-9 _ -, up to 24):\n"
	  "      --kernel FILE   what iovm boots: an ELF such as the bundled test guest (the default),\n"
	  "                      or Linux, a bzImage or vmlinux (docs/vmm.md)\n"
	  "      --initrd FILE   Linux's initramfs (an absolute path, as --kernel)\n"
	  "      --cmdline TEXT  its command line      --memory MIB   RAM (default 64)\n"
	  "      --cpus N        vCPUs, 1 to 8 (default 1)\n"
	  "      --nic[=MAC][,queues=N]  a virtio-net NIC on an iovswitch port (repeat for more;\n"
	  "                      default MAC: stable per guest); N queue pairs, 1 to 8 (default 1;\n"
	  "                      Linux uses one per vCPU)\n"
	  "      --disk=IMAGE[,ro][,serial=ID][,queues=N][,poll=US]  a virtio-blk disk: iovswitch\n"
	  "                      serves the raw IMAGE (an absolute path: a file or block device)\n"
	  "                      over vhost-user-blk, read-only with ro; ID up to 20 bytes; N\n"
	  "                      request queues, 1 to 8 (default 1); US: its thread polls that\n"
	  "                      long after each request, 0 to 1000 (default 0, switch blk-add\n"
	  "                      --poll-us); repeat for more (up to 4)\n"
	  "      --timeout S     stop it after S seconds\n"
	  "      --vfio-user SOCK   pass through the device a vfio-user server serves at SOCK\n"
	  "      --vfio BDF      pass through a PCI device bound to vfio-pci (device.bind first)\n"
	  "      --hugepages     guest RAM in 2 MiB hugepages\n"
	  "  start NAME      run it (NICs and disks need iovswitch: iovctl rpc switch.start); --wait: until it\n"
	  "                  stops, then exit 0 only if the guest's own status was 0\n"
	  "  stop NAME       ask iovm to stop (exit 124) and wait; --force kills it\n"
	  "  info NAME       definition, state, why it stopped, port and disk counters, the console's\n"
	  "                  last lines\n"
	  "  destroy NAME    forget a guest that is not running, and remove its switch ports and disks\n",
	  cmd_vm },
	{ "daemon", "[--socket PATH] [status] | shutdown [--stop-children]", "iovkitd's version, iovswitch and guests; stop it",
	  "  shutdown         stop iovkitd; iovswitch and guests keep running and the next iovkitd\n"
	  "                   adopts them, unless --stop-children\n",
	  cmd_daemon },
	{ "events", "[--socket PATH] [--count N] [--timeout S]", "follow iovkitd's events (guest and switch state, binds)",
	  "  --count N     exit after N events (status 1 if --timeout passes first)\n"
	  "  --timeout S   stop after S seconds without an event\n"
	  "  --json        one JSON object per line\n",
	  cmd_events },
	{ "demo", "[--socket PATH] [--pings N] [--frames N] [--size BYTES] [--keep]",
	  "the end-to-end demo: iovkitd, host report, iovswitch, two guests exchanging frames, a report",
	  "  Starts iovkitd if none answers on the socket, shows the host, starts iovswitch, boots\n"
	  "  guests demo-a and demo-b in iovm with a virtio-net NIC each on the switch; demo-b pings\n"
	  "  demo-a (--pings, default 50) and then streams --frames (default 2000) frames of --size\n"
	  "  bytes (default 1514) that demo-a echoes. Prints latency, throughput and the switch's\n"
	  "  counters, then removes the guests and stops what it started (--keep: leaves them).\n"
	  "  Exit status 0 only when both guests reported success.\n",
	  cmd_demo },
	{ "restore", "DEVICE|GROUP|--all", "put devices bound by 'iovctl bind' back on their original drivers",
	  "  --all   every device in the bind journal\n\nRestoring what is already back is not an error.\n",
	  cmd_restore },
};

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("iovctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct iov_ctx *cli_ctx_open(const struct cli *cli)
{
	struct iov_ctx *ctx;
	int r = iov_ctx_new(cli->root, &ctx);

	if (r < 0) {
		cli_error("cannot open host root %s: %s", cli->root ? cli->root : "/", iov_strerror(r));
		return NULL;
	}
	return ctx;
}

int cli_next_opt(struct cli *cli, const char *cmd, const struct option *opts)
{
	for (;;) {
		int opt = getopt_long(cli->argc, cli->argv, "", opts, NULL);

		if (opt == 'j') {
			cli->json = true;
			continue;
		}
		if (opt == '?' || opt == ':') {
			cli_usage(cmd, "bad option");
			return '?';
		}
		return opt;
	}
}

const char *cli_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

json_int_t cli_num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

int cli_number(const char *v, int base, unsigned long max, unsigned long *out)
{
	return iov_parse_ulong(v, base, 0, max, out) < 0 ? -1 : 0;
}

int cli_fail(struct iov_ctx *ctx, int err, const char *what)
{
	const char *reason = iov_ctx_reason(ctx);

	if (reason[0])
		cli_error("%s", reason);
	else
		cli_error("%s: %s", what, iov_strerror(err));
	return EXIT_FAIL;
}

int cli_print_json(json_t *j)
{
	_cleanup_free_ char *text = NULL;
	int ok;

	if (!j) {
		cli_error("out of memory building JSON output");
		return EXIT_FAIL;
	}
	/* Indented for a person at a terminal, compact for a pipe (scripts, jq). One buffer, one
	 * write: jansson's stream dumper calls fwrite per token. */
	text = json_dumps(j, (isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(j);
	if (!text) {
		cli_error("out of memory writing JSON output");
		return EXIT_FAIL;
	}
	ok = fputs(text, stdout) != EOF && fputc('\n', stdout) != EOF;
	return ok ? EXIT_OK : EXIT_FAIL;
}

static const struct cli_command *command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int cli_usage(const char *cmd, const char *why)
{
	const struct cli_command *c = command_find(cmd);

	cli_error("%s: %s", cmd, why);
	if (c)
		fprintf(stderr, "usage: iovctl %s %s\n", c->name, c->args);
	return EXIT_USAGE;
}

static void usage(FILE *out)
{
	fputs("usage: iovctl [--root DIR] [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Device assignment and I/O virtualization on Linux/KVM hosts.\n"
	      "\n"
	      "Options:\n"
	      "  --root DIR   read the host from DIR instead of / (a captured sysfs tree)\n"
	      "  --json       machine-readable output\n"
	      "  -h, --help   this help; 'iovctl help COMMAND' for a command's own\n"
	      "  --version    print the version\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nExit status: 0 success, 1 failure, 2 usage error, 3 a --check found a problem.\n", out);
}

static int command_help(const char *name)
{
	const struct cli_command *c = command_find(name);

	if (!c) {
		cli_error("unknown command '%s' (see iovctl --help)", name);
		return EXIT_USAGE;
	}
	printf("usage: iovctl [--root DIR] [--json] %s %s\n\n%s\n", c->name, c->args, c->summary);
	if (c->help)
		printf("\n%s", c->help);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct cli cli = { 0 };
	const struct cli_command *c;
	int opt;

	/* '+': stop at the command name; the command parses what follows. */
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			cli.root = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("iovctl %s\n", IOVKIT_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help"))
		return optind + 1 < argc ? command_help(argv[optind + 1]) : (usage(stdout), EXIT_OK);
	c = command_find(argv[optind]);
	if (!c) {
		cli_error("unknown command '%s' (see iovctl --help)", argv[optind]);
		return EXIT_USAGE;
	}
	/* "iovctl COMMAND --help" anywhere before "--" (and "-h" right after the name) is the
	 * command's help, as 'iovctl help COMMAND' prints it. */
	for (int i = optind + 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || (i == optind + 1 && !strcmp(argv[i], "-h")))
			return command_help(c->name);
	cli.argc = argc - optind;
	cli.argv = argv + optind;
	/* Commands run getopt on their own argv. 0, not 1: glibc then forgets the "+" ordering
	 * above, so options may follow operands ("iovctl group 6 --json"). */
	optind = 0;
	return c->run(&cli);
}

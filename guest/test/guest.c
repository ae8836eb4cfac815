/* SPDX-License-Identifier: MIT */
/*
 * iovm's test guest: a freestanding 64-bit program (no libc, no interrupts) with just enough
 * of a modern virtio-pci driver for virtio-net and virtio-blk. It runs the commands on its
 * command line, prints what it measured on the serial port, and exits with 0 (all good) or 1
 * through iovm's exit port. It polls its queues while there is work and sleeps in HLT when
 * there is none, woken by the queues' MSI-X interrupts (or a 10 ms LAPIC timer tick, so
 * timeouts hold when nothing arrives): a guest that spins would take a core from the switch.
 *
 * Commands (key=value words; several may be given):
 *   net=ping peer=MAC count=N        frames one at a time to MAC, each waiting for its echo:
 *                                    round-trip min/avg/max
 *   net=send peer=MAC count=N [size=B] [window=W] [lost=L] [pings=P]
 *                                    N frames of B bytes (60-1514), at most W unanswered,
 *                                    each echoed back: throughput; frames unanswered for 1 s
 *                                    are lost, and more than L lost (default 0) fails;
 *                                    pings=P first measures P round trips as net=ping does
 *   net=echo count=N                 send back the first N test frames received
 *   blk=verify [blocks=N]            write a pattern to N 512-byte sectors, flush, read back
 *   edu=test [dma=BYTES] [intx=1] [membar=1]
 *                                    drive a passed-through edu device (QEMU's docs/specs/edu.rst:
 *                                    iovm --vfio-user with vfu-edu, or a real one): identity,
 *                                    liveness, factorial, and a DMA round trip through guest RAM
 *                                    (default 4088 bytes each way), each completion signalled by
 *                                    its MSI; intx=1 first raises its INTx twice; membar=1 writes
 *                                    and reads back vfu-edu --mem-bar's BAR 2 of memory
 *   bench=exits [count=N]            N port reads answered in KVM (the PIT's, port 0x40) and N
 *                                    answered by iovm (its null port): ns per exit each way
 *   idle=S                           sleep S seconds in HLT (for measuring the VMM at rest)
 *   serial=echo [irq=1]              read a line from the console's input and print it back;
 *                                    irq=1 sleeps until the 8250's receive interrupt (IRQ 4
 *                                    through the IOAPIC) instead of polling its line status
 *   timeout=S                        give up after S seconds (default 20)
 *   poll=busy                        spin instead of sleeping when there is nothing to do
 *   hostile=1                        first, garbage into every device model (configuration
 *                                    space, BARs, MSI-X tables, unserved ports), then the rest
 * With no command it lists the devices it found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "iovkit/iovm-boot.h"
#include "iovkit-internal/edu.h"

#define ETH_TEST 0x88b5         /* IEEE local experimental ethertype */
#define NET_HDR 12              /* struct virtio_net_hdr_v1 */
#define QSIZE 256
#define BUF_SIZE 2048
#define PROBE 0xffffffffu       /* the sequence number of net_wait_peer()'s frames */

/* ---- the machine ---- */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
#define barrier() __asm__ volatile("" ::: "memory")
#define R8(a) (*(volatile uint8_t *)(uintptr_t)(a))
#define R16(a) (*(volatile uint16_t *)(uintptr_t)(a))
#define R32(a) (*(volatile uint32_t *)(uintptr_t)(a))

void guest_exit(int status);
void guest_fault(uint64_t top);
int guest_main(const struct iovm_boot_info *bi);
void ap_main(const struct iovm_boot_info *bi, uint64_t index);

/*
 * Started through PVH (start.S) rather than by iovm: the boot information made from Xen's
 * struct hvm_start_info (version 1: with a memory map). RAM is the map's RAM entry holding our
 * image at 1 MiB; one vCPU; the TSC's rate unknown.
 */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define HVM_START_MAGIC 0x336ec578u

struct iovm_boot_info *pvh_boot_info(const struct hvm_start_info *si);
struct iovm_boot_info *pvh_boot_info(const struct hvm_start_info *si)
{
	static struct iovm_boot_info bi;
	const char *cmd = si->magic == HVM_START_MAGIC && si->cmdline_paddr ?
			  (const char *)(uintptr_t)si->cmdline_paddr : "";

	bi.magic = IOVM_BOOT_MAGIC;
	bi.n_cpus = 1;
	for (unsigned int i = 0; i + 1 < sizeof(bi.cmdline) && cmd[i]; i++)
		bi.cmdline[i] = cmd[i];
	bi.ram_size = 64ull << 20;      /* what QEMU gives by default, if the map is missing */
	if (si->magic == HVM_START_MAGIC && si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *m = (const void *)(uintptr_t)si->memmap_paddr;

		for (uint32_t i = 0; i < si->memmap_entries; i++)
			if (m[i].type == 1 && m[i].addr <= 0x100000 && m[i].addr + m[i].size > 0x100000)
				bi.ram_size = m[i].addr + m[i].size;
	}
	return &bi;
}
extern char irq_stub[], fault_stub[], msi_stub[], intx_stub[];

void guest_exit(int status)
{
	outl(IOVM_EXIT_PORT, (uint32_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/*
 * The compiler may call these for struct copies; string instructions keep them out of its
 * idioms. Eight bytes at a time: where KVM is emulated in software (the build machines), each
 * iteration of a guest loop costs about as much as a native microsecond.
 */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memset(void *d, int c, size_t n)
{
	void *p = d;
	size_t q = n / 8, r = n % 8;
	uint64_t v = 0x0101010101010101ULL * (uint8_t)c;

	__asm__ volatile("rep stosq" : "+D"(p), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(p), "+c"(r) : "a"(v) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;
	size_t q = n / 8, r = n % 8;

	__asm__ volatile("rep movsq" : "+D"(p), "+S"(s), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(r) : : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n >= 8 && *(const uint64_t *)p == *(const uint64_t *)q; n -= 8, p += 8, q += 8)
		;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

/* ---- serial output ---- */

static void putc_serial(char c)
{
	outb(0x3f8, (uint8_t)c);
}

static void put_u(uint64_t v, unsigned int base, int width)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n < width)
		buf[n++] = '0';
	while (n)
		putc_serial(buf[--n]);
}

/* %s %d %u %x %02x %lu %llu %lx: what the reports need. */
static void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int width = 0, lng = 0;

		if (*fmt != '%') {
			putc_serial(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			width = fmt[1] - '0', fmt += 2;
		while (*fmt == 'l')
			lng = 1, fmt++;
		switch (*fmt) {
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				putc_serial(*s);
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

			if (v < 0)
				putc_serial('-'), v = -v;
			put_u((uint64_t)v, 10, width);
			break;
		}
		case 'u': put_u(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 10, width); break;
		case 'x': put_u(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 16, width); break;
		default: putc_serial(*fmt); break;
		}
	}
	va_end(ap);
}

/* ---- memory and time ---- */

extern char _end[];
static uintptr_t heap;
static uint64_t ram_size, tsc_khz;

static void *alloc(size_t size, size_t align)
{
	uintptr_t p = (heap + align - 1) & ~(uintptr_t)(align - 1);

	if (p + size > ram_size) {
		print("guest: out of memory\n");
		guest_exit(1);
	}
	heap = p + size;
	return memset((void *)p, 0, size);
}

static uint64_t us_since(uint64_t t0)
{
	return (rdtsc() - t0) * 1000 / tsc_khz;
}

/* ---- interrupts: an IDT whose handlers only wake HLT, the local APIC and its timer ---- */

#define LAPIC 0xfee00000UL
#define VEC_QUEUE 0x40
#define VEC_TIMER 0x41
#define VEC_DEVICE 0x42         /* a passed-through device's MSI (msi_stub counts them) */
#define VEC_SERIAL 0x43         /* the 8250's receive interrupt, through the IOAPIC (counted too) */
#define VEC_IPI 0x44            /* the boot CPU's IPIs to the others (smp=test) */
#define VEC_INTX 0x45           /* a passed-through device's INTx (intx_stub acknowledges it) */

volatile uint32_t msi_count;
volatile uint64_t intx_ack_reg;         /* where intx_stub writes intx_ack_bits */
volatile uint32_t intx_ack_bits;

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
};

static struct idt_entry idt[256];
static struct {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed)) idtr = { sizeof(idt) - 1, 0 };
static volatile int idt_ready;          /* the other CPUs load the IDT once it is */

void guest_fault(uint64_t top)
{
	print("guest: CPU exception (stack top %lx)\n", top);
	guest_exit(4);
}

static void irq_init(void)
{
	idtr.base = (uint64_t)(uintptr_t)idt;
	for (int v = 0; v < 256; v++) {
		uint64_t h = (uint64_t)(uintptr_t)(v < 32 ? fault_stub : v == VEC_DEVICE || v == VEC_SERIAL ? msi_stub :
						    v == VEC_INTX ? intx_stub : irq_stub);

		idt[v] = (struct idt_entry){ (uint16_t)h, 8, 0, 0x8e, (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
	__atomic_store_n(&idt_ready, 1, __ATOMIC_RELEASE);
	/* The 8259s, never initialised, would deliver ISA IRQ n as vector n (an exception's): mask
	 * them, so ISA interrupts (the console's) arrive only through the IOAPIC. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	R32(LAPIC + 0xf0) = 0x1ff;                      /* enabled, spurious vector 0xff */
	R32(LAPIC + 0x3e0) = 0xb;                       /* timer divides by 1 */
	R32(LAPIC + 0x320) = 1u << 17 | VEC_TIMER;      /* periodic */
	R32(LAPIC + 0x380) = 10000000;                  /* 10 ms at KVM's 1 GHz APIC bus */
}

/* Nothing to do: sleep until an interrupt (the STI shadow covers HLT, so none is missed). */
static int busy_poll;

static void idle(void)
{
	if (busy_poll)
		__asm__ volatile("pause");
	else
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* ---- the command line ---- */

static const char *cmdline;

/* The value of "key=" on the command line, or NULL; *len gets its length. */
static const char *arg(const char *key, size_t *len)
{
	size_t klen = 0;

	while (key[klen])
		klen++;
	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=') {
			const char *v = p + klen + 1;

			for (*len = 0; v[*len] && v[*len] != ' '; (*len)++)
				;
			return v;
		}
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

static int arg_is(const char *key, const char *want)
{
	size_t len, n = 0;
	const char *v = arg(key, &len);

	while (want[n])
		n++;
	return v && len == n && !memcmp(v, want, n);
}

static uint64_t arg_num(const char *key, uint64_t dflt)
{
	size_t len;
	const char *v = arg(key, &len);
	uint64_t n = 0;

	if (!v)
		return dflt;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9') {
			print("guest: %s= wants a number\n", key);
			guest_exit(2);
		}
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	return n;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int arg_mac(const char *key, uint8_t mac[6])
{
	size_t len;
	const char *v = arg(key, &len);

	if (!v || len != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(v[3 * i]), lo = hexval(v[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && v[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- PCI configuration, mechanism #1 ---- */

static uint32_t cfg_read(unsigned int slot, unsigned int off)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(0xcfc);
}

static void cfg_write(unsigned int slot, unsigned int off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	outl(0xcfc, v);
}

/* ---- virtio-pci and split virtqueues ---- */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
#define DESC_NEXT 1
#define DESC_WRITE 2

struct vq {
	uint16_t size, index, last_used, avail_idx;
	struct desc *desc;
	volatile uint16_t *avail;       /* flags, idx, ring[size] */
	volatile uint8_t *used;         /* flags, idx, {id u32, len u32}[size] */
	uintptr_t notify;
	uint8_t *bufs;
};

struct vdev {
	unsigned int slot;
	uint16_t type;
	uintptr_t common, notify_base, device, msix_table;
	uint32_t notify_mult;
	uint8_t msix_cap, pci_cfg_cap;
	struct vq q[2];
};

static void vq_kick(struct vq *q)
{
	R16(q->notify) = q->index;
}

/* Makes descriptor @id available (its chain is already written). */
static void vq_push(struct vq *q, uint16_t id)
{
	q->avail[2 + q->avail_idx % q->size] = id;
	barrier();
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	barrier();
}

/* The next used entry, or -1 when there is none: its id, *len its length. */
static int vq_pop(struct vq *q, uint32_t *len)
{
	uint16_t used_idx = *(volatile uint16_t *)(q->used + 2);
	const volatile uint8_t *e;
	uint32_t id;

	if (used_idx == q->last_used)
		return -1;
	barrier();
	e = q->used + 4 + 8 * (q->last_used % q->size);
	id = *(const volatile uint32_t *)e;
	*len = *(const volatile uint32_t *)(e + 4);
	q->last_used++;
	return (int)id;
}

static int vdev_find(uint16_t type, struct vdev *d)
{
	for (unsigned int slot = 0; slot < 32; slot++) {
		uint32_t id = cfg_read(slot, 0);
		uint8_t cap;

		if ((id & 0xffff) != 0x1af4 || id >> 16 != 0x1040u + type)
			continue;
		memset(d, 0, sizeof(*d));
		d->slot = slot;
		d->type = type;
		cfg_write(slot, 4, cfg_read(slot, 4) | 0x6);    /* memory decoding, bus master */
		for (cap = (uint8_t)cfg_read(slot, 0x34); cap; cap = (uint8_t)(cfg_read(slot, cap) >> 8)) {
			uint32_t head = cfg_read(slot, cap);
			unsigned int bar = cfg_read(slot, cap + 4) & 0xff;
			uintptr_t base = (uintptr_t)(cfg_read(slot, 0x10 + 4 * bar) & ~0xfu) + cfg_read(slot, cap + 8);

			if ((head & 0xff) == 0x11) {       /* MSI-X: table offset and BIR */
				uint32_t t = cfg_read(slot, cap + 4);

				d->msix_cap = cap;
				d->msix_table = (uintptr_t)(cfg_read(slot, 0x10 + 4 * (t & 7)) & ~0xfu) + (t & ~7u);
				continue;
			}
			if ((head & 0xff) != 0x09)
				continue;
			switch ((head >> 24) & 0xff) {
			case 1: d->common = base; break;
			case 2: d->notify_base = base; d->notify_mult = cfg_read(slot, cap + 16); break;
			case 4: d->device = base; break;
			case 5: d->pci_cfg_cap = cap; break;
			}
		}
		if (d->common && d->notify_base && d->msix_table && d->pci_cfg_cap)
			return 0;
	}
	return -1;
}

/*
 * An access to BAR 0 through the PCI configuration access capability (virtio 1.2 section
 * 4.1.4.9): the window pointed at @off for @len bytes, then its data read or written.
 */
static uint32_t pci_cfg_access(const struct vdev *d, uint32_t off, uint32_t len, bool write, uint32_t val)
{
	cfg_write(d->slot, d->pci_cfg_cap + 4u, 0);     /* BAR 0 */
	cfg_write(d->slot, d->pci_cfg_cap + 8u, off);
	cfg_write(d->slot, d->pci_cfg_cap + 12u, len);
	if (write) {
		cfg_write(d->slot, d->pci_cfg_cap + 16u, val);
		return 0;
	}
	return cfg_read(d->slot, d->pci_cfg_cap + 16u);
}

/* Virtio 1.2 section 3.1.1: reset, negotiate @want (VERSION_1 always), set up @nq queues. */
static int vdev_init(struct vdev *d, uint64_t want, unsigned int nq)
{
	uintptr_t c = d->common;
	uint64_t offered;

	R8(c + 0x14) = 0;
	while (R8(c + 0x14))
		;
	R8(c + 0x14) = 1 | 2;   /* ACKNOWLEDGE, DRIVER */
	R32(c + 0x00) = 0;
	offered = R32(c + 0x04);
	/* The high feature word through configuration space alone, then through the BAR: equal. */
	pci_cfg_access(d, 0x00, 4, true, 1);
	offered |= (uint64_t)pci_cfg_access(d, 0x04, 4, false, 0) << 32;
	if (R32(c + 0x00) != 1 || R32(c + 0x04) != offered >> 32) {
		print("guest: device %u: the PCI configuration access window disagrees with BAR 0\n", d->slot);
		return -1;
	}
	want |= 1ULL << 32;
	if ((offered & want) != want) {
		print("guest: device %u offers features %lx, the test needs %lx\n", d->slot, offered, want);
		return -1;
	}
	R32(c + 0x08) = 0;
	R32(c + 0x0c) = (uint32_t)want;
	R32(c + 0x08) = 1;
	R32(c + 0x0c) = (uint32_t)(want >> 32);
	R8(c + 0x14) = 1 | 2 | 8;
	if (!(R8(c + 0x14) & 8)) {
		print("guest: device %u refused FEATURES_OK\n", d->slot);
		return -1;
	}
	/* Every queue interrupts on its own MSI-X vector, all to the same CPU vector. */
	cfg_write(d->slot, d->msix_cap, cfg_read(d->slot, d->msix_cap) | 0x80000000u);
	for (unsigned int i = 0; i < nq; i++) {
		struct vq *q = &d->q[i];
		uint16_t max;

		R32(d->msix_table + 16 * i) = (uint32_t)LAPIC;
		R32(d->msix_table + 16 * i + 4) = 0;
		R32(d->msix_table + 16 * i + 8) = VEC_QUEUE;
		R32(d->msix_table + 16 * i + 12) = 0;   /* unmasked */
		R16(c + 0x16) = (uint16_t)i;
		max = R16(c + 0x18);
		if (!max)
			return -1;
		q->size = max < QSIZE ? max : QSIZE;
		q->index = (uint16_t)i;
		R16(c + 0x18) = q->size;
		R16(c + 0x1a) = (uint16_t)i;
		if (R16(c + 0x1a) != i) {
			print("guest: device %u has no MSI-X vector for queue %u\n", d->slot, i);
			return -1;
		}
		q->desc = alloc(16u * q->size, 4096);
		q->avail = alloc(6u + 2u * q->size, 4096);
		q->used = alloc(6u + 8u * q->size, 4096);
		q->bufs = alloc((size_t)BUF_SIZE * q->size, 4096);
		q->notify = d->notify_base + (uintptr_t)R16(c + 0x1e) * d->notify_mult;
		R32(c + 0x20) = (uint32_t)(uintptr_t)q->desc;
		R32(c + 0x24) = 0;
		R32(c + 0x28) = (uint32_t)(uintptr_t)q->avail;
		R32(c + 0x2c) = 0;
		R32(c + 0x30) = (uint32_t)(uintptr_t)q->used;
		R32(c + 0x34) = 0;
		R16(c + 0x1c) = 1;
	}
	R8(c + 0x14) = 1 | 2 | 8 | 4;   /* DRIVER_OK */
	if (R8(c + 0x14) & 0x40) {
		print("guest: device %u needs a reset right after DRIVER_OK (its backend refused)\n", d->slot);
		return -1;
	}
	return 0;
}

/* ---- virtio-net ---- */

static struct vdev net;
static uint8_t mac[6];
static uint16_t tx_inflight;
static uint64_t deadline;

static int expired(void)
{
	return rdtsc() > deadline;
}

static int net_init(void)
{
	struct vq *rx = &net.q[0];

	if (vdev_find(1, &net) < 0) {
		print("guest: no virtio-net device\n");
		return -1;
	}
	if (vdev_init(&net, 1ULL << 5 /* MAC */, 2) < 0)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = R8(net.device + (uintptr_t)i);
	for (uint16_t i = 0; i < rx->size; i++) {
		rx->desc[i] = (struct desc){ (uint64_t)(uintptr_t)(rx->bufs + (size_t)BUF_SIZE * i), BUF_SIZE, DESC_WRITE, 0 };
		vq_push(rx, i);
	}
	vq_kick(rx);
	/* Every transmit buffer gets the payload pattern once. */
	for (uint32_t i = 0; i < 1514; i++)
		net.q[1].bufs[NET_HDR + i] = (uint8_t)(i * 13);
	for (uint16_t i = 1; i < net.q[1].size; i++)
		memcpy(net.q[1].bufs + (size_t)BUF_SIZE * i, net.q[1].bufs, BUF_SIZE);
	print("net: slot %u mac %02x:%02x:%02x:%02x:%02x:%02x\n", net.slot, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return 0;
}

/* Reclaims finished transmissions. */
static void tx_reap(void)
{
	uint32_t len;

	while (vq_pop(&net.q[1], &len) >= 0)
		tx_inflight--;
}

/*
 * The next free transmit buffer (its frame, after the zeroed virtio header), or NULL while the
 * ring is full. Buffers go round in order, so a frame written into slot n stays there: the
 * generated frames are written once and only their sequence numbers change.
 */
static uint8_t *tx_slot(void)
{
	struct vq *tx = &net.q[1];

	tx_reap();
	if (tx_inflight == tx->size)
		return NULL;
	return tx->bufs + (size_t)BUF_SIZE * (tx->avail_idx % tx->size) + NET_HDR;
}

/* Sends the frame written into tx_slot()'s buffer; kicks when @kick. */
static void tx_commit(uint32_t len, int kick)
{
	struct vq *tx = &net.q[1];
	uint16_t id = tx->avail_idx % tx->size;

	tx->desc[id] = (struct desc){ (uint64_t)(uintptr_t)(tx->bufs + (size_t)BUF_SIZE * id), NET_HDR + len, 0, 0 };
	vq_push(tx, id);
	tx_inflight++;
	if (kick)
		vq_kick(tx);
}

/* The next received frame (header stripped), or NULL; give it back with net_rx_done(). */
static uint8_t *net_rx(uint32_t *len, int *id)
{
	struct vq *rx = &net.q[0];

	*id = vq_pop(rx, len);
	if (*id < 0)
		return NULL;
	if (*id >= rx->size || *len < NET_HDR + 14 || *len > BUF_SIZE) {
		print("guest: the device returned rx buffer %d with length %u\n", *id, *len);
		guest_exit(1);
	}
	*len -= NET_HDR;
	return rx->bufs + (size_t)BUF_SIZE * (unsigned int)*id + NET_HDR;
}

static void net_rx_done(int id)
{
	vq_push(&net.q[0], (uint16_t)id);
}

/* Writes test frame @seq to @dst into the next transmit buffer: -1 while the ring is full. */
static int send_frame(const uint8_t dst[6], uint32_t seq, uint32_t size, int kick)
{
	uint8_t *f = tx_slot();

	if (!f)
		return -1;
	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	memcpy(f + 14, &seq, 4);
	tx_commit(size, kick);  /* the payload is whatever the buffer held: net_init() filled it */
	return 0;
}

/* A test frame from @peer for us: its sequence number, or -1. */
static int64_t test_frame(const uint8_t *f, uint32_t len, const uint8_t peer[6])
{
	uint32_t seq;

	if (len < 18 || memcmp(f, mac, 6) || (peer && memcmp(f + 6, peer, 6)) || f[12] != ETH_TEST >> 8 || f[13] != (ETH_TEST & 0xff))
		return -1;
	memcpy(&seq, f + 14, 4);
	return seq;
}

/*
 * Whether @peer answered frame @seq within @limit_us of @t0; whatever else arrives meanwhile
 * is given back to the ring.
 */
static int await_answer(const uint8_t peer[6], uint32_t seq, uint64_t t0, uint64_t limit_us)
{
	int got = 0;

	while (!got && !expired() && us_since(t0) < limit_us) {
		uint32_t len;
		int id;
		uint8_t *f = net_rx(&len, &id);

		if (!f) {
			idle();
			continue;
		}
		got = test_frame(f, len, peer) == seq;
		net_rx_done(id);
		vq_kick(&net.q[0]);
	}
	return got;
}

/*
 * Until @peer answers a probe (every 100 ms): the switch port and the peer's queues may come up
 * after ours, and frames sent before then are lost, which is not what a test measures.
 */
static int net_wait_peer(const uint8_t peer[6])
{
	while (!expired()) {
		uint64_t t0 = rdtsc();

		send_frame(peer, PROBE, 60, 1);
		if (await_answer(peer, PROBE, t0, 100000))
			return 0;
	}
	print("net: no answer from the peer\n");
	return -1;
}

static int net_ping(const uint8_t peer[6], uint32_t count)
{
	uint64_t min = ~0ULL, max = 0, sum = 0;
	uint32_t answered = 0;

	for (uint32_t seq = 0; seq < count && !expired(); seq++) {
		uint64_t t0 = rdtsc(), rtt;

		while (send_frame(peer, seq, 60, 1) < 0 && !expired())
			idle();
		if (!await_answer(peer, seq, t0, 1000000))
			continue;
		rtt = us_since(t0);
		answered++;
		sum += rtt;
		min = rtt < min ? rtt : min;
		max = rtt > max ? rtt : max;
	}
	print("net: ping %u sent %u answered rtt_us min %lu avg %lu max %lu\n", count, answered,
	      answered ? min : 0, answered ? sum / answered : 0, max);
	return answered == count ? 0 : 1;
}

/*
 * Up to @window frames unanswered; when nothing comes back for a second, the unanswered ones
 * are counted lost and the window opens again (a switch restarted under the guest loses what it
 * held). Succeeds when every frame was answered or lost, and at most @max_lost were lost.
 */
static int net_send(const uint8_t peer[6], uint32_t count, uint32_t size, uint32_t window, uint32_t max_lost)
{
	uint32_t sent = 0, answered = 0, lost = 0;
	uint64_t t0 = rdtsc(), progress = t0, us;

	while (answered + lost < count && !expired()) {
		uint32_t len, batch = 0;
		int id;
		uint8_t *f;

		while (sent < count && sent - answered - lost < window && send_frame(peer, sent, size, 0) == 0) {
			sent++;
			batch++;
		}
		if (batch)
			vq_kick(&net.q[1]);
		for (batch = 0; (f = net_rx(&len, &id)); batch++) {
			int64_t seq = test_frame(f, len, peer);

			answered += seq >= 0 && seq != PROBE;   /* a late answer to a probe is not one */
			net_rx_done(id);
		}
		if (batch) {
			vq_kick(&net.q[0]);
			progress = rdtsc();
		} else if (us_since(progress) > 1000000) {
			lost = sent - answered;
			progress = rdtsc();
		} else if (sent == count || sent - answered - lost >= window) {
			idle();         /* waiting for answers */
		}
	}
	us = us_since(t0);
	if (!us)
		us = 1;
	print("net: send %u: %u sent, %u answered, %u lost in %lu us: %lu frames/s %lu Mbit/s (%u-byte frames, both ways)\n",
	      count, sent, answered, lost, us, (uint64_t)answered * 1000000 / us, (uint64_t)answered * size * 8 * 2 / us, size);
	return answered + lost == count && lost <= max_lost ? 0 : 1;
}

static int net_echo(uint32_t count)
{
	uint32_t echoed = 0;

	while (echoed < count && !expired()) {
		uint32_t len;
		int id, n = 0, popped = 0;
		uint8_t *f;

		while ((f = net_rx(&len, &id))) {
			int64_t seq = test_frame(f, len, NULL);

			popped++;
			uint8_t *back;

			if (seq >= 0 && len <= 1514) {
				while (!(back = tx_slot()) && !expired()) {
					vq_kick(&net.q[1]);
					idle();
				}
				if (!back)
					break;
				memcpy(back, f + 6, 6);         /* to whoever sent it */
				memcpy(back + 6, mac, 6);
				memcpy(back + 12, f + 12, len - 12);
				tx_commit(len, 0);
				echoed += seq != PROBE;     /* probes are answered, not counted */
				n++;
			}
			net_rx_done(id);
		}
		if (n)
			vq_kick(&net.q[1]);
		if (popped)
			vq_kick(&net.q[0]);
		else
			idle();
	}
	/* Let the last answers leave before the guest goes. */
	while (tx_inflight && !expired()) {
		tx_reap();
		if (tx_inflight)
			idle();
	}
	print("net: echo %u echoed %u\n", count, echoed);
	return echoed == count ? 0 : 1;
}

/* ---- hostile=1: what a buggy or malicious guest driver does to the VMM's device models ---- */

static uint32_t rng = 0x12345678;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void hostile(void)
{
	uint32_t bars[32], cmds[32];
	unsigned int n = 0;

	/* Configuration space: every offset of every slot, all widths, through unaligned ports. */
	for (unsigned int slot = 0; slot < 32; slot++) {
		bars[slot] = cfg_read(slot, 0x10);
		cmds[slot] = cfg_read(slot, 4);
	}
	for (unsigned int slot = 0; slot < 32; slot++)
		for (unsigned int off = 0; off < 256; off += 4) {
			outl(0xcf8, 0x80000000u | slot << 11 | off);
			outb(0xcfc + (off / 4) % 4, (uint8_t)rnd());
			outl(0xcfc, rnd());
			n += 2;
		}
	outl(0xcf8, 0x80ff0000u);               /* bus 255 */
	outl(0xcfc, rnd());
	outl(0xcf8, rnd());                     /* garbage in the address register */
	outl(0xcfc, rnd());
	/* BARs at odd places, then back where they were, as a driver that recovers would. */
	for (unsigned int slot = 1; slot < 32; slot++) {
		if (bars[slot] == 0xffffffffu)
			continue;
		cfg_write(slot, 0x10, rnd());
		cfg_write(slot, 0x10, bars[slot]);
		cfg_write(slot, 4, cmds[slot] | 0x6);
	}
	/* Every register of every virtio BAR: garbage of every width, the MSI-X table included. */
	for (unsigned int slot = 1; slot < 32; slot++) {
		uintptr_t bar = bars[slot] & ~0xfu;

		if (bars[slot] == 0xffffffffu || !bar)
			continue;
		for (uintptr_t off = 0; off < 0x4000; off += 2 + rnd() % 64) {
			switch (rnd() % 4) {
			case 0: R8(bar + off) = (uint8_t)rnd(); break;
			case 1: R16(bar + (off & ~1u)) = (uint16_t)rnd(); break;
			case 2: R32(bar + (off & ~3u)) = rnd(); break;
			default: (void)R32(bar + (off & ~3u)); break;
			}
			n++;
		}
	}
	/* Ports nobody serves (not the interrupt controllers, the PIT, the console or the exit port). */
	for (uint32_t port = 0x100; port < 0x10000; port += 61) {
		if ((port >= 0x3f8 && port < 0x400) || port == IOVM_EXIT_PORT || (port >= 0xcf8 && port < 0xd00))
			continue;
		outb((uint16_t)port, (uint8_t)rnd());
		(void)inl((uint16_t)(port & ~3u));
		n += 2;
	}
	print("hostile: %u accesses done; the VMM is still here\n", n);
}

/* ---- the VMM's costs, seen from the guest (benches/vmm.sh) ---- */

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static int bench_exits(uint32_t count)
{
	uint64_t t0, kernel_cycles, user_cycles;

	t0 = rdtsc();
	for (uint32_t i = 0; i < count; i++)
		inb(0x40);                      /* the PIT: KVM answers it without leaving the kernel */
	kernel_cycles = rdtsc() - t0;
	t0 = rdtsc();
	for (uint32_t i = 0; i < count; i++)
		inb(IOVM_NULL_PORT);            /* a port iovm answers: a full exit to userspace and back */
	user_cycles = rdtsc() - t0;
	print("bench: exits %u in-kernel %lu ns userspace %lu ns\n", count, kernel_cycles * 1000000 / tsc_khz / count,
	      user_cycles * 1000000 / tsc_khz / count);
	return 0;
}

static int idle_for(uint64_t seconds)
{
	uint64_t end = rdtsc() + seconds * 1000 * tsc_khz;

	while (rdtsc() < end)
		idle();
	print("idle: %lu s\n", seconds);
	return 0;
}

/* ---- console input ---- */

#define IOAPIC 0xfec00000UL

static int serial_echo(int use_irq)
{
	char line[80];
	unsigned int n = 0;

	if (use_irq) {
		/* IOAPIC pin 4 (ISA IRQ 4) to this CPU at VEC_SERIAL: fixed, physical, edge, unmasked. */
		R32(IOAPIC) = 0x10 + 2 * 4 + 1;
		R32(IOAPIC + 0x10) = 0;
		R32(IOAPIC) = 0x10 + 2 * 4;
		R32(IOAPIC + 0x10) = VEC_SERIAL;
		outb(0x3f9, 0x01);              /* IER: received data available */
	}
	while (n < sizeof(line) - 1) {
		uint32_t before = msi_count;

		while (!(inb(0x3fd) & 0x01)) { /* LSR: data ready */
			if (expired()) {
				print("serial: no input (%u characters so far)\n", n);
				return 1;
			}
			if (use_irq) {
				while (msi_count == before && !expired())
					idle();
				before = msi_count;
			} else {
				idle();
			}
		}
		line[n] = (char)inb(0x3f8);
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	print("serial: got \"%s\"%s\n", line, use_irq ? " (by interrupt)" : "");
	return 0;
}

/* ---- edu (QEMU's docs/specs/edu.rst), passed through ---- */

static uintptr_t edu_bar;

/* Runs one DMA and waits for its MSI; 0, or -1 with the reason printed. */
static int edu_dma(uint64_t src, uint64_t dst, uint32_t count, int to_ram)
{
	uint32_t before = msi_count;

	R32(edu_bar + EDU_DMA_SRC) = (uint32_t)src;
	R32(edu_bar + EDU_DMA_SRC + 4) = (uint32_t)(src >> 32);
	R32(edu_bar + EDU_DMA_DST) = (uint32_t)dst;
	R32(edu_bar + EDU_DMA_DST + 4) = (uint32_t)(dst >> 32);
	R32(edu_bar + EDU_DMA_COUNT) = count;
	R32(edu_bar + EDU_DMA_CMD) = EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0) | EDU_DMA_IRQ;
	while (msi_count == before) {
		if (expired()) {
			print("edu: no MSI for the DMA %s RAM (command register %x, interrupt status %x)\n",
			      to_ram ? "to" : "from", R32(edu_bar + EDU_DMA_CMD), R32(edu_bar + EDU_IRQ_STATUS));
			return -1;
		}
		idle();
	}
	if (!(R32(edu_bar + EDU_IRQ_STATUS) & EDU_DMA_IRQ_STATUS) || (R32(edu_bar + EDU_DMA_CMD) & EDU_DMA_START)) {
		print("edu: an MSI came, but the DMA is not done (interrupt status %x)\n", R32(edu_bar + EDU_IRQ_STATUS));
		return -1;
	}
	R32(edu_bar + EDU_IRQ_ACK) = EDU_DMA_IRQ_STATUS;
	return 0;
}

/*
 * edu's INTx, before MSI is on: its pin on the IOAPIC pin in the interrupt line register,
 * programmed level-triggered to VEC_INTX, whose handler acknowledges it at the device (which
 * drops the line) before the EOI. Each of two rounds raises edu's interrupt and waits for the
 * handler; the second proves the line was re-armed after the first EOI.
 */
#define EDU_INTX_BIT 0x1000     /* the guest's own bit in EDU_IRQ_STATUS (DMA's is 0x100) */

static int edu_intx(unsigned int slot)
{
	uint32_t reg = cfg_read(slot, 0x3c), line = reg & 0xff, pin = (reg >> 8) & 0xff, counts[2];

	if (pin < 1 || pin > 4 || line < 16 || line > 23) {
		print("edu: no INTx to test (pin %u, line %u)\n", pin, line);
		return -1;
	}
	R32(IOAPIC) = 0x10 + 2 * line + 1;
	R32(IOAPIC + 0x10) = 0;                         /* APIC 0 */
	R32(IOAPIC) = 0x10 + 2 * line;
	intx_ack_reg = edu_bar + EDU_IRQ_ACK;
	intx_ack_bits = EDU_INTX_BIT;
	R32(IOAPIC + 0x10) = 1u << 15 | VEC_INTX;       /* level, active high, fixed, unmasked */
	for (int round = 0; round < 2; round++) {
		uint32_t before = msi_count;

		R32(edu_bar + EDU_IRQ_RAISE) = EDU_INTX_BIT;
		while (msi_count == before)
			if (expired()) {
				print("edu: INTx round %d: no interrupt (status %x)\n", round + 1, R32(edu_bar + EDU_IRQ_STATUS));
				return -1;
			} else {
				idle();
			}
		if (R32(edu_bar + EDU_IRQ_STATUS) & EDU_INTX_BIT) {
			print("edu: INTx round %d: the handler ran, but the status was not acknowledged\n", round + 1);
			return -1;
		}
		counts[round] = msi_count - before;
	}
	R32(IOAPIC) = 0x10 + 2 * line;
	R32(IOAPIC + 0x10) = 1u << 16;                  /* masked again */
	print("edu: INTx (pin %u) on IOAPIC pin %u: 2 rounds, %u and %u interrupt(s)\n", pin, line, counts[0],
	      counts[1]);
	/* The line as configuration space shows it, the IOAPIC pin masked: the status register's
	 * Interrupt Status (bit 3) is the device's, set while edu holds its interrupt and clear once
	 * it is acknowledged — read from the device each time, not from a copy. */
	R32(edu_bar + EDU_IRQ_RAISE) = EDU_INTX_BIT;
	while (!(cfg_read(slot, 4) >> 16 & 0x08))
		if (expired()) {
			print("edu: its interrupt is raised, but the status register's Interrupt Status stays clear\n");
			return -1;
		}
	R32(edu_bar + EDU_IRQ_ACK) = EDU_INTX_BIT;
	while (cfg_read(slot, 4) >> 16 & 0x08)
		if (expired()) {
			print("edu: its interrupt is acknowledged, but the status register's Interrupt Status stays set\n");
			return -1;
		}
	print("edu: the status register's Interrupt Status followed the line: set, then clear\n");
	return 0;
}

/*
 * BAR 2 of vfu-edu --mem-bar: 64 KiB of device memory, of which the server lets iovm map pages
 * 0 and 2-15 into the guest and page 1 is trapped. A word written in every page reads back, and
 * then 4096 more writes go to a mapped page: they do not exit (vmm/e2e compares iovm's count of
 * MMIO exits with that of a ,trap run).
 */
static int edu_membar(unsigned int slot)
{
	uintptr_t mem = (uintptr_t)(cfg_read(slot, 0x18) & ~0xfu);

	if (!mem) {
		print("edu: no BAR 2 (vfu-edu --mem-bar has one)\n");
		return -1;
	}
	for (uint32_t page = 0; page < 16; page++)
		R32(mem + page * 4096 + 8) = 0xc0de0000u | page;
	for (uint32_t page = 0; page < 16; page++)
		if (R32(mem + page * 4096 + 8) != (0xc0de0000u | page)) {
			print("edu: BAR 2 page %u read back %x, not %x\n", page, R32(mem + page * 4096 + 8),
			      0xc0de0000u | page);
			return -1;
		}
	for (uint32_t i = 0; i < 4096; i++)
		R32(mem + 0x2000 + (i % 1024) * 4) = i;
	if (R32(mem + 0x2000 + 1023 * 4) != 4095) {
		print("edu: BAR 2 lost a write to its mapped page (%x)\n", R32(mem + 0x2000 + 1023 * 4));
		return -1;
	}
	print("edu: BAR 2 at %lx: 16 pages of its memory written and read back, then 4096 writes\n", (uint64_t)mem);
	return 0;
}

static int edu_test(uint32_t bytes)
{
	unsigned int slot;
	uint8_t cap = 0, *src, *dst;
	uint32_t ident, fact, msis_before;

	for (slot = 0; slot < 32; slot++)
		if (cfg_read(slot, 0) == (EDU_DEVICE << 16 | EDU_VENDOR))
			break;
	if (slot == 32) {
		print("edu: no edu device (1234:11e8) on the bus\n");
		return 1;
	}
	if (bytes == 0 || bytes > EDU_BUFFER_SIZE) {
		print("edu: dma= is 1-4096 bytes\n");
		return 2;
	}
	edu_bar = (uintptr_t)(cfg_read(slot, 0x10) & ~0xfu);
	cfg_write(slot, 4, cfg_read(slot, 4) | 0x6);    /* memory decoding, bus master */
	ident = R32(edu_bar + EDU_IDENT);
	print("edu: slot %u, BAR0 at %lx, ident %x\n", slot, (uint64_t)edu_bar, ident);
	if (ident >> 8 != EDU_IDENT_VALUE >> 8) {
		print("edu: not an edu (ident %x)\n", ident);
		return 1;
	}
	R32(edu_bar + EDU_LIVENESS) = 0x12345678;
	if (R32(edu_bar + EDU_LIVENESS) != ~0x12345678u) {
		print("edu: liveness answered %x, not the inverse of 12345678\n", R32(edu_bar + EDU_LIVENESS));
		return 1;
	}
	R32(edu_bar + EDU_FACT) = 10;
	while (R32(edu_bar + EDU_STATUS) & 1)
		if (expired())
			return 1;
	fact = R32(edu_bar + EDU_FACT);
	print("edu: liveness ok, 10! = %u\n", fact);
	if (fact != 3628800)
		return 1;

	if (arg_is("intx", "1") && edu_intx(slot) < 0)
		return 1;
	if (arg_is("membar", "1") && edu_membar(slot) < 0)
		return 1;

	/* MSI to this CPU at VEC_DEVICE (address 0xfee00000: APIC 0; data: fixed, edge). */
	for (uint8_t c = (uint8_t)cfg_read(slot, 0x34); c; c = (uint8_t)(cfg_read(slot, c) >> 8))
		if ((cfg_read(slot, c) & 0xff) == 0x05)
			cap = c;
	if (!cap) {
		print("edu: no MSI capability\n");
		return 1;
	}
	{
		uint32_t head = cfg_read(slot, cap);
		int is64 = head & (0x80u << 16);

		cfg_write(slot, cap + 4, 0xfee00000u);
		if (is64)
			cfg_write(slot, cap + 8, 0);
		cfg_write(slot, cap + (is64 ? 12 : 8), VEC_DEVICE);
		cfg_write(slot, cap, head | 1u << 16);  /* MSI enable */
	}

	/* RAM -> device buffer -> other RAM, through the device's DMA engine and guest addresses. */
	msis_before = msi_count;                /* INTx's interrupts came the same way */
	src = alloc(4096, 4096);
	dst = alloc(4096, 4096);
	for (uint32_t i = 0; i < bytes; i++) {
		src[i] = (uint8_t)(i * 13 + 7);
		dst[i] = 0;
	}
	if (edu_dma((uint64_t)(uintptr_t)src, EDU_BUFFER, bytes, 0) < 0 || edu_dma(EDU_BUFFER, (uint64_t)(uintptr_t)dst, bytes, 1) < 0)
		return 1;
	if (memcmp(src, dst, bytes)) {
		print("edu: the bytes that came back differ\n");
		return 1;
	}
	print("edu: dma %u bytes RAM -> device -> RAM ok, %u MSIs\n", bytes, msi_count - msis_before);
	return 0;
}

/* ---- virtio-blk ---- */

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static int blk_io(struct vdev *d, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	struct vq *q = &d->q[0];
	struct blk_req *req = (struct blk_req *)q->bufs;
	volatile uint8_t *status = q->bufs + 64;
	uint32_t used_len;
	int id;

	*req = (struct blk_req){ type, 0, sector };
	*status = 0xff;
	q->desc[0] = (struct desc){ (uint64_t)(uintptr_t)req, sizeof(*req), DESC_NEXT, 1 };
	if (len) {
		q->desc[1] = (struct desc){ (uint64_t)(uintptr_t)data, len, (uint16_t)(DESC_NEXT | (type == 0 ? DESC_WRITE : 0)), 2 };
		q->desc[2] = (struct desc){ (uint64_t)(uintptr_t)status, 1, DESC_WRITE, 0 };
	} else {
		q->desc[0].next = 2;
		q->desc[2] = (struct desc){ (uint64_t)(uintptr_t)status, 1, DESC_WRITE, 0 };
	}
	vq_push(q, 0);
	vq_kick(q);
	while ((id = vq_pop(q, &used_len)) < 0) {
		if (expired())
			return -1;
		idle();
	}
	return *status;
}

/*
 * The MSI-X Pending Bit Array: queue 0's vector masked (and pointed at VEC_DEVICE, which is
 * counted), a read completes; its interrupt is held, so the vector's pending bit is set; on
 * unmask the interrupt arrives and the bit clears.
 */
static int blk_pba(struct vdev *d, void *buf)
{
	uint32_t pba_reg = cfg_read(d->slot, d->msix_cap + 8u), before;
	uintptr_t pba = (uintptr_t)(cfg_read(d->slot, 0x10 + 4 * (pba_reg & 7)) & ~0xfu) + (pba_reg & ~7u);

	R32(d->msix_table + 12) = 1;                    /* vector 0 masked */
	R32(d->msix_table + 8) = VEC_DEVICE;
	if (blk_io(d, 0 /* IN */, 0, buf, 512) != 0) {
		print("blk: a read with its vector masked failed\n");
		return 1;
	}
	while (!(R32(pba) & 1))                         /* the backend signals after the used ring */
		if (expired()) {
			print("blk: the read completed with its vector masked, but its PBA bit stayed clear\n");
			return 1;
		}
	before = msi_count;
	R32(d->msix_table + 12) = 0;
	while (msi_count == before)
		if (expired()) {
			print("blk: the held interrupt did not arrive when its vector was unmasked\n");
			return 1;
		} else {
			idle();
		}
	if (R32(pba) & 1) {
		print("blk: the PBA bit stayed set after the interrupt was delivered\n");
		return 1;
	}
	R32(d->msix_table + 8) = VEC_QUEUE;
	print("blk: MSI-X PBA: held while masked (bit set), delivered on unmask (bit clear)\n");
	return 0;
}

static int blk_verify(uint32_t blocks)
{
	struct vdev blk;
	uint8_t *buf, *back;
	uint64_t capacity;
	uint32_t bytes = blocks * 512;
	int s;

	if (vdev_find(2, &blk) < 0) {
		print("guest: no virtio-blk device\n");
		return 1;
	}
	if (vdev_init(&blk, 0, 1) < 0)
		return 1;
	capacity = R32(blk.device) | (uint64_t)R32(blk.device + 4) << 32;
	print("blk: slot %u capacity %lu sectors\n", blk.slot, capacity);
	if (!blocks || blocks > capacity || bytes > (1u << 20)) {
		print("blk: blocks=%u does not fit (the disk has %lu sectors; at most 2048 per run)\n", blocks, capacity);
		return 1;
	}
	buf = alloc(bytes, 4096);
	back = alloc(bytes, 4096);
	for (uint32_t i = 0; i < bytes; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	s = blk_io(&blk, 1 /* OUT */, 0, buf, bytes);
	if (s == 0)
		s = blk_io(&blk, 4 /* FLUSH */, 0, NULL, 0);
	if (s == 0)
		s = blk_io(&blk, 0 /* IN */, 0, back, bytes);
	if (s != 0) {
		print("blk: a request failed with status %d\n", s);
		return 1;
	}
	if (memcmp(buf, back, bytes)) {
		print("blk: what was read back differs from what was written\n");
		return 1;
	}
	print("blk: verify %u blocks ok\n", blocks);
	return blk_pba(&blk, back);
}

/* ---- a UART behind an I/O BAR: the kernel's mtty sample (4348:3253), passed through ---- */

/* mtty=test: bytes written to the first port's THR come back from its RBR (mtty loops them),
 * every access a port access on the I/O BAR iovm traps and forwards. */
static int mtty_test(void)
{
	static const char msg[] = "iovm";
	char back[sizeof(msg)] = { 0 };
	unsigned int slot;
	uint32_t bar;
	uint16_t port;

	for (slot = 0; slot < 32; slot++)
		if (cfg_read(slot, 0) == (0x3253u << 16 | 0x4348u))
			break;
	if (slot == 32) {
		print("mtty: no mtty device (4348:3253) on the bus\n");
		return 1;
	}
	bar = cfg_read(slot, 0x10);
	if (!(bar & 1) || !(bar & ~3u)) {
		print("mtty: BAR0 %x is not a placed I/O BAR\n", bar);
		return 1;
	}
	port = (uint16_t)(bar & ~3u);
	cfg_write(slot, 4, cfg_read(slot, 4) | 0x1);    /* I/O decoding */
	for (unsigned int i = 0; i + 1 < sizeof(msg); i++)
		outb(port, (uint8_t)msg[i]);
	for (unsigned int i = 0; i + 1 < sizeof(msg); i++) {
		while (!(inb(port + 5) & 1))            /* LSR: data ready */
			if (expired()) {
				print("mtty: byte %u never came back\n", i);
				return 1;
			}
		back[i] = (char)inb(port);
	}
	print("mtty: slot %u, I/O BAR at %x, \"%s\" came back through the UART\n", slot, port, back);
	for (unsigned int i = 0; i + 1 < sizeof(msg); i++)
		if (back[i] != msg[i])
			return 1;
	return 0;
}

/* ---- an NVMe controller passed through: its admin queue, one command, an MSI-X interrupt ---- */

#define NVME_CAP 0x00
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_DOORBELLS 0x1000

static int nvme_wait_ready(uintptr_t bar, uint32_t want)
{
	while ((R32(bar + NVME_CSTS) & 3) != want)     /* RDY, and CFS (fatal) must stay clear */
		if (expired() || (R32(bar + NVME_CSTS) & 2)) {
			print("nvme: CSTS %x waiting for RDY=%u\n", R32(bar + NVME_CSTS), want);
			return -1;
		}
	return 0;
}

/* MSI-X table entry @vec: to this CPU at VEC_DEVICE, masked if @masked. */
static void nvme_vector(uintptr_t table, unsigned int vec, int masked)
{
	R32(table + 16 * vec + 0) = 0xfee00000;         /* APIC 0 */
	R32(table + 16 * vec + 4) = 0;
	R32(table + 16 * vec + 8) = VEC_DEVICE;         /* fixed, edge */
	R32(table + 16 * vec + 12) = masked;
}

/* The MSI-X capability: vector 0 unmasked; MSI-X enabled. Where the table is, and its size. */
static int nvme_msix(unsigned int slot, uintptr_t bar, uintptr_t *table, unsigned int *n)
{
	uint8_t cap = (uint8_t)(cfg_read(slot, 0x34) & 0xfc);

	while (cap && (cfg_read(slot, cap) & 0xff) != 0x11)
		cap = (uint8_t)((cfg_read(slot, cap) >> 8) & 0xfc);
	if (!cap) {
		print("nvme: no MSI-X capability\n");
		return -1;
	}
	if (cfg_read(slot, cap + 4u) & 7) {
		print("nvme: the MSI-X table is not in BAR 0\n");
		return -1;
	}
	*table = bar + (cfg_read(slot, cap + 4u) & ~7u);
	*n = ((cfg_read(slot, cap) >> 16) & 0x7ff) + 1;
	nvme_vector(*table, 0, 0);
	cfg_write(slot, cap, (cfg_read(slot, cap) & 0xffff) | 0x8000u << 16);
	return 0;
}

struct nvme_sqe {
	uint32_t cdw0, nsid, rsvd[2];
	uint64_t mptr, prp1, prp2;
	uint32_t cdw10[6];
};

/* Waits for completion queue entry @i (16 bytes, phase 1) of @cq; its status, or -1. */
static int nvme_wait_cqe(volatile uint32_t *cq, unsigned int i, const char *what)
{
	while (!(cq[4 * i + 3] & 0x10000))
		if (expired()) {
			print("nvme: %s: no completion\n", what);
			return -1;
		} else {
			idle();
		}
	return (int)(cq[4 * i + 3] >> 17);
}

/*
 * An I/O queue pair whose completions interrupt on MSI-X vector @vec, vector 0 masked, and a
 * Flush through it: the interrupt can only be @vec's. Admin commands go in at @tail.
 */
static int nvme_io_vector(uintptr_t bar, unsigned int stride, volatile struct nvme_sqe *asq, volatile uint32_t *acq,
			  unsigned int tail, uintptr_t table, unsigned int vec)
{
	volatile struct nvme_sqe *sq = alloc(4096, 4096);
	volatile uint32_t *cq = alloc(4096, 4096);
	uint32_t before;
	int st;

	for (unsigned int i = 0; i < 1024; i++)
		cq[i] = 0;
	nvme_vector(table, 0, 1);
	nvme_vector(table, vec, 0);
	/* Create I/O Completion Queue 1 (two entries, contiguous, interrupts on @vec), then
	 * Create I/O Submission Queue 1 on it. */
	asq[tail] = (struct nvme_sqe){ .cdw0 = 0x05 | 2u << 16, .prp1 = (uint64_t)(uintptr_t)cq,
				      .cdw10 = { 1u << 16 | 1, vec << 16 | 2 | 1 } };
	asq[tail + 1] = (struct nvme_sqe){ .cdw0 = 0x01 | 3u << 16, .prp1 = (uint64_t)(uintptr_t)sq,
					  .cdw10 = { 1u << 16 | 1, 1u << 16 | 1 } };
	R32(bar + NVME_DOORBELLS) = tail + 2;
	if ((st = nvme_wait_cqe(acq, tail, "Create I/O CQ")) != 0 ||
	    (st = nvme_wait_cqe(acq, tail + 1, "Create I/O SQ")) != 0) {
		if (st > 0)
			print("nvme: creating the I/O queues failed, status %x\n", (unsigned int)st);
		return -1;
	}
	R32(bar + NVME_DOORBELLS + stride) = tail + 2;  /* admin CQ head */
	before = msi_count;
	sq[0] = (struct nvme_sqe){ .cdw0 = 0x00 | 4u << 16, .nsid = 1 };   /* Flush */
	R32(bar + NVME_DOORBELLS + 2 * stride) = 1;     /* I/O SQ 1 tail */
	if ((st = nvme_wait_cqe(cq, 0, "Flush")) != 0) {
		if (st > 0)
			print("nvme: Flush failed, status %x\n", (unsigned int)st);
		return -1;
	}
	while (msi_count == before)
		if (expired()) {
			print("nvme: the Flush completed but MSI-X vector %u never interrupted\n", vec);
			return -1;
		} else {
			idle();
		}
	R32(bar + NVME_DOORBELLS + 3 * stride) = 1;     /* I/O CQ 1 head */
	return (int)(msi_count - before);
}

/* nvme=identify: reset the controller, give it an admin queue pair, send Identify Controller
 * and wait for its completion as an MSI-X interrupt, then check the answer. */
static int nvme_identify(void)
{
	volatile struct nvme_sqe *sq;
	volatile uint32_t *cq;
	uint8_t *id;
	uintptr_t bar, table;
	unsigned int slot, stride, nvec, vec;
	uint32_t before = msi_count;
	char serial[21], model[41];
	int irqs;

	for (slot = 0; slot < 32; slot++)
		if ((cfg_read(slot, 8) >> 8) == 0x010802)       /* class: NVM Express */
			break;
	if (slot == 32) {
		print("nvme: no NVMe controller on the bus\n");
		return 1;
	}
	bar = (uintptr_t)(cfg_read(slot, 0x10) & ~0xfu);
	cfg_write(slot, 4, cfg_read(slot, 4) | 0x6);    /* memory decoding, bus master */
	stride = 4u << ((R32(bar + NVME_CAP + 4) >> 0) & 0xf);
	if (nvme_msix(slot, bar, &table, &nvec) < 0)
		return 1;
	R32(bar + NVME_CC) = 0;
	if (nvme_wait_ready(bar, 0) < 0)
		return 1;
	sq = alloc(4096, 4096);
	cq = alloc(4096, 4096);
	id = alloc(4096, 4096);
	for (unsigned int i = 0; i < 1024; i++)
		((volatile uint32_t *)cq)[i] = 0;
	R32(bar + NVME_AQA) = 7u << 16 | 7;             /* eight entries each (0-based sizes) */
	R32(bar + NVME_ASQ) = (uint32_t)(uintptr_t)sq;
	R32(bar + NVME_ASQ + 4) = 0;
	R32(bar + NVME_ACQ) = (uint32_t)(uintptr_t)cq;
	R32(bar + NVME_ACQ + 4) = 0;
	R32(bar + NVME_CC) = 4u << 20 | 6u << 16 | 1;  /* 16-byte CQEs, 64-byte SQEs, enable */
	if (nvme_wait_ready(bar, 1) < 0)
		return 1;
	sq[0] = (struct nvme_sqe){ .cdw0 = 0x06 | 1u << 16, .prp1 = (uint64_t)(uintptr_t)id, .cdw10 = { 1 } };
	R32(bar + NVME_DOORBELLS) = 1;                  /* admin SQ tail */
	while (!(cq[3] & 0x10000) || msi_count == before)  /* the phase bit, and the interrupt */
		if (expired()) {
			print("nvme: no completion (CQE phase %u, %u interrupts)\n", (cq[3] >> 16) & 1,
			      msi_count - before);
			return 1;
		} else {
			idle();
		}
	R32(bar + NVME_DOORBELLS + stride) = 1;         /* admin CQ head */
	if (cq[3] >> 17) {
		print("nvme: Identify failed, status %x\n", cq[3] >> 17);
		return 1;
	}
	for (unsigned int i = 0; i < 20; i++)
		serial[i] = (char)id[4 + i];
	serial[20] = 0;
	for (unsigned int i = 0; i < 40; i++)
		model[i] = (char)id[24 + i];
	model[40] = 0;
	for (int i = 19; i >= 0 && serial[i] == ' '; i--)
		serial[i] = 0;
	for (int i = 39; i >= 0 && model[i] == ' '; i--)
		model[i] = 0;
	print("nvme: slot %u, Identify by MSI-X vector 0 (%u interrupt(s)): serial \"%s\", model \"%s\"\n", slot,
	      msi_count - before, serial, model);
	/* A vector past the first 32, where the table has one (QEMU's controller: msix_qsize). */
	vec = nvec > 34 ? 33 : nvec - 1;
	if (vec == 0)
		return 0;
	irqs = nvme_io_vector(bar, stride, sq, cq, 1, table, vec);
	if (irqs < 0)
		return 1;
	print("nvme: I/O queue 1 on MSI-X vector %u of %u: Flush completed (%d interrupt(s))\n", vec, nvec, irqs);
	return 0;
}

/* ---- more CPUs (iovm --cpus N): each enters at _start with its index, and waits here ---- */

#define MAX_CPUS 8
static volatile uint32_t cpus_up, ipi_round, ipi_acks;
static volatile uint32_t cpu_apic_id[MAX_CPUS], cpu_round[MAX_CPUS];

/* A CPU other than the boot one: check in with its local APIC ID, then sleep in HLT and
 * acknowledge each round of IPIs it is woken for. */
void ap_main(const struct iovm_boot_info *bi, uint64_t index)
{
	(void)bi;
	if (index >= MAX_CPUS)
		for (;;)
			__asm__ volatile("cli; hlt");
	while (!__atomic_load_n(&idt_ready, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	__asm__ volatile("lidt %0" : : "m"(idtr));
	R32(LAPIC + 0xf0) = 0x1ff;                      /* this CPU's local APIC, enabled */
	cpu_apic_id[index] = R32(LAPIC + 0x20) >> 24;
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t round;

		__asm__ volatile("sti; hlt; cli" ::: "memory");
		round = __atomic_load_n(&ipi_round, __ATOMIC_ACQUIRE);
		if (cpu_round[index] != round) {
			cpu_round[index] = round;
			__atomic_add_fetch(&ipi_acks, 1, __ATOMIC_SEQ_CST);
		}
	}
}

/* smp=test: every CPU checked in with the APIC ID it was promised (its index), and each
 * answers a fixed IPI from the boot CPU (ICR, physical destination). */
static int smp_test(uint32_t n)
{
	uint32_t me = R32(LAPIC + 0x20) >> 24;

	if (n < 2 || n > MAX_CPUS) {
		print("smp: %u CPU(s); smp=test needs 2 to %u (iovm --cpus)\n", n, MAX_CPUS);
		return 1;
	}
	while (__atomic_load_n(&cpus_up, __ATOMIC_ACQUIRE) < n - 1)
		if (expired()) {
			print("smp: %u of %u CPUs checked in\n", cpus_up + 1, n);
			return 1;
		}
	print("smp: %u CPUs up, APIC IDs %u", n, me);
	for (uint32_t i = 1; i < n; i++)
		print(" %u", cpu_apic_id[i]);
	print("\n");
	for (uint32_t i = 1; i < n; i++)
		if (cpu_apic_id[i] != i || me != 0) {
			print("smp: CPU %u has APIC ID %u\n", i, cpu_apic_id[i]);
			return 1;
		}
	__atomic_store_n(&ipi_round, 1, __ATOMIC_RELEASE);
	for (uint32_t i = 1; i < n; i++) {
		R32(LAPIC + 0x310) = cpu_apic_id[i] << 24;
		R32(LAPIC + 0x300) = 1u << 14 | VEC_IPI;        /* fixed, assert, physical */
		while (R32(LAPIC + 0x300) & 1u << 12)           /* delivery pending */
			__asm__ volatile("pause");
	}
	while (__atomic_load_n(&ipi_acks, __ATOMIC_ACQUIRE) < n - 1)
		if (expired()) {
			print("smp: %u of %u CPUs answered the IPI\n", ipi_acks, n - 1);
			return 1;
		}
	print("smp: IPIs answered by %u CPUs\n", n - 1);
	return 0;
}

int guest_main(const struct iovm_boot_info *bi)
{
	uint8_t peer[6];
	int status = 0;

	if (bi->magic != IOVM_BOOT_MAGIC)
		return 3;
	cmdline = bi->cmdline;
	ram_size = bi->ram_size;
	tsc_khz = bi->tsc_khz ? bi->tsc_khz : 2000000;
	heap = (uintptr_t)_end;
	deadline = rdtsc() + arg_num("timeout", 20) * 1000 * tsc_khz;
	irq_init();
	busy_poll = arg_is("poll", "busy");
	print("iovm test guest: %lu MiB, %u CPU(s), command line \"%s\"\n", ram_size >> 20, bi->n_cpus, cmdline);

	if (arg_is("hostile", "1"))
		hostile();
	if (arg("net", &(size_t){ 0 })) {
		uint32_t count = (uint32_t)arg_num("count", 100);

		if (net_init() < 0)
			return 1;
		if (arg_is("net", "echo")) {
			status |= net_echo(count);
		} else if (arg_mac("peer", peer) < 0) {
			print("guest: net=ping and net=send need peer=aa:bb:cc:dd:ee:ff\n");
			return 2;
		} else if (net_wait_peer(peer) < 0) {
			status = 1;
		} else if (arg_is("net", "ping")) {
			status |= net_ping(peer, count);
		} else if (arg_is("net", "send")) {
			uint32_t size = (uint32_t)arg_num("size", 64), window = (uint32_t)arg_num("window", 64);

			if (size < 60 || size > 1514 || !window || window > QSIZE / 2) {
				print("guest: size is 60-1514, window 1-%u\n", QSIZE / 2);
				return 2;
			}
			if (arg_num("pings", 0))
				status |= net_ping(peer, (uint32_t)arg_num("pings", 0));
			status |= net_send(peer, count, size, window, (uint32_t)arg_num("lost", 0));
		} else {
			print("guest: net= is ping, send or echo\n");
			return 2;
		}
	}
	if (arg_is("mtty", "test"))
		status |= mtty_test();
	if (arg_is("nvme", "identify"))
		status |= nvme_identify();
	if (arg("smp", &(size_t){ 0 })) {
		if (!arg_is("smp", "test")) {
			print("guest: smp= is test\n");
			return 2;
		}
		status |= smp_test(bi->n_cpus);
	}
	if (arg_is("bench", "exits"))
		status |= bench_exits((uint32_t)arg_num("count", 10000));
	if (arg("idle", &(size_t){ 0 }))
		status |= idle_for(arg_num("idle", 1));
	if (arg_is("serial", "echo"))
		status |= serial_echo(arg_is("irq", "1"));
	if (arg("edu", &(size_t){ 0 })) {
		if (!arg_is("edu", "test")) {
			print("guest: edu= is test\n");
			return 2;
		}
		status |= edu_test((uint32_t)arg_num("dma", 4088));
	}
	if (arg("blk", &(size_t){ 0 })) {
		if (!arg_is("blk", "verify")) {
			print("guest: blk= is verify\n");
			return 2;
		}
		status |= blk_verify((uint32_t)arg_num("blocks", 64));
	}
	if (!arg("net", &(size_t){ 0 }) && !arg("blk", &(size_t){ 0 }) && !arg("edu", &(size_t){ 0 }) &&
	    !arg("bench", &(size_t){ 0 }) && !arg("idle", &(size_t){ 0 }) && !arg("serial", &(size_t){ 0 }) &&
	    !arg("smp", &(size_t){ 0 }) && !arg("mtty", &(size_t){ 0 }) && !arg("nvme", &(size_t){ 0 })) {
		struct vdev d;

		for (uint16_t type = 1; type <= 2; type++)
			if (vdev_find(type, &d) == 0)
				print("device: slot %u virtio type %u\n", d.slot, type);
	}
	print("result: %s\n", status ? "FAIL" : "ok");
	return status;
}

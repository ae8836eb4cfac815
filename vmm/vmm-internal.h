/* SPDX-License-Identifier: MIT */
/*
 * iovm's pieces and how they meet. One guest per process; one vCPU thread runs KVM_RUN and
 * handles its exits (port and MMIO accesses reach the device models here), the main thread
 * watches the backends and reconnects them. Device models take their device's lock, so both
 * threads may touch a device.
 *
 * The device models are plain state machines with no KVM in them (pci.c, virtio-pci.c): what
 * they need from the VM (routing an MSI-X vector, starting a backend) they ask through hooks,
 * which is also how the unit tests watch them.
 */
#ifndef VMM_INTERNAL_H
#define VMM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iovkit/iovm-boot.h"

/* Guest-physical layout of a directly booted 64-bit guest (vm_setup_direct in vm.c). */
#define IOVM_PML4          0x1000ULL
#define IOVM_PDPT          0x2000ULL
#define IOVM_PD            0x3000ULL   /* four pages: the low 4 GiB in 2 MiB pages */
#define IOVM_BOOT_INFO     0x7000ULL   /* struct iovm_boot_info, for the test guest */
#define IOVM_GDT           0x8000ULL
#define IOVM_ZERO_PAGE     0x10000ULL  /* Linux: struct boot_params */
#define IOVM_CMDLINE       0x20000ULL  /* Linux: its command line */
#define IOVM_MPTABLE       0xf0000ULL  /* Linux: the MP table, in the (e820-reserved) BIOS area */
#define IOVM_ACPI          0xf1000ULL  /* Linux: ACPI's RSDP and tables, in the same area */
#define IOVM_ACPI_SIZE     0x1000ULL
#define IOVM_ACPI_PM1_EVT  0x600       /* ACPI PM1a event block (4 ports) */
#define IOVM_ACPI_PM1_CNT  0x604       /* ACPI PM1a control block (2 ports): SLP_EN + S5 powers off */
#define IOVM_ACPI_RESET_PORT 0xcf9     /* ACPI's reset register: the chipset's reset control register */
#define IOVM_ACPI_RESET_VALUE 0x06
#define IOVM_IOAPIC_ID     8           /* above every vCPU's APIC ID (VM_MAX_VCPUS) */
#define IOVM_STACK_TOP     0x80000ULL
#define IOVM_LOAD_MIN      0x100000ULL /* nothing loads below 1 MiB */
#define IOVM_MMIO_BASE     0xe0000000ULL   /* the PCI memory window: BARs go here */
#define IOVM_RAM_MAX       IOVM_MMIO_BASE  /* RAM ends below the window (no high RAM yet) */

/* Writes the reason into @why (for the one message a failed setup prints); returns @err. */
int vmm_fail(char *why, size_t len, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- little-endian fields in guest memory and device models (x86 and PCI are little-endian,
 * as is every host iovm runs on) ---- */
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The byte that makes @n bytes at @p sum to 0 (MP and ACPI table checksums). */
static inline uint8_t checksum8(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

/* ---- PCI (pci.c): configuration space of the devices on bus 0 ---- */

#define PCI_MAX_DEVS 32

/* The IOAPIC pin (GSI) that INTx pin @pin (1 = INTA .. 4 = INTD) of the device in @slot is wired
 * to: 16-23, swizzled by slot as PC boards do. ACPI's _PRT (acpi.c) says the same to Linux. */
static inline unsigned int pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return 16 + (slot + pin - 1) % 8;
}

struct pci_dev;

struct pci_bar {
	uint32_t size;          /* a power of two: >= 16 (memory), 4..256 (I/O); 0: no BAR */
	uint64_t addr;          /* where the guest (or iovm, as firmware) placed it */
	bool io;                /* in I/O space (ports), not memory */
};

struct pci_dev_ops {
	/* A BAR's access (memory, or ports of an I/O BAR); @len 1, 2, 4 or 8. Called with the
	 * device's lock held. */
	uint64_t (*bar_read)(struct pci_dev *d, int bar, uint64_t off, unsigned int len);
	void (*bar_write)(struct pci_dev *d, int bar, uint64_t off, unsigned int len, uint64_t val);
	/* After a BAR moved or memory decoding was switched (re-register ioeventfds...). */
	void (*bar_moved)(struct pci_dev *d, int bar);
	/* After a write to configuration space at @off the model did not handle itself. */
	void (*cfg_written)(struct pci_dev *d, unsigned int off, unsigned int len);
	/* Before a read of configuration space at @off: the model may bring those bytes of cfg[]
	 * up to date (a passed-through device's own registers, which change by themselves). */
	void (*cfg_read)(struct pci_dev *d, unsigned int off, unsigned int len);
};

struct pci_dev {
	uint8_t cfg[256];
	uint8_t wmask[256];     /* the bits the guest may change (besides BARs) */
	struct pci_bar bars[6];
	const struct pci_dev_ops *ops;
	pthread_mutex_t lock;
	unsigned int slot;
	uint8_t next_cap;       /* where pci_add_cap puts the next capability */
};

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
		  uint16_t sub_vendor, uint16_t sub_device);
/* Declares a 32-bit memory BAR of @size at @addr (firmware's placement; the guest may move it). */
void pci_dev_set_bar(struct pci_dev *d, int bar, uint32_t size, uint64_t addr);
/* The same for an I/O BAR of @size ports (4..256, a power of two) at @port. */
void pci_dev_set_bar_io(struct pci_dev *d, int bar, uint32_t size, uint16_t port);
/* Appends a capability of @len bytes (@body[0] is its ID, [1] is filled in); its offset. */
uint8_t pci_add_cap(struct pci_dev *d, const void *body, uint8_t len);
bool pci_mem_enabled(const struct pci_dev *d);

/* An MSI-X table entry as the guest programs it (PCI 3.0 section 6.8.2), and the table's
 * emulation for the models that own one (virtio-pci, a passed-through device's). */
struct msix_entry {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl;          /* bit 0: masked */
};

/* A read of @len bytes at @off of a table of @n entries. */
uint64_t msix_table_read(const struct msix_entry *t, unsigned int n, uint64_t off, unsigned int len);
/* A write: 4 or 8 bytes, aligned, inside the table; the entry written, or -1 (ignored). */
int msix_table_write(struct msix_entry *t, unsigned int n, uint64_t off, unsigned int len, uint64_t val);

/* A part of a BAR: @len bytes at @off. */
struct bar_range {
	uint64_t off, len;
};

/*
 * The parts of a BAR that memory slots can map: @areas (where the device lets this process mmap
 * it), each trimmed inward to whole @page-sized pages, less every page that holds part of
 * [@hole, @hole + @hole_len) (an MSI-X table iovm emulates; @hole_len 0: none). At most @max into
 * @out, in the order of @areas; returns how many.
 */
unsigned int bar_slot_ranges(const struct bar_range *areas, unsigned int n, uint64_t hole, uint64_t hole_len,
			     uint64_t page, struct bar_range *out, unsigned int max);

/* Configuration reads and writes of one function, as mechanism #1 delivers them. */
uint32_t pci_cfg_read(struct pci_dev *d, unsigned int off, unsigned int len);
void pci_cfg_write(struct pci_dev *d, unsigned int off, unsigned int len, uint32_t val);

/* Bus 0: the host bridge in slot 0 and the devices, reached through ports 0xcf8/0xcfc. */
struct pci_bus {
	struct pci_dev bridge;
	struct pci_dev *devs[PCI_MAX_DEVS];
	uint32_t addr;          /* the last 0xcf8 write */
	uint64_t next_mmio;     /* firmware's BAR allocator: memory ... */
	uint32_t next_io;       /* ... and ports */
};

void pci_bus_init(struct pci_bus *bus);
int pci_bus_add(struct pci_bus *bus, struct pci_dev *d);   /* -ENOSPC when full */
uint32_t pci_bus_io_read(struct pci_bus *bus, uint16_t port, unsigned int len);
void pci_bus_io_write(struct pci_bus *bus, uint16_t port, unsigned int len, uint32_t val);
/* A memory access in the PCI window: true when a BAR claimed it. */
bool pci_bus_mmio(struct pci_bus *bus, uint64_t addr, unsigned int len, bool write, uint64_t *val);
/* A port access: true when an I/O BAR claimed it. */
bool pci_bus_pio(struct pci_bus *bus, uint16_t port, unsigned int len, bool write, uint64_t *val);

/* ---- virtio-pci (virtio-pci.c): the modern transport, virtio 1.2 section 4.1 ---- */

#define VIRTIO_MAX_QUEUES 17    /* virtio-net: 8 queue pairs and the control queue */
#define VIRTIO_MSIX_VECTORS (VIRTIO_MAX_QUEUES + 1)
#define VIRTIO_NO_VECTOR 0xffff

/* BAR 0's layout. */
#define VPCI_COMMON_OFF  0x0000
#define VPCI_COMMON_LEN  0x38
#define VPCI_ISR_OFF     0x1000
#define VPCI_DEVCFG_OFF  0x2000
#define VPCI_DEVCFG_LEN  0x100
#define VPCI_NOTIFY_OFF  0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_MSIX_OFF    0x3800
#define VPCI_PBA_OFF     0x3c00
#define VPCI_BAR_SIZE    0x4000

/* Device status bits (virtio 1.2 section 2.1). */
#define VIRTIO_STATUS_ACK         1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

#define VIRTIO_F_VERSION_1 32

struct virtio_queue {
	uint16_t size, max_size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device;
};

/*
 * A split virtqueue iovm serves itself (vq.c), its rings in guest RAM @ram of @ram_size bytes.
 * vq_pop: the next chain the driver made available after *@last_avail: its head, up to 64
 * device-readable bytes copied out (out, out_len), and one device-writable buffer last (in,
 * in_len; NULL if none). Returns 1 (a chain; *@last_avail advanced), 0 (none), -EINVAL (a
 * malformed chain, consumed: its head is set, complete it with nothing written) or -EFAULT
 * (rings outside RAM). vq_push: completes chain @id, @len bytes written.
 *
 * vq_kick_at, where VIRTIO_F_EVENT_IDX is negotiated (virtio 1.2 §2.7.10): the driver kicks only
 * when its avail index passes the avail_event the device publishes after the used ring, which
 * stays 0 if never written, so past its first chain a driver would never kick again. Publishes
 * @last_avail (the next chain to be kicked for), then says whether the driver made more
 * available meanwhile: 1 (pop again), 0, or -EFAULT.
 */
struct vq_chain {
	uint16_t head;
	uint8_t out[64];
	size_t out_len;
	uint8_t *in;
	uint32_t in_len;
};
int vq_pop(uint8_t *ram, uint64_t ram_size, const struct virtio_queue *q, uint16_t *last_avail, struct vq_chain *c);
int vq_push(uint8_t *ram, uint64_t ram_size, const struct virtio_queue *q, uint16_t id, uint32_t len);
int vq_kick_at(uint8_t *ram, uint64_t ram_size, const struct virtio_queue *q, uint16_t last_avail);

struct virtio_pci;

struct virtio_pci_ops {
	/* DRIVER_OK: hand the queues to whoever serves them. An error sets NEEDS_RESET. */
	int (*start)(struct virtio_pci *v);
	/* The driver reset the device (status 0) after start. */
	void (*stop)(struct virtio_pci *v);
	/* Device-specific configuration at @off. */
	void (*config_read)(struct virtio_pci *v, unsigned int off, void *buf, unsigned int len);
	/*
	 * Queue @q's interrupt: deliver it as MSI (@addr, @data), or stop delivering it
	 * (@deliver false: vector masked, MSI-X off, or no vector).
	 */
	void (*route)(struct virtio_pci *v, unsigned int q, bool deliver, uint64_t addr, uint32_t data);
	/* Queue @q's notify address moved (BAR moved, decoding switched): @addr 0 = none. */
	void (*notify_moved)(struct virtio_pci *v, unsigned int q, uint64_t addr);
	/* A notification that reached the VMM itself (not caught by an ioeventfd). */
	void (*notify)(struct virtio_pci *v, unsigned int q);
	/* Whether queue @q's interrupt is held, waiting for its vector to be unmasked (the MSI-X
	 * PBA's pending bit). NULL: never. */
	bool (*pending)(struct virtio_pci *v, unsigned int q);
};

struct virtio_pci {
	struct pci_dev pci;
	const struct virtio_pci_ops *ops;
	void *opaque;
	uint64_t device_features;       /* what the device offers */
	uint64_t driver_features;       /* what the driver accepted */
	uint32_t device_feature_select, driver_feature_select;
	uint8_t status, config_generation, isr;
	uint16_t queue_select, num_queues, config_vector;
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];
	struct msix_entry msix[VIRTIO_MSIX_VECTORS];
	uint8_t msix_cap;               /* its offset in configuration space */
	uint8_t pci_cfg_cap;            /* the PCI configuration access capability's */
	bool started;
};

/* @type: virtio device ID (1 net, 2 blk); @class_rev the PCI class code << 8. */
void virtio_pci_init(struct virtio_pci *v, unsigned int type, uint32_t class_code, uint16_t num_queues,
		     uint16_t queue_max, uint64_t features, const struct virtio_pci_ops *ops, void *opaque);
/* Resends every queue's routing (after MSI-X state changed). Lock held. */
void virtio_pci_update_routes(struct virtio_pci *v);
/* Whether MSI-X vector @vec would be delivered now, and where. */
bool virtio_pci_vector(const struct virtio_pci *v, uint16_t vec, uint64_t *addr, uint32_t *data);

/*
 * ---- the console (uart.c): a 16550A, as much of one as Linux's 8250 driver and the test
 * guest use ----
 * Transmission is instant: a byte written to THR is on the console (@out_fd) before the write
 * returns, so the transmitter is always empty and its interrupt (THRE) is pending from each
 * THR write, or from enabling it in IER, until the guest reads IIR saying so. Receive holds
 * what uart_input() queued. FIFOs exist once FCR enables them (IIR bits 7:6 read 11: how Linux
 * tells a 16550A from a 16450, and sends 16 bytes per interrupt instead of one). Loop-back
 * mode reflects MCR in MSR and what is sent in what is received. @irq is called, under @lock,
 * whenever an interrupt is pending after a change: the caller makes it an edge.
 */
struct uart {
	pthread_mutex_t lock;
	int out_fd;
	void (*irq)(void *opaque);
	void *opaque;
	uint8_t regs[8], dlm;                   /* DLL, IER, FCR, LCR, MCR, -, -, SCR; DLM */
	bool thre;                              /* the transmitter-empty interrupt is pending */
	uint8_t rx[256];
	unsigned int rx_head, rx_len;
};

void uart_init(struct uart *u, int out_fd, void (*irq)(void *opaque), void *opaque);
/* A guest access to register @reg (0-7) of the UART: returns what a read reads. */
uint32_t uart_io(struct uart *u, unsigned int reg, bool is_write, uint32_t val);
/* Queues what fits of @buf for the guest to receive; returns the bytes taken. */
size_t uart_input(struct uart *u, const uint8_t *buf, size_t len);
/* Room in the receive queue. */
size_t uart_room(struct uart *u);

/* ---- the VM (vm.c): KVM, guest RAM, the vCPU, port I/O ---- */

struct vhost_dev;
struct vfio_dev;

#define VM_MAX_PASSTHROUGH 4
#define VM_MAX_SLOTS 32         /* KVM memory slots: 0 is RAM, the rest map passed-through BARs */
#define VM_MAX_VCPUS 8          /* APIC IDs 0-7; the MP table's IOAPIC takes IOVM_IOAPIC_ID */
#define VM_MAX_GSI 1024         /* 0-23 the IOAPIC's pins, then one per MSI route (KVM allows 4096) */
#define VM_FIRST_MSI_GSI 24

/* Why the guest stopped: iovm's exit status (docs/vmm.md). 0-119: what the guest wrote. */
enum vm_stop {
	VM_STOP_POWEROFF = 120, /* the guest powered off (ACPI S5) */
	VM_STOP_SHUTDOWN = 121, /* triple fault or a reset request */
	VM_STOP_INTERNAL = 122, /* KVM could not run the guest (entry failure, emulation error) */
	VM_STOP_TIMEOUT = 123,  /* --timeout expired */
	VM_STOP_REQUESTED = 124, /* vm.stop on the control socket */
	VM_STOP_SETUP = 125,    /* iovm could not set the VM up */
};

/* A vCPU: its KVM fd, its run area, its thread. vCPU 0 boots; the others are APs. */
struct vcpu {
	struct vm *vm;
	unsigned int id;        /* the KVM vCPU id, which is its local APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits, mmio_exits;     /* handled in userspace (atomic: vm.info reads them) */
};

struct vm {
	int kvm_fd, fd;
	struct vcpu vcpus[VM_MAX_VCPUS];
	unsigned int n_vcpus;
	size_t run_size;
	int ram_fd;
	uint8_t *ram;
	uint64_t ram_size;
	uint32_t tsc_khz;
	struct pci_bus bus;
	struct uart uart;                       /* the console at 0x3f8 */
	/* MSI routes: the kernel's table is replaced whole on every change. */
	pthread_mutex_t gsi_lock;
	bool gsi_used[VM_MAX_GSI];
	uint64_t gsi_addr[VM_MAX_GSI];
	uint32_t gsi_data[VM_MAX_GSI];
	pthread_mutex_t slot_lock;
	bool slot_used[VM_MAX_SLOTS];
	uint16_t acpi_pm1_en;           /* ACPI PM1_EN: what the guest enabled (nothing ever fires) */
	uint8_t rst_cnt;                /* port 0xcf9's SYS_RST and FULL_RST bits, as last written */
	int stop_status;        /* -1 while running */
	pthread_mutex_t go_lock;
	pthread_cond_t go_cond;
	bool go;
	bool pause_requested;           /* under go_lock; go_cond signals changes */
	unsigned int n_paused;          /* vCPUs parked by a pause, under go_lock */
	double started_at;
	int stop_efd;           /* signalled when a vCPU thread stops */
	struct vhost_dev *devs[PCI_MAX_DEVS];
	unsigned int n_devs;
	struct vfio_dev *pt[VM_MAX_PASSTHROUGH];       /* passed-through devices (vfio-dev.c) */
	unsigned int n_pt;
};

/*
 * Opens KVM, checks what iovm needs (naming what is missing in @why), creates the VM with
 * @n_vcpus vCPUs (1..VM_MAX_VCPUS). Guest RAM is a memfd, of 2 MiB hugepages with @hugepages
 * (reserved at start: -ENOMEM says how many are free).
 */
int vm_create(struct vm *vm, uint64_t ram_size, bool hugepages, unsigned int n_vcpus, char *why, size_t why_len);
void vm_destroy(struct vm *vm);
/* CLOCK_MONOTONIC in seconds: timeouts, uptime. */
double vm_now(void);
/* Loads an ELF64 executable (the test guest) into RAM; its entry point. */
int vm_load_elf(struct vm *vm, const char *path, uint64_t *ret_entry, char *why, size_t why_len);
/*
 * Sets every vCPU up in 64-bit mode at @entry (iovm-boot.h: RSI the vCPU's index, its own
 * stack), the boot information written for them.
 */
int vm_setup_direct(struct vm *vm, uint64_t entry, const char *cmdline, char *why, size_t why_len);
/* The boot vCPU at Linux's 64-bit entry: __BOOT_CS 0x10, __BOOT_DS 0x18, RSI = the zero page.
 * The others wait, as a PC's APs do, for Linux's INIT and startup IPIs (the in-kernel LAPIC). */
int vm_setup_linux(struct vm *vm, uint64_t entry, char *why, size_t why_len);

/* ---- Linux (linux.c): the x86 boot protocol's 64-bit entry ---- */

enum linux_kind { LINUX_NONE, LINUX_BZIMAGE, LINUX_VMLINUX };

/* struct boot_params and its setup header (Documentation/arch/x86/boot.rst), by offset. */
#define LINUX_BP_ACPI_RSDP 0x070
#define LINUX_BP_E820_ENTRIES 0x1e8
#define LINUX_BP_HDR 0x1f1
#define LINUX_HDR_TYPE_OF_LOADER 0x210
#define LINUX_HDR_LOADFLAGS 0x211
#define LINUX_HDR_CODE32_START 0x214
#define LINUX_HDR_RAMDISK_IMAGE 0x218
#define LINUX_HDR_RAMDISK_SIZE 0x21c
#define LINUX_HDR_CMD_LINE_PTR 0x228
#define LINUX_HDR_INITRD_MAX 0x22c
#define LINUX_HDR_XLOADFLAGS 0x236
#define LINUX_HDR_PREF_ADDRESS 0x258
#define LINUX_HDR_INIT_SIZE 0x260
#define LINUX_BP_E820_TABLE 0x2d0
#define LINUX_CMDLINE_MAX 2048          /* x86's COMMAND_LINE_SIZE */

/* The MP table at IOVM_MPTABLE: the vCPUs (APIC IDs 0..n-1, 0 the bootstrap processor), the
 * IOAPIC with ISA IRQ n on pin n, PCI bus 0 and the INTx pins of the devices on it (written
 * after they are added). */
void mptable_write(struct vm *vm);

/* ---- ACPI (acpi.c): RSDP, XSDT, FADT, FACS, MADT, DSDT for Linux's power-off and reset ---- */

/* Writes the tables at IOVM_ACPI for the VM's vCPUs. */
void acpi_write(struct vm *vm);
/* The RSDP's guest-physical address (boot_params.acpi_rsdp_addr). */
uint64_t acpi_rsdp(void);
/* A port access to the PM1a blocks or the reset register: true when it was one (@val is the
 * value written, or gets the value read). Power-off and reset stop the VM. */
bool acpi_io(struct vm *vm, uint16_t port, unsigned int len, bool write, uint32_t *val);

/* What @path is: a bzImage ("HdrS" at 0x202), an ELF vmlinux, or neither. */
enum linux_kind linux_kind(const char *path);

/*
 * Loads a bzImage or vmlinux, the initramfs @initrd (NULL: none) and @cmdline, and writes the
 * zero page at IOVM_ZERO_PAGE with the e820 map of guest RAM. *@ret_entry: the 64-bit entry.
 */
int linux_load(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline, uint64_t *ret_entry,
	       char *why, size_t why_len);
/* Creates the vCPU threads, which wait for vm_go(); vm->stop_efd becomes readable when one
 * stops (then all do). vm_join() waits for those started. */
int vm_start(struct vm *vm);
void vm_go(struct vm *vm);
void vm_join(struct vm *vm);
/* Exits handled in userspace (@mmio: those of MMIO only), all vCPUs together. */
uint64_t vm_exits(struct vm *vm, bool mmio);
/* Pauses the vCPUs (returns once all are out of KVM_RUN and waiting) / lets them run again. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/* The control socket (control.c): vm.info, vm.pause, vm.resume, vm.stop. */
struct iov_rpc_service;
extern const struct iov_rpc_service vm_service;
/* For vm.info: one device, as JSON text fields. */
struct vhost_dev_info {
	const char *type, *path;
	unsigned int slot;
	bool connected, driver_ok;
	uint8_t mac[6];
	uint64_t features;
};
void vhost_dev_info(struct vhost_dev *d, struct vhost_dev_info *ret);
/*
 * Console input for the guest's 8250 (from the main thread): queues what fits of @buf (the rest
 * waits for room) and raises IRQ 4 when the guest enabled receive interrupts. Returns the bytes
 * taken.
 */
size_t vm_serial_input(struct vm *vm, const uint8_t *buf, size_t len);
/* Room in the receive queue: the main thread reads no more than this. */
size_t vm_serial_room(struct vm *vm);

/* Asks the vCPUs to stop with @status (from any thread; the first status stays). */
void vm_stop(struct vm *vm, int status);

/*
 * KVM memory slots beyond RAM: allocate one (-ENOSPC when none is left), point it at @size
 * bytes of this process's memory @hva from guest-physical @gpa (@size 0: unmapped; KVM's
 * error, such as -EEXIST for an overlap, is returned), free it (unmapping it first).
 */
int vm_memslot_alloc(struct vm *vm);
int vm_memslot_set(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva);
void vm_memslot_free(struct vm *vm, int slot);

/* An MSI route for irqfds: allocate, point, free. Lock-free for the caller. */
int vm_msi_route_alloc(struct vm *vm);
int vm_msi_route_set(struct vm *vm, int gsi, uint64_t addr, uint32_t data);
int vm_irqfd(struct vm *vm, int fd, int gsi, bool assign);
/* A level-triggered irqfd on IOAPIC pin @gsi: @fd asserts it, the guest's EOI deasserts it and
 * signals @resample_fd (a passed-through device's INTx, unmasked by VFIO on that signal). */
int vm_irqfd_resample(struct vm *vm, int fd, int gsi, int resample_fd, bool assign);
int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, unsigned int len, bool assign);

/* The seccomp filter for a running VM (sandbox.c), on every thread. */
int sandbox_apply(char *why, size_t why_len);

/* ---- vhost-user devices (vhost-dev.c): a virtio-pci function served by a backend ---- */

enum vhost_dev_type { VHOST_DEV_NET = 1, VHOST_DEV_BLK = 2 };

/* Connects to the backend at @sock and plugs the device into the VM's PCI bus; a NIC with
 * @pairs queue pairs (1-8; more than one needs the backend's VIRTIO_NET_F_MQ). */
int vhost_dev_add(struct vm *vm, enum vhost_dev_type type, const char *sock, const uint8_t mac[6],
		  unsigned int pairs, char *why, size_t why_len);
/* From the main loop: the connection's fd (-1 while disconnected). */
int vhost_dev_fd(struct vhost_dev *d);
/* The backend hung up: forget the connection. */
void vhost_dev_disconnected(struct vhost_dev *d);
/* Tries to reconnect (and replay what the backend had been told); 0 when connected. */
int vhost_dev_reconnect(struct vhost_dev *d);
const char *vhost_dev_path(const struct vhost_dev *d);
void vhost_dev_free(struct vhost_dev *d);

/* ---- passthrough (vfio-dev.c): a device reached through vfio-core ---- */

/*
 * Opens @target — a vfio-user server's socket (@user) or a PCI address bound to vfio-pci —
 * maps guest RAM for its DMA and plugs it into the VM's PCI bus. @trap: no BAR is mapped into
 * the guest, every access is trapped.
 */
int vfio_dev_add(struct vm *vm, const char *target, bool user, bool trap, char *why, size_t why_len);
void vfio_dev_free(struct vfio_dev *v);
/* For vm.info. */
void vfio_dev_info(const struct vfio_dev *v, const char **name, unsigned int *slot, bool *msi_on);

#endif

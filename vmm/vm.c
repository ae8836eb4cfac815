/* SPDX-License-Identifier: MIT */
/*
 * The VM: KVM's VM and its one vCPU, guest RAM in a memfd (so vhost-user backends can map it),
 * the in-kernel irqchip, and the exits the vCPU brings back: port I/O (serial, PCI
 * configuration, the test guest's exit port) and MMIO (BARs). Every KVM ioctl goes through
 * kvm_ioctl(), which names the request when it fails.
 *
 * What the guest controls is hostile: port and MMIO accesses of any size at any address, the
 * ELF it was loaded from is the user's. Unknown ports read as all ones and ignore writes, the
 * first time logged.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm-internal.h"

#define kvm_ioctl(fd, req, arg) kvm_ioctl_named(fd, req, (void *)(uintptr_t)(arg), #req)

static __thread const char *last_failed;        /* the ioctl that failed, for messages */

static int kvm_ioctl_named(int fd, unsigned long req, void *arg, const char *name)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_RUN);
	if (r < 0) {
		last_failed = name;
		return -errno;
	}
	return r;
}

int vmm_fail(char *why, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return r;
}

static const struct {
	int cap;
	const char *name, *needed_for;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel interrupt controllers" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", "MSI-X routes" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "interrupts from vhost-user backends" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "virtqueue notifications without exits" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "the guest's CPUID" },
};

double vm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The console's interrupt: an edge on ISA IRQ 4 (the IOAPIC pin is programmed for one). */
static void serial_irq(void *opaque)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = 4, .level = 1 };

	kvm_ioctl(vm->fd, KVM_IRQ_LINE, &irq);
	irq.level = 0;
	kvm_ioctl(vm->fd, KVM_IRQ_LINE, &irq);
}

int vm_create(struct vm *vm, uint64_t ram_size, bool hugepages, unsigned int n_vcpus, char *why, size_t why_len)
{
	struct kvm_userspace_memory_region region;
	int r, version;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->fd = vm->ram_fd = vm->stop_efd = -1;
	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++)
		vm->vcpus[i] = (struct vcpu){ .vm = vm, .id = i, .fd = -1 };
	uart_init(&vm->uart, STDOUT_FILENO, serial_irq, vm);
	vm->stop_status = -1;
	pthread_mutex_init(&vm->gsi_lock, NULL);
	pthread_mutex_init(&vm->slot_lock, NULL);
	vm->slot_used[0] = true;                /* RAM */
	pthread_mutex_init(&vm->go_lock, NULL);
	pthread_cond_init(&vm->go_cond, NULL);
	pci_bus_init(&vm->bus);
	if (n_vcpus < 1 || n_vcpus > VM_MAX_VCPUS)
		return vmm_fail(why, why_len, -EINVAL, "a VM has 1 to %d vCPUs", VM_MAX_VCPUS);
	if (ram_size < 2 * IOVM_LOAD_MIN || ram_size > IOVM_RAM_MAX || ram_size % (2 << 20))
		return vmm_fail(why, why_len, -EINVAL, "guest RAM is 2 MiB to %llu MiB, in 2 MiB steps",
			    (unsigned long long)(IOVM_RAM_MAX >> 20));

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vmm_fail(why, why_len, -errno, "/dev/kvm: %s (is the kvm module loaded, and may this user open it?)",
			    strerror(errno));
	version = kvm_ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return vmm_fail(why, why_len, -ENOTSUP, "/dev/kvm speaks API version %d, iovm needs %d", version, KVM_API_VERSION);
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
		if (kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
			return vmm_fail(why, why_len, -ENOTSUP, "this KVM lacks %s, which iovm needs for %s",
				    required_caps[i].name, required_caps[i].needed_for);

	vm->fd = kvm_ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return vmm_fail(why, why_len, vm->fd, "KVM_CREATE_VM: %s", strerror(-vm->fd));
	r = kvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000);
	if (r == 0)
		r = kvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
	if (r == 0) {
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

		r = kvm_ioctl(vm->fd, KVM_CREATE_PIT2, &pit);
	}
	if (r < 0)
		return vmm_fail(why, why_len, r, "%s: %s", last_failed, strerror(-r));

	/* RAM: a memfd, so a vhost-user backend can map the same pages. */
	vm->ram_size = ram_size;
	vm->ram_fd = memfd_create("iovm-ram", MFD_CLOEXEC | (hugepages ? MFD_HUGETLB : 0));
	if (vm->ram_fd < 0 || ftruncate(vm->ram_fd, (off_t)ram_size) < 0)
		return vmm_fail(why, why_len, -errno, "guest RAM (%llu MiB%s): %s", (unsigned long long)(ram_size >> 20),
			    hugepages ? " of 2 MiB hugepages" : "", strerror(errno));
	/* Hugepages are reserved here, all of them: too few fails now, not with a SIGBUS later. */
	vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | (hugepages ? MAP_POPULATE : 0), vm->ram_fd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		if (hugepages && errno == ENOMEM)
			return vmm_fail(why, why_len, -ENOMEM, "guest RAM needs %llu free 2 MiB hugepages; /proc/meminfo's "
				    "HugePages_Free has fewer (echo N > /proc/sys/vm/nr_hugepages)",
				    (unsigned long long)(ram_size >> 21));
		return vmm_fail(why, why_len, -errno, "mapping guest RAM: %s", strerror(errno));
	}
	if (!hugepages)
		madvise(vm->ram, ram_size, MADV_MERGEABLE);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = ram_size, .userspace_addr = (uintptr_t)vm->ram,
	};
	r = kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
	if (r < 0)
		return vmm_fail(why, why_len, r, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));

	r = kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (r > 0 && (unsigned int)r < n_vcpus)
		return vmm_fail(why, why_len, -ENOTSUP, "this KVM runs at most %d vCPUs in a VM", r);
	r = kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run))
		return vmm_fail(why, why_len, -EPROTO, "KVM_GET_VCPU_MMAP_SIZE: %d", r);
	vm->run_size = (size_t)r;
	for (unsigned int i = 0; i < n_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->fd = kvm_ioctl(vm->fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0)
			return vmm_fail(why, why_len, v->fd, "KVM_CREATE_VCPU %u: %s", i, strerror(-v->fd));
		vm->n_vcpus = i + 1;
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return vmm_fail(why, why_len, -errno, "mapping vCPU %u's run area: %s", i, strerror(errno));
		}
	}
	r = kvm_ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = r > 0 ? (uint32_t)r : 0;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return vmm_fail(why, why_len, -errno, "eventfd: %s", strerror(errno));
	/* The IOAPIC's and PICs' pins keep their routes when MSI routes are added. */
	for (int gsi = 0; gsi < VM_FIRST_MSI_GSI; gsi++)
		vm->gsi_used[gsi] = true;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->n_devs; i++)
		vhost_dev_free(vm->devs[i]);
	vm->n_devs = 0;
	for (unsigned int i = 0; i < vm->n_pt; i++)
		vfio_dev_free(vm->pt[i]);
	vm->n_pt = 0;
	for (unsigned int i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
		v->run = NULL;
		v->fd = -1;
	}
	vm->n_vcpus = 0;
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	for (int *fd = (int[]){ vm->fd, vm->kvm_fd, vm->ram_fd, vm->stop_efd }, i = 0; i < 4; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	vm->ram = NULL;
}

int vm_load_elf(struct vm *vm, const char *path, uint64_t *ret_entry, char *why, size_t why_len)
{
	Elf64_Ehdr eh;
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_fail(why, why_len, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64) {
		close(fd);
		return vmm_fail(why, why_len, -ENOEXEC, "%s is not a 64-bit x86 ELF executable", path);
	}
	for (unsigned int i = 0; i < eh.e_phnum && r == 0; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph)) {
			r = vmm_fail(why, why_len, -ENOEXEC, "%s: program header %u is cut off", path, i);
			break;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_paddr < IOVM_LOAD_MIN || ph.p_memsz > vm->ram_size ||
		    ph.p_paddr > vm->ram_size - ph.p_memsz || ph.p_offset > (uint64_t)st.st_size ||
		    ph.p_filesz > (uint64_t)st.st_size - ph.p_offset) {
			r = vmm_fail(why, why_len, -ENOEXEC, "%s: segment %u (0x%llx, %llu bytes) is outside guest RAM or the file",
				 path, i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz);
			break;
		}
		if (pread(fd, vm->ram + ph.p_paddr, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
			r = vmm_fail(why, why_len, -EIO, "%s: reading segment %u failed", path, i);
		memset(vm->ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	close(fd);
	if (r == 0 && (eh.e_entry < IOVM_LOAD_MIN || eh.e_entry >= vm->ram_size))
		r = vmm_fail(why, why_len, -ENOEXEC, "%s: entry point 0x%llx is outside guest RAM", path, (unsigned long long)eh.e_entry);
	if (r == 0)
		*ret_entry = eh.e_entry;
	return r;
}

/*
 * CPUID for vCPU @id: what KVM supports, with the vCPU's own APIC ID where CPUID reports one
 * (leaf 1 EBX[31:24]; the x2APIC ID in leaves 0xb and 0x1f EDX; AMD's extended APIC ID in
 * 0x8000001e EAX). KVM does not fill those in, and Linux checks them against the local APIC.
 */
static int set_cpuid(struct vm *vm, struct vcpu *v)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 128 * sizeof(struct kvm_cpuid_entry2));
	int r;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = 128;
	r = kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	for (uint32_t i = 0; r == 0 && i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | v->id << 24;
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = v->id;
		else if (e->function == 0x8000001e)
			e->eax = v->id;
	}
	if (r == 0)
		r = kvm_ioctl(v->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return r;
}

/* The page tables (the low 4 GiB identity-mapped in 2 MiB pages) and the GDT every vCPU uses. */
static void long_mode_tables(struct vm *vm, uint16_t cs, uint16_t ds)
{
	put64(vm->ram + IOVM_PML4, IOVM_PDPT | 3);
	for (uint64_t i = 0; i < 4; i++)
		put64(vm->ram + IOVM_PDPT + 8 * i, (IOVM_PD + 0x1000 * i) | 3);
	for (uint64_t i = 0; i < 4 * 512; i++)
		put64(vm->ram + IOVM_PD + 8 * i, (i << 21) | 0x83);   /* present, writable, 2 MiB */
	put64(vm->ram + IOVM_GDT, 0);
	put64(vm->ram + IOVM_GDT + 8, 0);                             /* Linux's layout leaves it unused */
	put64(vm->ram + IOVM_GDT + cs, 0x00af9a000000ffffULL);        /* 64-bit code */
	put64(vm->ram + IOVM_GDT + ds, 0x00cf92000000ffffULL);        /* data */
}

/* vCPU @v in 64-bit mode at @entry, on the tables above, with @regs' RSP and arguments. */
static int long_mode(struct vcpu *v, uint64_t entry, uint16_t cs, uint16_t ds, struct kvm_regs *regs)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = cs, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1,
	}, data = {
		.base = 0, .limit = 0xffffffff, .selector = ds, .type = 3, .present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_sregs sregs;
	int r;

	r = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = IOVM_GDT;
	sregs.gdt.limit = (uint16_t)(ds + 7);
	sregs.cr3 = IOVM_PML4;
	sregs.cr4 = 1u << 5 | 1u << 9 | 1u << 10;      /* PAE, OSFXSR, OSXMMEXCPT */
	sregs.cr0 = 0x80050033;                         /* PG, WP, NE, ET, MP, PE */
	sregs.efer = 0x500;                             /* LME, LMA */
	r = kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs);
	regs->rip = entry;
	regs->rflags = 2;
	if (r == 0)
		r = kvm_ioctl(v->fd, KVM_SET_REGS, regs);
	return r;
}

int vm_setup_direct(struct vm *vm, uint64_t entry, const char *cmdline, char *why, size_t why_len)
{
	struct iovm_boot_info *bi = (struct iovm_boot_info *)(vm->ram + IOVM_BOOT_INFO);

	if (strlen(cmdline) >= sizeof(bi->cmdline))
		return vmm_fail(why, why_len, -E2BIG, "the command line is longer than %zu bytes", sizeof(bi->cmdline) - 1);
	*bi = (struct iovm_boot_info){
		.magic = IOVM_BOOT_MAGIC, .tsc_khz = vm->tsc_khz, .ram_size = vm->ram_size, .n_cpus = vm->n_vcpus,
	};
	snprintf(bi->cmdline, sizeof(bi->cmdline), "%s", cmdline);
	long_mode_tables(vm, 0x08, 0x10);
	for (unsigned int i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct kvm_regs regs = { .rdi = IOVM_BOOT_INFO, .rsi = i, .rsp = IOVM_STACK_TOP + i * IOVM_AP_STACK_SIZE };
		/* Every vCPU runs from the start: the in-kernel LAPIC would hold an AP for INIT/SIPI. */
		struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
		int r = set_cpuid(vm, v);

		if (r == 0)
			r = long_mode(v, entry, 0x08, 0x10, &regs);
		if (r == 0 && i > 0)
			r = kvm_ioctl(v->fd, KVM_SET_MP_STATE, &runnable);
		if (r < 0)
			return vmm_fail(why, why_len, r, "vCPU %u: %s: %s", i, last_failed, strerror(-r));
	}
	return 0;
}

int vm_setup_linux(struct vm *vm, uint64_t entry, char *why, size_t why_len)
{
	struct kvm_regs regs = { .rsi = IOVM_ZERO_PAGE, .rsp = IOVM_STACK_TOP };
	int r = 0;

	long_mode_tables(vm, 0x10, 0x18);
	for (unsigned int i = 0; r == 0 && i < vm->n_vcpus; i++)
		r = set_cpuid(vm, &vm->vcpus[i]);
	if (r == 0)
		r = long_mode(&vm->vcpus[0], entry, 0x10, 0x18, &regs);
	if (r < 0)
		return vmm_fail(why, why_len, r, "%s: %s", last_failed, strerror(-r));
	return 0;
}

/* ---- memory slots beyond RAM ---- */

int vm_memslot_alloc(struct vm *vm)
{
	int r = -ENOSPC;

	pthread_mutex_lock(&vm->slot_lock);
	for (int slot = 1; slot < VM_MAX_SLOTS; slot++)
		if (!vm->slot_used[slot]) {
			vm->slot_used[slot] = true;
			r = slot;
			break;
		}
	pthread_mutex_unlock(&vm->slot_lock);
	return r;
}

int vm_memslot_set(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = (uint32_t)slot, .guest_phys_addr = size ? gpa : 0, .memory_size = size,
		.userspace_addr = size ? (uintptr_t)hva : 0,
	};

	if (slot < 1 || slot >= VM_MAX_SLOTS)
		return -EINVAL;
	return kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

void vm_memslot_free(struct vm *vm, int slot)
{
	if (slot < 1 || slot >= VM_MAX_SLOTS)
		return;
	vm_memslot_set(vm, slot, 0, 0, NULL);
	pthread_mutex_lock(&vm->slot_lock);
	vm->slot_used[slot] = false;
	pthread_mutex_unlock(&vm->slot_lock);
}

/* ---- interrupts ---- */

static int commit_routes(struct vm *vm)
{
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + (VM_MAX_GSI + 16) * sizeof(struct kvm_irq_routing_entry));
	unsigned int n = 0;
	int r;

	if (!t)
		return -ENOMEM;
	for (unsigned int gsi = 0; gsi < VM_FIRST_MSI_GSI; gsi++) {
		/* The default routes KVM_CREATE_IRQCHIP made: IOAPIC pins, and the PICs' for 0-15. */
		t->entries[n++] = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
							   .u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi } };
		if (gsi < 16 && gsi != 2)
			t->entries[n++] = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
								   .u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
										  .pin = gsi % 8 } };
	}
	for (unsigned int gsi = VM_FIRST_MSI_GSI; gsi < VM_MAX_GSI; gsi++)
		if (vm->gsi_used[gsi])
			t->entries[n++] = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
								   .u.msi = { .address_lo = (uint32_t)vm->gsi_addr[gsi],
									      .address_hi = (uint32_t)(vm->gsi_addr[gsi] >> 32),
									      .data = vm->gsi_data[gsi] } };
	t->nr = n;
	r = kvm_ioctl(vm->fd, KVM_SET_GSI_ROUTING, t);
	free(t);
	return r;
}

int vm_msi_route_alloc(struct vm *vm)
{
	int r = -ENOSPC;

	pthread_mutex_lock(&vm->gsi_lock);
	for (int gsi = VM_FIRST_MSI_GSI; gsi < VM_MAX_GSI; gsi++)
		if (!vm->gsi_used[gsi]) {
			vm->gsi_used[gsi] = true;
			vm->gsi_addr[gsi] = 0xfee00000;        /* until the guest says: CPU 0, vector 0 */
			vm->gsi_data[gsi] = 0;
			r = gsi;
			break;
		}
	pthread_mutex_unlock(&vm->gsi_lock);
	return r;
}

int vm_msi_route_set(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	int r = 0;

	if (gsi < VM_FIRST_MSI_GSI || gsi >= VM_MAX_GSI)
		return -EINVAL;
	pthread_mutex_lock(&vm->gsi_lock);
	if (vm->gsi_addr[gsi] != addr || vm->gsi_data[gsi] != data) {
		vm->gsi_addr[gsi] = addr;
		vm->gsi_data[gsi] = data;
		r = commit_routes(vm);
	}
	pthread_mutex_unlock(&vm->gsi_lock);
	return r;
}

int vm_irqfd(struct vm *vm, int fd, int gsi, bool assign)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = (uint32_t)gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	return kvm_ioctl(vm->fd, KVM_IRQFD, &irqfd);
}

int vm_irqfd_resample(struct vm *vm, int fd, int gsi, int resample_fd, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd, .gsi = (uint32_t)gsi,
		.flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
		.resamplefd = assign ? (uint32_t)resample_fd : 0,
	};

	return kvm_ioctl(vm->fd, KVM_IRQFD, &irqfd);
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, unsigned int len, bool assign)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd, .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN };

	return kvm_ioctl(vm->fd, KVM_IOEVENTFD, &io);
}

/* ---- exits ---- */

/* A guest poking where nothing is: the first few addresses are logged, then one line saying so. */
static void unknown_once(uint64_t addr, bool mmio)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;        /* every vCPU's exits come here */
	static uint64_t seen[8];
	static unsigned int n;
	uint64_t key = addr | (uint64_t)mmio << 63;

	pthread_mutex_lock(&lock);
	for (unsigned int i = 0; i < n && i < 8; i++)
		if (seen[i] == key)
			goto out;
	if (n < 8) {
		seen[n++] = key;
		fprintf(stderr, "iovm: the guest touched %s 0x%llx, where nothing is (reads all ones, writes ignored)\n",
			mmio ? "memory" : "port", (unsigned long long)addr);
	} else if (n++ == 8) {
		fprintf(stderr, "iovm: the guest keeps touching unserved addresses; no more of them are logged\n");
	}
out:
	pthread_mutex_unlock(&lock);
}

size_t vm_serial_room(struct vm *vm)
{
	return uart_room(&vm->uart);
}

size_t vm_serial_input(struct vm *vm, const uint8_t *buf, size_t len)
{
	return uart_input(&vm->uart, buf, len);
}

static void pio(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int len = run->io.size;
	uint16_t port = run->io.port;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++, data += len) {
		uint32_t val = 0;

		if (out)
			memcpy(&val, data, len);
		if (port >= 0x3f8 && port < 0x400) {
			val = uart_io(&vm->uart, port - 0x3f8u, out, val);
		} else if (port == 0xcf8 || (port >= 0xcfc && port < 0xd00)) {
			if (out)
				pci_bus_io_write(&vm->bus, port, len, val);
			else
				val = pci_bus_io_read(&vm->bus, port, len);
		} else if (port == IOVM_EXIT_PORT && out) {
			vm_stop(vm, (int)(val & 0xff) > 119 ? 119 : (int)(val & 0xff));
		} else if (acpi_io(vm, port, len, out, &val)) {
			/* handled: power-off, reset, PM1 registers */
		} else if (port == 0x80) {
			val = 0xffffffffu;      /* the POST port, which guests write to for a short delay */
		} else if (port == IOVM_NULL_PORT) {
			val = 0;                /* answered in userspace and nothing else: exit costs (benches/vmm) */
		} else {
			uint64_t v64 = val;

			if (pci_bus_pio(&vm->bus, port, len, out, &v64)) {
				val = (uint32_t)v64;    /* a device's I/O BAR */
			} else {
				unknown_once(port, false);
				val = 0xffffffffu;
			}
		}
		if (!out)
			memcpy(data, &val, len);
	}
}

static void mmio(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	uint64_t val = 0;
	unsigned int len = run->mmio.len;

	if (len > 8)
		len = 8;
	if (run->mmio.is_write)
		memcpy(&val, run->mmio.data, len);
	if (!pci_bus_mmio(&vm->bus, run->mmio.phys_addr, len, run->mmio.is_write, &val)) {
		unknown_once(run->mmio.phys_addr, true);
		val = ~0ULL;
	}
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &val, len);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	uint64_t one = 1;

	pthread_mutex_lock(&vm->go_lock);
	while (!vm->go)
		pthread_cond_wait(&vm->go_cond, &vm->go_lock);
	pthread_mutex_unlock(&vm->go_lock);
	while (__atomic_load_n(&vm->stop_status, __ATOMIC_ACQUIRE) < 0) {
		int r;

		pthread_mutex_lock(&vm->go_lock);
		if (vm->pause_requested) {
			vm->n_paused++;
			pthread_cond_broadcast(&vm->go_cond);
			while (vm->pause_requested && __atomic_load_n(&vm->stop_status, __ATOMIC_ACQUIRE) < 0)
				pthread_cond_wait(&vm->go_cond, &vm->go_lock);
			vm->n_paused--;
			v->run->immediate_exit = 0;
			pthread_cond_broadcast(&vm->go_cond);
		}
		pthread_mutex_unlock(&vm->go_lock);
		if (__atomic_load_n(&vm->stop_status, __ATOMIC_ACQUIRE) >= 0)
			break;
		r = kvm_ioctl(v->fd, KVM_RUN, 0);

		if (r < 0) {
			if (r == -EINTR || r == -EAGAIN)
				continue;
			fprintf(stderr, "iovm: vCPU %u: KVM_RUN: %s\n", v->id, strerror(-r));
			vm_stop(vm, VM_STOP_INTERNAL);
			break;
		}
		__atomic_add_fetch(&v->exits, 1, __ATOMIC_RELAXED);
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			pio(v);
			break;
		case KVM_EXIT_MMIO:
			__atomic_add_fetch(&v->mmio_exits, 1, __ATOMIC_RELAXED);
			mmio(v);
			break;
		case KVM_EXIT_SHUTDOWN:
			fprintf(stderr, "iovm: the guest shut down (triple fault or reset)\n");
			vm_stop(vm, VM_STOP_SHUTDOWN);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_stop(vm, VM_STOP_SHUTDOWN);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "iovm: KVM could not enter the guest on vCPU %u (hardware reason 0x%llx)\n", v->id,
				(unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
			vm_stop(vm, VM_STOP_INTERNAL);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "iovm: KVM internal error on vCPU %u, suberror %u\n", v->id, v->run->internal.suberror);
			vm_stop(vm, VM_STOP_INTERNAL);
			break;
		default:
			fprintf(stderr, "iovm: unexpected exit reason %u on vCPU %u\n", v->run->exit_reason, v->id);
			vm_stop(vm, VM_STOP_INTERNAL);
			break;
		}
	}
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* an eventfd write of 1 cannot fail short of overflow */
	}
	return NULL;
}

static void kick_signal(int sig)
{
	(void)sig;      /* only there to interrupt KVM_RUN */
}

int vm_start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_signal };

	sigaction(SIGUSR1, &sa, NULL);
	for (unsigned int i = 0; i < vm->n_vcpus; i++) {
		int r = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_main, &vm->vcpus[i]);

		if (r) {
			vm_stop(vm, VM_STOP_SETUP);     /* those started see it once they go */
			return -r;
		}
		vm->vcpus[i].started = true;
	}
	return 0;
}

void vm_go(struct vm *vm)
{
	pthread_mutex_lock(&vm->go_lock);
	vm->go = true;
	pthread_cond_broadcast(&vm->go_cond);
	pthread_mutex_unlock(&vm->go_lock);
}

void vm_join(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
}

uint64_t vm_exits(struct vm *vm, bool mmio)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < vm->n_vcpus; i++)
		n += __atomic_load_n(mmio ? &vm->vcpus[i].mmio_exits : &vm->vcpus[i].exits, __ATOMIC_RELAXED);
	return n;
}

/* Every started vCPU out of KVM_RUN: immediate_exit for one about to enter, a signal for one in it. */
static void kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i].started) {
			vm->vcpus[i].run->immediate_exit = 1;
			pthread_kill(vm->vcpus[i].thread, SIGUSR1);
		}
}

void vm_stop(struct vm *vm, int status)
{
	int running = -1;

	__atomic_compare_exchange_n(&vm->stop_status, &running, status, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&vm->go_lock);
	pthread_cond_broadcast(&vm->go_cond);      /* paused vCPUs wake to stop */
	kick_all(vm);
	pthread_mutex_unlock(&vm->go_lock);
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->go_lock);
	vm->pause_requested = true;
	kick_all(vm);
	while (vm->n_paused < vm->n_vcpus && __atomic_load_n(&vm->stop_status, __ATOMIC_ACQUIRE) < 0)
		pthread_cond_wait(&vm->go_cond, &vm->go_lock);
	pthread_mutex_unlock(&vm->go_lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->go_lock);
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->go_cond);
	pthread_mutex_unlock(&vm->go_lock);
}

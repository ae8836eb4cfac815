/* SPDX-License-Identifier: MIT */
/*
 * The test guest's entry and interrupt stubs. iovm starts every vCPU here in long mode with
 * RDI = &boot_info, RSI = the vCPU's index and RSP set (include/iovkit/iovm-boot.h).
 */
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	test	%rsi, %rsi		/* the vCPU's index: 0 boots, the others wait */
	jnz	2f
	call	guest_main
	mov	%eax, %edi
	call	guest_exit
1:	hlt
	jmp	1b
2:	call	ap_main
	jmp	1b

/*
 * A second way in, for other VMMs: the PVH boot ABI (Xen's, which QEMU's -kernel follows for
 * an ELF with this note; microvm boots it). The vCPU arrives in 32-bit protected mode, paging
 * off, EBX = the struct hvm_start_info. We build iovm's starting state ourselves: the low 4 GiB
 * identity-mapped in 2 MiB pages, long mode, a flat 64-bit GDT, the stack at 0x80000, and the
 * boot information made from the start info (pvh_boot_info), then go on as from iovm.
 */
	.pushsection .note.Xen, "a", @note
	.balign 4
	.long	4			/* name size: "Xen" */
	.long	4			/* descriptor size */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	pvh_start
	.popsection

	.text
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov	%ebx, %esi		/* the start info: kept for the 64-bit side */
	/* One PML4 entry, four PDPT entries, 2048 2 MiB pages: present, writable (0x83 = large). */
	mov	$pvh_pdpt + 3, %eax
	mov	%eax, pvh_pml4
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$12, %eax
	add	$pvh_pd + 3, %eax
	mov	%eax, pvh_pdpt(,%ecx,8)
	inc	%ecx
	cmp	$4, %ecx
	jne	1b
	xor	%ecx, %ecx
2:	mov	%ecx, %eax
	shl	$21, %eax
	or	$0x83, %eax
	mov	%eax, pvh_pd(,%ecx,8)
	inc	%ecx
	cmp	$2048, %ecx
	jne	2b
	lgdt	pvh_gdt_desc
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$pvh_pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER: long mode enable */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* paging, protection */
	mov	%eax, %cr0
	ljmp	$0x08, $pvh_64

	.code64
pvh_64:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$0x80000, %esp
	mov	%esi, %edi		/* struct hvm_start_info * */
	call	pvh_boot_info
	mov	%rax, %rdi		/* struct iovm_boot_info *, as iovm gives it */
	xor	%esi, %esi		/* vCPU 0: the only one PVH starts */
	jmp	_start

	.section .rodata
	.balign 8
pvh_gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
pvh_gdt_desc:
	.word	pvh_gdt_desc - pvh_gdt - 1
	.long	pvh_gdt

	.bss
	.balign 4096
pvh_pml4:	.skip 4096
pvh_pdpt:	.skip 4096
pvh_pd:		.skip 4 * 4096

	.text
/* Vectors 32-255: a queue's MSI-X message or the LAPIC timer; all they do is wake HLT. */
	.globl irq_stub
irq_stub:
	push	%rax
	xor	%eax, %eax
	movabs	%eax, 0xfee000b0	/* EOI to the local APIC */
	pop	%rax
	iretq

/* The passed-through device's MSI: counted, so the guest knows it arrived. */
	.globl msi_stub
msi_stub:
	lock incl	msi_count(%rip)
	push	%rax
	xor	%eax, %eax
	movabs	%eax, 0xfee000b0
	pop	%rax
	iretq

/* A level-triggered INTx (edu's): counted, and acknowledged at the device before the EOI, as a
 * driver's handler does, so the line is low when the IOAPIC re-arms it. */
	.globl intx_stub
intx_stub:
	push	%rax
	push	%rdx
	lock incl	msi_count(%rip)
	mov	intx_ack_reg(%rip), %rax
	mov	intx_ack_bits(%rip), %edx
	movl	%edx, (%rax)
	xor	%eax, %eax
	movabs	%eax, 0xfee000b0
	pop	%rdx
	pop	%rax
	iretq

/* Vectors 0-31: an exception is a bug in the guest; report it and stop. */
	.globl fault_stub
fault_stub:
	mov	(%rsp), %rdi		/* the error code or RIP: whichever is on top */
	and	$-16, %rsp
	call	guest_fault

	.section .note.GNU-stack, "", @progbits

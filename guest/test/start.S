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

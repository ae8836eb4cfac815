/* SPDX-License-Identifier: MIT */
/*
 * iovm's console UART against the PC16550D data sheet and what Linux's 8250 driver checks:
 * the 16550A signature, the transmitter-empty interrupt (set by a THR write or by enabling it,
 * cleared by the IIR read that reports it), receive before transmit, the divisor latch, the
 * FIFO clear, loop-back.
 */
#include <fcntl.h>
#include <unistd.h>

#include "../helpers/unit.h"
#include "vmm-internal.h"

enum { THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static unsigned int irqs;

static void count_irq(void *opaque)
{
	(*(unsigned int *)opaque)++;
}

struct console {
	struct uart u;
	int pipe[2];
};

static void console_open(struct console *c)
{
	ASSERT_OK(pipe2(c->pipe, O_NONBLOCK));
	irqs = 0;
	uart_init(&c->u, c->pipe[1], count_irq, &irqs);
}

static void console_close(struct console *c)
{
	close(c->pipe[0]);
	close(c->pipe[1]);
}

static uint32_t rd(struct console *c, unsigned int reg)
{
	return uart_io(&c->u, reg, false, 0);
}

static void wr(struct console *c, unsigned int reg, uint32_t val)
{
	uart_io(&c->u, reg, true, val);
}

static void test_16550a_signature(void)
{
	struct console c;

	console_open(&c);
	ASSERT_INT_EQ(rd(&c, IIR), 0x01);                       /* no FIFO, no interrupt: a 16450 */
	wr(&c, FCR, 0x01);
	ASSERT_INT_EQ(rd(&c, IIR) >> 6, 3);                     /* FIFOs on: a 16550A */
	/* Linux's autoconfig_16550a: with DLAB set, offset 2 is not a writable EFR ... */
	wr(&c, LCR, 0xbf);
	ASSERT_TRUE(rd(&c, 2) != 0);
	wr(&c, LCR, 0);
	/* ... and IER's upper bits do not stick (an XScale UART's would). */
	wr(&c, IER, 0xf0);
	ASSERT_INT_EQ(rd(&c, IER), 0);
	wr(&c, SCR, 0xa5);
	ASSERT_INT_EQ(rd(&c, SCR), 0xa5);
	ASSERT_INT_EQ(rd(&c, LSR), 0x60);                       /* transmitter empty, nothing received */
	ASSERT_INT_EQ(rd(&c, MSR), 0xb0);
	ASSERT_INT_EQ(rd(&c, 8), 0xff);                         /* past the registers */
	console_close(&c);
}

static void test_divisor_latch(void)
{
	struct console c;
	char b;

	console_open(&c);
	wr(&c, IER, 0x01);
	wr(&c, LCR, 0x83);
	wr(&c, 0, 0x01);                                        /* DLL, not THR: nothing sent */
	wr(&c, 1, 0x00);                                        /* DLM, not IER */
	ASSERT_INT_EQ(rd(&c, 0), 0x01);
	ASSERT_INT_EQ(rd(&c, 1), 0x00);
	ASSERT_INT_EQ(read(c.pipe[0], &b, 1), -1);
	wr(&c, LCR, 0x03);
	ASSERT_INT_EQ(rd(&c, IER), 0x01);                       /* IER kept through the divisor write */
	console_close(&c);
}

static void test_transmit_interrupt(void)
{
	struct console c;
	char b[4];

	console_open(&c);
	wr(&c, FCR, 0x01);
	wr(&c, THR, 'x');                                       /* interrupts off: none raised */
	ASSERT_INT_EQ(irqs, 0);
	ASSERT_INT_EQ(read(c.pipe[0], b, sizeof(b)), 1);
	ASSERT_INT_EQ(b[0], 'x');

	/* Enabling THRI with the transmitter empty interrupts; the IIR read that says so clears it. */
	wr(&c, IER, 0x02);
	ASSERT_INT_EQ(irqs, 1);
	ASSERT_INT_EQ(rd(&c, IIR), 0xc2);
	ASSERT_INT_EQ(rd(&c, IIR), 0xc1);
	/* Linux's UART_BUG_THRE check: off and on again re-asserts it. */
	wr(&c, IER, 0x00);
	wr(&c, IER, 0x02);
	ASSERT_INT_EQ(rd(&c, IIR), 0xc2);
	/* Each byte written is sent at once, and the transmitter is empty again. */
	irqs = 0;
	wr(&c, THR, 'o');
	wr(&c, THR, 'k');
	ASSERT_INT_EQ(irqs, 2);
	ASSERT_INT_EQ(read(c.pipe[0], b, sizeof(b)), 2);
	ASSERT_INT_EQ(rd(&c, IIR), 0xc2);
	ASSERT_INT_EQ(rd(&c, IIR), 0xc1);
	/* A write to IER that keeps THRI on does not re-assert it. */
	wr(&c, IER, 0x03);
	ASSERT_INT_EQ(rd(&c, IIR), 0xc1);
	console_close(&c);
}

static void test_receive(void)
{
	struct console c;
	const uint8_t in[] = "hi";
	uint8_t big[300] = { 0 };

	console_open(&c);
	ASSERT_INT_EQ(uart_input(&c.u, in, 2), 2);
	ASSERT_INT_EQ(irqs, 0);                                 /* receive interrupts off */
	ASSERT_INT_EQ(rd(&c, LSR), 0x61);
	wr(&c, IER, 0x03);                                      /* receive and transmit */
	ASSERT_INT_EQ(irqs, 1);
	ASSERT_INT_EQ(rd(&c, IIR) & 0x0f, 0x04);                /* received data comes first */
	ASSERT_INT_EQ(rd(&c, THR), 'h');
	ASSERT_INT_EQ(irqs, 2);                                 /* more waiting: another edge */
	ASSERT_INT_EQ(rd(&c, THR), 'i');
	ASSERT_INT_EQ(rd(&c, IIR) & 0x0f, 0x02);                /* then the empty transmitter */
	ASSERT_INT_EQ(rd(&c, IIR) & 0x0f, 0x01);
	ASSERT_INT_EQ(rd(&c, THR), 0);                          /* nothing left */
	ASSERT_INT_EQ(rd(&c, LSR), 0x60);

	/* The queue holds 256 bytes; the rest waits for room. A FIFO clear drops what is queued. */
	ASSERT_INT_EQ(uart_input(&c.u, big, sizeof(big)), 256);
	ASSERT_INT_EQ(uart_room(&c.u), 0);
	wr(&c, FCR, 0x03);
	ASSERT_INT_EQ(uart_room(&c.u), 256);
	ASSERT_INT_EQ(rd(&c, LSR), 0x60);
	console_close(&c);
}

static void test_loopback(void)
{
	struct console c;
	char b;

	console_open(&c);
	wr(&c, MCR, 0x10 | 0x0a);                               /* LOOP, RTS, OUT2 */
	ASSERT_INT_EQ(rd(&c, MSR) & 0xf0, 0x90);                /* CTS and DCD: what Linux checks */
	wr(&c, THR, 'L');
	ASSERT_INT_EQ(read(c.pipe[0], &b, 1), -1);              /* not on the console */
	ASSERT_INT_EQ(rd(&c, THR), 'L');
	wr(&c, MCR, 0);
	ASSERT_INT_EQ(rd(&c, MSR), 0xb0);
	console_close(&c);
}

UNIT_MAIN("vmm/uart",
	  UNIT_TEST(test_16550a_signature),
	  UNIT_TEST(test_divisor_latch),
	  UNIT_TEST(test_transmit_interrupt),
	  UNIT_TEST(test_receive),
	  UNIT_TEST(test_loopback))

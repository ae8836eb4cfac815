/* SPDX-License-Identifier: MIT */
/*
 * iovm's console: a 16550A (see struct uart in vmm-internal.h for what of one). Register
 * semantics after the National Semiconductor PC16550D data sheet.
 */
#include <string.h>
#include <unistd.h>

#include "vmm-internal.h"

enum {
	UART_IER_RDI = 0x01, UART_IER_THRI = 0x02, UART_IER_MASK = 0x0f,
	UART_IIR_NONE = 0x01, UART_IIR_THRI = 0x02, UART_IIR_RDI = 0x04, UART_IIR_ID = 0x0f,
	UART_IIR_FIFO = 0xc0,
	UART_FCR_ENABLE = 0x01, UART_FCR_CLEAR_RX = 0x02,
	UART_LCR_DLAB = 0x80, UART_MCR_LOOP = 0x10,
	UART_LSR_DR = 0x01, UART_LSR_EMPTY = 0x60,      /* THRE and TEMT */
	UART_MSR_IDLE = 0xb0,                           /* DCD, DSR, CTS */
};

void uart_init(struct uart *u, int out_fd, void (*irq)(void *opaque), void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out_fd = out_fd;
	u->irq = irq;
	u->opaque = opaque;
}

/* What IIR reports: received data first, then the empty transmitter, else nothing. */
static uint8_t uart_iir(const struct uart *u)
{
	uint8_t fifo = u->regs[2] & UART_FCR_ENABLE ? UART_IIR_FIFO : 0;

	if ((u->regs[1] & UART_IER_RDI) && u->rx_len)
		return fifo | UART_IIR_RDI;
	if ((u->regs[1] & UART_IER_THRI) && u->thre)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NONE;
}

static void uart_update(struct uart *u)
{
	if (!(uart_iir(u) & UART_IIR_NONE) && u->irq)
		u->irq(u->opaque);
}

static void uart_rx_push(struct uart *u, uint8_t c)
{
	u->rx[(u->rx_head + u->rx_len) % sizeof(u->rx)] = c;
	u->rx_len++;
}

static void uart_write(struct uart *u, unsigned int reg, uint8_t val)
{
	bool dlab = u->regs[3] & UART_LCR_DLAB;

	switch (reg) {
	case 0:
		if (dlab) {
			u->regs[0] = val;
		} else if (u->regs[4] & UART_MCR_LOOP) {
			if (u->rx_len < sizeof(u->rx))
				uart_rx_push(u, val);   /* loop-back: received, not sent */
			u->thre = true;
		} else {
			if (write(u->out_fd, &val, 1) < 0) {
				/* the console is gone: the guest keeps running */
			}
			u->thre = true;                 /* sent already */
		}
		break;
	case 1:
		if (dlab) {
			u->dlm = val;
			break;
		}
		if (val & ~u->regs[1] & UART_IER_THRI)
			u->thre = true;                 /* enabled with the transmitter empty */
		u->regs[1] = val & UART_IER_MASK;
		break;
	case 2:
		if (val & UART_FCR_CLEAR_RX)
			u->rx_len = 0;
		u->regs[2] = val & UART_FCR_ENABLE;
		break;
	default:
		u->regs[reg] = val;
		break;
	}
}

static uint8_t uart_read(struct uart *u, unsigned int reg)
{
	bool dlab = u->regs[3] & UART_LCR_DLAB;
	uint8_t r, m = u->regs[4];

	switch (reg) {
	case 0:
		if (dlab)
			return u->regs[0];
		if (!u->rx_len)
			return 0;
		r = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % sizeof(u->rx);
		u->rx_len--;
		return r;
	case 1:
		return dlab ? u->dlm : u->regs[1];
	case 2:
		r = uart_iir(u);
		if ((r & UART_IIR_ID) == UART_IIR_THRI)
			u->thre = false;                /* reading IIR that says so clears it */
		return r;
	case 5:
		return UART_LSR_EMPTY | (u->rx_len ? UART_LSR_DR : 0);
	case 6:
		if (!(m & UART_MCR_LOOP))
			return UART_MSR_IDLE;
		/* loop-back: DTR to DSR, RTS to CTS, OUT1 to RI, OUT2 to DCD */
		return (m & 0x01 ? 0x20 : 0) | (m & 0x02 ? 0x10 : 0) | (m & 0x04 ? 0x40 : 0) | (m & 0x08 ? 0x80 : 0);
	default:
		return u->regs[reg];
	}
}

uint32_t uart_io(struct uart *u, unsigned int reg, bool is_write, uint32_t val)
{
	uint32_t r = 0;

	if (reg > 7)
		return is_write ? 0 : 0xff;
	pthread_mutex_lock(&u->lock);
	if (is_write)
		uart_write(u, reg, (uint8_t)val);
	else
		r = uart_read(u, reg);
	/* a write may have raised an interrupt; a read of more received data is the next edge */
	if (is_write || reg == 0)
		uart_update(u);
	pthread_mutex_unlock(&u->lock);
	return r;
}

size_t uart_input(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_len < sizeof(u->rx))
		uart_rx_push(u, buf[n++]);
	uart_update(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart_room(struct uart *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = sizeof(u->rx) - u->rx_len;
	pthread_mutex_unlock(&u->lock);
	return room;
}

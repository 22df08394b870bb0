/* SPDX-License-Identifier: GPL-2.0 */
/* The emulator socket envelope: docs/emulator.md. */
#ifndef BC_EMU_ENVELOPE_H
#define BC_EMU_ENVELOPE_H

#include <stdint.h>

#define BCEM_MAGIC		0x4d454342u	/* "BCEM" */
#define BCEM_MAX_PAYLOAD	(1u << 20)

enum bcem_type {
	BCEM_REQUEST	= 1,
	BCEM_RESPONSE	= 2,
	BCEM_RESET	= 3,
	BCEM_RESET_DONE	= 4,
	BCEM_EVENT	= 5,	/* emulator -> subscribed connection */
	BCEM_SUBSCRIBE	= 6,	/* connection -> emulator: send me events */
};

/* BCEM_EVENT payload: the event entry of docs/hardware.md, STATUS/SEQ 0. */
struct bcem_event {
	uint16_t status;
	uint16_t type;
	uint32_t seq;
	uint64_t time;
	uint64_t arg0;
	uint64_t arg1;
};

/* Little-endian on the wire; convert with htole32() and friends. */
struct bcem_envelope {
	uint32_t magic;
	uint16_t type;
	uint16_t status;
	uint32_t client;
	uint32_t tag;
	uint32_t length;
	uint32_t reserved;
};

#endif

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

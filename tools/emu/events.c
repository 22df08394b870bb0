// SPDX-License-Identifier: GPL-2.0
/*
 * Chip events: built here in the layout of the device's event entry and
 * handed to every connection that asked for them (docs/emulator.md
 * SUBSCRIBE/EVENT).  The firmware keeps no backlog: an event raised while
 * nobody listens is gone, as the device, not the firmware, owns the queue.
 */
#include <endian.h>
#include <string.h>

#include "emu.h"
#include "emu_envelope.h"

static const char *event_name(uint16_t type)
{
	switch (type) {
	case BCCHIP_EVENT_REFRESH_DONE: return "refresh done";
	case BCCHIP_EVENT_REFRESH_FAILED: return "refresh failed";
	case BCCHIP_EVENT_NEAR_EXPIRY: return "near expiry";
	case BCCHIP_EVENT_FATAL: return "fatal";
	default: return "event";
	}
}

void emu_event_raise(uint16_t type, uint64_t arg0, uint64_t arg1)
{
	struct bcem_event ev;
	unsigned int n;

	memset(&ev, 0, sizeof(ev));
	ev.type = htole16(type);
	ev.time = htole64(emu_clock_now());
	ev.arg0 = htole64(arg0);
	ev.arg1 = htole64(arg1);
	n = emu_server_broadcast(BCEM_EVENT, &ev, sizeof(ev));
	emu_log("event %s (%llu, %llu) sent to %u subscriber(s)\n",
		event_name(type), (unsigned long long)arg0,
		(unsigned long long)arg1, n);
}

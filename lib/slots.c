// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Slots and tokens.  Every configured device is a slot, numbered by its
 * place in the device list, so slot ids do not move when a chip is down:
 * its slot then has no token.  A slot without a usable transport is
 * reconnected on demand, unless sessions still refer to the dead one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"

void bc_pad(unsigned char *field, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n > len)
		n = len;
	memset(field, ' ', len);
	memcpy(field, s, n);
}

static int slot_connect(const char *device, struct bc_transport **out,
			struct bc_chip_info *info, uint32_t *gen)
{
	struct bc_transport *t;
	struct bc_info bi;
	int ret;

	ret = bc_transport_open(device, &t);
	if (ret)
		return ret;
	ret = bc_transport_info(t, &bi);
	if (ret) {
		bc_transport_close(t);
		return ret;
	}
	*info = bi.chip;
	*gen = bi.generation;
	*out = t;
	return 0;
}

int bc_slots_init(void)
{
	char **devs;
	int n = bc_devices_discover(&devs);

	if (n < 0)
		return n;
	bc_g.nslots = 0;
	bc_g.slots = n ? calloc((size_t)n, sizeof(*bc_g.slots)) : NULL;
	if (n && !bc_g.slots) {
		bc_devices_free(devs, n);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		struct bc_slot *s = &bc_g.slots[i];

		s->device = devs[i];
		devs[i] = NULL;
		s->epoch = 1;
		s->login = BC_NOBODY;
		/* An unreachable chip is a slot without a token, not an error. */
		if (slot_connect(s->device, &s->t, &s->info, &s->gen))
			s->t = NULL;
		if (bc_pool_init(&s->pool, s->epoch, s->info.max_sessions)) {
			bc_transport_close(s->t);
			free(s->device);
			/* Frees the slots before this one and the array. */
			bc_slots_release(bc_g.slots, (CK_ULONG)i, 1);
			bc_g.slots = NULL;
			bc_devices_free(devs, n);
			return -ENOMEM;
		}
	}
	bc_g.nslots = (CK_ULONG)n;
	bc_devices_free(devs, n);
	return 0;
}

void bc_slots_release(struct bc_slot *slots, CK_ULONG n, int orderly)
{
	void (*drop)(struct bc_transport *) =
		orderly ? bc_transport_close : bc_transport_abandon;

	for (CK_ULONG i = 0; i < n; i++) {
		struct bc_slot *s = &slots[i];

		drop(s->t);
		for (size_t j = 0; j < s->nretired; j++)
			drop(s->retired[j]);
		free(s->retired);
		free(s->device);
		/*
		 * After fork() a parent thread may have held the pool's lock:
		 * only its memory is ours to free.
		 */
		if (orderly)
			bc_pool_destroy(&s->pool);
		else
			free(s->pool.idle);
	}
	free(slots);
}

int bc_slot_present_locked(const struct bc_slot *s)
{
	return s->t && !s->dead;
}

CK_RV bc_slot_transport(CK_SLOT_ID id, struct bc_transport **t,
			struct bc_chip_info *info)
{
	struct bc_transport *nt, **r;
	struct bc_chip_info ci;
	struct bc_slot *s;
	const char *device;
	uint32_t gen;

	bc_lock();
	if (id >= bc_g.nslots) {
		bc_unlock();
		return CKR_SLOT_ID_INVALID;
	}
	s = &bc_g.slots[id];
	if (bc_slot_present_locked(s)) {
		*t = s->t;
		if (info)
			*info = s->info;
		bc_unlock();
		return CKR_OK;
	}
	device = s->device;	/* immutable until C_Finalize */
	bc_unlock();

	if (slot_connect(device, &nt, &ci, &gen))
		return CKR_TOKEN_NOT_PRESENT;

	bc_lock();
	if (!bc_slot_present_locked(s)) {
		if (s->t) {
			r = realloc(s->retired,
				    (s->nretired + 1) * sizeof(*s->retired));
			if (!r) {
				bc_unlock();
				bc_transport_close(nt);
				return CKR_HOST_MEMORY;
			}
			s->retired = r;
			s->retired[s->nretired++] = s->t;
		}
		s->t = nt;
		s->dead = 0;
		s->info = ci;
		nt = NULL;
		/* A new connection is a new chip client: nothing carries over. */
		bc_slot_new_epoch_locked(s, gen);
	}
	*t = s->t;
	if (info)
		*info = s->info;
	bc_unlock();
	/* Another thread connected first: ours is surplus. */
	bc_transport_close(nt);
	return CKR_OK;
}

void bc_slot_new_epoch_locked(struct bc_slot *s, uint32_t gen)
{
	s->epoch++;
	if (!s->epoch)
		s->epoch = 1;
	s->gen = gen;
	s->login = BC_NOBODY;
	bc_sessions_drop_slot_locked((CK_SLOT_ID)(s - bc_g.slots));
	bc_pool_reset_locked(&s->pool, s->epoch, s->info.max_sessions);
}

void bc_slot_failed(CK_SLOT_ID id, struct bc_transport *t, int err)
{
	if (err != -ENODEV && err != -ENOENT)
		return;
	bc_lock();
	if (id < bc_g.nslots && bc_g.slots[id].t == t)
		bc_g.slots[id].dead = 1;
	bc_unlock();
}

BC_EXPORT CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
			      CK_ULONG_PTR pulCount)
{
	CK_ULONG n = 0, nslots;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	bc_lock();
	nslots = bc_g.nslots;
	bc_unlock();
	if (tokenPresent) {
		/* Give chips that were down a chance to have come back. */
		for (CK_ULONG i = 0; i < nslots; i++) {
			struct bc_transport *t;

			(void)bc_slot_transport(i, &t, NULL);
		}
	}
	bc_lock();
	for (CK_ULONG i = 0; i < bc_g.nslots; i++)
		if (!tokenPresent || bc_slot_present_locked(&bc_g.slots[i]))
			n++;
	if (!pSlotList) {
		*pulCount = n;
		bc_unlock();
		return CKR_OK;
	}
	if (*pulCount < n) {
		*pulCount = n;
		bc_unlock();
		return CKR_BUFFER_TOO_SMALL;
	}
	n = 0;
	for (CK_ULONG i = 0; i < bc_g.nslots; i++)
		if (!tokenPresent || bc_slot_present_locked(&bc_g.slots[i]))
			pSlotList[n++] = i;
	*pulCount = n;
	bc_unlock();
	return CKR_OK;
}

BC_EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct bc_chip_info ci;
	struct bc_transport *t;
	char desc[128];
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	memset(&ci, 0, sizeof(ci));
	rv = bc_slot_transport(slotID, &t, &ci);
	if (rv == CKR_SLOT_ID_INVALID || rv == CKR_HOST_MEMORY)
		return rv;
	memset(pInfo, 0, sizeof(*pInfo));
	bc_lock();
	snprintf(desc, sizeof(desc), "Bastionchip %s",
		 bc_g.slots[slotID].device);
	pInfo->flags = CKF_HW_SLOT | CKF_REMOVABLE_DEVICE;
	if (bc_slot_present_locked(&bc_g.slots[slotID]))
		pInfo->flags |= CKF_TOKEN_PRESENT;
	bc_unlock();
	bc_pad(pInfo->slotDescription, sizeof(pInfo->slotDescription), desc);
	bc_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	       BC_MANUFACTURER);
	if (rv == CKR_OK) {
		pInfo->hardwareVersion.major = ci.hw_major;
		pInfo->hardwareVersion.minor = ci.hw_minor;
		pInfo->firmwareVersion.major = ci.fw_major;
		pInfo->firmwareVersion.minor = ci.fw_minor;
	}
	return CKR_OK;
}


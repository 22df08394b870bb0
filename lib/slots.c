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

/* Chip text fields arrive space padded; keep them printable for clients. */
static void copy_field(unsigned char *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : ' ';
}

static int slot_connect(const char *device, struct bc_transport **out,
			struct bc_chip_info *info)
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
		/* An unreachable chip is a slot without a token, not an error. */
		if (slot_connect(s->device, &s->t, &s->info))
			s->t = NULL;
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
	if (s->dead && s->sessions) {
		/* Those sessions must be closed before a new connection. */
		bc_unlock();
		return CKR_DEVICE_REMOVED;
	}
	device = s->device;	/* immutable until C_Finalize */
	bc_unlock();

	if (slot_connect(device, &nt, &ci))
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
	}
	*t = s->t;
	if (info)
		*info = s->info;
	bc_unlock();
	/* Another thread connected first: ours is surplus. */
	bc_transport_close(nt);
	return CKR_OK;
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

BC_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct bc_transport *t;
	struct bc_info bi;
	CK_RV rv = bc_check_init();
	int ret;

	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	rv = bc_slot_transport(slotID, &t, NULL);
	if (rv != CKR_OK)
		return rv;
	ret = bc_transport_info(t, &bi);
	if (ret) {
		bc_slot_failed(slotID, t, ret);
		return bc_ckr_from_errno(ret);
	}
	memset(pInfo, 0, sizeof(*pInfo));
	copy_field(pInfo->label, bi.chip.label, sizeof(pInfo->label));
	copy_field(pInfo->manufacturerID, bi.chip.manufacturer,
		   sizeof(pInfo->manufacturerID));
	copy_field(pInfo->model, bi.chip.model, sizeof(pInfo->model));
	copy_field(pInfo->serialNumber, bi.chip.serial,
		   sizeof(pInfo->serialNumber));
	pInfo->flags = CKF_RNG | CKF_TOKEN_INITIALIZED;
	pInfo->ulMaxSessionCount = bi.chip.max_sessions;
	pInfo->ulMaxRwSessionCount = bi.chip.max_sessions;
	bc_lock();
	pInfo->ulSessionCount = bc_g.slots[slotID].sessions;
	pInfo->ulRwSessionCount = bc_g.slots[slotID].rw_sessions;
	bc_unlock();
	pInfo->ulMaxPinLen = BC_MAX_PIN_LEN;
	pInfo->ulMinPinLen = BC_MIN_PIN_LEN;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->hardwareVersion.major = bi.chip.hw_major;
	pInfo->hardwareVersion.minor = bi.chip.hw_minor;
	pInfo->firmwareVersion.major = bi.chip.fw_major;
	pInfo->firmwareVersion.minor = bi.chip.fw_minor;
	/* No CKF_CLOCK_ON_TOKEN: the field is blank. */
	memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime));
	return CKR_OK;
}

static CK_RV check_slot(CK_SLOT_ID id)
{
	CK_RV rv = CKR_OK;

	bc_lock();
	if (id >= bc_g.nslots)
		rv = CKR_SLOT_ID_INVALID;
	bc_unlock();
	return rv;
}

/* No mechanisms yet: the key store and signing come in later. */
BC_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID,
				   CK_MECHANISM_TYPE_PTR pMechanismList,
				   CK_ULONG_PTR pulCount)
{
	CK_RV rv = bc_check_init();

	(void)pMechanismList;
	if (rv != CKR_OK)
		return rv;
	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	rv = check_slot(slotID);
	if (rv != CKR_OK)
		return rv;
	*pulCount = 0;
	return CKR_OK;
}

BC_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
				   CK_MECHANISM_INFO_PTR pInfo)
{
	CK_RV rv = bc_check_init();

	(void)type;
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	rv = check_slot(slotID);
	if (rv != CKR_OK)
		return rv;
	return CKR_MECHANISM_INVALID;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session table.  Each PKCS#11 session is one chip session (for now;
 * pooling many application sessions onto the chip's few comes later).
 * Handles count up from 1 and are never reused within one C_Initialize.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"

static struct bc_session **bucket(CK_SESSION_HANDLE h)
{
	return &bc_g.buckets[h % BC_SESSION_BUCKETS];
}

/* With bc_lock() held. */
static struct bc_session *find_locked(CK_SESSION_HANDLE h)
{
	for (struct bc_session *s = *bucket(h); s; s = s->next)
		if (s->handle == h)
			return s;
	return NULL;
}

/* With bc_lock() held: unlinks @h and drops the slot's counts. */
static struct bc_session *unlink_locked(CK_SESSION_HANDLE h)
{
	for (struct bc_session **pp = bucket(h); *pp; pp = &(*pp)->next) {
		struct bc_session *s = *pp;

		if (s->handle != h)
			continue;
		*pp = s->next;
		s->next = NULL;
		bc_g.slots[s->slot].sessions--;
		if (s->flags & CKF_RW_SESSION)
			bc_g.slots[s->slot].rw_sessions--;
		return s;
	}
	return NULL;
}

void bc_sessions_release(struct bc_session **buckets)
{
	for (size_t i = 0; i < BC_SESSION_BUCKETS; i++) {
		struct bc_session *s = buckets[i], *n;

		for (; s; s = n) {
			n = s->next;
			free(s);
		}
		buckets[i] = NULL;
	}
}

CK_RV bc_session_get(CK_SESSION_HANDLE h, CK_SLOT_ID *slot,
		     struct bc_transport **t, uint32_t *chip_session,
		     uint32_t *gen)
{
	struct bc_session *s;
	CK_RV rv = CKR_SESSION_HANDLE_INVALID;

	bc_lock();
	s = find_locked(h);
	if (s) {
		*slot = s->slot;
		*t = s->t;
		*chip_session = s->chip_session;
		*gen = s->gen;
		rv = CKR_OK;
	}
	bc_unlock();
	return rv;
}

/* Ends a chip session; the local handle is already gone. */
static void chip_close(const struct bc_session *s)
{
	uint32_t st, gen = s->gen;
	int ret = bc_transport_call(s->t, BCFW_OP_SESSION_CLOSE,
				    s->chip_session, NULL, 0, NULL, 0, NULL,
				    &st, &gen);

	/*
	 * Nothing to report: if the chip no longer knows the session (reset,
	 * device gone) it is as closed as it will ever be.
	 */
	bc_slot_failed(s->slot, s->t, ret);
}

BC_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags,
			      CK_VOID_PTR pApplication, CK_NOTIFY Notify,
			      CK_SESSION_HANDLE_PTR phSession)
{
	struct bcfw_session_open_req req;
	struct bcfw_session_open_resp resp;
	struct bc_transport *t;
	struct bc_session *s;
	uint32_t st, chip_session, gen = 0;
	CK_RV rv = bc_check_init();
	int ret;

	/* Notification callbacks are optional; we never call them. */
	(void)pApplication;
	(void)Notify;
	if (rv != CKR_OK)
		return rv;
	if (!phSession)
		return CKR_ARGUMENTS_BAD;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	rv = bc_slot_transport(slotID, &t, NULL);
	if (rv != CKR_OK)
		return rv;

	/* Allocated first: once the chip has a session we cannot fail. */
	s = calloc(1, sizeof(*s));
	if (!s)
		return CKR_HOST_MEMORY;
	memset(&req, 0, sizeof(req));
	req.flags = htole32((flags & CKF_RW_SESSION) ? BCFW_SESSION_RW : 0);
	ret = bc_transport_call(t, BCFW_OP_SESSION_OPEN, 0, &req, sizeof(req),
				&resp, sizeof(resp), NULL, &st, &gen);
	if (ret) {
		free(s);
		bc_slot_failed(slotID, t, ret);
		return bc_ckr_from_call(ret, st);
	}
	chip_session = le32toh(resp.session);
	if (!chip_session) {
		free(s);
		return CKR_DEVICE_ERROR;
	}

	s->slot = slotID;
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
	s->chip_session = chip_session;
	s->gen = gen;
	s->t = t;
	bc_lock();
	s->handle = ++bc_g.next_handle;
	s->next = *bucket(s->handle);
	*bucket(s->handle) = s;
	bc_g.slots[slotID].sessions++;
	if (flags & CKF_RW_SESSION)
		bc_g.slots[slotID].rw_sessions++;
	*phSession = s->handle;
	bc_unlock();
	return CKR_OK;
}

BC_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
	struct bc_session *s;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	bc_lock();
	s = unlink_locked(hSession);
	bc_unlock();
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	chip_close(s);
	free(s);
	return CKR_OK;
}

BC_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
	struct bc_session *list = NULL, *s, *n;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	bc_lock();
	if (slotID >= bc_g.nslots) {
		bc_unlock();
		return CKR_SLOT_ID_INVALID;
	}
	for (size_t i = 0; i < BC_SESSION_BUCKETS; i++) {
		for (s = bc_g.buckets[i]; s; s = n) {
			n = s->next;
			if (s->slot != slotID)
				continue;
			unlink_locked(s->handle);
			s->next = list;
			list = s;
		}
	}
	bc_unlock();
	for (s = list; s; s = n) {
		n = s->next;
		chip_close(s);
		free(s);
	}
	return CKR_OK;
}

BC_EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession,
				 CK_SESSION_INFO_PTR pInfo)
{
	struct bc_session *s;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	bc_lock();
	s = find_locked(hSession);
	if (s) {
		memset(pInfo, 0, sizeof(*pInfo));
		pInfo->slotID = s->slot;
		pInfo->flags = s->flags;
		pInfo->state = (s->flags & CKF_RW_SESSION) ?
			       CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
		pInfo->ulDeviceError = 0;
	} else {
		rv = CKR_SESSION_HANDLE_INVALID;
	}
	bc_unlock();
	return rv;
}

BC_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed,
			     CK_ULONG ulSeedLen)
{
	struct bc_transport *t;
	CK_SLOT_ID slot;
	uint32_t cs, gen;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pSeed && ulSeedLen)
		return CKR_ARGUMENTS_BAD;
	rv = bc_session_get(hSession, &slot, &t, &cs, &gen);
	if (rv != CKR_OK)
		return rv;
	/* The chip's generator takes no outside entropy. */
	return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

BC_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession,
				 CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
	struct bcfw_random_req rq;
	struct bc_frame_view v;
	struct bc_chip_info ci;
	struct bc_transport *t;
	CK_SLOT_ID slot;
	uint8_t *req = NULL, *resp = NULL;
	size_t chunk, cap, req_len, resp_len;
	uint32_t cs, st, gen;
	CK_RV rv = bc_check_init();
	int ret = 0;

	if (rv != CKR_OK)
		return rv;
	if (!RandomData && ulRandomLen)
		return CKR_ARGUMENTS_BAD;
	rv = bc_session_get(hSession, &slot, &t, &cs, &gen);
	if (rv != CKR_OK)
		return rv;
	if (!ulRandomLen)
		return CKR_OK;
	bc_lock();
	ci = bc_g.slots[slot].info;
	bc_unlock();

	chunk = ci.max_random;
	if (chunk > ci.max_frame - BCFW_HDR_SIZE)
		chunk = ci.max_frame - BCFW_HDR_SIZE;
	if (chunk > ulRandomLen)
		chunk = ulRandomLen;
	cap = BCFW_HDR_SIZE + chunk;
	req = malloc(BCFW_HDR_SIZE + sizeof(rq));
	resp = malloc(cap);
	if (!req || !resp) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (CK_ULONG done = 0; done < ulRandomLen;) {
		size_t n = ulRandomLen - done < chunk ? ulRandomLen - done :
							 chunk;

		memset(&rq, 0, sizeof(rq));
		rq.length = htole32((uint32_t)n);
		req_len = bc_frame_build(req, BCFW_HDR_SIZE + sizeof(rq),
					 BCFW_OP_RANDOM, cs, &rq, sizeof(rq));
		uint32_t g = gen;

		ret = bc_transport_cmd(t, req, req_len, resp, cap, &resp_len,
				       &st, &g);
		if (ret) {
			bc_slot_failed(slot, t, ret);
			rv = bc_ckr_from_errno(ret);
			goto out;
		}
		if (st != BCFW_S_OK) {
			rv = bc_ckr_from_fw(st);
			goto out;
		}
		if (bc_frame_parse(resp, resp_len, BCFW_OP_RANDOM, cs, &v) ||
		    v.body_len != n) {
			rv = CKR_DEVICE_ERROR;
			goto out;
		}
		memcpy(RandomData + done, v.body, n);
		done += n;
	}
out:
	if (resp) {
		explicit_bzero(resp, cap);
		free(resp);
	}
	free(req);
	if (rv != CKR_OK && RandomData)
		explicit_bzero(RandomData, ulRandomLen);
	return rv;
}

/*
 * Object search.  No objects are reachable through the module yet (the key
 * store comes later), so every search honestly finds nothing; the
 * operation state is kept so callers get the standard's errors.
 */
static CK_RV set_finding(CK_SESSION_HANDLE h, int want_now, int set_to)
{
	struct bc_session *s;
	CK_RV rv = CKR_OK;

	bc_lock();
	s = find_locked(h);
	if (!s)
		rv = CKR_SESSION_HANDLE_INVALID;
	else if (s->finding != want_now)
		rv = want_now ? CKR_OPERATION_NOT_INITIALIZED :
				CKR_OPERATION_ACTIVE;
	else
		s->finding = set_to;
	bc_unlock();
	return rv;
}

BC_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession,
				  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount)
		return CKR_ARGUMENTS_BAD;
	return set_finding(hSession, 0, 1);
}

BC_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE hSession,
			      CK_OBJECT_HANDLE_PTR phObject,
			      CK_ULONG ulMaxObjectCount,
			      CK_ULONG_PTR pulObjectCount)
{
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pulObjectCount || (!phObject && ulMaxObjectCount))
		return CKR_ARGUMENTS_BAD;
	rv = set_finding(hSession, 1, 1);
	if (rv == CKR_OK)
		*pulObjectCount = 0;
	return rv;
}

BC_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	return set_finding(hSession, 1, 0);
}

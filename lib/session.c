// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Application sessions.  They are library objects: opening one costs the
 * chip nothing.  The chip sees our client (one per connection), which
 * holds the login state and the session objects; a chip session is
 * borrowed from the slot's pool only while a multi-part operation keeps
 * state on the chip (pool.c).  Handles count up from 1 and are never
 * reused within one C_Initialize.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "p11.h"

static struct bc_session **bucket(CK_SESSION_HANDLE h)
{
	return &bc_g.buckets[h % BC_SESSION_BUCKETS];
}

struct bc_session *bc_session_find_locked(CK_SESSION_HANDLE h)
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

void bc_op_clear(struct bc_op *op)
{
	bc_free_wipe(op->param, op->param_len);
	bc_free_wipe(op->in, op->in_len);
	bc_free_wipe(op->out, op->out_len);
	bc_free_wipe(op->acc, op->acc_cap);
	free(op->found);
	memset(op, 0, sizeof(*op));
}

static void session_free(struct bc_session *s)
{
	for (int k = 0; k < BC_OP_KINDS; k++)
		bc_op_clear(&s->op[k]);
	free(s->objs);
	free(s);
}

void bc_sessions_release(struct bc_session **buckets, int orderly)
{
	(void)orderly;
	for (size_t i = 0; i < BC_SESSION_BUCKETS; i++) {
		struct bc_session *s = buckets[i], *n;

		for (; s; s = n) {
			n = s->next;
			session_free(s);
		}
		buckets[i] = NULL;
	}
}

void bc_sessions_drop_slot_locked(CK_SLOT_ID slot)
{
	for (size_t i = 0; i < BC_SESSION_BUCKETS; i++) {
		struct bc_session **pp = &bc_g.buckets[i];

		while (*pp) {
			struct bc_session *s = *pp;

			if (s->slot != slot) {
				pp = &s->next;
				continue;
			}
			*pp = s->next;
			bc_g.slots[slot].sessions--;
			if (s->flags & CKF_RW_SESSION)
				bc_g.slots[slot].rw_sessions--;
			session_free(s);
		}
	}
}

CK_RV bc_session_add_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
	struct bc_session *s;
	CK_RV rv = CKR_OK;

	if (!(o & BCFW_HANDLE_SESSION))
		return CKR_OK;
	bc_lock();
	s = bc_session_find_locked(h);
	if (s && s->nobjs == s->objcap) {
		size_t nc = s->objcap ? s->objcap * 2 : 8;
		CK_OBJECT_HANDLE *n = realloc(s->objs, nc * sizeof(*n));

		if (n) {
			s->objs = n;
			s->objcap = nc;
		}
	}
	if (s && s->nobjs < s->objcap)
		s->objs[s->nobjs++] = o;
	else if (s)
		rv = CKR_HOST_MEMORY;
	bc_unlock();
	return rv;
}

void bc_session_forget_object(CK_SLOT_ID slot, CK_OBJECT_HANDLE o)
{
	if (!(o & BCFW_HANDLE_SESSION))
		return;
	bc_lock();
	for (size_t i = 0; i < BC_SESSION_BUCKETS; i++)
		for (struct bc_session *s = bc_g.buckets[i]; s; s = s->next) {
			if (s->slot != slot)
				continue;
			for (size_t j = 0; j < s->nobjs; j++)
				if (s->objs[j] == o) {
					s->objs[j] = s->objs[--s->nobjs];
					bc_unlock();
					return;
				}
		}
	bc_unlock();
}

/*
 * Ends an unlinked session: its operations, its session objects, and the
 * application's login when it was the slot's last session.  @c is the
 * slot context taken when it was unlinked; @last says it was the last.
 */
static void session_end(struct bc_session *s, struct bc_ctx *c, int last)
{
	if (s->epoch == c->epoch && c->t) {
		for (int k = 0; k < BC_OP_KINDS; k++)
			bc_pool_put(c, s->op[k].chip_session, 0);
		for (size_t i = 0; i < s->nobjs; i++)
			bc_destroy_object(c, s->objs[i]);
		if (s->nobjs) {
			bc_lock();
			bc_objects_changed_locked(c->slot);
			bc_unlock();
		}
		if (last && c->login != BC_NOBODY) {
			(void)bc_chip(c, BCFW_OP_LOGOUT, 0, NULL, 0, NULL,
				      NULL);
			bc_lock();
			if (bc_g.slots[c->slot].epoch == c->epoch &&
			    !bc_g.slots[c->slot].sessions)
				bc_g.slots[c->slot].login = BC_NOBODY;
			bc_unlock();
		}
	}
	session_free(s);
}

/* With bc_lock() held: a context for ending sessions of @slot. */
static void end_ctx_locked(CK_SLOT_ID slot, struct bc_ctx *c)
{
	struct bc_slot *sl = &bc_g.slots[slot];

	memset(c, 0, sizeof(*c));
	c->slot = slot;
	c->t = sl->t;
	c->epoch = sl->epoch;
	c->gen = sl->gen;
	c->max_frame = sl->info.max_frame;
	c->login = sl->login;
	c->objgen = sl->objgen;
	c->sflags = CKF_SERIAL_SESSION;
}

BC_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags,
			      CK_VOID_PTR pApplication, CK_NOTIFY Notify,
			      CK_SESSION_HANDLE_PTR phSession)
{
	struct bc_transport *t;
	struct bc_session *s;
	struct bc_slot *sl;
	CK_RV rv = bc_check_init();

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
	s = calloc(1, sizeof(*s));
	if (!s)
		return CKR_HOST_MEMORY;
	s->slot = slotID;
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);

	bc_lock();
	sl = &bc_g.slots[slotID];
	if (!bc_slot_present_locked(sl)) {
		bc_unlock();
		free(s);
		return CKR_TOKEN_NOT_PRESENT;
	}
	if (sl->login == CKU_SO && !(flags & CKF_RW_SESSION)) {
		bc_unlock();
		free(s);
		return CKR_SESSION_READ_WRITE_SO_EXISTS;
	}
	s->epoch = sl->epoch;
	s->handle = ++bc_g.next_handle;
	s->next = *bucket(s->handle);
	*bucket(s->handle) = s;
	sl->sessions++;
	if (flags & CKF_RW_SESSION)
		sl->rw_sessions++;
	*phSession = s->handle;
	bc_unlock();
	return CKR_OK;
}

BC_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
	struct bc_session *s;
	struct bc_ctx c;
	int last = 0;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	bc_lock();
	s = unlink_locked(hSession);
	if (s) {
		end_ctx_locked(s->slot, &c);
		last = bc_g.slots[s->slot].sessions == 0;
	}
	bc_unlock();
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	session_end(s, &c, last);
	return CKR_OK;
}

BC_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
	struct bc_session *list = NULL, *s, *n;
	struct bc_ctx c;
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
	end_ctx_locked(slotID, &c);
	bc_unlock();
	for (s = list; s; s = n) {
		n = s->next;
		session_end(s, &c, !n);
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
	s = bc_session_find_locked(hSession);
	if (s) {
		int rw = !!(s->flags & CKF_RW_SESSION);

		memset(pInfo, 0, sizeof(*pInfo));
		pInfo->slotID = s->slot;
		pInfo->flags = s->flags;
		switch (bc_g.slots[s->slot].login) {
		case CKU_SO:
			pInfo->state = CKS_RW_SO_FUNCTIONS;
			break;
		case CKU_USER:
			pInfo->state = rw ? CKS_RW_USER_FUNCTIONS :
					    CKS_RO_USER_FUNCTIONS;
			break;
		default:
			pInfo->state = rw ? CKS_RW_PUBLIC_SESSION :
					    CKS_RO_PUBLIC_SESSION;
			break;
		}
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
	struct bc_ctx c;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pSeed && ulSeedLen)
		return CKR_ARGUMENTS_BAD;
	rv = bc_ctx_session(hSession, &c);
	if (rv != CKR_OK)
		return rv;
	/* The chip's generator takes no outside entropy. */
	return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

BC_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession,
				 CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
	struct bc_chip_info ci;
	struct bc_ctx c;
	size_t chunk;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!RandomData && ulRandomLen)
		return CKR_ARGUMENTS_BAD;
	rv = bc_ctx_session(hSession, &c);
	if (rv != CKR_OK || !ulRandomLen)
		return rv;
	bc_lock();
	ci = bc_g.slots[c.slot].info;
	bc_unlock();
	chunk = ci.max_random;
	if (chunk > ci.max_frame - BCFW_HDR_SIZE)
		chunk = ci.max_frame - BCFW_HDR_SIZE;
	if (!chunk)
		return CKR_DEVICE_ERROR;
	for (CK_ULONG done = 0; done < ulRandomLen && rv == CKR_OK;) {
		size_t n = ulRandomLen - done < chunk ? ulRandomLen - done :
							 chunk, got;
		uint8_t req[8] = { 0 }, *out;
		uint32_t le = htole32((uint32_t)n);

		memcpy(req, &le, 4);
		rv = bc_chip(&c, BCFW_OP_RANDOM, 0, req, sizeof(req), &out,
			     &got);
		if (rv != CKR_OK)
			break;
		if (got != n) {
			bc_free_wipe(out, got);
			rv = CKR_DEVICE_ERROR;
			break;
		}
		memcpy(RandomData + done, out, n);
		bc_free_wipe(out, got);
		done += n;
	}
	if (rv != CKR_OK)
		explicit_bzero(RandomData, ulRandomLen);
	return rv;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One round trip to a slot's chip on behalf of a Cryptoki call, with
 * reset detection: every command carries the driver generation of the
 * slot's epoch, so a command that would reach a chip that has been reset
 * since fails (-ESTALE) instead of acting on someone else's state, and
 * the slot moves to a new epoch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"

void bc_free_wipe(void *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

static void fill_locked(struct bc_ctx *c, CK_SLOT_ID id)
{
	struct bc_slot *s = &bc_g.slots[id];

	c->slot = id;
	c->t = s->t;
	c->epoch = s->epoch;
	c->gen = s->gen;
	c->max_frame = s->info.max_frame;
	c->login = s->login;
	c->objgen = s->objgen;
}

CK_RV bc_ctx_slot(CK_SLOT_ID id, struct bc_ctx *c)
{
	struct bc_transport *t;
	CK_RV rv;

	memset(c, 0, sizeof(*c));
	rv = bc_slot_transport(id, &t, NULL);
	if (rv != CKR_OK)
		return rv;
	bc_lock();
	fill_locked(c, id);
	bc_unlock();
	if (!c->t)
		return CKR_TOKEN_NOT_PRESENT;
	return CKR_OK;
}

CK_RV bc_ctx_session(CK_SESSION_HANDLE h, struct bc_ctx *c)
{
	struct bc_session *s;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	memset(c, 0, sizeof(*c));
	bc_lock();
	s = bc_session_find_locked(h);
	if (!s) {
		rv = CKR_SESSION_HANDLE_INVALID;
	} else if (!bc_g.slots[s->slot].t) {
		rv = CKR_DEVICE_REMOVED;
	} else {
		fill_locked(c, s->slot);
		c->sflags = s->flags;
	}
	bc_unlock();
	return rv;
}

/* The answer to a request can be as large as the chip's frame limit. */
static size_t resp_cap(const struct bc_ctx *c)
{
	return c->max_frame >= BCFW_HDR_SIZE ? c->max_frame : 65536;
}

CK_RV bc_chip(struct bc_ctx *c, uint16_t opcode, uint32_t chip_session,
	      const void *body, size_t body_len, uint8_t **out,
	      size_t *out_len)
{
	size_t req_cap = BCFW_HDR_SIZE + body_len, cap = resp_cap(c);
	size_t req_len, resp_len = 0;
	struct bc_frame_view v;
	uint8_t *req, *resp;
	uint32_t st = 0, gen = c->gen;
	CK_RV rv;
	int ret;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (c->max_frame && req_cap > c->max_frame)
		return CKR_DATA_LEN_RANGE;
	req = malloc(req_cap);
	resp = malloc(cap);
	if (!req || !resp) {
		free(req);
		free(resp);
		return CKR_HOST_MEMORY;
	}
	req_len = bc_frame_build(req, req_cap, opcode, chip_session, body,
				 body_len);
	if (!req_len) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	ret = bc_transport_cmd(c->t, req, req_len, resp, cap, &resp_len, &st,
			       &gen);
	if (ret == -ESTALE || (!ret && gen != c->gen)) {
		/*
		 * The chip was reset since this slot's epoch began: whatever
		 * the caller's session or login was, it is gone.
		 */
		bc_lock();
		if (bc_g.slots[c->slot].epoch == c->epoch)
			bc_slot_new_epoch_locked(&bc_g.slots[c->slot], gen);
		bc_unlock();
		rv = c->sflags ? CKR_SESSION_HANDLE_INVALID : CKR_DEVICE_ERROR;
		goto out;
	}
	if (ret) {
		bc_slot_failed(c->slot, c->t, ret);
		rv = bc_ckr_from_errno(ret);
		goto out;
	}
	if (st != BCFW_S_OK) {
		rv = bc_ckr_from_fw(st);
		goto out;
	}
	if (bc_frame_parse(resp, resp_len, opcode, chip_session, &v)) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	rv = CKR_OK;
	if (out && v.body_len) {
		*out = malloc(v.body_len);
		if (!*out) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		memcpy(*out, v.body, v.body_len);
	}
	if (out_len)
		*out_len = v.body_len;
out:
	bc_free_wipe(req, req_cap);
	/* Only what the transport wrote can hold secrets. */
	bc_free_wipe(resp, resp_len && resp_len <= cap ? resp_len : cap);
	return rv;
}

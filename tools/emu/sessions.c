// SPDX-License-Identifier: GPL-2.0
/*
 * The chip's session table: one limit for the whole chip, sessions owned
 * by a (connection, client) pair.
 */
#include <errno.h>
#include <stdlib.h>

#include "keystore.h"

struct emu_session {
	uint32_t handle;	/* 0: slot free */
	uint32_t client;
	uint64_t conn;
	uint32_t flags;		/* BCFW_SESSION_* */
	bool busy;		/* a command holds it (and its op) */
	bool closed;		/* closed while busy: freed at release */
	struct ks_op *op;	/* the session's operation, when not busy */
};

static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emu_session *sess_tab;	/* under sess_lock */
static unsigned int sess_max;		/* set once before threads start */
static unsigned int sess_used;		/* under sess_lock */
static unsigned int sess_rw;		/* under sess_lock */
static uint32_t sess_next = 1;		/* under sess_lock */

int emu_sessions_init(unsigned int max)
{
	sess_tab = calloc(max, sizeof(*sess_tab));
	if (!sess_tab)
		return -ENOMEM;
	sess_max = max;
	return 0;
}

void emu_sessions_fini(void)
{
	for (unsigned int i = 0; sess_tab && i < sess_max; i++)
		ks_op_free(sess_tab[i].op);
	free(sess_tab);
	sess_tab = NULL;
}

unsigned int emu_sessions_max(void)
{
	return sess_max;
}

unsigned int emu_sessions_in_use(void)
{
	unsigned int n;

	pthread_mutex_lock(&sess_lock);
	n = sess_used;
	pthread_mutex_unlock(&sess_lock);
	return n;
}

static bool handle_taken(uint32_t h)
{
	for (unsigned int i = 0; i < sess_max; i++)
		if (sess_tab[i].handle == h)
			return true;
	return false;
}

uint32_t emu_session_open(uint64_t conn, uint32_t client, uint32_t flags,
			  uint32_t *handle)
{
	struct emu_session *free_slot = NULL;
	uint32_t h;

	pthread_mutex_lock(&sess_lock);
	if (sess_used >= sess_max) {
		pthread_mutex_unlock(&sess_lock);
		return BCFW_S_SESSION_COUNT;
	}
	for (unsigned int i = 0; i < sess_max && !free_slot; i++)
		if (!sess_tab[i].handle)
			free_slot = &sess_tab[i];
	/*
	 * Handles count up through 32 bits so a stale handle names nothing
	 * for a long time; after a wrap, skip 0 and live ones.
	 */
	do {
		h = sess_next++;
	} while (h == 0 || handle_taken(h));
	free_slot->handle = h;
	free_slot->conn = conn;
	free_slot->client = client;
	free_slot->flags = flags;
	free_slot->busy = false;
	free_slot->closed = false;
	free_slot->op = NULL;
	sess_used++;
	if (flags & BCFW_SESSION_RW)
		sess_rw++;
	pthread_mutex_unlock(&sess_lock);
	*handle = h;
	return BCFW_S_OK;
}

/*
 * Ends a session: its slot is free at once unless a command holds it, in
 * which case the release frees it.  Returns the operation to free, outside
 * the lock.  Under sess_lock.
 */
static struct ks_op *slot_end(struct emu_session *s)
{
	struct ks_op *op = s->op;

	s->op = NULL;
	if (s->flags & BCFW_SESSION_RW)
		sess_rw--;
	s->flags = 0;
	if (s->busy) {
		s->closed = true;
		return op;
	}
	s->handle = 0;
	sess_used--;
	return op;
}

uint32_t emu_session_close(uint64_t conn, uint32_t client, uint32_t handle)
{
	uint32_t st = BCFW_S_SESSION_INVALID;
	struct ks_op *op = NULL;

	if (!handle)
		return st;
	pthread_mutex_lock(&sess_lock);
	for (unsigned int i = 0; i < sess_max; i++) {
		struct emu_session *s = &sess_tab[i];

		if (s->handle == handle && !s->closed) {
			if (s->conn == conn && s->client == client) {
				op = slot_end(s);
				st = BCFW_S_OK;
			}
			break;
		}
	}
	pthread_mutex_unlock(&sess_lock);
	ks_op_free(op);
	return st;
}

static void drop(uint64_t conn, bool any_client, uint32_t client)
{
	for (;;) {
		struct ks_op *op = NULL;
		bool found = false;

		pthread_mutex_lock(&sess_lock);
		for (unsigned int i = 0; i < sess_max && !found; i++) {
			struct emu_session *s = &sess_tab[i];

			if (s->handle && !s->closed && s->conn == conn &&
			    (any_client || s->client == client)) {
				op = slot_end(s);
				found = true;
			}
		}
		pthread_mutex_unlock(&sess_lock);
		if (!found)
			break;
		ks_op_free(op);
	}
	/* The client's login and session objects go with it. */
	ks_token_drop(conn, any_client, client);
	ks_objects_drop(conn, any_client, client);
}

uint32_t emu_session_acquire(uint64_t conn, uint32_t client, uint32_t handle,
			     uint32_t *flags, struct ks_op **op)
{
	uint32_t st = BCFW_S_SESSION_INVALID;

	if (!handle)
		return st;
	pthread_mutex_lock(&sess_lock);
	for (unsigned int i = 0; i < sess_max; i++) {
		struct emu_session *s = &sess_tab[i];

		if (s->handle != handle || s->closed)
			continue;
		if (s->conn != conn || s->client != client)
			break;
		if (s->busy) {
			st = BCFW_S_CKR(CKR_OPERATION_ACTIVE);
			break;
		}
		s->busy = true;
		*flags = s->flags;
		*op = s->op;
		s->op = NULL;
		st = BCFW_S_OK;
		break;
	}
	pthread_mutex_unlock(&sess_lock);
	return st;
}

void emu_session_release(uint64_t conn, uint32_t client, uint32_t handle,
			 struct ks_op *op)
{
	pthread_mutex_lock(&sess_lock);
	for (unsigned int i = 0; i < sess_max; i++) {
		struct emu_session *s = &sess_tab[i];

		if (s->handle != handle || !s->busy || s->conn != conn ||
		    s->client != client)
			continue;
		s->busy = false;
		if (s->closed) {
			/* Closed meanwhile: the slot is free now. */
			s->handle = 0;
			s->closed = false;
			sess_used--;
		} else {
			s->op = op;
			op = NULL;
		}
		break;
	}
	pthread_mutex_unlock(&sess_lock);
	ks_op_free(op);
}

unsigned int emu_sessions_rw_in_use(void)
{
	unsigned int n;

	pthread_mutex_lock(&sess_lock);
	n = sess_rw;
	pthread_mutex_unlock(&sess_lock);
	return n;
}

void emu_sessions_drop_client(uint64_t conn, uint32_t client)
{
	drop(conn, false, client);
}

void emu_sessions_drop_conn(uint64_t conn)
{
	drop(conn, true, 0);
}

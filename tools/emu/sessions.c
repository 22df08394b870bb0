// SPDX-License-Identifier: GPL-2.0
/*
 * The chip's session table: one limit for the whole chip, sessions owned
 * by a (connection, client) pair.
 */
#include <errno.h>
#include <stdlib.h>

#include "emu.h"

struct emu_session {
	uint32_t handle;	/* 0: slot free */
	uint32_t client;
	uint64_t conn;
};

static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emu_session *sess_tab;	/* under sess_lock */
static unsigned int sess_max;		/* set once before threads start */
static unsigned int sess_used;		/* under sess_lock */
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

uint32_t emu_session_open(uint64_t conn, uint32_t client, uint32_t *handle)
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
	sess_used++;
	pthread_mutex_unlock(&sess_lock);
	*handle = h;
	return BCFW_S_OK;
}

uint32_t emu_session_close(uint64_t conn, uint32_t client, uint32_t handle)
{
	uint32_t st = BCFW_S_SESSION_INVALID;

	if (!handle)
		return st;
	pthread_mutex_lock(&sess_lock);
	for (unsigned int i = 0; i < sess_max; i++) {
		struct emu_session *s = &sess_tab[i];

		if (s->handle == handle) {
			if (s->conn == conn && s->client == client) {
				s->handle = 0;
				sess_used--;
				st = BCFW_S_OK;
			}
			break;
		}
	}
	pthread_mutex_unlock(&sess_lock);
	return st;
}

static void drop(uint64_t conn, bool any_client, uint32_t client)
{
	pthread_mutex_lock(&sess_lock);
	for (unsigned int i = 0; i < sess_max; i++) {
		struct emu_session *s = &sess_tab[i];

		if (s->handle && s->conn == conn &&
		    (any_client || s->client == client)) {
			s->handle = 0;
			sess_used--;
		}
	}
	pthread_mutex_unlock(&sess_lock);
}

void emu_sessions_drop_client(uint64_t conn, uint32_t client)
{
	drop(conn, false, client);
}

void emu_sessions_drop_conn(uint64_t conn)
{
	drop(conn, true, 0);
}

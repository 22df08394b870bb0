/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal state of the PKCS#11 module, shared by its files (docs/pkcs11.md
 * lists them).
 *
 * Locking: bc_lock()/bc_unlock() guard the slot table's mutable fields and
 * the session table.  The lock is never held across a chip round trip;
 * callers copy what they need (struct bc_ctx) and drop it.  Transports live
 * from C_Initialize to C_Finalize (the spec forbids C_Finalize while other
 * calls are running), so a copied pointer stays valid.  Each slot's chip
 * session pool has a lock of its own (pool.c), taken without bc_lock held.
 *
 * Application sessions are library objects.  A chip session is borrowed
 * from the slot's pool only while an operation keeps state on the chip
 * (a multi-part operation), so any number of application sessions share
 * the chip's few.  What the chip must know about the application as a
 * whole (login, session objects) belongs to our chip client, not to a
 * chip session.
 *
 * Chip resets: every slot has an epoch, bumped whenever the chip has
 * forgotten our client (a reset seen as a new driver generation, or a new
 * connection after the old one died).  Sessions and pooled chip sessions
 * remember the epoch they were made in; older ones are invalid.
 */
#ifndef BC_P11_H
#define BC_P11_H

/* Before pkcs11.h, whose non-GNU names #define `reserved` and `count`. */
#include "transport.h"

#include <pthread.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#define BC_EXPORT __attribute__((visibility("default")))

#define BC_MANUFACTURER		"Bastionchip"
#define BC_LIB_DESCRIPTION	"Bastionchip PKCS#11 module"
#define BC_LIB_VERSION_MAJOR	0
#define BC_LIB_VERSION_MINOR	2
#define BC_MIN_PIN_LEN		4
#define BC_MAX_PIN_LEN		64

/* Login state of a slot: CKU_SO, CKU_USER or this. */
#define BC_NOBODY		((CK_USER_TYPE)-1)

/* Chip sessions of one slot that no operation is using right now. */
struct bc_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t *idle;
	size_t nidle, cap;
	unsigned int open;		/* ours on the chip: idle or lent */
	unsigned int limit;		/* the most we try to hold */
	unsigned int waiting;
	uint32_t epoch;			/* the slot epoch they belong to */
};

struct bc_slot {
	char *device;
	struct bc_transport *t;		/* NULL: token not present */
	struct bc_transport **retired;	/* dead transports, freed at finalize */
	size_t nretired;
	int dead;			/* t reported the device gone */
	struct bc_chip_info info;	/* cached at connect */
	CK_ULONG sessions;		/* ours on this slot */
	CK_ULONG rw_sessions;
	uint32_t epoch;			/* see above; starts at 1 */
	uint32_t gen;			/* driver generation of the epoch */
	CK_USER_TYPE login;		/* BC_NOBODY, CKU_USER or CKU_SO */
	struct bc_pool pool;
	/*
	 * Keys and mechanisms the chip accepted in a C_xInit, so that the
	 * next C_xInit with them needs no round trip (crypto.c).  Valid for
	 * the epoch, login state and object generation they were made in;
	 * @objgen moves whenever this application changes or destroys an
	 * object or re-initializes the token.
	 */
	uint32_t objgen;
	struct bc_init_ok {
		CK_OBJECT_HANDLE key;
		CK_MECHANISM_TYPE mech;
		int kind;
		uint32_t epoch, objgen;
		CK_USER_TYPE login;
	} init_ok[64];
};

enum bc_op_kind {
	BC_OP_FIND,
	BC_OP_SIGN,
	BC_OP_VERIFY,
	BC_OP_ENCRYPT,
	BC_OP_DECRYPT,
	BC_OP_DIGEST,
	BC_OP_KINDS
};

/* One active operation of a session. */
struct bc_op {
	int active;
	int multipart;			/* an Update was made */
	int streamed;			/* ...by a single-part call */
	CK_MECHANISM_TYPE mech;
	uint8_t *param;			/* the mechanism parameter, encoded */
	size_t param_len;
	CK_OBJECT_HANDLE key;
	uint32_t chip_session;		/* borrowed from the pool, or 0 */
	/*
	 * Length-query convention: a single-part result that did not fit
	 * the caller's buffer is kept, with the input that made it, until
	 * the caller asks again with room (the operation stays active).
	 */
	uint8_t *in, *out;
	size_t in_len, out_len;
	/* Multi-part data gathered in the library (single-shot chip ops). */
	uint8_t *acc;
	size_t acc_len, acc_cap;
	/* Find: the chip's answer, handed out in pieces. */
	CK_OBJECT_HANDLE *found;
	size_t nfound, pos;
};

struct bc_session {
	struct bc_session *next;	/* hash chain */
	CK_SESSION_HANDLE handle;
	CK_SLOT_ID slot;
	CK_FLAGS flags;
	uint32_t epoch;			/* the slot's epoch at open */
	struct bc_op op[BC_OP_KINDS];
	/* Session objects made through this session: destroyed with it. */
	CK_OBJECT_HANDLE *objs;
	size_t nobjs, objcap;
};

#define BC_SESSION_BUCKETS 256

struct bc_state {
	struct bc_slot *slots;
	CK_ULONG nslots;
	struct bc_session *buckets[BC_SESSION_BUCKETS];
	CK_SESSION_HANDLE next_handle;
};

/* Only touched with bc_lock() held, or by C_Initialize/C_Finalize. */
extern struct bc_state bc_g;

/* CKR_OK if the library is initialized in this process. */
CK_RV bc_check_init(void);
void bc_lock(void);
void bc_unlock(void);

/* errors.c */
CK_RV bc_ckr_from_errno(int err);
CK_RV bc_ckr_from_fw(uint32_t fw_status);
/* A bc_transport_call() result with its fw_status. */
CK_RV bc_ckr_from_call(int err, uint32_t fw_status);

/* slots.c */
int bc_slots_init(void);			/* discovery + connect */
void bc_slots_release(struct bc_slot *slots, CK_ULONG n, int orderly);
/*
 * The slot's transport, connecting if needed; CKR_TOKEN_NOT_PRESENT when
 * it cannot be reached.  *@info (may be NULL) gets the cached chip info.
 */
CK_RV bc_slot_transport(CK_SLOT_ID id, struct bc_transport **t,
			struct bc_chip_info *info);
/* A round trip on @t failed with @err: note a vanished device. */
void bc_slot_failed(CK_SLOT_ID id, struct bc_transport *t, int err);
/* With bc_lock() held: CK_TRUE if the slot has a usable transport. */
int bc_slot_present_locked(const struct bc_slot *s);
/*
 * With bc_lock() held: the chip forgot our client (reset or new
 * connection).  Sessions of older epochs become invalid, login is gone,
 * pooled chip sessions are dropped.
 */
void bc_slot_new_epoch_locked(struct bc_slot *s, uint32_t gen);

/* What one call needs from the tables, copied under the lock. */
struct bc_ctx {
	CK_SLOT_ID slot;
	struct bc_transport *t;
	uint32_t epoch;
	uint32_t gen;
	uint32_t max_frame;
	CK_FLAGS sflags;		/* the session's flags (0: no session) */
	CK_USER_TYPE login;
	uint32_t objgen;
};

/* chip.c: one round trip on behalf of a session or slot. */
CK_RV bc_ctx_slot(CK_SLOT_ID id, struct bc_ctx *c);
/* Also checks that the library is initialized. */
CK_RV bc_ctx_session(CK_SESSION_HANDLE h, struct bc_ctx *c);
/*
 * Sends @body as @opcode on @chip_session (0 for none).  On CKR_OK,
 * *@out (malloc'd, free with bc_free_wipe(*out, *out_len); may be NULL
 * when @out is NULL) holds the answer's body.  Firmware statuses,
 * transport errors and chip resets become CKR_* here.
 */
CK_RV bc_chip(struct bc_ctx *c, uint16_t opcode, uint32_t chip_session,
	      const void *body, size_t body_len, uint8_t **out,
	      size_t *out_len);
void bc_free_wipe(void *p, size_t len);

/* pool.c */
int bc_pool_init(struct bc_pool *p, uint32_t epoch, unsigned int limit);
void bc_pool_destroy(struct bc_pool *p);
/* A chip session for an operation; waits (bounded) when all are lent. */
CK_RV bc_pool_get(struct bc_ctx *c, uint32_t *chip_session);
/*
 * Gives it back.  @clean: no operation state is left on it; otherwise it
 * is closed on the chip rather than lent again.
 */
void bc_pool_put(struct bc_ctx *c, uint32_t chip_session, int clean);
/* Closes the idle chip sessions (C_InitToken needs none open). */
void bc_pool_drain(struct bc_ctx *c);
/* With bc_lock() held: forget every pooled session (the chip did). */
void bc_pool_reset_locked(struct bc_pool *p, uint32_t epoch,
			  unsigned int limit);

/* session.c */
void bc_sessions_release(struct bc_session **buckets, int orderly);
/* With bc_lock() held: frees every session of @slot (new epoch). */
void bc_sessions_drop_slot_locked(CK_SLOT_ID slot);
/* With bc_lock() held: the live session @h, or NULL. */
struct bc_session *bc_session_find_locked(CK_SESSION_HANDLE h);
/* Clears @op (frees its buffers; a borrowed chip session is not touched). */
void bc_op_clear(struct bc_op *op);
/* Records a new session object for destruction with the session. */
CK_RV bc_session_add_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o);
void bc_session_forget_object(CK_SLOT_ID slot, CK_OBJECT_HANDLE o);

/* With bc_lock() held: forget what C_xInit learned about @slot's keys. */
void bc_objects_changed_locked(CK_SLOT_ID slot);

/* objects.c */
/*
 * Sends a request that makes an object (@opcode answers a handle) and
 * records a session object with session @hs.
 */
CK_RV bc_new_object(CK_SESSION_HANDLE hs, struct bc_ctx *c, uint16_t opcode,
		    const void *body, size_t len, CK_OBJECT_HANDLE *ph);
void bc_destroy_object(struct bc_ctx *c, CK_OBJECT_HANDLE h);

/* Copies @s into a space-padded field. */
void bc_pad(unsigned char *field, size_t len, const char *s);

#endif

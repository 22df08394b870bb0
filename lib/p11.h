/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal state of the PKCS#11 module, shared by pkcs11.c (entry points,
 * C_Initialize/C_Finalize, locking, fork), slots.c, session.c and
 * errors.c.
 *
 * Locking: bc_lock()/bc_unlock() guard the slot table's mutable fields and
 * the session table.  The lock is never held across a chip round trip;
 * callers copy what they need (transport pointer, chip session) and drop
 * it.  Transports live from C_Initialize to C_Finalize (the spec forbids
 * C_Finalize while other calls are running), so a copied pointer stays
 * valid.
 */
#ifndef BC_P11_H
#define BC_P11_H

/* Before pkcs11.h, whose non-GNU names #define `reserved` and `count`. */
#include "transport.h"

#include <p11-kit/pkcs11.h>

#define BC_EXPORT __attribute__((visibility("default")))

#define BC_MANUFACTURER		"Bastionchip"
#define BC_LIB_DESCRIPTION	"Bastionchip PKCS#11 module"
#define BC_LIB_VERSION_MAJOR	0
#define BC_LIB_VERSION_MINOR	1
#define BC_MIN_PIN_LEN		4
#define BC_MAX_PIN_LEN		64

struct bc_slot {
	char *device;
	struct bc_transport *t;		/* NULL: token not present */
	struct bc_transport **retired;	/* dead transports, freed at finalize */
	size_t nretired;
	int dead;			/* t reported the device gone */
	struct bc_chip_info info;	/* cached at connect */
	CK_ULONG sessions;		/* ours on this slot */
	CK_ULONG rw_sessions;
};

struct bc_session {
	struct bc_session *next;	/* hash chain */
	CK_SESSION_HANDLE handle;
	CK_SLOT_ID slot;
	CK_FLAGS flags;
	uint32_t chip_session;
	uint32_t gen;			/* chip generation at open */
	int finding;			/* between FindObjectsInit and Final */
	struct bc_transport *t;		/* the slot's transport at open */
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

/* session.c */
void bc_sessions_release(struct bc_session **buckets);
/* Looks up @h: its slot, transport, chip session and generation. */
CK_RV bc_session_get(CK_SESSION_HANDLE h, CK_SLOT_ID *slot,
		     struct bc_transport **t, uint32_t *chip_session,
		     uint32_t *gen);

/* Copies @s into a space-padded field. */
void bc_pad(unsigned char *field, size_t len, const char *s);

#endif

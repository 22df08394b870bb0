/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's PKCS#11 side (p11.c): libbc_pkcs11 loaded with dlopen,
 * initialized lazily, re-initialized in a forked child, and a bounded set
 * of logged-in sessions per slot shared by every thread.
 */
#ifndef BCP11_H
#define BCP11_H

#include <p11-kit/pkcs11.h>

struct bcp11;

/*
 * @module: path of the PKCS#11 module (dlopen'd at first use);
 * @pin_source: "env:VAR" or "file:PATH", where the PIN comes from when the
 * key reference carries none.  Both are copied.
 */
struct bcp11 *bcp11_new(const char *module, const char *pin_source);
void bcp11_free(struct bcp11 *p);

/*
 * Load/initialize (or re-initialize after fork()) as needed and return
 * the function list, or NULL with *rv set and the reason in @why.
 */
CK_FUNCTION_LIST *bcp11_functions(struct bcp11 *p, CK_RV *rv, char *why,
				  size_t whylen);

/*
 * Run @fn on a session of @slot borrowed from the pool (logged in as user
 * first if @login, with @pin, else the PIN this slot last logged in with,
 * else the configured pin-source).  A session that went stale (chip reset,
 * fork) is dropped and @fn tried once more on a fresh one.  @fn must
 * leave no operation active when it returns.
 */
typedef CK_RV bcp11_op(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, void *arg);
CK_RV bcp11_run(struct bcp11 *p, CK_SLOT_ID slot, int login,
		const char *pin, bcp11_op *fn, void *arg);

/* A short text for @rv ("CKR_PIN_INCORRECT"), for error messages. */
const char *bcp11_rv_name(CK_RV rv);

#endif /* BCP11_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store (store.c) and the decoders (decoder.c) share: opening a
 * chip key when the caller may have to supply the PIN.
 */
#ifndef BCPROV_STORE_H
#define BCPROV_STORE_H

#include <openssl/core_dispatch.h>

#include "bcprov.h"

/*
 * bcprov_key_open(), and when the chip refused the login for want of a
 * PIN of our own (none in @ref, none or a wrong one configured), once
 * more with the PIN from the caller's passphrase callback (`-passin`, a
 * prompt, nginx's ssl_password_file).  The configuration is tried first
 * so that a configured server is never prompted.  @ref is left as given.
 */
struct bcprov_key *bcprov_key_open_ask(struct bcprov_ctx *prov,
				       struct bcprov_keyref *ref,
				       OSSL_PASSPHRASE_CALLBACK *pw_cb,
				       void *pw_cbarg);

#endif /* BCPROV_STORE_H */

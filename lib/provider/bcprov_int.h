/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What provider.c, key.c, keymgmt.c, signature.c and cipher.c share
 * beyond bcprov.h.
 */
#ifndef BCPROV_INT_H
#define BCPROV_INT_H

#include <stdatomic.h>

#include <openssl/evp.h>

#include "bcprov.h"
#include "bcp11.h"

/*
 * Algorithms of the default provider (public halves, digests, and the
 * checks of what the chip signed) are fetched with this query, from the
 * provider's child library context.
 */
#define BCPROV_DEFAULT_PROPQ "provider=default"

struct bcprov_ctx {
	const OSSL_CORE_HANDLE *handle;
	OSSL_LIB_CTX *libctx;
	struct bcp11 *p11;
	char *module;
	char *pin_source;
	OSSL_FUNC_core_new_error_fn *new_error;
	OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
	OSSL_FUNC_core_vset_error_fn *vset_error;
};

/* Reason codes of the errors we raise; provider.c has their texts. */
enum {
	BCPROV_R_NO_TOKEN = 1,
	BCPROV_R_SEVERAL_TOKENS,
	BCPROV_R_NO_KEY,
	BCPROV_R_SEVERAL_KEYS,
	BCPROV_R_NO_PUBLIC_KEY,
	BCPROV_R_LOGIN_FAILED,
	BCPROV_R_CHIP,
	BCPROV_R_UNSUPPORTED,
	BCPROV_R_BAD_PARAM,
	BCPROV_R_NO_PRIVATE_KEY,
	BCPROV_R_NO_CERT,
	BCPROV_R_MEMORY,
};

void bcprov_err_at(struct bcprov_ctx *ctx, int reason, const char *file,
		   int line, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
#define bcprov_err(ctx, reason, ...) \
	bcprov_err_at(ctx, reason, __FILE__, __LINE__, __func__, __VA_ARGS__)

/*
 * A key.  Chip keys (from bcprov_key_open) have @priv (@has_priv).  Other
 * keys are software keys held in @pub, a key of the default provider:
 * public keys OpenSSL imports to compare with chip keys, and, when this
 * provider's key management is the one OpenSSL picked for a generic
 * operation (it was loaded before the default provider, with no
 * default_properties), keys generated or imported with their private half
 * (@soft_priv).  Operations on software keys are the default provider's.
 */
struct bcprov_key {
	atomic_int refs;
	struct bcprov_ctx *ctx;
	int type;			/* EVP_PKEY_EC or EVP_PKEY_RSA */
	int has_priv;
	int soft_priv;
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE priv;
	int bits;			/* EC: order bits; RSA: modulus bits */
	EVP_PKEY *pub;			/* default provider, child libctx */
};

/* A key holding only @pub (taken over), for keymgmt's import. */
struct bcprov_key *bcprov_key_new_public(struct bcprov_ctx *ctx,
					 EVP_PKEY *pub);

/*
 * Single-part private-key operation on the chip with @mech:
 * sign (@sign) or decrypt.  *outlen: in, room; out, length.
 */
int bcprov_key_private_op(struct bcprov_key *key, int sign,
			  CK_MECHANISM *mech, const unsigned char *in,
			  size_t inlen, unsigned char *out, size_t *outlen);

/* @key's private half is a software one, in @pub. */
static inline int bcprov_key_is_soft(const struct bcprov_key *key)
{
	return !key->has_priv && key->soft_priv;
}

/*
 * PKCS#11 names of a digest (PSS, OAEP): the hash mechanism, and in *mgf
 * MGF1 with it.  CK_UNAVAILABLE_INFORMATION for a digest the chip lacks.
 */
CK_MECHANISM_TYPE bcprov_ck_hash(const EVP_MD *md,
				 CK_RSA_PKCS_MGF_TYPE *mgf);

/* An empty public key of @type ("EC", "RSA") in the default provider. */
EVP_PKEY_CTX *bcprov_default_pkey_ctx(struct bcprov_ctx *ctx,
				      const char *type);

#endif /* BCPROV_INT_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bcchip OpenSSL 3 provider: what its parts share.  docs/openssl.md.
 *
 * Private-key operations always run on the chip through libbc_pkcs11;
 * nothing here ever holds private key material.
 */
#ifndef BCPROV_H
#define BCPROV_H

#include <stddef.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>

/* The provider's context (one per OSSL_LIB_CTX that loaded us). */
struct bcprov_ctx;

/*
 * What names a key on the chip: parsed from an RFC 7512 pkcs11: URI
 * (uri.c) or from a PEM key reference (decoder.c).  Every field is
 * optional (NULL / 0 means "any").  Strings are NUL-terminated copies.
 */
struct bcprov_keyref {
	char *token;		/* token label ("token=") */
	char *serial;		/* token serial ("serial=") */
	char *object;		/* CKA_LABEL ("object=") */
	unsigned char *id;	/* CKA_ID ("id=", percent-decoded) */
	size_t id_len;
	int want_cert;		/* "type=cert": the certificate, not the key */
	char *pin;		/* pin-value, or pin-source's contents; wiped on free */
};

/* 1, or 0 with an OpenSSL error naming what is wrong; @out zeroed then. */
int bcprov_uri_parse(const char *uri, struct bcprov_keyref *out);
void bcprov_keyref_free(struct bcprov_keyref *ref);

/* A key on the chip: refcounted, shared by keymgmt/signature/cipher. */
struct bcprov_key;

/*
 * Find the private key @ref names (and its public half) and return a new
 * reference, or NULL with an OpenSSL error raised (ERR_raise_data with a
 * clear reason: no such token, no such key, several keys match, PIN
 * refused, ...).  A PIN: ref->pin, else the provider's configuration.
 */
struct bcprov_key *bcprov_key_open(struct bcprov_ctx *ctx,
				   const struct bcprov_keyref *ref);
struct bcprov_key *bcprov_key_ref(struct bcprov_key *key);
void bcprov_key_free(struct bcprov_key *key);
/* "EC" or "RSA": the keymgmt name the key belongs to. */
const char *bcprov_key_type(const struct bcprov_key *key);

/*
 * Certificates (type=cert in the store): the DER of the certificate
 * @ref names, in a new OPENSSL_malloc'd buffer, or NULL with an error.
 */
unsigned char *bcprov_cert_der(struct bcprov_ctx *ctx,
			       const struct bcprov_keyref *ref, size_t *len);

/*
 * Passing a key from the store or the decoder to keymgmt: the object
 * callback gets OSSL_OBJECT_PARAM_REFERENCE = the bytes of a
 * `struct bcprov_key *` (sizeof pointer), whose reference keymgmt's
 * load() takes over.  OSSL_OBJECT_PARAM_DATA_TYPE = bcprov_key_type().
 * An export_object() given such a reference must fail: whatever it
 * exported would become a public-only key of another provider, which
 * fails only when it signs; OpenSSL then loads the key with our keymgmt.
 */

/* Dispatch tables, one file each. */
extern const OSSL_DISPATCH bcprov_ec_keymgmt_functions[];
extern const OSSL_DISPATCH bcprov_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH bcprov_ecdsa_signature_functions[];
extern const OSSL_DISPATCH bcprov_rsa_signature_functions[];
extern const OSSL_DISPATCH bcprov_rsa_asym_cipher_functions[];
extern const OSSL_DISPATCH bcprov_store_functions[];
extern const OSSL_DISPATCH bcprov_pem_decoder_functions[];
extern const OSSL_DISPATCH bcprov_der_decoder_functions[];
/* The DER stage's input structure, named by the PEM stage (decoder.c). */
#define BCPROV_KEYREF_STRUCTURE "BcchipKeyReference"

/* The provider context's library context, for fetching default's algorithms. */
OSSL_LIB_CTX *bcprov_libctx(struct bcprov_ctx *ctx);

#endif /* BCPROV_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OSSL_STORE loader for "pkcs11:" URIs: `openssl ... -key 'pkcs11:...'`
 * and OSSL_STORE_open() hand out chip keys (by reference, for our key
 * management) and certificates stored on the chip.  docs/openssl.md
 * "Key references and pkcs11: URIs".
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "bcprov_int.h"
#include "store.h"

/* Longest PIN asked of the caller's passphrase callback. */
#define PIN_MAX 256

struct store_ctx {
	struct bcprov_ctx *prov;
	struct bcprov_keyref ref;
	int expect;		/* OSSL_STORE_INFO_*, 0 for anything */
	int done;		/* the one object was handed out (or failed) */
};

static OSSL_FUNC_store_open_fn store_open;
static OSSL_FUNC_store_settable_ctx_params_fn store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn store_set_ctx_params;
static OSSL_FUNC_store_load_fn store_load;
static OSSL_FUNC_store_eof_fn store_eof;
static OSSL_FUNC_store_close_fn store_close;

static void *store_open(void *provctx, const char *uri)
{
	struct store_ctx *s = OPENSSL_zalloc(sizeof(*s));

	if (s == NULL) {
		bcprov_err(provctx, BCPROV_R_MEMORY, "store");
		return NULL;
	}
	s->prov = provctx;
	/* A bad URI is refused here, so the caller's error names it. */
	if (!bcprov_uri_parse(uri, &s->ref)) {
		OPENSSL_free(s);
		return NULL;
	}
	return s;
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
	static const OSSL_PARAM settable[] = {
		OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
		OSSL_PARAM_END
	};

	(void)provctx;
	return settable;
}

static int store_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	struct store_ctx *s = vctx;
	const OSSL_PARAM *p;

	p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
	if (p != NULL && !OSSL_PARAM_get_int(p, &s->expect)) {
		bcprov_err(s->prov, BCPROV_R_BAD_PARAM, "store: bad \"%s\"",
			   OSSL_STORE_PARAM_EXPECT);
		return 0;
	}
	/* Search criteria (subject, fingerprint, ...) have no meaning here. */
	return 1;
}

/*
 * Asks the caller's passphrase callback for the PIN (`-passin`, or a
 * prompt) into a new buffer.  NULL when there is no callback or it fails.
 */
static char *ask_pin(const char *desc, OSSL_PASSPHRASE_CALLBACK *pw_cb,
		     void *pw_cbarg)
{
	char buf[PIN_MAX + 1];
	size_t len = 0;
	char *pin = NULL;
	OSSL_PARAM params[2];

	if (pw_cb == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO,
						     (char *)desc, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (pw_cb(buf, PIN_MAX, &len, params, pw_cbarg) && len > 0 &&
	    len <= PIN_MAX && memchr(buf, '\0', len) == NULL)
		pin = OPENSSL_strndup(buf, len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return pin;
}

struct bcprov_key *bcprov_key_open_ask(struct bcprov_ctx *prov,
				       struct bcprov_keyref *ref,
				       OSSL_PASSPHRASE_CALLBACK *pw_cb,
				       void *pw_cbarg)
{
	char desc[96];
	struct bcprov_key *key;
	char *pin;

	ERR_set_mark();
	key = bcprov_key_open(prov, ref);
	if (key != NULL || ref->pin != NULL ||
	    ERR_GET_REASON(ERR_peek_last_error()) != BCPROV_R_LOGIN_FAILED) {
		ERR_clear_last_mark();
		return key;
	}
	/* The prompt reads "Enter pass phrase for <desc>:". */
	snprintf(desc, sizeof(desc), "the PIN of token %s",
		 ref->token != NULL ? ref->token : "(any)");
	pin = ask_pin(desc, pw_cb, pw_cbarg);
	if (pin == NULL) {
		ERR_clear_last_mark();
		return NULL;
	}
	ERR_pop_to_mark();
	ref->pin = pin;
	key = bcprov_key_open(prov, ref);
	OPENSSL_clear_free(pin, strlen(pin));
	ref->pin = NULL;
	return key;
}

static int load_cert(struct store_ctx *s, OSSL_CALLBACK *object_cb,
		     void *object_cbarg)
{
	int type = OSSL_OBJECT_CERT;
	unsigned char *der;
	size_t len = 0;
	OSSL_PARAM params[4];
	int ok;

	der = bcprov_cert_der(s->prov, &s->ref, &len);
	if (der == NULL)
		return 0;
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(
		OSSL_OBJECT_PARAM_DATA_STRUCTURE, (char *)"Certificate", 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
						      der, len);
	params[3] = OSSL_PARAM_construct_end();
	ok = object_cb(params, object_cbarg);
	OPENSSL_free(der);
	return ok;
}

/*
 * A caller that expects a public key (openssl pkey -pubin, pkeyutl -verify
 * -pubin) gets the key's public half as SubjectPublicKeyInfo, which
 * libcrypto decodes in the default provider: a chip key would count as a
 * private key and be skipped by OSSL_STORE_load().
 */
static int pass_public(struct store_ctx *s, struct bcprov_key *key,
		       OSSL_CALLBACK *object_cb, void *object_cbarg)
{
	int type = OSSL_OBJECT_PKEY;
	unsigned char *der = NULL;
	OSSL_PARAM params[5];
	int len, ok;

	len = i2d_PUBKEY(key->pub, &der);
	if (len <= 0) {
		bcprov_err(s->prov, BCPROV_R_NO_PUBLIC_KEY,
			   "cannot encode the chip key's public half");
		return 0;
	}
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(
		OSSL_OBJECT_PARAM_DATA_TYPE, (char *)bcprov_key_type(key), 0);
	params[2] = OSSL_PARAM_construct_utf8_string(
		OSSL_OBJECT_PARAM_DATA_STRUCTURE, (char *)"SubjectPublicKeyInfo",
		0);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
						      der, (size_t)len);
	params[4] = OSSL_PARAM_construct_end();
	ok = object_cb(params, object_cbarg);
	OPENSSL_free(der);
	return ok;
}

static int load_key(struct store_ctx *s, OSSL_CALLBACK *object_cb,
		    void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
		    void *pw_cbarg)
{
	int type = OSSL_OBJECT_PKEY;
	struct bcprov_key *key;
	OSSL_PARAM params[4];
	int ok;

	key = bcprov_key_open_ask(s->prov, &s->ref, pw_cb, pw_cbarg);
	if (key == NULL)
		return 0;
	if (s->expect == OSSL_STORE_INFO_PUBKEY) {
		ok = pass_public(s, key, object_cb, object_cbarg);
		bcprov_key_free(key);
		return ok;
	}
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(
		OSSL_OBJECT_PARAM_DATA_TYPE, (char *)bcprov_key_type(key), 0);
	/* keymgmt's load() takes this reference over (bcprov.h). */
	params[2] = OSSL_PARAM_construct_octet_string(
		OSSL_OBJECT_PARAM_REFERENCE, &key, sizeof(key));
	params[3] = OSSL_PARAM_construct_end();
	return object_cb(params, object_cbarg);
}

static int store_load(void *vctx, OSSL_CALLBACK *object_cb,
		      void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
		      void *pw_cbarg)
{
	struct store_ctx *s = vctx;
	int want_cert;

	if (s->done)
		return 0;
	/* One URI names one object: whatever happens, it is the last. */
	s->done = 1;
	/*
	 * Without type=, a caller that wants a certificate (openssl x509
	 * -in 'pkcs11:object=web') gets the one beside the key.
	 */
	want_cert = s->ref.want_cert || s->expect == OSSL_STORE_INFO_CERT;
	if (want_cert && s->expect != 0 && s->expect != OSSL_STORE_INFO_CERT) {
		bcprov_err(s->prov, BCPROV_R_UNSUPPORTED,
			   "the URI names a certificate (type=cert), not a key");
		return 0;
	}
	if (s->expect == OSSL_STORE_INFO_CRL ||
	    s->expect == OSSL_STORE_INFO_PARAMS ||
	    s->expect == OSSL_STORE_INFO_NAME) {
		bcprov_err(s->prov, BCPROV_R_UNSUPPORTED,
			   "the chip holds keys and certificates only");
		return 0;
	}
	if (want_cert)
		return load_cert(s, object_cb, object_cbarg);
	return load_key(s, object_cb, object_cbarg, pw_cb, pw_cbarg);
}

static int store_eof(void *vctx)
{
	const struct store_ctx *s = vctx;

	return s->done;
}

static int store_close(void *vctx)
{
	struct store_ctx *s = vctx;

	if (s == NULL)
		return 1;
	bcprov_keyref_free(&s->ref);
	OPENSSL_free(s);
	return 1;
}

const OSSL_DISPATCH bcprov_store_functions[] = {
	{ OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open },
	{ OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS,
	  (void (*)(void))store_settable_ctx_params },
	{ OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params },
	{ OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load },
	{ OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof },
	{ OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close },
	{ 0, NULL }
};

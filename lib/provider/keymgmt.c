// SPDX-License-Identifier: Apache-2.0
/*
 * Key management for EC and RSA keys on the chip.  The private half never
 * leaves the chip: export gives the public half only, and refuses any
 * request that includes the private key, so that OpenSSL never moves a
 * chip key to another provider (that would be a public-only key there,
 * which fails only when it signs).  OpenSSL imports a certificate's key
 * here to compare it with a chip key.
 *
 * Software keys: when this key management is the first "EC" or "RSA"
 * OpenSSL knows (provider loaded before the default one, no
 * default_properties), generic key generation and imports land here.
 * They are handed to the default provider and the result kept as a
 * software key (bcprov_int.h), which export gives back whole.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "bcprov_int.h"

static struct bcprov_key *key_new(struct bcprov_ctx *ctx, int type)
{
	/* calloc, as in key.c: bcprov_key_free() frees with free(). */
	struct bcprov_key *key = calloc(1, sizeof(*key));

	if (!key) {
		bcprov_err(ctx, BCPROV_R_MEMORY, "key");
		return NULL;
	}
	atomic_init(&key->refs, 1);
	key->ctx = ctx;
	key->type = type;
	return key;
}

static void *ec_new(void *provctx)
{
	return key_new(provctx, EVP_PKEY_EC);
}

static void *rsa_new(void *provctx)
{
	return key_new(provctx, EVP_PKEY_RSA);
}

static void km_free(void *keydata)
{
	bcprov_key_free(keydata);
}

static void *load(const void *reference, size_t size, int type)
{
	struct bcprov_key *key;

	if (!reference || size != sizeof(key))
		return NULL;
	memcpy(&key, reference, sizeof(key));
	if (key->type != type) {
		/* The reference was ours to take over, even when refused. */
		bcprov_key_free(key);
		return NULL;
	}
	return key;
}

static void *ec_load(const void *reference, size_t size)
{
	return load(reference, size, EVP_PKEY_EC);
}

static void *rsa_load(const void *reference, size_t size)
{
	return load(reference, size, EVP_PKEY_RSA);
}

static int has(const void *keydata, int selection)
{
	const struct bcprov_key *key = keydata;

	if (!key)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !key->has_priv &&
	    !key->soft_priv)
		return 0;
	if ((selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY |
			  OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)) && !key->pub)
		return 0;
	return 1;
}

static int validate(const void *keydata, int selection, int checktype)
{
	(void)checktype;
	return has(keydata, selection);
}

static int match(const void *a, const void *b, int selection)
{
	const struct bcprov_key *k1 = a, *k2 = b;

	if (!k1->pub || !k2->pub)
		return 0;
	if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) {
		/*
		 * A chip key's private half is what its public half says
		 * (both come from the chip), so comparing public halves is
		 * comparing key pairs.
		 */
		return EVP_PKEY_eq(k1->pub, k2->pub) == 1;
	}
	if (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)
		return EVP_PKEY_parameters_eq(k1->pub, k2->pub) == 1;
	return 1;
}

static int import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct bcprov_key *key = keydata;
	EVP_PKEY_CTX *pc;
	EVP_PKEY *pub = NULL;
	int what, priv;

	if (!key || key->pub || key->has_priv)
		return 0;
	priv = (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) &&
	       (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) ||
		OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D));
	if (priv)
		what = EVP_PKEY_KEYPAIR;
	else if (key->type == EVP_PKEY_EC &&
		 (!OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY) ||
		  !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)))
		what = EVP_PKEY_KEY_PARAMETERS;
	else
		what = EVP_PKEY_PUBLIC_KEY;
	pc = bcprov_default_pkey_ctx(key->ctx,
				     key->type == EVP_PKEY_EC ? "EC" : "RSA");
	if (!pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pub, what, (OSSL_PARAM *)params) <= 0)
		pub = NULL;
	EVP_PKEY_CTX_free(pc);
	if (!pub)
		return 0;
	key->pub = pub;
	key->soft_priv = priv;
	key->bits = EVP_PKEY_get_bits(pub);
	return 1;
}

static int export(void *keydata, int selection, OSSL_CALLBACK *cb,
		  void *cbarg)
{
	struct bcprov_key *key = keydata;
	OSSL_PARAM *params = NULL;
	int ret;

	if (!key || !key->pub ||
	    (key->has_priv && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)))
		return 0;
	if (EVP_PKEY_todata(key->pub,
			    (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ?
			    EVP_PKEY_KEYPAIR :
			    (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ?
			    EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS,
			    &params) <= 0)
		return 0;
	ret = cb(params, cbarg);
	OSSL_PARAM_free(params);
	return ret;
}

static const OSSL_PARAM ec_types[] = {
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
			       NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM rsa_types[] = {
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM *ec_types_fn(int selection)
{
	(void)selection;
	return ec_types;
}

static const OSSL_PARAM *rsa_types_fn(int selection)
{
	(void)selection;
	return rsa_types;
}

/*
 * Everything asked about a key (bits, security bits, maximum signature
 * size, default digest, group, encoded public key) is a property of its
 * public half, which the default provider answers.
 */
static int get_params(void *keydata, OSSL_PARAM params[])
{
	struct bcprov_key *key = keydata;

	if (!key || !key->pub)
		return 0;
	return EVP_PKEY_get_params(key->pub, params);
}

static const OSSL_PARAM ec_gettable[] = {
	OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
			       NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM rsa_gettable[] = {
	OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM *ec_gettable_fn(void *provctx)
{
	(void)provctx;
	return ec_gettable;
}

static const OSSL_PARAM *rsa_gettable_fn(void *provctx)
{
	(void)provctx;
	return rsa_gettable;
}

static const char *ec_query_name(int operation_id)
{
	switch (operation_id) {
	case OSSL_OP_SIGNATURE:
		return "ECDSA";
	case OSSL_OP_KEYEXCH:		/* software keys, default provider */
		return "ECDH";
	}
	return NULL;
}

static const char *rsa_query_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ||
	       operation_id == OSSL_OP_ASYM_CIPHER ? "RSA" : NULL;
}

/*
 * Chip keys never change once made, so a copy can be the same key;
 * software keys can (set_params), so they are copied.
 */
static void *dup(const void *keydata, int selection)
{
	const struct bcprov_key *key = keydata;
	struct bcprov_key *d;

	(void)selection;
	if (key->has_priv || !key->pub)
		return bcprov_key_ref((struct bcprov_key *)key);
	d = key_new(key->ctx, key->type);
	if (!d)
		return NULL;
	d->pub = EVP_PKEY_dup(key->pub);
	if (!d->pub) {
		bcprov_key_free(d);
		return NULL;
	}
	d->soft_priv = key->soft_priv;
	d->bits = key->bits;
	return d;
}

/* TLS sets a peer's public key this way (encoded point). */
static int set_params(void *keydata, const OSSL_PARAM params[])
{
	struct bcprov_key *key = keydata;

	if (!key || key->has_priv || !key->pub)
		return 0;
	if (!EVP_PKEY_set_params(key->pub, (OSSL_PARAM *)params))
		return 0;
	key->bits = EVP_PKEY_get_bits(key->pub);
	return 1;
}

static const OSSL_PARAM *ec_settable(void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
				       NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return p;
}

static const OSSL_PARAM *rsa_settable(void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_END };

	(void)provctx;
	return p;
}

/* Generation: always of software keys, by the default provider. */
struct genctx {
	struct bcprov_ctx *ctx;
	int type;
	int keypair;
	EVP_PKEY_CTX *pc;
};

static void gen_cleanup(void *vg)
{
	struct genctx *g = vg;

	if (!g)
		return;
	EVP_PKEY_CTX_free(g->pc);
	free(g);
}

static void *gen_init(struct bcprov_ctx *ctx, int type, int selection,
		      const OSSL_PARAM params[])
{
	struct genctx *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->ctx = ctx;
	g->type = type;
	g->keypair = (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
	g->pc = bcprov_default_pkey_ctx(ctx, type == EVP_PKEY_EC ? "EC"
								 : "RSA");
	if (!g->pc ||
	    (g->keypair ? EVP_PKEY_keygen_init(g->pc)
			: EVP_PKEY_paramgen_init(g->pc)) <= 0 ||
	    (params && EVP_PKEY_CTX_set_params(g->pc, params) <= 0)) {
		gen_cleanup(g);
		return NULL;
	}
	return g;
}

static void *ec_gen_init(void *provctx, int selection,
			 const OSSL_PARAM params[])
{
	return gen_init(provctx, EVP_PKEY_EC, selection, params);
}

static void *rsa_gen_init(void *provctx, int selection,
			  const OSSL_PARAM params[])
{
	return gen_init(provctx, EVP_PKEY_RSA, selection, params);
}

static int gen_set_params(void *vg, const OSSL_PARAM params[])
{
	struct genctx *g = vg;

	return EVP_PKEY_CTX_set_params(g->pc, params) > 0;
}

/*
 * OpenSSL asks with no generation context too (to convert -pkeyopt
 * strings): the default provider's tables are static, so a temporary
 * context of its can answer.
 */
static const OSSL_PARAM *gen_settable(struct bcprov_ctx *ctx, int type,
				      struct genctx *g)
{
	const OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *pc;

	if (g)
		return EVP_PKEY_CTX_settable_params(g->pc);
	pc = bcprov_default_pkey_ctx(ctx, type == EVP_PKEY_EC ? "EC" : "RSA");
	if (pc && EVP_PKEY_keygen_init(pc) > 0)
		p = EVP_PKEY_CTX_settable_params(pc);
	EVP_PKEY_CTX_free(pc);
	return p;
}

static const OSSL_PARAM *ec_gen_settable(void *vg, void *provctx)
{
	return gen_settable(provctx, EVP_PKEY_EC, vg);
}

static const OSSL_PARAM *rsa_gen_settable(void *vg, void *provctx)
{
	return gen_settable(provctx, EVP_PKEY_RSA, vg);
}

/* A template's domain parameters (an EC group) become gen parameters. */
static int gen_set_template(void *vg, void *templ)
{
	struct genctx *g = vg;
	struct bcprov_key *t = templ;
	OSSL_PARAM *p = NULL;
	int ok;

	if (!t || !t->pub)
		return 0;
	if (EVP_PKEY_todata(t->pub, EVP_PKEY_KEY_PARAMETERS, &p) <= 0)
		return 0;
	ok = EVP_PKEY_CTX_set_params(g->pc, p) > 0;
	OSSL_PARAM_free(p);
	return ok;
}

static void *gen(void *vg, OSSL_CALLBACK *cb, void *cbarg)
{
	struct genctx *g = vg;
	struct bcprov_key *key;
	EVP_PKEY *pkey = NULL;

	(void)cb;
	(void)cbarg;
	if (EVP_PKEY_generate(g->pc, &pkey) <= 0)
		return NULL;
	key = key_new(g->ctx, g->type);
	if (!key) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	key->pub = pkey;
	key->soft_priv = g->keypair;
	key->bits = EVP_PKEY_get_bits(pkey);
	return key;
}

#define FN(id, f) { OSSL_FUNC_KEYMGMT_##id, (void (*)(void))(f) }

const OSSL_DISPATCH bcprov_ec_keymgmt_functions[] = {
	FN(NEW, ec_new),
	FN(FREE, km_free),
	FN(LOAD, ec_load),
	FN(HAS, has),
	FN(VALIDATE, validate),
	FN(MATCH, match),
	FN(IMPORT, import),
	FN(IMPORT_TYPES, ec_types_fn),
	FN(EXPORT, export),
	FN(EXPORT_TYPES, ec_types_fn),
	FN(GET_PARAMS, get_params),
	FN(GETTABLE_PARAMS, ec_gettable_fn),
	FN(QUERY_OPERATION_NAME, ec_query_name),
	FN(DUP, dup),
	FN(SET_PARAMS, set_params),
	FN(SETTABLE_PARAMS, ec_settable),
	FN(GEN_INIT, ec_gen_init),
	FN(GEN_SET_PARAMS, gen_set_params),
	FN(GEN_SETTABLE_PARAMS, ec_gen_settable),
	FN(GEN_SET_TEMPLATE, gen_set_template),
	FN(GEN, gen),
	FN(GEN_CLEANUP, gen_cleanup),
	{ 0, NULL }
};

const OSSL_DISPATCH bcprov_rsa_keymgmt_functions[] = {
	FN(NEW, rsa_new),
	FN(FREE, km_free),
	FN(LOAD, rsa_load),
	FN(HAS, has),
	FN(VALIDATE, validate),
	FN(MATCH, match),
	FN(IMPORT, import),
	FN(IMPORT_TYPES, rsa_types_fn),
	FN(EXPORT, export),
	FN(EXPORT_TYPES, rsa_types_fn),
	FN(GET_PARAMS, get_params),
	FN(GETTABLE_PARAMS, rsa_gettable_fn),
	FN(QUERY_OPERATION_NAME, rsa_query_name),
	FN(DUP, dup),
	FN(SET_PARAMS, set_params),
	FN(SETTABLE_PARAMS, rsa_settable),
	FN(GEN_INIT, rsa_gen_init),
	FN(GEN_SET_PARAMS, gen_set_params),
	FN(GEN_SETTABLE_PARAMS, rsa_gen_settable),
	FN(GEN_SET_TEMPLATE, gen_set_template),
	FN(GEN, gen),
	FN(GEN_CLEANUP, gen_cleanup),
	{ 0, NULL }
};

// SPDX-License-Identifier: Apache-2.0
/*
 * The bcchip provider's entry point: configuration, the algorithm tables,
 * errors.  docs/openssl.md "Provider configuration".
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "bcprov_int.h"

#ifndef BCPROV_DEFAULT_MODULE
#define BCPROV_DEFAULT_MODULE "/usr/lib/x86_64-linux-gnu/pkcs11/libbc_pkcs11.so"
#endif
#define DEFAULT_PIN_SOURCE "env:BCCHIP_PIN"
#define VERSION "1.0"

/*
 * Every algorithm carries provider=bcchip.  Key management shares the
 * names "EC" and "RSA" with the default provider (OpenSSL decides a key's
 * type by its names); docs/openssl.md says how the configuration keeps
 * generic fetches on the default provider.
 */
#define PROPS "provider=bcchip"

static const OSSL_ALGORITHM keymgmts[] = {
	{ "EC:id-ecPublicKey:1.2.840.10045.2.1", PROPS,
	  bcprov_ec_keymgmt_functions, "bcchip EC keys on the chip" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS,
	  bcprov_rsa_keymgmt_functions, "bcchip RSA keys on the chip" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM signatures[] = {
	{ "ECDSA", PROPS, bcprov_ecdsa_signature_functions,
	  "bcchip ECDSA on the chip" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS,
	  bcprov_rsa_signature_functions,
	  "bcchip RSA PKCS#1 v1.5 and PSS on the chip" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM asym_ciphers[] = {
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS,
	  bcprov_rsa_asym_cipher_functions,
	  "bcchip RSA OAEP and PKCS#1 v1.5 decryption on the chip" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM stores[] = {
	{ "pkcs11", PROPS, bcprov_store_functions,
	  "bcchip keys and certificates by pkcs11: URI" },
	{ NULL, NULL, NULL, NULL }
};

/*
 * A PEM key reference ("BCCHIP KEY REFERENCE") becomes DER, which becomes
 * an EC or RSA key (the decoder reports the real type).  The structure
 * name keeps other DER away from the second stage (docs/openssl.md).
 */
#define KEYREF_DER PROPS ",input=der,structure=" BCPROV_KEYREF_STRUCTURE
static const OSSL_ALGORITHM decoders[] = {
	{ "DER", PROPS ",input=pem", bcprov_pem_decoder_functions,
	  "bcchip key reference PEM to DER" },
	{ "EC:id-ecPublicKey:1.2.840.10045.2.1", KEYREF_DER,
	  bcprov_der_decoder_functions, "bcchip key reference to EC key" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", KEYREF_DER,
	  bcprov_der_decoder_functions, "bcchip key reference to RSA key" },
	{ NULL, NULL, NULL, NULL }
};

/*
 * TLS groups over our key management's "EC".  libssl keeps a group only
 * from the provider whose key management its fetch of the group's
 * algorithm returns; when that is ours (bcchip loaded first, no
 * default_properties), the NIST curves would vanish from TLS (no ECDHE
 * with them, no ECDSA certificate usable in TLS 1.2) unless we announce
 * them too.  Our key management hands their key generation to the default
 * provider.  Otherwise the default provider's entries are the ones used.
 */
struct tls_group {
	const char *name, *internal;
	unsigned int id, secbits;
};

static const struct tls_group groups[] = {
	{ "secp256r1", "prime256v1", 23, 128 },
	{ "secp384r1", "secp384r1", 24, 192 },
	{ "secp521r1", "secp521r1", 25, 256 },
};

static const unsigned int is_kem = 0;
static const int min_tls = 0x0301, max_tls = 0, min_dtls = 0xfeff,
	max_dtls = 0;

#define GROUP_PARAMS(g) {						\
	OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME,		\
			       (char *)(g).name, sizeof("secp256r1")),	\
	OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,	\
			       (char *)(g).internal, 0),		\
	OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID,			\
			(unsigned int *)&(g).id),			\
	OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, "EC",	\
			       sizeof("EC")),				\
	OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS,	\
			(unsigned int *)&(g).secbits),			\
	OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_IS_KEM,		\
			(unsigned int *)&is_kem),			\
	OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, (int *)&min_tls), \
	OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, (int *)&max_tls), \
	OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS,		\
		       (int *)&min_dtls),				\
	OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS,		\
		       (int *)&max_dtls),				\
	OSSL_PARAM_END							\
}

static int get_capabilities(void *provctx, const char *capability,
			    OSSL_CALLBACK *cb, void *arg)
{
	(void)provctx;
	if (strcasecmp(capability, "TLS-GROUP"))
		return 0;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		OSSL_PARAM p[] = GROUP_PARAMS(groups[i]);

		/* Lengths of the strings, as the macros cannot compute them. */
		p[0].data_size = strlen(groups[i].name) + 1;
		p[1].data_size = strlen(groups[i].internal) + 1;
		if (!cb(p, arg))
			return 0;
	}
	return 1;
}

static const OSSL_ITEM reasons[] = {
	{ BCPROV_R_NO_TOKEN, "no such token" },
	{ BCPROV_R_SEVERAL_TOKENS, "several tokens match" },
	{ BCPROV_R_NO_KEY, "no such key on the chip" },
	{ BCPROV_R_SEVERAL_KEYS, "several objects match" },
	{ BCPROV_R_NO_PUBLIC_KEY, "no public key for the chip key" },
	{ BCPROV_R_LOGIN_FAILED, "PIN refused" },
	{ BCPROV_R_CHIP, "chip operation failed" },
	{ BCPROV_R_UNSUPPORTED, "unsupported" },
	{ BCPROV_R_BAD_PARAM, "bad parameter" },
	{ BCPROV_R_NO_PRIVATE_KEY, "private key not on the chip" },
	{ BCPROV_R_NO_CERT, "no such certificate" },
	{ BCPROV_R_MEMORY, "out of memory" },
	{ 0, NULL }
};

void bcprov_err_at(struct bcprov_ctx *ctx, int reason, const char *file,
		   int line, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (!ctx || !ctx->new_error || !ctx->vset_error)
		return;
	ctx->new_error(ctx->handle);
	if (ctx->set_error_debug)
		ctx->set_error_debug(ctx->handle, file, line, func);
	va_start(ap, fmt);
	ctx->vset_error(ctx->handle, (uint32_t)reason, fmt, ap);
	va_end(ap);
}

OSSL_LIB_CTX *bcprov_libctx(struct bcprov_ctx *ctx)
{
	return ctx->libctx;
}

static const OSSL_ALGORITHM *query(void *provctx, int id, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (id) {
	case OSSL_OP_KEYMGMT:
		return keymgmts;
	case OSSL_OP_SIGNATURE:
		return signatures;
	case OSSL_OP_ASYM_CIPHER:
		return asym_ciphers;
	case OSSL_OP_STORE:
		return stores;
	case OSSL_OP_DECODER:
		return decoders;
	}
	return NULL;
}

static const OSSL_ITEM *get_reason_strings(void *provctx)
{
	(void)provctx;
	return reasons;
}

static const OSSL_PARAM *gettable(void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR,
				NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR,
				NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO,
				OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER,
				NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return p;
}

static int get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	(void)provctx;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, "Bastionchip provider"))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, VERSION))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, "bcchip " VERSION))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
	if (p && !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

static void ctx_free(struct bcprov_ctx *ctx)
{
	if (!ctx)
		return;
	bcp11_free(ctx->p11);
	OSSL_LIB_CTX_free(ctx->libctx);
	free(ctx->module);
	free(ctx->pin_source);
	free(ctx);
}

static void teardown(void *provctx)
{
	ctx_free(provctx);
}

static const OSSL_DISPATCH provider_functions[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))gettable },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))get_params },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query },
	{ OSSL_FUNC_PROVIDER_GET_REASON_STRINGS,
	  (void (*)(void))get_reason_strings },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES,
	  (void (*)(void))get_capabilities },
	{ 0, NULL }
};

static int valid_pin_source(const char *s)
{
	return (!strncmp(s, "env:", 4) && s[4]) ||
	       (!strncmp(s, "file:", 5) && s[5]);
}

/* Exported: OpenSSL finds it by name in bcchip.so. */
__attribute__((visibility("default")))
int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
		       const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
		       void **provctx);

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
		       const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
		       void **provctx)
{
	OSSL_FUNC_core_get_params_fn *core_get_params = NULL;
	struct bcprov_ctx *ctx = calloc(1, sizeof(*ctx));
	char *module = NULL, *pin_source = NULL;
	OSSL_PARAM cp[3];
	const char *env;

	if (!ctx)
		return 0;
	ctx->handle = handle;
	for (const OSSL_DISPATCH *d = in; d->function_id; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CORE_GET_PARAMS:
			core_get_params = OSSL_FUNC_core_get_params(d);
			break;
		case OSSL_FUNC_CORE_NEW_ERROR:
			ctx->new_error = OSSL_FUNC_core_new_error(d);
			break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			ctx->set_error_debug = OSSL_FUNC_core_set_error_debug(d);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR:
			ctx->vset_error = OSSL_FUNC_core_vset_error(d);
			break;
		}
	}
	/* The provider's section of openssl.cnf: docs/openssl.md. */
	/* "module" is OpenSSL's own key there: the path of bcchip.so. */
	cp[0] = OSSL_PARAM_construct_utf8_ptr("pkcs11-module", &module, 0);
	cp[1] = OSSL_PARAM_construct_utf8_ptr("pin-source", &pin_source, 0);
	cp[2] = OSSL_PARAM_construct_end();
	if (core_get_params && !core_get_params(handle, cp))
		goto fail;
	if (!module || !*module) {
		env = secure_getenv("BCCHIP_PKCS11_MODULE");
		module = env && *env ? (char *)env :
			 (char *)BCPROV_DEFAULT_MODULE;
	}
	if (!pin_source || !*pin_source)
		pin_source = (char *)DEFAULT_PIN_SOURCE;
	if (!valid_pin_source(pin_source)) {
		bcprov_err(ctx, BCPROV_R_BAD_PARAM,
			   "pin-source must be file:PATH or env:VAR, not %s",
			   pin_source);
		goto fail;
	}
	ctx->module = strdup(module);
	ctx->pin_source = strdup(pin_source);
	if (!ctx->module || !ctx->pin_source)
		goto fail;
	/*
	 * Our own fetches (public halves, digests) go to a child library
	 * context that sees the application's providers.
	 */
	ctx->libctx = OSSL_LIB_CTX_new_child(handle, in);
	if (!ctx->libctx)
		goto fail;
	/* Nothing touches the chip until a key is used. */
	ctx->p11 = bcp11_new(ctx->module, ctx->pin_source);
	if (!ctx->p11)
		goto fail;
	*out = provider_functions;
	*provctx = ctx;
	return 1;
fail:
	ctx_free(ctx);
	return 0;
}

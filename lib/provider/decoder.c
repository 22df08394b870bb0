/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoders that turn a PEM key reference file (lib/keyref.h) into a chip
 * key, so that servers reading their private key from a file
 * (PEM_read_bio_PrivateKey, SSL_CTX_use_PrivateKey_file, OSSL_STORE
 * "file:") use the chip.  docs/openssl.md "Key references and pkcs11:
 * URIs" has the reasoning; in short:
 *
 *  - PEM -> DER ("DER", input=pem): the default provider's PEM decoder
 *    passes on nothing for a PEM name it does not know, so we read the
 *    block ourselves and pass on its DER, with the structure name
 *    BCPROV_KEYREF_STRUCTURE.
 *  - DER -> key (named "EC" and "RSA", input=der, that structure): takes
 *    only DER that is a key reference, opens the key the URI names and
 *    hands it on by reference (whatever its type; the name only gets the
 *    decoder into OpenSSL's key decoding).  OpenSSL then picks our key
 *    management, being the same provider, and its load() takes the
 *    reference over.
 *
 * The PEM stage hands on data, never a reference: the "file:" store
 * passes what a decoder gives straight to its result handling, which
 * would give a reference to the default provider's key management (the
 * loader's provider).  Data makes libcrypto decode again, through the
 * DER stage, whose reference goes the safe way.  The structure name also
 * keeps the "file:" store's generic DER stage away, which would otherwise
 * have the data decoded, and a wrong PIN tried, a second time.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "bcprov_int.h"
#include "keyref.h"
#include "store.h"

/* Key reference bodies are small; anything longer is not one of ours. */
#define DER_MAX 16384

struct dec_ctx {
	struct bcprov_ctx *prov;
};

static OSSL_FUNC_decoder_newctx_fn dec_newctx;
static OSSL_FUNC_decoder_freectx_fn dec_freectx;
static OSSL_FUNC_decoder_does_selection_fn dec_does_selection;
static OSSL_FUNC_decoder_decode_fn pem_decode;
static OSSL_FUNC_decoder_decode_fn der_decode;
static OSSL_FUNC_decoder_export_object_fn der_export_object;

static void *dec_newctx(void *provctx)
{
	struct dec_ctx *d = OPENSSL_zalloc(sizeof(*d));

	if (d == NULL) {
		bcprov_err(provctx, BCPROV_R_MEMORY, "decoder");
		return NULL;
	}
	d->prov = provctx;
	return d;
}

static void dec_freectx(void *vctx)
{
	OPENSSL_free(vctx);
}

/* A reference gives a whole key: useless to someone after parameters. */
static int dec_does_selection(void *provctx, int selection)
{
	(void)provctx;
	return selection == 0 ||
	       (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

static BIO *core_bio(struct dec_ctx *d, OSSL_CORE_BIO *cin)
{
	BIO *in = BIO_new_from_core_bio(d->prov->libctx, cin);

	if (in == NULL)
		bcprov_err(d->prov, BCPROV_R_MEMORY, "decoder input");
	return in;
}

static int pem_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
		      OSSL_CALLBACK *data_cb, void *data_cbarg,
		      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct dec_ctx *d = vctx;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long len = 0;
	int type = OSSL_OBJECT_PKEY;
	OSSL_PARAM params[4];
	BIO *in;
	int ok = 1;

	(void)selection;
	(void)pw_cb;
	(void)pw_cbarg;
	in = core_bio(d, cin);
	if (in == NULL)
		return 0;
	/*
	 * Not a PEM block, or someone else's: return empty-handed, which is
	 * not an error; the decoder chain rewinds and tries the others.
	 */
	if (PEM_read_bio(in, &name, &header, &der, &len) <= 0 ||
	    strcmp(name, BC_KEYREF_PEM_NAME) != 0)
		goto out;
	if (header[0] != '\0') {
		bcprov_err(d->prov, BCPROV_R_UNSUPPORTED,
			   "%s with PEM headers (encrypted?)", BC_KEYREF_PEM_NAME);
		ok = 0;
		goto out;
	}
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(
		OSSL_OBJECT_PARAM_DATA_STRUCTURE,
		(char *)BCPROV_KEYREF_STRUCTURE, 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
						      der, (size_t)len);
	params[3] = OSSL_PARAM_construct_end();
	ok = data_cb(params, data_cbarg);
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(in);
	return ok;
}

/* All of @in, up to DER_MAX bytes; NULL (no error) when longer. */
static unsigned char *read_all(BIO *in, size_t *len)
{
	unsigned char *buf = OPENSSL_malloc(DER_MAX + 1);
	size_t n = 0, got;

	if (buf == NULL)
		return NULL;
	while (n <= DER_MAX && BIO_read_ex(in, buf + n, DER_MAX + 1 - n, &got) &&
	       got > 0)
		n += got;
	if (n > DER_MAX) {
		OPENSSL_free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int der_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
		      OSSL_CALLBACK *data_cb, void *data_cbarg,
		      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct dec_ctx *d = vctx;
	struct bcprov_keyref ref;
	struct bcprov_key *key = NULL;
	unsigned char *der = NULL;
	char *uri = NULL;
	size_t len = 0;
	int type = OSSL_OBJECT_PKEY;
	OSSL_PARAM params[4];
	BIO *in;
	int ok = 1;

	(void)selection;
	in = core_bio(d, cin);
	if (in == NULL)
		return 0;
	der = read_all(in, &len);
	BIO_free(in);
	/* Not a key reference: empty-handed, some other decoder's business. */
	if (der == NULL ||
	    (uri = bc_keyref_der_to_uri(der, len)) == NULL)
		goto out;
	/*
	 * From here on it is ours, so failures are errors: the caller sees
	 * why the chip key could not be had rather than "unsupported".
	 */
	if (!bcprov_uri_parse(uri, &ref)) {
		ok = 0;
		goto out;
	}
	if (ref.want_cert) {
		bcprov_err(d->prov, BCPROV_R_UNSUPPORTED,
			   "key reference names a certificate (type=cert)");
		ok = 0;
	} else {
		key = bcprov_key_open_ask(d->prov, &ref, pw_cb, pw_cbarg);
		ok = key != NULL;
	}
	bcprov_keyref_free(&ref);
	if (!ok)
		goto out;
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(
		OSSL_OBJECT_PARAM_DATA_TYPE, (char *)bcprov_key_type(key), 0);
	/* keymgmt's load() takes this reference over (bcprov.h). */
	params[2] = OSSL_PARAM_construct_octet_string(
		OSSL_OBJECT_PARAM_REFERENCE, &key, sizeof(key));
	params[3] = OSSL_PARAM_construct_end();
	ok = data_cb(params, data_cbarg);
out:
	free(uri);
	OPENSSL_free(der);
	return ok;
}

/*
 * Only reached when OpenSSL picked another provider's key management
 * for our reference: a chip key cannot be exported.  The reference was
 * handed over all the same, so it is dropped here.
 */
static int der_export_object(void *vctx, const void *reference,
			     size_t reference_sz, OSSL_CALLBACK *export_cb,
			     void *export_cbarg)
{
	struct dec_ctx *d = vctx;
	struct bcprov_key *key;

	(void)export_cb;
	(void)export_cbarg;
	if (reference != NULL && reference_sz == sizeof(key)) {
		memcpy(&key, reference, sizeof(key));
		bcprov_key_free(key);
	}
	bcprov_err(d->prov, BCPROV_R_UNSUPPORTED,
		   "a chip key cannot be exported to another provider");
	return 0;
}

const OSSL_DISPATCH bcprov_pem_decoder_functions[] = {
	{ OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx },
	{ OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx },
	{ OSSL_FUNC_DECODER_DOES_SELECTION,
	  (void (*)(void))dec_does_selection },
	{ OSSL_FUNC_DECODER_DECODE, (void (*)(void))pem_decode },
	{ 0, NULL }
};

const OSSL_DISPATCH bcprov_der_decoder_functions[] = {
	{ OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx },
	{ OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx },
	{ OSSL_FUNC_DECODER_DOES_SELECTION,
	  (void (*)(void))dec_does_selection },
	{ OSSL_FUNC_DECODER_DECODE, (void (*)(void))der_decode },
	{ OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))der_export_object },
	{ 0, NULL }
};

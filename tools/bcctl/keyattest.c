// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl key attest|export-ref.
 *
 * attest: through the PKCS#11 module (the vendor function BC_AttestKey,
 * docs/attestation.md "Key attestation") with a fresh nonce; the answer
 * is believed only after checking it: issued by the chip's identity
 * certificate, which the CA file vouches for; its public key equal to
 * the key's public half as the token shows it; its extension naming our
 * nonce and saying the key was generated on the chip and never left it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bcctl.h"
#include "keyref.h"

#include "bc_pkcs11_ext.h"

#define OID_KEY_ATTEST "2.25.131368795026701721289478216230416831188.2"
#define NONCE_LEN 32

/* The KeyAttestation extension, decoded. */
struct key_stmt {
	long version, handle, key_type, mech;
	char serial[BCFW_SERIAL_LEN + 1];
	bool local, never_extractable, always_sensitive, token;
	unsigned char id[256], nonce[BCFW_NONCE_MAX];
	long id_len, nonce_len;
};

static int parse_stmt(X509 *cert, struct key_stmt *s)
{
	ASN1_OBJECT *o = OBJ_txt2obj(OID_KEY_ATTEST, 1);
	int i = o ? X509_get_ext_by_OBJ(cert, o, -1) : -1;
	const ASN1_OCTET_STRING *v;
	const unsigned char *p, *c;
	long avail, clen, sl;

	ASN1_OBJECT_free(o);
	if (i < 0)
		return -1;
	v = X509_EXTENSION_get_data(X509_get_ext(cert, i));
	p = ASN1_STRING_get0_data(v);
	avail = ASN1_STRING_length(v);
	memset(s, 0, sizeof(*s));
	if (bcctl_der_take(&p, &avail, V_ASN1_SEQUENCE, &c, &clen) || avail)
		return -1;
	p = c;
	avail = clen;
	if (bcctl_der_long(&p, &avail, &s->version) ||
	    bcctl_der_octets(&p, &avail, (unsigned char *)s->serial,
		       sizeof(s->serial), &sl, V_ASN1_PRINTABLESTRING) ||
	    bcctl_der_long(&p, &avail, &s->handle) ||
	    bcctl_der_long(&p, &avail, &s->key_type) ||
	    bcctl_der_long(&p, &avail, &s->mech) ||
	    bcctl_der_bool(&p, &avail, &s->local) ||
	    bcctl_der_bool(&p, &avail, &s->never_extractable) ||
	    bcctl_der_bool(&p, &avail, &s->always_sensitive) ||
	    bcctl_der_bool(&p, &avail, &s->token) ||
	    bcctl_der_octets(&p, &avail, s->id, sizeof(s->id), &s->id_len,
		       V_ASN1_OCTET_STRING) ||
	    bcctl_der_octets(&p, &avail, s->nonce, sizeof(s->nonce) + 1,
		       &s->nonce_len, V_ASN1_OCTET_STRING) || avail) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	s->serial[sl] = 0;
	if (strlen(s->serial) != (size_t)sl) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	bcctl_clean_str(s->serial);
	return 0;
}

static CK_RV find_key(struct bcctl_p11 *p, CK_SESSION_HANDLE h,
		      CK_OBJECT_CLASS cls, const char *label,
		      CK_OBJECT_HANDLE *out, CK_ULONG *count)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE found[2];
	CK_RV rv;

	*count = 0;
	rv = p->f->C_FindObjectsInit(h, t, 2);
	if (rv != CKR_OK)
		return rv;
	rv = p->f->C_FindObjects(h, found, 2, count);
	p->f->C_FindObjectsFinal(h);
	if (rv == CKR_OK && *count)
		*out = found[0];
	return rv;
}

/* A CKA_ attribute's value, malloc'd; NULL when the object lacks it. */
static unsigned char *get_attr(struct bcctl_p11 *p, CK_SESSION_HANDLE h,
			       CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
			       CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	unsigned char *v;

	if (p->f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || !a.ulValueLen)
		return NULL;
	v = malloc(a.ulValueLen);
	if (!v)
		return NULL;
	a.pValue = v;
	if (p->f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK) {
		free(v);
		return NULL;
	}
	*len = a.ulValueLen;
	return v;
}

/* CKA_EC_POINT: a DER OCTET STRING per PKCS#11, raw from some tokens. */
static const unsigned char *unwrap_point(const unsigned char *v,
					 CK_ULONG *len)
{
	const unsigned char *p = v, *c;
	long avail = (long)*len, clen;

	if (!bcctl_der_take(&p, &avail, V_ASN1_OCTET_STRING, &c, &clen) &&
	    !avail) {
		*len = (CK_ULONG)clen;
		return c;
	}
	return v;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

/* The token's public half of the key, from its public key object. */
static EVP_PKEY *token_pubkey(struct bcctl_p11 *p, CK_SESSION_HANDLE h,
			      CK_OBJECT_HANDLE o)
{
	CK_ULONG l1 = 0, l2 = 0, tl = 0;
	CK_KEY_TYPE *kt = (CK_KEY_TYPE *)get_attr(p, h, o, CKA_KEY_TYPE,
						  &tl);
	unsigned char *a = NULL, *b = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;

	if (!kt || tl != sizeof(*kt))
		goto out;
	if (*kt == CKK_EC) {
		const unsigned char *q, *pt;
		ASN1_OBJECT *oid = NULL;
		char group[80];

		a = get_attr(p, h, o, CKA_EC_PARAMS, &l1);
		b = get_attr(p, h, o, CKA_EC_POINT, &l2);
		if (!a || !b)
			goto out;
		q = a;
		oid = d2i_ASN1_OBJECT(NULL, &q, (long)l1);
		if (!oid || OBJ_obj2txt(group, sizeof(group), oid, 0) <= 0) {
			ASN1_OBJECT_free(oid);
			goto out;
		}
		ASN1_OBJECT_free(oid);
		pt = unwrap_point(b, &l2);
		bld = OSSL_PARAM_BLD_new();
		if (!bld ||
		    !OSSL_PARAM_BLD_push_utf8_string(bld,
				OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
				OSSL_PKEY_PARAM_PUB_KEY, pt, l2))
			goto out;
		pk = pkey_from_params("EC", bld);
	} else if (*kt == CKK_RSA) {
		BIGNUM *n, *e;

		a = get_attr(p, h, o, CKA_MODULUS, &l1);
		b = get_attr(p, h, o, CKA_PUBLIC_EXPONENT, &l2);
		if (!a || !b)
			goto out;
		n = BN_bin2bn(a, (int)l1, NULL);
		e = BN_bin2bn(b, (int)l2, NULL);
		bld = OSSL_PARAM_BLD_new();
		if (n && e && bld &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			pk = pkey_from_params("RSA", bld);
		BN_free(n);
		BN_free(e);
	} else if (*kt == CKK_EC_EDWARDS) {
		const unsigned char *pt;

		b = get_attr(p, h, o, CKA_EC_POINT, &l2);
		if (!b)
			goto out;
		pt = unwrap_point(b, &l2);
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt,
						 l2);
	}
out:
	OSSL_PARAM_BLD_free(bld);
	free(kt);
	free(a);
	free(b);
	ERR_clear_error();
	return pk;
}

static void hex(char *out, size_t cap, const unsigned char *p, long n)
{
	size_t k = 0;

	out[0] = 0;
	for (long i = 0; i < n && k + 3 <= cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%02x", p[i]);
}

struct attest_opts {
	struct bcctl_p11_opts p11;
	struct bcctl_pin_src pin;
	const char *ca;
	bool json, pem, host_time;
};

/* Verdict on the certificate; 0 holds, 1 not (@why), -errno unchecked. */
static int judge(struct bcctl_p11 *p, CK_SESSION_HANDLE h,
		 CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub, X509 *cert, const unsigned char *nonce,
		 const struct attest_opts *o, struct key_stmt *s, char *why,
		 size_t whylen)
{
	CK_KEY_TYPE ktype = (CK_KEY_TYPE)-1;
	struct bcctl_verified vf;
	struct bcctl_status st;
	unsigned char *kt;
	CK_ULONG ktlen = 0;
	struct bcctl_chain c;
	EVP_PKEY *pk;
	time_t at;
	int ret;

	if (!p->device[0]) {
		snprintf(why, whylen, "cannot tell which device the token is "
			 "on, to fetch its identity certificate");
		return -ENODEV;
	}
	memset(&st, 0, sizeof(st));
	ret = bcctl_chain_fetch(p->device, &c, &st);
	if (ret) {
		snprintf(why, whylen, "%s: attestation chain: %s", p->device,
			 bcctl_errno_text(ret));
		return ret;
	}
	at = o->host_time ? time(NULL) : (time_t)st.chip_time;
	/* The chain the device shows must hold too: the identity it names
	 * is the one the statement is checked against. */
	ret = bcctl_chain_verify(&c, o->ca, at, &vf, why, whylen);
	if (!ret)
		ret = bcctl_leaf_verify(cert, c.identity, o->ca, at,
					BCCTL_LEAF_KEY, &vf, why, whylen);
	bcctl_chain_free(&c);
	if (ret)
		return ret;
	if (parse_stmt(cert, s)) {
		snprintf(why, whylen, "no valid key attestation extension");
		return 1;
	}
	if (s->version != 1 || !s->local || !s->never_extractable) {
		snprintf(why, whylen, "the statement does not say the key was "
			 "generated on the chip and never left it");
		return 1;
	}
	if (s->nonce_len != NONCE_LEN || memcmp(s->nonce, nonce, NONCE_LEN)) {
		snprintf(why, whylen, "the statement does not carry our "
			 "nonce (not fresh)");
		return 1;
	}
	/* The module passes handles to the chip as they are: the statement
	 * is about the key we asked about, or about another. */
	if (s->handle < 0 || (CK_OBJECT_HANDLE)s->handle != priv) {
		snprintf(why, whylen, "the statement is about handle %ld, not "
			 "the key asked about (%lu)", s->handle,
			 (unsigned long)priv);
		return 1;
	}
	kt = pub != CK_INVALID_HANDLE ?
	     get_attr(p, h, pub, CKA_KEY_TYPE, &ktlen) : NULL;
	if (kt && ktlen == sizeof(CK_KEY_TYPE))
		memcpy(&ktype, kt, sizeof(ktype));
	free(kt);
	if (pub != CK_INVALID_HANDLE && ktype != (CK_KEY_TYPE)s->key_type) {
		snprintf(why, whylen, "the statement is about a key of "
			 "another type");
		return 1;
	}
	if (strcmp(s->serial, vf.serial) || strcmp(vf.serial, st.serial)) {
		snprintf(why, whylen, "chip serials differ: statement %s, "
			 "identity certificate %s, device %s", s->serial,
			 vf.serial, st.serial);
		return 1;
	}
	pk = pub != CK_INVALID_HANDLE ? token_pubkey(p, h, pub) : NULL;
	if (!pk) {
		snprintf(why, whylen, "the token shows no public half of the "
			 "key to compare with");
		return 1;
	}
	ret = EVP_PKEY_eq(pk, X509_get0_pubkey(cert)) == 1 ? 0 : 1;
	EVP_PKEY_free(pk);
	if (ret)
		snprintf(why, whylen, "the certificate's public key is not "
			 "the key's public half");
	return ret;
}

static int do_attest(const char *label, const struct attest_opts *o)
{
	unsigned char nonce[NONCE_LEN], *der = NULL;
	char pin[BCCTL_PIN_MAX + 2], why[512] = "";
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE h;
	CK_ULONG n, dlen = 0;
	struct key_stmt s;
	struct bcctl_p11 p;
	BC_AttestKey_fn attest;
	X509 *cert = NULL;
	int pl, ret, v = -1;
	CK_RV rv;

	/* version stays 0 unless the statement was decoded. */
	memset(&s, 0, sizeof(s));
	ret = bcctl_p11_open(&p, &o->p11, true);
	if (ret)
		return ret;
	ret = EXIT_ERR;
	attest = (BC_AttestKey_fn)dlsym(p.dl, "BC_AttestKey");
	if (!attest) {
		bcctl_err("the module has no BC_AttestKey");
		goto close;
	}
	rv = p.f->C_OpenSession(p.slot, CKF_SERIAL_SESSION, NULL, NULL, &h);
	if (rv != CKR_OK) {
		bcctl_err("C_OpenSession: %s", bcctl_ckr_name(rv));
		goto close;
	}
	pl = bcctl_read_pin(&o->pin, "user PIN", false, pin, sizeof(pin));
	if (pl < 0)
		goto close;
	rv = p.f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pl);
	bcctl_wipe(pin, sizeof(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		bcctl_err("login: %s", bcctl_ckr_name(rv));
		goto close;
	}
	rv = find_key(&p, h, CKO_PRIVATE_KEY, label, &priv, &n);
	if (rv == CKR_OK && n > 1) {
		bcctl_err("more than one private key labelled '%s'", label);
		goto close;
	}
	if (rv != CKR_OK || !n) {
		bcctl_err("no private key labelled '%s'%s%s", label,
			  rv ? ": " : "", rv ? bcctl_ckr_name(rv) : "");
		goto close;
	}
	find_key(&p, h, CKO_PUBLIC_KEY, label, &pub, &n);
	if (!n)
		pub = CK_INVALID_HANDLE;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		bcctl_err("no random bytes for the nonce");
		goto close;
	}
	rv = attest(h, priv, nonce, sizeof(nonce), NULL, &dlen);
	if (rv == CKR_OK) {
		der = malloc(dlen ? dlen : 1);
		if (!der) {
			bcctl_err("out of memory");
			goto close;
		}
		rv = attest(h, priv, nonce, sizeof(nonce), der, &dlen);
	}
	if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED) {
		printf("%s: refused: the key was not generated on the chip, "
		       "or has been extractable (%s)\n", label,
		       bcctl_ckr_name(rv));
		goto close;
	}
	if (rv != CKR_OK) {
		bcctl_err("BC_AttestKey: %s", bcctl_ckr_name(rv));
		goto close;
	}
	{
		const unsigned char *q = der;

		cert = d2i_X509(NULL, &q, (long)dlen);
		if (!cert || q != der + dlen) {
			bcctl_err("BC_AttestKey answered no certificate");
			goto close;
		}
	}
	v = judge(&p, h, priv, pub, cert, nonce, o, &s, why, sizeof(why));
	if (o->pem) {
		PEM_write_X509(stdout, cert);
		/* The exit status alone would not say why: stderr does. */
		if (v)
			bcctl_err("%s: NOT verified: %s", label, why);
	} else if (o->json) {
		struct json j;
		char hx[520];

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "label", label);
		json_str(&j, "token", p.token);
		json_str(&j, "device", p.device);
		json_bool(&j, "verified", v == 0);
		json_str(&j, "reason", v ? why : NULL);
		if (s.version) {
			json_obj_begin(&j, "statement");
			json_str(&j, "chip_serial", s.serial);
			json_i64(&j, "handle", s.handle);
			json_i64(&j, "key_type", s.key_type);
			json_i64(&j, "mechanism", s.mech);
			json_bool(&j, "local", s.local);
			json_bool(&j, "never_extractable",
				  s.never_extractable);
			json_bool(&j, "always_sensitive", s.always_sensitive);
			json_bool(&j, "token_object", s.token);
			hex(hx, sizeof(hx), s.id, s.id_len);
			json_str(&j, "id", hx);
			hex(hx, sizeof(hx), s.nonce, s.nonce_len);
			json_str(&j, "nonce", hx);
			json_obj_end(&j);
		}
		bcctl_json_cert(&j, "certificate", cert);
		json_obj_end(&j);
	} else {
		char hx[520];

		bcctl_print_cert(stdout, "key attestation certificate", cert);
		if (s.version) {
			printf("statement:\n");
			printf("  chip:        %s, handle %ld\n", s.serial,
			       s.handle);
			printf("  key type:    0x%lx, generated with mechanism "
			       "0x%lx\n", (unsigned long)s.key_type,
			       (unsigned long)s.mech);
			printf("  flags:       local=%d never_extractable=%d "
			       "always_sensitive=%d token=%d\n", s.local,
			       s.never_extractable, s.always_sensitive,
			       s.token);
			hex(hx, sizeof(hx), s.nonce, s.nonce_len);
			printf("  nonce:       %s\n", hx);
		}
		if (v == 0)
			printf("%s: verified: generated on chip %s, never "
			       "extractable; chain holds against %s\n",
			       label, s.serial, o->ca);
		else
			printf("%s: NOT verified: %s\n", label, why);
	}
	ret = v == 0 ? EXIT_OK : EXIT_ERR;
close:
	X509_free(cert);
	free(der);
	bcctl_p11_close(&p);
	return ret;
}

/* RFC 3986 percent-encoding of everything but unreserved characters. */
static void pct(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, cap - n, "%%%02X", c);
	}
	out[n] = 0;
}

static int do_export_ref(const char *label, const struct attest_opts *o,
			 const char *outfile)
{
	char tok[BCFW_LABEL_LEN * 3 + 1], obj[256 * 3 + 1], uri[1024];
	const char *token = o->p11.token;
	struct bcctl_p11 p;
	FILE *f = stdout;
	int ret;

	memset(&p, 0, sizeof(p));
	if (strlen(label) > 255) {
		bcctl_err("label too long");
		return EXIT_USAGE;
	}
	if (!token) {
		/* The token's label is what the URI names it by. */
		ret = bcctl_p11_open(&p, &o->p11, true);
		if (ret)
			return ret;
		token = p.token;
	}
	pct(tok, sizeof(tok), token);
	pct(obj, sizeof(obj), label);
	snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=%s;type=private",
		 tok, obj);
	bcctl_p11_close(&p);
	if (outfile) {
		f = fopen(outfile, "wx");
		if (!f) {
			bcctl_err("%s: %s", outfile, strerror(errno));
			return EXIT_ERR;
		}
	}
	ret = bc_keyref_write_pem(f, uri);
	if (outfile && fclose(f) && !ret)
		ret = -errno;
	if (ret) {
		bcctl_err("writing the key reference: %s", strerror(-ret));
		return EXIT_ERR;
	}
	return EXIT_OK;
}

static const char key_help[] =
	"Usage: bcctl key attest [--ca FILE] [--host-time] [--json | --pem]\n"
	"                        [PIN] [COMMON] LABEL\n"
	"       bcctl key export-ref [--out FILE] [COMMON] LABEL\n"
	"attest:     asks the chip (BC_AttestKey, with a fresh nonce) for a\n"
	"            statement that the private key labelled LABEL was\n"
	"            generated on the chip and cannot leave it; prints it and\n"
	"            verifies it: issued by the chip's identity certificate,\n"
	"            which the CA file vouches for (--ca, else $BCCHIP_CA,\n"
	"            else /etc/bcchip/ca.pem), at the chip's clock (or\n"
	"            --host-time), carrying the nonce, its public key the\n"
	"            key's public half (the public key object of that label).\n"
	"            Exit 0 verified, 1 refused or not verified.\n"
	"export-ref: prints (or writes to a new FILE) a PEM key reference\n"
	"            naming the key by pkcs11: URI (token and object), for\n"
	"            the OpenSSL provider (docs/openssl.md).\n"
	"PIN: --pin-file F or --pin-env VAR (else a prompt on /dev/tty).\n"
	"COMMON: --module PATH (default $BCCHIP_PKCS11_MODULE, else the\n"
	"  installed module), --token LABEL, --device DEVICE.\n"
	"Exit status: 0 success, 1 error, 2 usage.\n";

enum { O_PIN_FILE = 256, O_PIN_ENV, O_MODULE, O_TOKEN, O_DEVICE, O_CA,
       O_HOST_TIME, O_OUT };

int cmd_key(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "pem", no_argument, NULL, 'p' },
		{ "pin-file", required_argument, NULL, O_PIN_FILE },
		{ "pin-env", required_argument, NULL, O_PIN_ENV },
		{ "module", required_argument, NULL, O_MODULE },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "ca", required_argument, NULL, O_CA },
		{ "host-time", no_argument, NULL, O_HOST_TIME },
		{ "out", required_argument, NULL, O_OUT },
		{ NULL, 0, NULL, 0 },
	};
	struct attest_opts o;
	const char *sub, *out = NULL;
	int c;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "hjp", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(key_help, stdout);
			return EXIT_OK;
		case 'j': o.json = true; break;
		case 'p': o.pem = true; break;
		case O_PIN_FILE: o.pin.file = optarg; break;
		case O_PIN_ENV: o.pin.env = optarg; break;
		case O_MODULE: o.p11.module = optarg; break;
		case O_TOKEN: o.p11.token = optarg; break;
		case O_DEVICE: o.p11.device = optarg; break;
		case O_CA: o.ca = optarg; break;
		case O_HOST_TIME: o.host_time = true; break;
		case O_OUT: out = optarg; break;
		default:
			fputs(key_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		bcctl_err("key: attest or export-ref?");
		return EXIT_USAGE;
	}
	sub = argv[optind++];
	if (strcmp(sub, "attest") && strcmp(sub, "export-ref")) {
		bcctl_err("key: unknown subcommand '%s'", sub);
		return EXIT_USAGE;
	}
	if (argc - optind != 1) {
		bcctl_err("key %s takes one LABEL", sub);
		return EXIT_USAGE;
	}
	if (o.pin.file && o.pin.env) {
		bcctl_err("a PIN comes from a file or a variable, not both");
		return EXIT_USAGE;
	}
	o.ca = bcctl_ca_path(o.ca);
	if (!strcmp(sub, "attest"))
		return do_attest(argv[optind], &o);
	return do_export_ref(argv[optind], &o, out);
}

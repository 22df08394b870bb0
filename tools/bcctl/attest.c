// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl attestation show|verify|refresh: the chip's certificate chain
 * (manufacturer CA -> identity certificate -> attestation certificate),
 * fetched with ATTEST_CHAIN (user class: no session, no login) and
 * checked with libcrypto.  docs/attestation.md describes the
 * certificates.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bcctl.h"

#define CA_DEFAULT "/etc/bcchip/ca.pem"
/* The project's certificate extensions (docs/attestation.md). */
#define OID_ARC "2.25.131368795026701721289478216230416831188"
#define OID_CHIP_STATE OID_ARC ".1"
#define OID_KEY_ATTEST OID_ARC ".2"

const char *bcctl_ca_path(const char *opt)
{
	const char *env = getenv("BCCHIP_CA");

	if (opt)
		return opt;
	return env && *env ? env : CA_DEFAULT;
}

/* Certificates of a bcfw_cert_list body; returns how many, or -EBADMSG. */
static int parse_cert_list(const uint8_t *p, size_t len, X509 **out,
			   int max)
{
	const struct bcfw_cert_list *h = (const void *)p;
	size_t off = sizeof(*h);
	uint32_t count;

	if (len < sizeof(*h) || h->reserved)
		return -EBADMSG;
	count = le32toh(h->count);
	if (count != (uint32_t)max)
		return -EBADMSG;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t clen, zero;
		const unsigned char *der;

		if (len - off < 8)
			goto bad;
		memcpy(&clen, p + off, 4);
		memcpy(&zero, p + off + 4, 4);
		clen = le32toh(clen);
		off += 8;
		if (zero || clen == 0 || clen > len - off ||
		    BCFW_ALIGN8(clen) > len - off)
			goto bad;
		der = p + off;
		out[i] = d2i_X509(NULL, &der, clen);
		if (!out[i] || der != p + off + clen) {
			X509_free(out[i]);
			out[i] = NULL;
			goto bad;
		}
		for (size_t k = clen; k < BCFW_ALIGN8(clen); k++)
			if (p[off + k])
				goto bad;
		off += BCFW_ALIGN8(clen);
	}
	/* Nothing may follow the last certificate. */
	if (off != len)
		goto bad;
	return (int)count;
bad:
	for (uint32_t i = 0; i < count; i++) {
		X509_free(out[i]);
		out[i] = NULL;
	}
	return -EBADMSG;
}

int bcctl_chain_fetch(const char *device, struct bcctl_chain *c,
		      struct bcctl_status *st)
{
	struct bc_transport *t;
	X509 *certs[2] = { NULL, NULL };
	struct bc_frame_view v;
	uint8_t *buf;
	size_t got;
	int ret, n;

	memset(c, 0, sizeof(*c));
	buf = malloc(BCFW_HDR_SIZE + 65536);
	if (!buf)
		return -ENOMEM;
	ret = bc_transport_open(device, &t);
	if (ret) {
		free(buf);
		return ret;
	}
	/* bc_transport_call() is for small answers; a chain is not. */
	{
		uint8_t req[BCFW_HDR_SIZE];
		size_t req_len = bc_frame_build(req, sizeof(req),
						BCFW_OP_ATTEST_CHAIN, 0, NULL,
						0);
		uint32_t fw = 0;

		ret = bc_transport_cmd(t, req, req_len, buf,
				       BCFW_HDR_SIZE + 65536, &got, &fw, NULL);
		if (!ret && fw != BCFW_S_OK)
			ret = -EREMOTEIO;
		if (!ret && bc_frame_parse(buf, got, BCFW_OP_ATTEST_CHAIN, 0,
					   &v))
			ret = -EBADMSG;
	}
	if (!ret && st)
		ret = bcctl_attest_status_frames(t, st);
	if (!ret && st) {
		struct bc_info bi;

		/* The serial the device answers with (GET_INFO), for
		 * comparing with the verified one. */
		memset(&bi, 0, sizeof(bi));
		ret = bc_transport_info(t, &bi);
		if (!ret)
			bc_field_to_str(st->serial, bi.chip.serial,
					BCFW_SERIAL_LEN);
		bcctl_clean_str(st->serial);
	}
	bc_transport_close(t);
	if (!ret) {
		n = parse_cert_list(v.body, v.body_len, certs, 2);
		if (n == 2) {
			c->identity = certs[0];
			c->attest = certs[1];
		} else {
			if (n > 0)
				X509_free(certs[0]);
			ret = -EBADMSG;
		}
	}
	free(buf);
	return ret;
}

void bcctl_chain_free(struct bcctl_chain *c)
{
	X509_free(c->identity);
	X509_free(c->attest);
	c->identity = c->attest = NULL;
}

static void ossl_why(char *why, size_t whylen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, whylen, "%s: %s", what, buf);
	} else {
		snprintf(why, whylen, "%s", what);
	}
	ERR_clear_error();
}

void *bcctl_ca_store(const char *ca_file, char *why, size_t whylen)
{
	X509_STORE *store = X509_STORE_new();

	if (!store) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (X509_STORE_load_file(store, ca_file) != 1) {
		char what[512];

		snprintf(what, sizeof(what), "cannot load CA file %s",
			 ca_file);
		ossl_why(why, whylen, what);
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

/* How many times @oid appears among @cert's extensions. */
static int ext_count(X509 *cert, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int n = 0, i = -1;

	if (!o)
		return -1;
	while ((i = X509_get_ext_by_OBJ(cert, o, i)) >= 0)
		n++;
	ASN1_OBJECT_free(o);
	return n;
}

static int asn1_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The chip serial: the identity subject's one serialNumber, printable. */
static int identity_serial(X509 *identity, char *out, size_t cap)
{
	const X509_NAME *n = X509_get_subject_name(identity);
	int i = X509_NAME_get_index_by_NID(n, NID_serialNumber, -1);
	const ASN1_STRING *d;
	const unsigned char *b;
	int len;

	if (i < 0 || X509_NAME_get_index_by_NID(n, NID_serialNumber, i) >= 0)
		return -1;
	d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	if (ASN1_STRING_type(d) != V_ASN1_PRINTABLESTRING)
		return -1;
	b = ASN1_STRING_get0_data(d);
	len = ASN1_STRING_length(d);
	if (len < 1 || (size_t)len >= cap || len > BCFW_SERIAL_LEN)
		return -1;
	for (int k = 0; k < len; k++)
		if (b[k] < 0x20 || b[k] > 0x7e)
			return -1;
	memcpy(out, b, (size_t)len);
	out[len] = 0;
	return 0;
}

int bcctl_leaf_verify(void *leafp, void *identityp, const char *ca_file,
		      time_t at, enum bcctl_leaf kind,
		      struct bcctl_verified *v, char *why, size_t whylen)
{
	X509 *leaf = leafp, *identity = identityp;
	const char *what = kind == BCCTL_LEAF_ATTEST ?
			   "attestation certificate" :
			   "key attestation certificate";
	X509_STORE *store;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	STACK_OF(X509) *chain;
	X509_VERIFY_PARAM *param;
	int ret = -ENOMEM, own, other;

	memset(v, 0, sizeof(*v));
	store = bcctl_ca_store(ca_file, why, whylen);
	if (!store)
		return -ENOENT;
	untrusted = sk_X509_new_null();
	ctx = X509_STORE_CTX_new();
	if (!untrusted || !ctx || !sk_X509_push(untrusted, identity) ||
	    X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	/* CA -> identity -> leaf: one intermediate, no more. */
	X509_VERIFY_PARAM_set_depth(param, 1);
	X509_STORE_CTX_set_time(ctx, 0, at);
	ret = 1;
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		snprintf(why, whylen, "%s: %s (at depth %d)", what,
			 X509_verify_cert_error_string(e),
			 X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (!chain || sk_X509_num(chain) != 3 ||
	    X509_cmp(sk_X509_value(chain, 1), identity)) {
		snprintf(why, whylen, "%s: not issued by the chip's identity "
			 "certificate under the CA", what);
		goto out;
	}
	/* The path check takes any CA; the identity is one of pathlen 0. */
	if (X509_check_ca(identity) != 1 || X509_get_pathlen(identity) != 0) {
		snprintf(why, whylen, "identity certificate is not a CA "
			 "certificate of path length 0");
		goto out;
	}
	if (X509_check_ca(leaf) != 0) {
		snprintf(why, whylen, "%s: is a CA certificate", what);
		goto out;
	}
	if (identity_serial(identity, v->serial, sizeof(v->serial))) {
		snprintf(why, whylen, "identity certificate: no chip serial "
			 "(serialNumber) in its subject");
		goto out;
	}
	own = ext_count(leaf, kind == BCCTL_LEAF_ATTEST ? OID_CHIP_STATE :
							   OID_KEY_ATTEST);
	other = ext_count(leaf, kind == BCCTL_LEAF_ATTEST ? OID_KEY_ATTEST :
							     OID_CHIP_STATE);
	if (own != 1 || other != 0) {
		snprintf(why, whylen, "%s: wrong extensions for its kind (a "
			 "certificate of another kind?)", what);
		goto out;
	}
	if (kind == BCCTL_LEAF_ATTEST &&
	    EVP_PKEY_eq(X509_get0_pubkey(leaf),
			X509_get0_pubkey(identity)) != 1) {
		snprintf(why, whylen, "%s: its key is not the identity key",
			 what);
		goto out;
	}
	if (asn1_time_t(X509_get0_notBefore(leaf), &v->not_before) ||
	    asn1_time_t(X509_get0_notAfter(leaf), &v->not_after)) {
		snprintf(why, whylen, "%s: unreadable validity", what);
		goto out;
	}
	ret = 0;
out:
	if (ret)
		memset(v, 0, sizeof(*v));
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	ERR_clear_error();
	return ret;
}

static void asn1_time_str(const ASN1_TIME *t, char *out, size_t cap)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "-");
}

static void name_str(const X509_NAME *n, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	long len;
	char *p;

	out[0] = 0;
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(b, &p);
		if (len > 0)
			snprintf(out, cap, "%.*s", (int)len, p);
	}
	BIO_free(b);
}

/* Our extension's value (the OCTET STRING contents) as hex, if any. */
static int ext_hex(X509 *cert, char *out, size_t cap, const char **which)
{
	static const char *const oids[] = { OID_CHIP_STATE, OID_KEY_ATTEST };
	static const char *const names[] = { "chip state", "key attestation" };

	out[0] = 0;
	for (int k = 0; k < 2; k++) {
		ASN1_OBJECT *o = OBJ_txt2obj(oids[k], 1);
		int i = o ? X509_get_ext_by_OBJ(cert, o, -1) : -1;

		ASN1_OBJECT_free(o);
		if (i >= 0) {
			X509_EXTENSION *e = X509_get_ext(cert, i);
			const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
			const unsigned char *d = ASN1_STRING_get0_data(v);
			int len = ASN1_STRING_length(v);
			size_t n = 0;

			for (int b = 0; b < len && n + 3 < cap; b++)
				n += (size_t)snprintf(out + n, cap - n,
						      "%02x", d[b]);
			*which = names[k];
			return len;
		}
	}
	return -1;
}

/* ChipState (docs/attestation.md), decoded. */
struct chip_state {
	long version, fw[2], hw[2], generation;
	long max_sessions, engines, max_objects, period;
	char serial[BCFW_SERIAL_LEN + 1], model[65], refresh[32];
};

static int der_version(const unsigned char **p, long *avail, long v[2])
{
	const unsigned char *c;
	long clen;

	if (bcctl_der_take(p, avail, V_ASN1_SEQUENCE, &c, &clen) ||
	    bcctl_der_long(&c, &clen, &v[0]) ||
	    bcctl_der_long(&c, &clen, &v[1]) || clen)
		return -1;
	return 0;
}

static int parse_chip_state(X509 *cert, struct chip_state *s)
{
	ASN1_OBJECT *o = OBJ_txt2obj(OID_CHIP_STATE, 1);
	int i = o ? X509_get_ext_by_OBJ(cert, o, -1) : -1;
	const unsigned char *p, *c, *cfg;
	long avail, clen, cfglen, l1, l2, l3;

	ASN1_OBJECT_free(o);
	if (i < 0)
		return -1;
	{
		const ASN1_OCTET_STRING *v =
			X509_EXTENSION_get_data(X509_get_ext(cert, i));

		p = ASN1_STRING_get0_data(v);
		avail = ASN1_STRING_length(v);
	}
	memset(s, 0, sizeof(*s));
	if (bcctl_der_take(&p, &avail, V_ASN1_SEQUENCE, &c, &clen) || avail)
		return -1;
	if (bcctl_der_long(&c, &clen, &s->version) ||
	    bcctl_der_octets(&c, &clen, (unsigned char *)s->serial,
			     sizeof(s->serial), &l1, V_ASN1_PRINTABLESTRING) ||
	    bcctl_der_octets(&c, &clen, (unsigned char *)s->model,
			     sizeof(s->model), &l2, V_ASN1_UTF8STRING) ||
	    der_version(&c, &clen, s->fw) || der_version(&c, &clen, s->hw) ||
	    bcctl_der_long(&c, &clen, &s->generation) ||
	    bcctl_der_octets(&c, &clen, (unsigned char *)s->refresh,
			     sizeof(s->refresh), &l3,
			     V_ASN1_GENERALIZEDTIME) ||
	    bcctl_der_take(&c, &clen, V_ASN1_SEQUENCE, &cfg, &cfglen) ||
	    bcctl_der_long(&cfg, &cfglen, &s->max_sessions) ||
	    bcctl_der_long(&cfg, &cfglen, &s->engines) ||
	    bcctl_der_long(&cfg, &cfglen, &s->max_objects) ||
	    bcctl_der_long(&cfg, &cfglen, &s->period) || cfglen || clen) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	s->serial[l1] = 0;
	s->model[l2] = 0;
	s->refresh[l3] = 0;
	if (strlen(s->serial) != (size_t)l1 || strlen(s->model) != (size_t)l2 ||
	    strlen(s->refresh) != (size_t)l3) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	/* Chip text, to be printed: embedded NULs end it, the rest is
	 * cleaned. */
	bcctl_clean_str(s->serial);
	bcctl_clean_str(s->model);
	bcctl_clean_str(s->refresh);
	return 0;
}

int bcctl_chain_verify(const struct bcctl_chain *c, const char *ca_file,
		       time_t at, struct bcctl_verified *v, char *why,
		       size_t whylen)
{
	struct chip_state cs;
	int ret;

	ret = bcctl_leaf_verify(c->attest, c->identity, ca_file, at,
				BCCTL_LEAF_ATTEST, v, why, whylen);
	if (ret)
		return ret;
	if (parse_chip_state(c->attest, &cs) || cs.version != 1) {
		snprintf(why, whylen, "attestation certificate: unreadable "
			 "chip state extension");
		ret = 1;
	} else if (strcmp(cs.serial, v->serial)) {
		snprintf(why, whylen, "attestation certificate: its chip "
			 "state names another chip than the identity");
		ret = 1;
	}
	if (ret)
		memset(v, 0, sizeof(*v));
	return ret;
}

static void serial_str(X509 *cert, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, cap, "%s", hex ? hex : "-");
	OPENSSL_free(hex);
	BN_free(bn);
}

static void key_str(X509 *cert, char *out, size_t cap)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	char group[64];
	size_t gl = 0;

	if (!pk) {
		snprintf(out, cap, "-");
		return;
	}
	if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &gl) == 1)
		snprintf(out, cap, "%s %s", EVP_PKEY_get0_type_name(pk),
			 group);
	else
		snprintf(out, cap, "%s %d bits", EVP_PKEY_get0_type_name(pk),
			 EVP_PKEY_get_bits(pk));
}

void bcctl_print_cert(FILE *f, const char *title, void *certp)
{
	X509 *cert = certp;
	char a[512], b[64];
	const char *which = NULL;
	struct chip_state cs;
	int n;

	fprintf(f, "%s:\n", title);
	name_str(X509_get_subject_name(cert), a, sizeof(a));
	fprintf(f, "  subject:     %s\n", a);
	name_str(X509_get_issuer_name(cert), a, sizeof(a));
	fprintf(f, "  issuer:      %s\n", a);
	serial_str(cert, a, sizeof(a));
	fprintf(f, "  serial:      %s\n", a);
	asn1_time_str(X509_get0_notBefore(cert), a, sizeof(a));
	asn1_time_str(X509_get0_notAfter(cert), b, sizeof(b));
	fprintf(f, "  valid:       %s .. %s\n", a, b);
	key_str(cert, a, sizeof(a));
	fprintf(f, "  key:         %s\n", a);
	if (!parse_chip_state(cert, &cs)) {
		fprintf(f, "  chip state:  serial %s, model %s, firmware "
			"%ld.%ld, hardware %ld.%ld\n", cs.serial, cs.model,
			cs.fw[0], cs.fw[1], cs.hw[0], cs.hw[1]);
		fprintf(f, "               generation %ld, refreshed %s\n",
			cs.generation, cs.refresh);
		fprintf(f, "               %ld sessions, %ld engines, %ld "
			"objects, refresh every %ld s\n", cs.max_sessions,
			cs.engines, cs.max_objects, cs.period);
		return;
	}
	n = ext_hex(cert, a, sizeof(a), &which);
	if (n >= 0)
		fprintf(f, "  %s: %s%s\n", which, a,
			(size_t)n * 2 >= sizeof(a) - 3 ? "..." : "");
}

void bcctl_json_cert(struct json *j, const char *key, void *certp)
{
	X509 *cert = certp;
	char a[512];
	const char *which = NULL;
	struct chip_state cs;
	BIO *b;

	json_obj_begin(j, key);
	name_str(X509_get_subject_name(cert), a, sizeof(a));
	json_str(j, "subject", a);
	name_str(X509_get_issuer_name(cert), a, sizeof(a));
	json_str(j, "issuer", a);
	serial_str(cert, a, sizeof(a));
	json_str(j, "serial", a);
	asn1_time_str(X509_get0_notBefore(cert), a, sizeof(a));
	json_str(j, "not_before", a);
	asn1_time_str(X509_get0_notAfter(cert), a, sizeof(a));
	json_str(j, "not_after", a);
	key_str(cert, a, sizeof(a));
	json_str(j, "key", a);
	if (ext_hex(cert, a, sizeof(a), &which) >= 0)
		json_str(j, "extension", a);
	if (!parse_chip_state(cert, &cs)) {
		json_obj_begin(j, "chip_state");
		json_str(j, "serial", cs.serial);
		json_str(j, "model", cs.model);
		snprintf(a, sizeof(a), "%ld.%ld", cs.fw[0], cs.fw[1]);
		json_str(j, "firmware", a);
		snprintf(a, sizeof(a), "%ld.%ld", cs.hw[0], cs.hw[1]);
		json_str(j, "hardware", a);
		json_i64(j, "generation", cs.generation);
		json_str(j, "refresh_time", cs.refresh);
		json_i64(j, "max_sessions", cs.max_sessions);
		json_i64(j, "engines", cs.engines);
		json_i64(j, "max_objects", cs.max_objects);
		json_i64(j, "attest_period", cs.period);
		json_obj_end(j);
	}
	b = BIO_new(BIO_s_mem());
	if (b && PEM_write_bio_X509(b, cert)) {
		char *p;
		long len = BIO_get_mem_data(b, &p);
		char *s = malloc((size_t)len + 1);

		if (s) {
			memcpy(s, p, (size_t)len);
			s[len] = 0;
			json_str(j, "pem", s);
			free(s);
		}
	}
	BIO_free(b);
	json_obj_end(j);
}

static const char attest_help[] =
	"Usage: bcctl attestation show [--json] [--pem] [DEVICE]\n"
	"       bcctl attestation verify [--ca FILE] [--chip-time]\n"
	"                    [--max-skew SECONDS] [--chain FILE] [--json]\n"
	"                    [DEVICE]\n"
	"       bcctl attestation refresh [--json] [DEVICE]\n"
	"show:    the chain (identity certificate, issued by the\n"
	"         manufacturer CA; attestation certificate, issued by the\n"
	"         identity key) and its validity; --pem prints the chain\n"
	"         as PEM, attestation certificate first.\n"
	"verify:  checks the chain against the CA certificate file (--ca,\n"
	"         else $BCCHIP_CA, else " CA_DEFAULT ") at this host's\n"
	"         time, that it names the device's serial, and that the\n"
	"         chip clock is within --max-skew seconds (default 86400)\n"
	"         of this host's.  --chip-time: check at the chip's clock\n"
	"         instead, whatever its skew.  --chain FILE: a chain saved\n"
	"         by show --pem, checked at this host's time, no device.\n"
	"         It proves the certificates, not that the device holds\n"
	"         the identity key now (bcctl key attest does, with a\n"
	"         nonce).  Exit 0: it holds, 1: it does not, 3: could not\n"
	"         be checked.\n"
	"refresh: asks the chip for a new attestation certificate now\n"
	"         (administrator: CAP_SYS_ADMIN on a kernel device).\n"
	"Exit status: 0 success, 1 error, 2 usage (verify: see above).\n";

enum { EXIT_UNCHECKED = 3 };

struct verify_opts {
	const char *chain;
	bool chip_time;
	long max_skew;
};

static int do_show(const char *device, bool json, bool pem)
{
	struct bcctl_status st;
	struct bcctl_chain c;
	int ret;

	memset(&st, 0, sizeof(st));
	ret = bcctl_chain_fetch(device, &c, &st);
	if (ret) {
		bcctl_err("%s: attestation chain: %s", device,
			  bcctl_errno_text(ret));
		return EXIT_ERR;
	}
	if (pem) {
		PEM_write_X509(stdout, c.attest);
		PEM_write_X509(stdout, c.identity);
	} else if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "device", device);
		json_time(&j, "chip_time", st.chip_time);
		json_u64(&j, "generation", st.attest_generation);
		json_time(&j, "last_refresh", st.last_refresh);
		json_time(&j, "next_refresh", st.next_refresh);
		bcctl_json_cert(&j, "identity", c.identity);
		bcctl_json_cert(&j, "attestation", c.attest);
		json_obj_end(&j);
	} else {
		char a[40], b[40];

		printf("device:        %s\n", device);
		bcctl_fmt_time(st.chip_time, a, sizeof(a));
		printf("chip clock:    %s\n", a);
		bcctl_fmt_time(st.last_refresh, a, sizeof(a));
		bcctl_fmt_time(st.next_refresh, b, sizeof(b));
		printf("refresh:       generation %u, last %s, next %s\n",
		       st.attest_generation, a, b);
		bcctl_print_cert(stdout, "identity certificate", c.identity);
		bcctl_print_cert(stdout, "attestation certificate", c.attest);
	}
	bcctl_chain_free(&c);
	return EXIT_OK;
}

/* A chain saved by show --pem: attestation certificate, then identity. */
static int chain_load(const char *file, struct bcctl_chain *c)
{
	FILE *f = fopen(file, "r");

	memset(c, 0, sizeof(*c));
	if (!f)
		return -errno;
	c->attest = PEM_read_X509(f, NULL, NULL, NULL);
	c->identity = c->attest ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	fclose(f);
	ERR_clear_error();
	if (!c->identity) {
		bcctl_chain_free(c);
		return -EBADMSG;
	}
	return 0;
}

int bcctl_parse_skew(const char *arg, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > 100L * 365 * 86400)
		return -1;
	*out = v;
	return 0;
}

static int do_verify(const char *device, const char *ca,
		     const struct verify_opts *o, bool json)
{
	struct bcctl_verified vf;
	struct bcctl_status st;
	struct bcctl_chain c;
	char why[512] = "", a[40];
	time_t now = time(NULL), at;
	int64_t skew = 0;
	int ret;

	memset(&st, 0, sizeof(st));
	if (o->chain) {
		ret = chain_load(o->chain, &c);
		if (ret) {
			bcctl_err("%s: %s", o->chain, ret == -EBADMSG ?
				  "not two PEM certificates" :
				  bcctl_errno_text(ret));
			return EXIT_UNCHECKED;
		}
		device = o->chain;
	} else {
		ret = bcctl_chain_fetch(device, &c, &st);
		if (ret) {
			bcctl_err("%s: attestation chain: %s", device,
				  bcctl_errno_text(ret));
			/* The chip answered and refused: that is a no. */
			return ret == -EREMOTEIO ? EXIT_ERR : EXIT_UNCHECKED;
		}
		skew = (int64_t)st.chip_time - (int64_t)now;
	}
	at = o->chip_time && !o->chain ? (time_t)st.chip_time : now;
	memset(&vf, 0, sizeof(vf));
	/* A wrong chip clock first: it explains the dates that follow. */
	if (!o->chain && !o->chip_time &&
	    (skew > o->max_skew || -skew > o->max_skew)) {
		snprintf(why, sizeof(why), "the chip clock is %lld s off this "
			 "host's (more than --max-skew %ld)",
			 (long long)skew, o->max_skew);
		ret = 1;
	} else {
		ret = bcctl_chain_verify(&c, ca, at, &vf, why, sizeof(why));
	}
	if (!ret && !o->chain && strcmp(vf.serial, st.serial)) {
		snprintf(why, sizeof(why), "the certificates are chip %s's, "
			 "the device says it is %s", vf.serial, st.serial);
		ret = 1;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "device", device);
		json_str(&j, "ca", ca);
		json_time(&j, "at", (uint64_t)at);
		json_str(&j, "clock", o->chip_time && !o->chain ? "chip" :
				      "host");
		if (!o->chain)
			json_i64(&j, "skew", skew);
		json_bool(&j, "verified", ret == 0);
		json_str(&j, "serial", ret ? NULL : vf.serial);
		if (!ret)
			json_time(&j, "not_after", (uint64_t)vf.not_after);
		json_str(&j, "reason", ret ? why : NULL);
		json_obj_end(&j);
	} else if (!ret) {
		bcctl_fmt_time((uint64_t)vf.not_after, a, sizeof(a));
		printf("%s: attestation chain verifies against %s: chip %s, "
		       "valid until %s, checked at %s time", device, ca,
		       vf.serial, a, o->chip_time && !o->chain ? "chip" :
		       "host");
		if (!o->chain)
			printf(", chip clock %+lld s from this host's",
			       (long long)skew);
		printf("\n");
	} else {
		printf("%s: attestation chain does NOT verify against %s: "
		       "%s\n", device, ca, why);
	}
	bcctl_chain_free(&c);
	if (ret < 0)
		return EXIT_UNCHECKED;
	return ret ? EXIT_ERR : EXIT_OK;
}

static int refresh_frames(const char *device, struct bcctl_status *st)
{
	struct bc_transport *t;
	struct bcfw_attest_status a;
	uint32_t fw = 0;
	size_t got;
	int ret = bc_transport_open(device, &t);

	if (ret)
		return ret;
	ret = bc_transport_call(t, BCFW_OP_ATTEST_REFRESH, 0, NULL, 0, &a,
				sizeof(a), &got, &fw, NULL);
	if (ret == -EREMOTEIO)
		bcctl_err("%s: the chip refused: %s", device,
			  bc_fw_status_name(fw));
	bc_transport_close(t);
	if (!ret)
		ret = bcctl_status_get(device, st);
	return ret;
}

static int do_refresh(const char *device, bool json)
{
	struct bcctl_status st;
	int index = bcctl_dev_index(device), ret = -EPROTONOSUPPORT;
	uint32_t before = 0;

	memset(&st, 0, sizeof(st));
	if (!bcctl_status_get(device, &st))
		before = st.attest_generation;
	if (index >= 0) {
		struct bcctl_nl *nl;

		ret = bcctl_nl_open(&nl);
		if (!ret) {
			ret = bcctl_nl_refresh(nl, index, &st);
			bcctl_nl_close(nl);
		}
		if (!ret)
			snprintf(st.device, sizeof(st.device), "%s", device);
	}
	if (ret == -EPROTONOSUPPORT)
		ret = refresh_frames(device, &st);
	if (ret) {
		bcctl_err("%s: refresh: %s", device, bcctl_errno_text(ret));
		return EXIT_ERR;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		bcctl_status_json(&j, &st);
	} else {
		char a[40];

		bcctl_fmt_time(st.not_after, a, sizeof(a));
		printf("%s: refreshed: generation %u -> %u, valid until %s\n",
		       device, before, st.attest_generation, a);
	}
	return st.failures && (st.health_flags & BCFW_HEALTH_REFRESH_FAILED)
	       ? EXIT_ERR : EXIT_OK;
}

int cmd_attestation(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "pem", no_argument, NULL, 'p' },
		{ "ca", required_argument, NULL, 'c' },
		{ "host-time", no_argument, NULL, 't' },
		{ "chip-time", no_argument, NULL, 'T' },
		{ "max-skew", required_argument, NULL, 'S' },
		{ "chain", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_opts vo = { NULL, false, 86400 };
	bool json = false, pem = false;
	const char *ca = NULL, *sub;
	char device[256];
	int c, ret;

	while ((c = getopt_long(argc, argv, "hjpc:tTS:F:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(attest_help, stdout);
			return EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'p':
			pem = true;
			break;
		case 'c':
			ca = optarg;
			break;
		case 't':
			/* The default now; kept for old scripts. */
			vo.chip_time = false;
			break;
		case 'T':
			vo.chip_time = true;
			break;
		case 'S':
			if (bcctl_parse_skew(optarg, &vo.max_skew)) {
				bcctl_err("--max-skew: not a number of "
					  "seconds: %s", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			vo.chain = optarg;
			break;
		default:
			fputs(attest_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		bcctl_err("attestation: show, verify or refresh?");
		fputs(attest_help, stderr);
		return EXIT_USAGE;
	}
	sub = argv[optind++];
	if (strcmp(sub, "show") && strcmp(sub, "verify") &&
	    strcmp(sub, "refresh")) {
		bcctl_err("attestation: unknown subcommand '%s'", sub);
		return EXIT_USAGE;
	}
	if (argc - optind > 1) {
		bcctl_err("attestation %s takes at most one DEVICE", sub);
		return EXIT_USAGE;
	}
	if (vo.chain && (strcmp(sub, "verify") || optind < argc)) {
		bcctl_err("--chain goes with verify and no DEVICE");
		return EXIT_USAGE;
	}
	if (vo.chain)
		return do_verify(NULL, bcctl_ca_path(ca), &vo, json);
	ret = bcctl_pick_device(optind < argc ? argv[optind] : NULL, device,
				sizeof(device));
	if (ret)
		return ret;
	if (!strcmp(sub, "show"))
		return do_show(device, json, pem);
	if (!strcmp(sub, "verify"))
		return do_verify(device, bcctl_ca_path(ca), &vo, json);
	return do_refresh(device, json);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Attestation of bcchip-emu (docs/attestation.md): the manufacturer CA,
 * the identity and attestation certificates checked with libcrypto, the
 * chip clock and refresh scheduler, events to subscribers, and key
 * attestation.  Usage: test_attest PATH-TO-bcchip-emu
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "emutest.h"

#include <p11-kit/pkcs11.h>

#define DAY		86400ULL
#define PERIOD_DFLT	(90 * DAY)
#define GRACE		(30 * DAY)
#define OID_STATE	"2.25.131368795026701721289478216230416831188.1"
#define OID_KEYATT	"2.25.131368795026701721289478216230416831188.2"

static char factory[300];

/* ---- token ---- */

static const char so_pin[] = "so-secret-1";
static const char user_pin[] = "user-1234";

static bool token_setup(int fd)
{
	struct b b = { 0 };
	uint8_t lab[BCFW_LABEL_LEN];
	uint32_t st;

	memset(lab, ' ', sizeof(lab));
	memcpy(lab, "attest", 6);
	b_put(&b, lab, sizeof(lab));
	b_u32(&b, (uint32_t)strlen(so_pin));
	b_u32(&b, 0);
	b_put(&b, so_pin, strlen(so_pin));
	st = call_b(fd, BCFW_OP_INIT_TOKEN, 0, &b, NULL, NULL);
	b_free(&b);
	return st == 0 && pin_op(fd, BCFW_OP_LOGIN, BCFW_USER_SO, so_pin) == 0 &&
		pin_op(fd, BCFW_OP_INIT_PIN, 0, user_pin) == 0 &&
		call(fd, BCFW_OP_LOGOUT, 0, NULL, 0, NULL, NULL) == 0 &&
		pin_op(fd, BCFW_OP_LOGIN, BCFW_USER_USER, user_pin) == 0;
}

static uint32_t session_open(int fd, uint32_t *h)
{
	struct bcfw_session_open_req req = { .flags = htole32(1) };
	uint8_t *out;
	size_t n;
	uint32_t st;

	st = call(fd, BCFW_OP_SESSION_OPEN, 0, &req, sizeof(req), &out, &n);
	*h = st == 0 && n == 8 ? le32_at(out) : 0;
	free(out);
	return st;
}

static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* A key pair: "p256" or "rsa2048"; @extractable for the private half. */
static uint32_t keypair(int fd, const char *kind, bool token,
			bool extractable, uint32_t *hpub, uint32_t *hpriv)
{
	struct b pub = { 0 }, priv = { 0 }, b = { 0 };
	uint8_t *out;
	size_t n;
	uint32_t mech, st;

	a_bool(&pub, CKA_TOKEN, token);
	a_bytes(&pub, CKA_ID, kind, strlen(kind));
	a_bool(&priv, CKA_TOKEN, token);
	a_bytes(&priv, CKA_ID, kind, strlen(kind));
	a_bool(&priv, CKA_EXTRACTABLE, extractable);
	if (!strcmp(kind, "rsa2048")) {
		mech = CKM_RSA_PKCS_KEY_PAIR_GEN;
		a_ul(&pub, CKA_MODULUS_BITS, 2048);
	} else {
		mech = CKM_EC_KEY_PAIR_GEN;
		a_bytes(&pub, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
	}
	b_u32(&b, pub.count);
	b_u32(&b, priv.count);
	b_u32(&b, mech);
	b_u32(&b, 0);
	b_put(&b, pub.p, pub.n);
	b_put(&b, priv.p, priv.n);
	st = call_b(fd, BCFW_OP_GENERATE_KEY_PAIR, 0, &b, &out, &n);
	*hpub = *hpriv = 0;
	if (st == 0 && n == 8) {
		*hpub = le32_at(out);
		*hpriv = le32_at(out + 4);
	}
	free(out);
	b_free(&b);
	b_free(&pub);
	b_free(&priv);
	return st;
}

/* Reads one attribute; its length, value malloc'd in *v. */

/* ---- attestation requests ---- */

static bool status(int fd, struct bcfw_attest_status *s)
{
	uint8_t *out;
	size_t n;
	bool ok;

	ok = call(fd, BCFW_OP_ATTEST_STATUS, 0, NULL, 0, &out, &n) == 0 &&
		n == sizeof(*s);
	if (ok)
		memcpy(s, out, sizeof(*s));
	else
		memset(s, 0, sizeof(*s));
	free(out);
	return ok;
}

static uint32_t test_clock(int fd, uint32_t flags, uint64_t t, uint32_t scale,
			   uint32_t fail, struct bcfw_attest_status *s)
{
	struct bcfw_test_clock_req r = {
		.flags = htole32(flags),
		.scale = htole32(scale),
		.time = htole64(t),
		.fail_refresh = htole32(fail),
	};
	uint8_t *out;
	size_t n;
	uint32_t st;

	st = call(fd, BCFW_OP_TEST_CLOCK, 0, &r, sizeof(r), &out, &n);
	if (s) {
		memset(s, 0, sizeof(*s));
		if (st == 0 && n == sizeof(*s))
			memcpy(s, out, sizeof(*s));
	}
	free(out);
	return st;
}

/* Splits a bcfw_cert_list; NULL-terminated X509 list, or NULL. */
static X509 **cert_list(const uint8_t *p, size_t n, uint32_t want)
{
	X509 **v;
	size_t off = 8;

	if (n < 8 || le32_at(p) != want || le32_at(p + 4))
		return NULL;
	v = calloc(want + 1, sizeof(*v));
	for (uint32_t i = 0; i < want; i++) {
		const unsigned char *q;
		uint32_t len;

		if (off + 8 > n || le32_at(p + off + 4))
			goto bad;
		len = le32_at(p + off);
		off += 8;
		if (off + len > n)
			goto bad;
		q = p + off;
		v[i] = d2i_X509(NULL, &q, len);
		if (!v[i] || q != p + off + len)
			goto bad;
		off += BCFW_ALIGN8(len);
		if (off > n)
			off = n;
	}
	if (off != n)
		goto bad;
	return v;
bad:
	for (uint32_t i = 0; i < want; i++)
		X509_free(v[i]);
	free(v);
	return NULL;
}

static void certs_free(X509 **v)
{
	for (X509 **p = v; p && *p; p++)
		X509_free(*p);
	free(v);
}

static X509 **chain(int fd)
{
	uint8_t *out;
	size_t n;
	X509 **v = NULL;

	if (call(fd, BCFW_OP_ATTEST_CHAIN, 0, NULL, 0, &out, &n) == 0)
		v = cert_list(out, n, 2);
	free(out);
	return v;
}

static uint32_t key_attest(int fd, uint32_t key, const void *nonce,
			   uint32_t nlen, X509 **cert)
{
	struct b b = { 0 };
	uint8_t *out;
	size_t n;
	uint32_t st;
	X509 **v;

	*cert = NULL;
	b_u32(&b, key);
	b_u32(&b, nlen);
	b_put(&b, nonce, nlen);
	st = call_b(fd, BCFW_OP_KEY_ATTEST, 0, &b, &out, &n);
	b_free(&b);
	if (st == 0) {
		v = cert_list(out, n, 1);
		if (v) {
			*cert = v[0];
			free(v);
		} else {
			st = NO_ANSWER;
		}
	}
	free(out);
	return st;
}

static X509 *load_ca(void)
{
	char path[400];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/ca.pem", factory);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* Verifies @leaf against the factory CA, @ident untrusted, at @when. */
static bool verify(X509 *ca, X509 *ident, X509 *leaf, uint64_t when)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	bool ok = false;

	if (st && ctx && untrusted && ca && ident && leaf &&
	    X509_STORE_add_cert(st, ca) == 1 &&
	    sk_X509_push(untrusted, ident) > 0 &&
	    X509_STORE_CTX_init(ctx, st, leaf, untrusted) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, (time_t)when);
		ok = X509_verify_cert(ctx) == 1;
	}
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

/* The DER of extension @oid of @x, as a sequence of parsed elements. */
static STACK_OF(ASN1_TYPE) *ext_seq(X509 *x, const char *oid)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int i = obj ? X509_get_ext_by_OBJ(x, obj, -1) : -1;
	X509_EXTENSION *e = i >= 0 ? X509_get_ext(x, i) : NULL;
	ASN1_OCTET_STRING *os = e ? X509_EXTENSION_get_data(e) : NULL;
	const unsigned char *p;
	STACK_OF(ASN1_TYPE) *seq = NULL;

	ASN1_OBJECT_free(obj);
	if (!os || X509_EXTENSION_get_critical(e))
		return NULL;
	p = ASN1_STRING_get0_data(os);
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(os));
	return seq;
}

static long seq_int(STACK_OF(ASN1_TYPE) *s, int i)
{
	ASN1_TYPE *t = sk_ASN1_TYPE_value(s, i);

	return t && t->type == V_ASN1_INTEGER ?
		ASN1_INTEGER_get(t->value.integer) : -1;
}

static int seq_bool(STACK_OF(ASN1_TYPE) *s, int i)
{
	ASN1_TYPE *t = sk_ASN1_TYPE_value(s, i);

	return t && t->type == V_ASN1_BOOLEAN ? t->value.boolean != 0 : -1;
}

/* A string element's bytes compared with @v. */
static bool seq_str(STACK_OF(ASN1_TYPE) *s, int i, int type, const void *v,
		    size_t n)
{
	ASN1_TYPE *t = sk_ASN1_TYPE_value(s, i);

	return t && t->type == type &&
		(size_t)ASN1_STRING_length(t->value.asn1_string) == n &&
		!memcmp(ASN1_STRING_get0_data(t->value.asn1_string), v, n);
}

static bool same_der(X509 *a, X509 *b)
{
	return a && b && X509_cmp(a, b) == 0;
}

static uint64_t st_u64(__le64 v)
{
	return le64toh(v);
}

/* Waits for an EVENT of @type on @fd; false after @ms. */
static bool wait_event(int fd, uint16_t type, int ms, struct bcem_event *ev)
{
	double until = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct reply r;
		int left = (int)(until - now_ms());

		if (left <= 0 || poll(&p, 1, left) != 1)
			return false;
		if (recv_env(fd, &r))
			return false;
		if (r.type == BCEM_EVENT && r.len == sizeof(*ev) &&
		    !r.client && !r.tag) {
			memcpy(ev, r.data, sizeof(*ev));
			free(r.data);
			if (le16toh(ev->type) == type)
				return true;
			continue;
		}
		free(r.data);
	}
}

static bool quiet(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 0;
}

static int subscriber(struct emu *e)
{
	int fd = conn_open(e);

	if (fd >= 0 && send_env(fd, BCEM_SUBSCRIBE, 0, 0, NULL, 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* True when the emulator hangs up on a malformed SUBSCRIBE. */
static bool bad_subscribe(struct emu *e, uint32_t client, const void *p,
			  uint32_t len)
{
	int fd = conn_open(e);
	struct reply r;
	bool closed;

	if (fd < 0)
		return false;
	if (send_env(fd, BCEM_SUBSCRIBE, client, 0, p, len)) {
		close(fd);
		return false;
	}
	closed = recv_env(fd, &r) != 0;
	if (!closed)
		free(r.data);
	close(fd);
	return closed;
}

/* ---- tests ---- */

static void test_chain(struct emu *e, X509 *ca)
{
	struct bcfw_attest_status s;
	struct bcfw_info info;
	STACK_OF(ASN1_TYPE) *st;
	uint64_t now = (uint64_t)time(NULL);
	int fd = conn_open(e);
	X509 **c;
	char path[400];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/ca.key", factory);
	check(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	      "factory: ca.key exists, mode 0600");
	check(ca != NULL, "factory: ca.pem parses");
	check(get_info(fd, &info), "GET_INFO");
	check(status(fd, &s), "ATTEST_STATUS answers");
	check(st_u64(s.now) + 5 >= now && st_u64(s.now) <= now + 5,
	      "status: chip clock follows the host (%llu vs %llu)",
	      (unsigned long long)st_u64(s.now), (unsigned long long)now);
	check(le32toh(s.generation) == 1 && le32toh(s.period) == PERIOD_DFLT &&
	      !s.health && !s.failures, "status: generation 1, 90-day "
	      "period, healthy (gen %u health %#x)", le32toh(s.generation),
	      le32toh(s.health));
	check(st_u64(s.not_after) - st_u64(s.not_before) == PERIOD_DFLT + GRACE &&
	      st_u64(s.last_refresh) == st_u64(s.not_before) &&
	      st_u64(s.next_refresh) == st_u64(s.last_refresh) + PERIOD_DFLT,
	      "status: validity = period + 30 days, next = last + period");
	check(call(fd, BCFW_OP_ATTEST_STATUS, 0, "x", 1, NULL, NULL) ==
	      BCFW_S_BAD_ARGS, "ATTEST_STATUS with a body: BAD_ARGS");

	c = chain(fd);
	check(c != NULL, "ATTEST_CHAIN: two certificates");
	if (!c) {
		close(fd);
		return;
	}
	check(verify(ca, c[0], c[1], st_u64(s.now)),
	      "CA -> identity -> attestation verifies with libcrypto");
	check(verify(ca, c[0], c[0], st_u64(s.now)),
	      "identity certificate verifies against the CA");
	check(X509_check_ca(c[0]) >= 1 && X509_check_ca(c[1]) == 0,
	      "identity is a CA, attestation is not");
	{
		EVP_PKEY *a = X509_get0_pubkey(c[0]);
		EVP_PKEY *b = X509_get0_pubkey(c[1]);

		check(a && b && EVP_PKEY_eq(a, b) == 1 &&
		      EVP_PKEY_get_bits(a) == 384,
		      "attestation key is the P-384 identity key");
	}
	{
		ASN1_TIME *nb = X509_get_notBefore(c[1]);
		ASN1_TIME *na = X509_get_notAfter(c[1]);
		int d1 = 0, s1 = 0, d2 = 0, s2 = 0;
		ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)st_u64(s.not_before));
		ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)st_u64(s.not_after));

		ASN1_TIME_diff(&d1, &s1, t1, nb);
		ASN1_TIME_diff(&d2, &s2, t2, na);
		check(!d1 && !s1 && !d2 && !s2,
		      "certificate validity = status window");
		ASN1_TIME_free(t1);
		ASN1_TIME_free(t2);
	}
	st = ext_seq(c[1], OID_STATE);
	check(st && sk_ASN1_TYPE_num(st) == 8, "chip state extension: 8 "
	      "elements, not critical");
	if (st) {
		ASN1_TYPE *cfg = sk_ASN1_TYPE_value(st, 7);
		STACK_OF(ASN1_TYPE) *cs = NULL;

		check(seq_int(st, 0) == 1 &&
		      seq_str(st, 1, V_ASN1_PRINTABLESTRING, info.serial, 16) &&
		      seq_str(st, 2, V_ASN1_UTF8STRING, "BC-1 emulated", 13) &&
		      seq_int(st, 5) == 1,
		      "chip state: version, serial, model, generation");
		if (cfg && cfg->type == V_ASN1_SEQUENCE) {
			const unsigned char *p =
				ASN1_STRING_get0_data(cfg->value.sequence);

			cs = d2i_ASN1_SEQUENCE_ANY(NULL, &p,
				ASN1_STRING_length(cfg->value.sequence));
		}
		check(cs && seq_int(cs, 0) == 64 && seq_int(cs, 1) == 4 &&
		      seq_int(cs, 2) == 4096 && seq_int(cs, 3) == (long)PERIOD_DFLT,
		      "chip state: configuration (sessions, engines, objects, "
		      "period)");
		sk_ASN1_TYPE_pop_free(cs, ASN1_TYPE_free);
		sk_ASN1_TYPE_pop_free(st, ASN1_TYPE_free);
	}
	check(ext_seq(c[0], OID_STATE) == NULL,
	      "identity certificate carries no chip state");
	certs_free(c);
	close(fd);
}

static void test_refresh(struct emu *e)
{
	static const uint8_t msg[] = "a session that lives through a refresh";
	struct bcfw_attest_status s0, s1;
	uint32_t hpub, hpriv, sess, st;
	int fd = conn_open(e);
	X509 **c0, **c1;
	uint8_t *v = NULL, sig[128];
	size_t sl = sizeof(sig);
	struct b b = { 0 };

	check(token_setup(fd), "token set up, user logged in");
	check(keypair(fd, "p256", true, false, &hpub, &hpriv) == 0,
	      "token key pair generated");
	check(session_open(fd, &sess) == 0, "session opened");
	/* A multi-part SIGN spans the refresh. */
	b_u32(&b, hpriv);
	b_u32(&b, 0);
	b_u32(&b, CKM_ECDSA_SHA256);
	b_u32(&b, 0);
	check(call_b(fd, BCFW_OP_SIGN_INIT, sess, &b, NULL, NULL) == 0,
	      "SIGN_INIT on the session");
	b_free(&b);
	b_u32(&b, 0);
	b_u32(&b, 0);
	b_put(&b, msg, sizeof(msg));
	check(call_b(fd, BCFW_OP_SIGN_UPDATE, sess, &b, NULL, NULL) == 0,
	      "SIGN_UPDATE before the refresh");
	b_free(&b);

	status(fd, &s0);
	c0 = chain(fd);
	check(call(fd, BCFW_OP_ATTEST_REFRESH, 0, NULL, 0, NULL, NULL) == 0,
	      "ATTEST_REFRESH");
	status(fd, &s1);
	c1 = chain(fd);
	check(le32toh(s1.generation) == le32toh(s0.generation) + 1,
	      "refresh bumps the generation (%u -> %u)",
	      le32toh(s0.generation), le32toh(s1.generation));
	check(c0 && c1 && same_der(c0[0], c1[0]) && !same_der(c0[1], c1[1]),
	      "refresh: new attestation certificate, same identity");

	b_u32(&b, (uint32_t)sizeof(sig));
	b_u32(&b, 0);
	{
		uint8_t *out;
		size_t n;

		st = call_b(fd, BCFW_OP_SIGN_FINAL, sess, &b, &out, &n);
		check(st == 0 && n >= 8 && le32_at(out) == 64,
		      "SIGN_FINAL after the refresh: the session continued");
		if (st == 0 && n >= 8)
			sl = le32_at(out);
		free(out);
	}
	b_free(&b);
	(void)sl;
	check(get_attr(fd, hpriv, CKA_ID, &v) == 4 && !memcmp(v, "p256", 4),
	      "token object handle unchanged after the refresh");
	free(v);
	check(call(fd, BCFW_OP_SESSION_CLOSE, sess, NULL, 0, NULL, NULL) == 0,
	      "session still open after the refresh");
	certs_free(c0);
	certs_free(c1);
	close(fd);
}

static void test_events(struct emu *e, X509 *ca)
{
	struct bcfw_attest_status s, s2;
	struct bcem_event ev;
	int fd = conn_open(e), sub = subscriber(e), other = conn_open(e), late;
	uint64_t na;
	X509 **c;

	check(sub >= 0 && other >= 0, "subscriber and plain connections");
	status(fd, &s);
	/* Let the SUBSCRIBE land before the event is raised. */
	usleep(100000);
	check(test_clock(fd, BCFW_CLOCK_SET_TIME, st_u64(s.next_refresh) + 10,
			 0, 0, &s2) == 0, "TEST_CLOCK: clock to the due time");
	check(le32toh(s2.generation) == le32toh(s.generation) + 1 &&
	      st_u64(s2.last_refresh) == st_u64(s.next_refresh) + 10,
	      "due refresh done at the new chip time (gen %u)",
	      le32toh(s2.generation));
	check(wait_event(sub, BCCHIP_EVENT_REFRESH_DONE, 3000, &ev) &&
	      le64toh(ev.arg0) == le32toh(s2.generation) &&
	      le64toh(ev.arg1) == st_u64(s2.not_after) &&
	      le64toh(ev.time) >= st_u64(s2.last_refresh) && !ev.status &&
	      !ev.seq, "subscriber gets REFRESH_DONE (generation, not_after)");
	check(quiet(other, 300), "a connection that did not subscribe gets "
	      "no event");
	c = chain(fd);
	check(c && verify(ca, c[0], c[1], st_u64(s2.now)),
	      "refreshed chain verifies at the chip's time");
	certs_free(c);
	/* Events are not kept for connections that subscribe later. */
	late = subscriber(e);
	check(late >= 0 && quiet(late, 300), "a later subscriber gets no "
	      "backlog");
	usleep(100000);

	/* Failing refreshes. */
	check(test_clock(fd, BCFW_CLOCK_SET_FAIL | BCFW_CLOCK_SET_TIME,
			 st_u64(s2.next_refresh), 0, 1, &s) == 0 &&
	      le32toh(s.failures) == 1 &&
	      (le32toh(s.health) & BCFW_HEALTH_REFRESH_FAILED) &&
	      le32toh(s.generation) == le32toh(s2.generation) &&
	      st_u64(s.next_refresh) == st_u64(s2.next_refresh) + DAY,
	      "fail_refresh: failure counted, health bit, retry in a day");
	check(wait_event(sub, BCCHIP_EVENT_REFRESH_FAILED, 3000, &ev) &&
	      le64toh(ev.arg0) == 1 && le64toh(ev.arg1) == st_u64(s.not_after),
	      "subscriber gets REFRESH_FAILED (failures, not_after)");
	check(wait_event(late, BCCHIP_EVENT_REFRESH_FAILED, 3000, &ev) &&
	      le64toh(ev.arg0) == 1, "every subscriber gets the event");
	close(late);
	check(call(fd, BCFW_OP_ATTEST_REFRESH, 0, NULL, 0, NULL, NULL) ==
	      CKR(CKR_DEVICE_ERROR), "forced refresh fails too");
	status(fd, &s);
	check(le32toh(s.failures) == 2, "failures in a row: 2");
	check(wait_event(sub, BCCHIP_EVENT_REFRESH_FAILED, 3000, &ev) &&
	      le64toh(ev.arg0) == 2, "second REFRESH_FAILED");

	/* Near expiry, once per certificate; then expired. */
	na = st_u64(s.not_after);
	check(test_clock(fd, BCFW_CLOCK_SET_TIME, na - 13 * DAY, 0, 0, &s) == 0 &&
	      (le32toh(s.health) & BCFW_HEALTH_NEAR_EXPIRY) &&
	      !(le32toh(s.health) & BCFW_HEALTH_EXPIRED),
	      "13 days before not_after: NEAR_EXPIRY health");
	check(wait_event(sub, BCCHIP_EVENT_NEAR_EXPIRY, 3000, &ev) &&
	      le64toh(ev.arg0) == na && le64toh(ev.arg1) <= 13 * DAY &&
	      le64toh(ev.arg1) + 60 >= 13 * DAY,
	      "subscriber gets NEAR_EXPIRY (not_after, seconds left)");
	check(test_clock(fd, BCFW_CLOCK_SET_TIME, na - 12 * DAY, 0, 0, &s) == 0,
	      "clock moved within the window");
	check(!wait_event(sub, BCCHIP_EVENT_NEAR_EXPIRY, 500, &ev),
	      "NEAR_EXPIRY only once per certificate");
	check(test_clock(fd, BCFW_CLOCK_SET_TIME, na + 1, 0, 0, &s) == 0 &&
	      (le32toh(s.health) & BCFW_HEALTH_EXPIRED) &&
	      !(le32toh(s.health) & BCFW_HEALTH_NEAR_EXPIRY),
	      "after not_after: EXPIRED health");
	c = chain(fd);
	check(c && !verify(ca, c[0], c[1], na + 1),
	      "expired attestation no longer verifies at chip time");
	certs_free(c);

	/* Recovery. */
	check(test_clock(fd, BCFW_CLOCK_SET_FAIL, 0, 0, 0, NULL) == 0 &&
	      call(fd, BCFW_OP_ATTEST_REFRESH, 0, NULL, 0, NULL, NULL) == 0,
	      "refresh works again once failures stop");
	status(fd, &s);
	check(!s.health && !s.failures, "healthy again after a refresh");
	check(wait_event(sub, BCCHIP_EVENT_REFRESH_DONE, 3000, &ev),
	      "REFRESH_DONE after recovery");

	/* The scheduler, on an accelerated clock: period 90 days in ~2 s. */
	status(fd, &s);
	check(test_clock(fd, BCFW_CLOCK_SET_SCALE, 0, 4000000, 0, NULL) == 0,
	      "TEST_CLOCK: scale 4000000");
	check(wait_event(sub, BCCHIP_EVENT_REFRESH_DONE, 8000, &ev) &&
	      le64toh(ev.arg0) == le32toh(s.generation) + 1,
	      "accelerated clock: the scheduler refreshes on its own");
	check(test_clock(fd, BCFW_CLOCK_SET_SCALE, 0, 1, 0, &s) == 0 &&
	      !s.health, "scale back to 1; healthy");
	check(test_clock(fd, BCFW_CLOCK_SET_SCALE, 0, 0, 0, NULL) ==
	      BCFW_S_BAD_ARGS && test_clock(fd, 0x80, 0, 1, 0, NULL) ==
	      BCFW_S_BAD_ARGS && test_clock(fd, BCFW_CLOCK_SET_FAIL, 0, 0, 2,
					   NULL) == BCFW_S_BAD_ARGS,
	      "TEST_CLOCK: bad scale, flags, fail value: BAD_ARGS");
	check(quiet(other, 100), "still nothing on the plain connection");
	check(bad_subscribe(e, 0, "x", 1),
	      "SUBSCRIBE with a payload closes the connection");
	check(bad_subscribe(e, 3, NULL, 0),
	      "SUBSCRIBE with a client id closes the connection");
	check(status(fd, &s), "emulator serves on");
	close(fd);
	close(sub);
	close(other);
}

/* Public key bytes of @pk: EC point or RSA modulus. */
static size_t pub_bytes(EVP_PKEY *pk, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	BIGNUM *bn = NULL;

	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY,
						    buf, cap, &n) != 1)
			return 0;
		return n;
	}
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn) != 1)
		return 0;
	n = (size_t)BN_bn2bin(bn, buf);
	BN_free(bn);
	return n;
}

/* The chip's public half of @hpub matches the certificate's key. */
static bool cert_key_is(int fd, X509 *x, uint32_t hpub, bool rsa)
{
	uint8_t buf[600], *v = NULL;
	size_t n = pub_bytes(X509_get0_pubkey(x), buf, sizeof(buf));
	uint32_t len;
	bool ok;

	if (rsa) {
		len = get_attr(fd, hpub, CKA_MODULUS, &v);
		ok = len == n && !memcmp(v, buf, n);
	} else {
		len = get_attr(fd, hpub, CKA_EC_POINT, &v);
		/* DER OCTET STRING around the point. */
		ok = len == n + 2 && !memcmp(v + 2, buf, n);
	}
	free(v);
	return ok && n;
}

static void test_key_attest(struct emu *e, X509 *ca)
{
	static const uint8_t nonce[] = "fresh-nonce-0123456789";
	uint32_t ecpub, ecpriv, rpub, rpriv, xpub, xpriv, h;
	struct bcfw_attest_status s;
	int fd = conn_open(e), fd2 = conn_open(e);
	X509 **c = chain(fd), *k = NULL;
	STACK_OF(ASN1_TYPE) *st;
	struct b t = { 0 };
	uint8_t big[BCFW_NONCE_MAX + 1] = { 0 };

	check(pin_op(fd, BCFW_OP_LOGIN, BCFW_USER_USER, user_pin) == 0,
	      "key attestation: user logged in");
	status(fd, &s);
	check(keypair(fd, "p256", true, false, &ecpub, &ecpriv) == 0 &&
	      keypair(fd, "rsa2048", false, false, &rpub, &rpriv) == 0,
	      "EC (token) and RSA (session) keys generated");

	check(key_attest(fd, ecpriv, nonce, sizeof(nonce), &k) == 0 && k,
	      "KEY_ATTEST of the EC private key");
	check(c && verify(ca, c[0], k, st_u64(s.now) + 5),
	      "EC key attestation verifies: CA -> identity -> key");
	check(k && cert_key_is(fd, k, ecpub, false),
	      "its public key is the EC key's public half");
	st = k ? ext_seq(k, OID_KEYATT) : NULL;
	check(st && sk_ASN1_TYPE_num(st) == 11 && seq_int(st, 0) == 1 &&
	      seq_int(st, 2) == (long)ecpriv && seq_int(st, 3) == CKK_EC &&
	      seq_int(st, 4) == CKM_EC_KEY_PAIR_GEN && seq_bool(st, 5) == 1 &&
	      seq_bool(st, 6) == 1 && seq_bool(st, 8) == 1 &&
	      seq_str(st, 9, V_ASN1_OCTET_STRING, "p256", 4) &&
	      seq_str(st, 10, V_ASN1_OCTET_STRING, nonce, sizeof(nonce)),
	      "key attestation extension: handle, type, mechanism, local, "
	      "never extractable, token, id, nonce");
	sk_ASN1_TYPE_pop_free(st, ASN1_TYPE_free);
	X509_free(k);

	check(key_attest(fd, rpub, NULL, 0, &k) == 0 && k &&
	      c && verify(ca, c[0], k, st_u64(s.now) + 5) &&
	      cert_key_is(fd, k, rpub, true),
	      "RSA public key handle: attested through its private half");
	st = k ? ext_seq(k, OID_KEYATT) : NULL;
	check(st && seq_int(st, 3) == CKK_RSA && seq_bool(st, 8) == 0 &&
	      seq_str(st, 10, V_ASN1_OCTET_STRING, "", 0),
	      "RSA statement: type RSA, session object, empty nonce");
	sk_ASN1_TYPE_pop_free(st, ASN1_TYPE_free);
	X509_free(k);

	/* Refusals. */
	check(keypair(fd, "p256", false, true, &xpub, &xpriv) == 0 &&
	      key_attest(fd, xpriv, NULL, 0, &k) ==
	      CKR(CKR_KEY_FUNCTION_NOT_PERMITTED) &&
	      key_attest(fd, xpub, NULL, 0, &k) ==
	      CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
	      "extractable generated key: refused (private and public handle)");
	{
		EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		BIGNUM *d = NULL;
		uint8_t buf[32], *out;
		size_t n;
		struct b bb = { 0 };

		EVP_PKEY_get_bn_param(ec, "priv", &d);
		BN_bn2binpad(d, buf, 32);
		BN_clear_free(d);
		a_ul(&t, CKA_CLASS, CKO_PRIVATE_KEY);
		a_ul(&t, CKA_KEY_TYPE, CKK_EC);
		a_bytes(&t, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
		a_bytes(&t, CKA_VALUE, buf, 32);
		a_bool(&t, CKA_EXTRACTABLE, false);
		b_u32(&bb, 0);
		b_u32(&bb, t.count);
		b_put(&bb, t.p, t.n);
		h = 0;
		if (call_b(fd, BCFW_OP_CREATE_OBJECT, 0, &bb, &out, &n) == 0 &&
		    n == 8)
			h = le32_at(out);
		free(out);
		b_free(&bb);
		b_free(&t);
		EVP_PKEY_free(ec);
		check(h && key_attest(fd, h, NULL, 0, &k) ==
		      CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
		      "imported key: CKR_KEY_FUNCTION_NOT_PERMITTED");
	}
	{
		struct b bb = { 0 };
		uint8_t *out;
		size_t n;

		a_ul(&t, CKA_VALUE_LEN, 32);
		b_u32(&bb, t.count);
		b_u32(&bb, 0);
		b_u32(&bb, CKM_AES_KEY_GEN);
		b_u32(&bb, 0);
		b_put(&bb, t.p, t.n);
		h = 0;
		if (call_b(fd, BCFW_OP_GENERATE_KEY, 0, &bb, &out, &n) == 0 &&
		    n == 8)
			h = le32_at(out);
		free(out);
		b_free(&bb);
		b_free(&t);
		check(h && key_attest(fd, h, NULL, 0, &k) ==
		      CKR(CKR_KEY_TYPE_INCONSISTENT),
		      "secret key: CKR_KEY_TYPE_INCONSISTENT");
	}
	check(key_attest(fd2, ecpriv, NULL, 0, &k) ==
	      CKR(CKR_KEY_HANDLE_INVALID),
	      "private key, client not logged in: CKR_KEY_HANDLE_INVALID");
	check(key_attest(fd2, ecpub, NULL, 0, &k) == 0 && k,
	      "public key handle works without login");
	X509_free(k);
	check(key_attest(fd2, rpub, NULL, 0, &k) ==
	      CKR(CKR_KEY_HANDLE_INVALID),
	      "another client's session key is invisible");
	check(key_attest(fd, ecpriv, big, sizeof(big), &k) == BCFW_S_BAD_ARGS,
	      "nonce over 64 bytes: BAD_ARGS");
	check(key_attest(fd, 0x7ffffff0u, NULL, 0, &k) ==
	      CKR(CKR_KEY_HANDLE_INVALID), "unknown handle");
	certs_free(c);
	close(fd);
	close(fd2);
}

/* Restarts keep the identity and certificate; a new config reissues. */
static void test_restart(struct emu *e, const char *const *extra)
{
	static const char *const more[] = {
		"--factory", factory, "--max-sessions", "32", NULL
	};
	struct bcfw_attest_status s0, s1;
	X509 **c0, **c1;
	int fd = conn_open(e);

	status(fd, &s0);
	c0 = chain(fd);
	close(fd);
	check(emu_stop(e) == 0, "restart: stopped");
	check(emu_start(e, "a", extra) == 0, "restart: started again");
	fd = conn_open(e);
	status(fd, &s1);
	c1 = chain(fd);
	check(c0 && c1 && same_der(c0[0], c1[0]) && same_der(c0[1], c1[1]) &&
	      s1.generation == s0.generation,
	      "restart: same identity, certificate and generation");
	certs_free(c1);
	close(fd);
	check(emu_stop(e) == 0 && emu_start(e, "a", more) == 0,
	      "restart with --max-sessions 32");
	fd = conn_open(e);
	status(fd, &s1);
	c1 = chain(fd);
	check(le32toh(s1.generation) == le32toh(s0.generation) + 1 && c1 &&
	      same_der(c0[0], c1[0]) && !same_der(c0[1], c1[1]),
	      "changed configuration: new certificate, generation %u",
	      le32toh(s1.generation));
	check(call(fd, BCFW_OP_TEST_CLOCK, 0, NULL, 0, NULL, NULL) ==
	      BCFW_S_DENIED, "TEST_CLOCK without --test-clock: DENIED");
	certs_free(c0);
	certs_free(c1);
	close(fd);
}

/* A state directory from before attestation gets an identity. */
static void test_upgrade(struct emu *e, X509 *ca)
{
	static const char *const files[] = {
		"identity.key", "identity.crt", "attestation"
	};
	static const char *const extra[] = { "--factory", factory, NULL };
	struct bcfw_attest_status s;
	char path[400];
	uint32_t hpub, hpriv;
	uint8_t *v = NULL;
	X509 **c;
	int fd = conn_open(e);

	check(pin_op(fd, BCFW_OP_LOGIN, BCFW_USER_USER, user_pin) == 0 &&
	      keypair(fd, "p256", true, false, &hpub, &hpriv) == 0,
	      "upgrade: a token key exists");
	close(fd);
	emu_stop(e);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", e->state, files[i]);
		unlink(path);
	}
	check(emu_start(e, "a", extra) == 0, "old state directory starts");
	fd = conn_open(e);
	check(status(fd, &s) && le32toh(s.generation) == 1 && !s.health,
	      "it got an identity and attestation generation 1");
	c = chain(fd);
	check(c && verify(ca, c[0], c[1], st_u64(s.now)),
	      "new chain verifies");
	certs_free(c);
	check(pin_op(fd, BCFW_OP_LOGIN, BCFW_USER_USER, user_pin) == 0 &&
	      get_attr(fd, hpriv, CKA_ID, &v) == 4,
	      "token objects untouched by the upgrade");
	free(v);
	close(fd);
}

/* The clock and period options, as the VM tests use them. */
static void test_options(X509 *ca)
{
	static const char *const extra[] = {
		"--factory", factory, "--attest-period", "60",
		"--clock-scale", "30", "--clock-start", "2000000000", NULL
	};
	struct bcfw_attest_status s;
	struct bcem_event ev;
	struct emu e;
	int fd, sub;
	X509 **c;

	if (emu_start(&e, "b", extra)) {
		check(false, "emulator with --attest-period 60 --clock-scale 30 "
		      "--clock-start 2000000000 starts");
		return;
	}
	fd = conn_open(&e);
	sub = subscriber(&e);
	check(status(fd, &s) && st_u64(s.now) >= 2000000000ULL &&
	      st_u64(s.now) < 2000000000ULL + 30 * 20 &&
	      le32toh(s.period) == 60 && le32toh(s.generation) == 1 &&
	      st_u64(s.not_after) - st_u64(s.not_before) == 60 + GRACE,
	      "--clock-start and --attest-period (now %llu)",
	      (unsigned long long)st_u64(s.now));
	c = chain(fd);
	check(c && verify(ca, c[0], c[1], st_u64(s.now)),
	      "chain verifies at the chip's time");
	certs_free(c);
	check(wait_event(sub, BCCHIP_EVENT_REFRESH_DONE, 6000, &ev) &&
	      le64toh(ev.arg0) == 2 &&
	      le64toh(ev.time) >= st_u64(s.next_refresh),
	      "--clock-scale 30: 60-second period refreshed within seconds");
	check(status(fd, &s) && le32toh(s.generation) >= 2 && !s.health,
	      "status follows: generation %u", le32toh(s.generation));
	check(call(fd, BCFW_OP_TEST_CLOCK, 0, NULL, 0, NULL, NULL) ==
	      BCFW_S_DENIED, "TEST_CLOCK without --test-clock: DENIED");
	close(sub);
	close(fd);
	check(emu_stop(&e) == 0, "stopped cleanly");
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A period far below a real millisecond: refreshes at most every 10 ms
 * of real time, not as fast as the scheduler can sign. */
static void test_fast_clock(void)
{
	static const char *const extra[] = {
		"--factory", factory, "--attest-period", "1",
		"--clock-scale", "1000000000", NULL
	};
	struct bcfw_attest_status s1, s2;
	struct emu e;
	double t1, t2;
	unsigned int made;
	int fd;

	if (emu_start(&e, "fast", extra)) {
		check(false, "emulator with --attest-period 1 --clock-scale "
		      "1000000000 starts");
		return;
	}
	fd = conn_open(&e);
	t1 = mono_s();
	check(status(fd, &s1), "fast clock: status");
	usleep(1500000);
	check(status(fd, &s2), "fast clock: status again");
	t2 = mono_s();
	made = le32toh(s2.generation) - le32toh(s1.generation);
	check(made >= 1 && made <= (unsigned int)((t2 - t1) * 100) + 2,
	      "fast clock: %u refreshes in %.2f s (at most one per 10 ms)",
	      made, t2 - t1);
	close(fd);
	check(emu_stop(&e) == 0, "fast clock: stopped cleanly");
}

/* Emulators that start together share one new CA. */
static void test_factory_race(void)
{
	char fdir[400], arg[400];
	struct emu e[3];
	X509 *ca;
	bool ok = true;

	snprintf(fdir, sizeof(fdir), "%s/factory-race", emutest_dir());
	snprintf(arg, sizeof(arg), "%s", fdir);
	{
		const char *const extra[] = { "--factory", arg, NULL };
		pid_t kids[3];

		/* Started from three processes at once, as a VM harness does. */
		for (int i = 0; i < 3; i++) {
			char name[16];

			snprintf(name, sizeof(name), "race%d", i);
			kids[i] = fork();
			if (kids[i] == 0) {
				int r = emu_start(&e[i], name, extra);

				if (!r)
					emu_stop(&e[i]);
				_exit(r ? 1 : 0);
			}
		}
		for (int i = 0; i < 3; i++) {
			int st;

			ok &= kids[i] > 0 && waitpid(kids[i], &st, 0) == kids[i] &&
				WIFEXITED(st) && WEXITSTATUS(st) == 0;
		}
	}
	check(ok, "three emulators started at once on a new factory");
	{
		char path[500];
		FILE *f;

		snprintf(path, sizeof(path), "%s/ca.pem", fdir);
		f = fopen(path, "r");
		ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
	}
	for (int i = 0; i < 3; i++) {
		char path[500];
		uint8_t buf[4096];
		const unsigned char *p;
		FILE *f;
		size_t n = 0;
		X509 *id = NULL;

		/* identity.crt: 16-byte header, DER, SHA-256 (store.c). */
		snprintf(path, sizeof(path), "%s/race%d.state/identity.crt",
			 emutest_dir(), i);
		f = fopen(path, "rb");
		if (f) {
			n = fread(buf, 1, sizeof(buf), f);
			fclose(f);
		}
		if (n > 48) {
			p = buf + 16;
			id = d2i_X509(NULL, &p, (long)(n - 48));
		}
		check(id && verify(ca, id, id, (uint64_t)time(NULL) + 5),
		      "chip %d's identity verifies against the one CA", i);
		X509_free(id);
	}
	X509_free(ca);
}

int main(int argc, char **argv)
{
	const char *extra[] = { "--factory", factory, "--test-clock", NULL };
	struct emu e;
	X509 *ca;
	int ret = emutest_begin(argc, argv, "bcchip-attest");

	if (ret)
		return ret;
	snprintf(factory, sizeof(factory), "%s/factory", emutest_dir());
	if (emu_start(&e, "a", extra)) {
		check(false, "emulator starts");
		return emutest_end();
	}
	ca = load_ca();
	test_chain(&e, ca);
	test_refresh(&e);
	test_events(&e, ca);
	test_key_attest(&e, ca);
	test_restart(&e, extra);
	test_upgrade(&e, ca);
	emu_stop(&e);
	test_options(ca);
	test_fast_clock();
	test_factory_race();
	X509_free(ca);
	return emutest_end();
}

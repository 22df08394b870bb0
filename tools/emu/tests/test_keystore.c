// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the emulator's key store: token and PINs, objects and
 * their attribute rules, key generation and crypto checked against
 * OpenSSL on the public half, wrapping between two chips, persistence,
 * crash safety and malformed requests.
 * usage: test_keystore PATH-TO-bcchip-emu
 */
#include <endian.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emutest.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

/* ---- request building (the rest: emutest.h) ---- */

static void a_str(struct b *b, uint32_t type, const char *s)
{
	a_bytes(b, type, s, strlen(s));
}

/* ---- token operations ---- */

static const char so_pin[] = "so-secret-1";
static const char user_pin[] = "user-1234";

static uint32_t login(int fd, uint32_t user, const char *pin)
{
	return pin_op(fd, BCFW_OP_LOGIN, user, pin);
}

static uint32_t logout(int fd)
{
	return call(fd, BCFW_OP_LOGOUT, 0, NULL, 0, NULL, NULL);
}

static uint32_t init_token(int fd, const char *label, const char *pin)
{
	struct b b = { 0 };
	uint8_t lab[BCFW_LABEL_LEN];
	uint32_t st;

	memset(lab, ' ', sizeof(lab));
	memcpy(lab, label, strlen(label));
	b_put(&b, lab, sizeof(lab));
	b_u32(&b, (uint32_t)strlen(pin));
	b_u32(&b, 0);
	b_put(&b, pin, strlen(pin));
	st = call_b(fd, BCFW_OP_INIT_TOKEN, 0, &b, NULL, NULL);
	b_free(&b);
	return st;
}

static uint32_t set_pin(int fd, const char *old, const char *new_pin)
{
	struct b b = { 0 };
	uint32_t st;

	b_u32(&b, (uint32_t)strlen(old));
	b_u32(&b, (uint32_t)strlen(new_pin));
	b_put(&b, old, strlen(old));
	b_put(&b, new_pin, strlen(new_pin));
	st = call_b(fd, BCFW_OP_SET_PIN, 0, &b, NULL, NULL);
	b_free(&b);
	return st;
}

static bool token_info(int fd, struct bcfw_token_info *ti)
{
	uint8_t *out;
	size_t n;
	bool ok;

	ok = call(fd, BCFW_OP_TOKEN_INFO, 0, NULL, 0, &out, &n) == 0 &&
		n == sizeof(*ti);
	if (ok)
		memcpy(ti, out, sizeof(*ti));
	free(out);
	return ok;
}

static uint32_t tok_flags(int fd)
{
	struct bcfw_token_info ti;

	return token_info(fd, &ti) ? le32toh(ti.flags) : 0xffffffffu;
}

/* A fresh chip made ready: token initialized, user PIN set, user logged in. */
static bool token_setup(int fd, const char *label)
{
	return init_token(fd, label, so_pin) == 0 &&
		login(fd, BCFW_USER_SO, so_pin) == 0 &&
		pin_op(fd, BCFW_OP_INIT_PIN, 0, user_pin) == 0 &&
		logout(fd) == 0 && login(fd, BCFW_USER_USER, user_pin) == 0;
}

static uint32_t session_open(int fd, bool rw, uint32_t *h)
{
	struct bcfw_session_open_req req = { .flags = htole32(rw ? 1 : 0) };
	uint8_t *out;
	size_t n;
	uint32_t st;

	st = call(fd, BCFW_OP_SESSION_OPEN, 0, &req, sizeof(req), &out, &n);
	*h = st == 0 && n == 8 ? le32_at(out) : 0;
	free(out);
	return st;
}

/* ---- objects ---- */

static uint32_t create(int fd, uint32_t session, struct b *tpl, uint32_t *h)
{
	struct b b = { 0 };
	uint8_t *out;
	size_t n;
	uint32_t st;

	b_u32(&b, 0);
	b_u32(&b, tpl->count);
	b_put(&b, tpl->p, tpl->n);
	st = call_b(fd, BCFW_OP_CREATE_OBJECT, session, &b, &out, &n);
	*h = st == 0 && n == 8 ? le32_at(out) : 0;
	free(out);
	b_free(&b);
	return st;
}

static uint32_t destroy(int fd, uint32_t session, uint32_t h)
{
	struct b b = { 0 };
	uint32_t st;

	b_u32(&b, h);
	b_u32(&b, 0);
	st = call_b(fd, BCFW_OP_DESTROY_OBJECT, session, &b, NULL, NULL);
	b_free(&b);
	return st;
}

/*
 * Reads one attribute: returns its length (value in *v, malloc'd), or
 * BCFW_ATTR_SENSITIVE / BCFW_ATTR_INVALID, or NO_ANSWER-ish statuses.
 */

static int get_bool(int fd, uint32_t h, uint32_t type)
{
	uint8_t *v = NULL;
	uint32_t n = get_attr(fd, h, type, &v);
	int r = n == 1 ? v[0] : -1;

	free(v);
	v = NULL;
	return r;
}

static uint32_t set_attr(int fd, uint32_t session, uint32_t h, struct b *tpl)
{
	struct b b = { 0 };
	uint32_t st;

	b_u32(&b, h);
	b_u32(&b, tpl->count);
	b_put(&b, tpl->p, tpl->n);
	st = call_b(fd, BCFW_OP_SET_ATTRIBUTES, session, &b, NULL, NULL);
	b_free(&b);
	return st;
}

static uint32_t set_bool(int fd, uint32_t h, uint32_t type, bool v)
{
	struct b t = { 0 };
	uint32_t st;

	a_bool(&t, type, v);
	st = set_attr(fd, 0, h, &t);
	b_free(&t);
	return st;
}

/* Handles matching @tpl, up to 64. */
static int find(int fd, uint32_t flags, struct b *tpl, uint32_t *hs)
{
	struct b b = { 0 };
	uint8_t *out;
	size_t n;
	uint32_t st, cnt;

	b_u32(&b, flags);
	b_u32(&b, 0);
	b_u32(&b, 64);
	b_u32(&b, tpl ? tpl->count : 0);
	if (tpl)
		b_put(&b, tpl->p, tpl->n);
	st = call_b(fd, BCFW_OP_FIND_OBJECTS, 0, &b, &out, &n);
	b_free(&b);
	if (st || n < 8) {
		free(out);
		return -1;
	}
	cnt = le32_at(out);
	for (uint32_t i = 0; i < cnt && i < 64; i++)
		hs[i] = le32_at(out + 8 + 4 * i);
	free(out);
	return (int)cnt;
}

/* ---- keys and crypto ---- */

static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

static void b_mech(struct b *b, uint32_t mech, const void *param,
		   size_t plen)
{
	(void)param;
	b_u32(b, mech);
	b_u32(b, (uint32_t)plen);
}

static void b_param(struct b *b, const void *param, size_t plen)
{
	b_put(b, param, plen);
	b_pad8(b);
}

static uint32_t genkp(int fd, uint32_t mech, struct b *pub, struct b *priv,
		      uint32_t *hpub, uint32_t *hpriv)
{
	struct b b = { 0 };
	uint8_t *out;
	size_t n;
	uint32_t st;

	b_u32(&b, pub->count);
	b_u32(&b, priv->count);
	b_mech(&b, mech, NULL, 0);
	b_put(&b, pub->p, pub->n);
	b_put(&b, priv->p, priv->n);
	st = call_b(fd, BCFW_OP_GENERATE_KEY_PAIR, 0, &b, &out, &n);
	*hpub = *hpriv = 0;
	if (st == 0 && n == 8) {
		*hpub = le32_at(out);
		*hpriv = le32_at(out + 4);
	}
	free(out);
	b_free(&b);
	return st;
}

/* A key pair with usual templates; extra attributes for the private half. */
static uint32_t keypair(int fd, const char *kind, bool token,
			bool extractable, uint32_t *hpub, uint32_t *hpriv)
{
	struct b pub = { 0 }, priv = { 0 };
	uint32_t mech, st;

	a_bool(&pub, CKA_TOKEN, token);
	a_bool(&priv, CKA_TOKEN, token);
	a_str(&priv, CKA_LABEL, kind);
	a_bool(&priv, CKA_EXTRACTABLE, extractable);
	a_bool(&priv, CKA_DERIVE, true);
	if (!strncmp(kind, "rsa", 3)) {
		mech = CKM_RSA_PKCS_KEY_PAIR_GEN;
		a_ul(&pub, CKA_MODULUS_BITS, strtoul(kind + 3, NULL, 10));
	} else if (!strcmp(kind, "ed25519")) {
		mech = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		a_bytes(&pub, CKA_EC_PARAMS, oid_ed25519, sizeof(oid_ed25519));
	} else {
		mech = CKM_EC_KEY_PAIR_GEN;
		if (!strcmp(kind, "p256"))
			a_bytes(&pub, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
		else if (!strcmp(kind, "p384"))
			a_bytes(&pub, CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));
		else
			a_bytes(&pub, CKA_EC_PARAMS, oid_p521, sizeof(oid_p521));
	}
	st = genkp(fd, mech, &pub, &priv, hpub, hpriv);
	b_free(&pub);
	b_free(&priv);
	return st;
}

/* One-shot SIGN/ENCRYPT/DECRYPT/DIGEST: output into out[*olen]. */
static uint32_t oneshot(int fd, uint16_t op, uint32_t mech, const void *param,
			size_t plen, uint32_t key, const void *data,
			size_t dlen, const void *sig, size_t slen,
			uint8_t *out, size_t *olen)
{
	struct b b = { 0 };
	uint8_t *ans;
	size_t n;
	uint32_t st, cap = out ? (uint32_t)*olen : 0;

	b_u32(&b, key);
	b_u32(&b, op == BCFW_OP_VERIFY ? 0 : cap);
	b_u32(&b, (uint32_t)dlen);
	b_u32(&b, (uint32_t)slen);
	b_mech(&b, mech, param, plen);
	b_param(&b, param, plen);
	b_put(&b, data, dlen);
	b_put(&b, sig, slen);
	st = call_b(fd, op, 0, &b, &ans, &n);
	b_free(&b);
	if (st == 0 && op != BCFW_OP_VERIFY) {
		if (n < 8) {
			st = NO_ANSWER;
		} else {
			*olen = le32_at(ans);
			if (le32_at(ans + 4) & BCFW_OUT_TOO_SMALL)
				st = CKR(CKR_BUFFER_TOO_SMALL);
			else if (n - 8 != *olen)
				st = NO_ANSWER;
			else
				memcpy(out, ans + 8, *olen);
		}
	}
	free(ans);
	return st;
}

static uint32_t sign1(int fd, uint32_t mech, const void *param, size_t plen,
		      uint32_t key, const void *data, size_t dlen,
		      uint8_t *sig, size_t *slen)
{
	return oneshot(fd, BCFW_OP_SIGN, mech, param, plen, key, data, dlen,
		       NULL, 0, sig, slen);
}

static uint32_t verify1(int fd, uint32_t mech, const void *param,
			size_t plen, uint32_t key, const void *data,
			size_t dlen, const uint8_t *sig, size_t slen)
{
	return oneshot(fd, BCFW_OP_VERIFY, mech, param, plen, key, data, dlen,
		       sig, slen, NULL, NULL);
}

static uint32_t op_init(int fd, uint32_t s, uint16_t op, uint32_t mech,
			const void *param, size_t plen, uint32_t key)
{
	struct b b = { 0 };
	uint32_t st;

	b_u32(&b, key);
	b_u32(&b, 0);
	b_mech(&b, mech, param, plen);
	b_param(&b, param, plen);
	st = call_b(fd, op, s, &b, NULL, NULL);
	b_free(&b);
	return st;
}

/* UPDATE (data) or FINAL (data = signature for VERIFY_FINAL). */
static uint32_t op_step(int fd, uint32_t s, uint16_t op, const void *data,
			size_t dlen, uint8_t *out, size_t *olen)
{
	struct b b = { 0 };
	uint8_t *ans;
	size_t n;
	uint32_t st;
	bool final = BCFW_OP_STEP(op) == BCFW_STEP_FINAL;

	b_u32(&b, out ? (uint32_t)*olen : 0);
	b_u32(&b, final ? (uint32_t)dlen : 0);
	b_put(&b, data, dlen);
	st = call_b(fd, op, s, &b, &ans, &n);
	b_free(&b);
	if (st == 0 && out) {
		if (n < 8) {
			st = NO_ANSWER;
		} else {
			*olen = le32_at(ans);
			if (le32_at(ans + 4) & BCFW_OUT_TOO_SMALL)
				st = CKR(CKR_BUFFER_TOO_SMALL);
			else
				memcpy(out, ans + 8, *olen);
		}
	}
	free(ans);
	return st;
}

/* ---- the public half, in OpenSSL ---- */

static EVP_PKEY *pub_of(int fd, uint32_t hpub)
{
	uint8_t *params = NULL, *point = NULL, *n = NULL, *e = NULL;
	uint32_t pl, ptl, nl, el;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *op = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;

	pl = get_attr(fd, hpub, CKA_EC_PARAMS, &params);
	if (pl < BCFW_ATTR_INVALID) {
		const char *grp = NULL;

		ptl = get_attr(fd, hpub, CKA_EC_POINT, &point);
		if (ptl >= BCFW_ATTR_INVALID || ptl < 3 || point[0] != 4)
			goto out;
		if (pl == sizeof(oid_ed25519)) {
			pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
							   NULL, point + 2,
							   ptl - 2);
			goto out;
		}
		if (pl == sizeof(oid_p256) && !memcmp(params, oid_p256, pl))
			grp = "P-256";
		else if (!memcmp(params, oid_p384, pl))
			grp = "P-384";
		else
			grp = "P-521";
		/* DER OCTET STRING: skip tag and (short or 0x81) length. */
		{
			size_t hl = point[1] == 0x81 ? 3 : 2;

			OSSL_PARAM_BLD_push_utf8_string(bld, "group", grp, 0);
			OSSL_PARAM_BLD_push_octet_string(bld, "pub",
							 point + hl, ptl - hl);
		}
		op = OSSL_PARAM_BLD_to_param(bld);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else {
		nl = get_attr(fd, hpub, CKA_MODULUS, &n);
		el = get_attr(fd, hpub, CKA_PUBLIC_EXPONENT, &e);
		if (nl >= BCFW_ATTR_INVALID || el >= BCFW_ATTR_INVALID)
			goto out;
		bn = BN_bin2bn(n, (int)nl, NULL);
		be = BN_bin2bn(e, (int)el, NULL);
		OSSL_PARAM_BLD_push_BN(bld, "n", bn);
		OSSL_PARAM_BLD_push_BN(bld, "e", be);
		op = OSSL_PARAM_BLD_to_param(bld);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	}
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, op) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(op);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(params);
	free(point);
	free(n);
	free(e);
	return pkey;
}

/* r || s -> DER */
static int ecdsa_der(const uint8_t *sig, size_t len, uint8_t *der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	uint8_t *p = der;
	int n;

	ECDSA_SIG_set0(s, BN_bin2bn(sig, (int)len / 2, NULL),
		       BN_bin2bn(sig + len / 2, (int)len / 2, NULL));
	n = i2d_ECDSA_SIG(s, &p);
	ECDSA_SIG_free(s);
	return n;
}

/*
 * Verifies with OpenSSL: @md NULL for raw (data is the digest or, for
 * Ed25519, the message).  pss: salt length or -1.
 */
static bool ossl_verify(EVP_PKEY *pk, const EVP_MD *md, int pss,
			const uint8_t *data, size_t dlen, const uint8_t *sig,
			size_t slen, bool raw_input)
{
	uint8_t der[200];
	const uint8_t *s = sig;
	EVP_MD_CTX *mc = NULL;
	EVP_PKEY_CTX *pc = NULL;
	int ok = 0;

	if (!pk)
		return false;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		int n = ecdsa_der(sig, slen, der);

		s = der;
		slen = (size_t)n;
	}
	if (!raw_input) {
		mc = EVP_MD_CTX_new();
		if (EVP_DigestVerifyInit(mc, &pc, md, NULL, pk) != 1)
			goto out;
		if (pss >= 0) {
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, pss);
		}
		ok = EVP_DigestVerify(mc, s, slen, data, dlen);
	} else {
		pc = EVP_PKEY_CTX_new(pk, NULL);
		if (EVP_PKEY_verify_init(pc) != 1) {
			EVP_PKEY_CTX_free(pc);
			goto out;
		}
		if (md)
			EVP_PKEY_CTX_set_signature_md(pc, md);
		if (pss >= 0) {
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, pss);
		}
		ok = EVP_PKEY_verify(pc, s, slen, data, dlen);
		EVP_PKEY_CTX_free(pc);
	}
out:
	EVP_MD_CTX_free(mc);
	return ok == 1;
}

/* ---- tests ---- */

static void test_token(void)
{
	struct emu e;
	struct bcfw_token_info ti;
	struct bcfw_info in;
	uint32_t f, s;
	int fd, fd2;

	if (emu_start(&e, "token", NULL)) {
		check(false, "token: emulator starts");
		return;
	}
	fd = conn_open(&e);
	fd2 = conn_open(&e);
	check(token_info(fd, &ti), "TOKEN_INFO answers");
	f = le32toh(ti.flags);
	check(!(f & BCFW_TOKF_TOKEN_INITIALIZED) && (f & BCFW_TOKF_RNG),
	      "fresh token is not initialized (flags %#x)", f);
	check(le32toh(ti.pin_min) == BCFW_PIN_MIN &&
	      le32toh(ti.pin_max) == BCFW_PIN_MAX &&
	      le32toh(ti.max_tries) == BCFW_PIN_TRIES, "PIN limits reported");
	check(login(fd, BCFW_USER_USER, user_pin) ==
	      CKR(CKR_USER_PIN_NOT_INITIALIZED), "no user PIN before init");
	check(init_token(fd, "T", "") == CKR(CKR_PIN_LEN_RANGE),
	      "empty SO PIN refused");
	check(init_token(fd, "T", "abc") == CKR(CKR_PIN_LEN_RANGE),
	      "short SO PIN refused");
	check(session_open(fd, true, &s) == 0, "session opens");
	check(init_token(fd, "T", so_pin) == CKR(CKR_SESSION_EXISTS),
	      "INIT_TOKEN refused while a session exists");
	check(call(fd, BCFW_OP_SESSION_CLOSE, s, NULL, 0, NULL, NULL) == 0,
	      "session closes");
	check(init_token(fd, "Key store test", so_pin) == 0,
	      "INIT_TOKEN with a new SO PIN");
	check(get_info(fd, &in) && !memcmp(in.label, "Key store test  ", 16),
	      "label set by INIT_TOKEN shows in GET_INFO");
	check(tok_flags(fd) & BCFW_TOKF_TOKEN_INITIALIZED, "now initialized");
	check(init_token(fd, "Other", "wrong-so-pin") ==
	      CKR(CKR_PIN_INCORRECT), "re-init needs the SO PIN");
	check(tok_flags(fd) & BCFW_TOKF_SO_PIN_COUNT_LOW, "SO count low");
	check(pin_op(fd, BCFW_OP_INIT_PIN, 0, user_pin) ==
	      CKR(CKR_USER_NOT_LOGGED_IN), "INIT_PIN needs the SO");
	check(login(fd, BCFW_USER_SO, so_pin) == 0, "SO login");
	check(!(tok_flags(fd) & BCFW_TOKF_SO_PIN_COUNT_LOW),
	      "good PIN resets the SO counter");
	check(login(fd, BCFW_USER_USER, user_pin) ==
	      CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), "one user at a time");
	check(login(fd, BCFW_USER_SO, so_pin) ==
	      CKR(CKR_USER_ALREADY_LOGGED_IN), "already logged in");
	check(pin_op(fd, BCFW_OP_INIT_PIN, 0, "") == CKR(CKR_PIN_LEN_RANGE),
	      "empty user PIN refused");
	check(pin_op(fd, BCFW_OP_INIT_PIN, 0, user_pin) == 0, "INIT_PIN");
	check(logout(fd) == 0 && logout(fd) == CKR(CKR_USER_NOT_LOGGED_IN),
	      "LOGOUT, twice");
	check(login(fd, 7, user_pin) == CKR(CKR_USER_TYPE_INVALID),
	      "unknown user type");
	check(login(fd2, BCFW_USER_USER, user_pin) == 0,
	      "login on another client");
	check(token_info(fd2, &ti) && le32toh(ti.login) == BCFW_LOGIN_USER &&
	      token_info(fd, &ti) && le32toh(ti.login) == BCFW_LOGIN_NONE,
	      "login state is per client");
	check(logout(fd2) == 0, "logout other client");

	/* Lockout. */
	check(login(fd, BCFW_USER_USER, "wrong-pin") == CKR(CKR_PIN_INCORRECT),
	      "wrong PIN");
	f = tok_flags(fd);
	check((f & BCFW_TOKF_USER_PIN_COUNT_LOW) &&
	      !(f & BCFW_TOKF_USER_PIN_FINAL_TRY), "COUNT_LOW after one");
	for (int i = 1; i < BCFW_PIN_TRIES - 1; i++)
		login(fd, BCFW_USER_USER, "wrong-pin");
	f = tok_flags(fd);
	check(f & BCFW_TOKF_USER_PIN_FINAL_TRY, "FINAL_TRY with one left");
	check(token_info(fd, &ti) && le32toh(ti.user_tries_left) == 1,
	      "one try left");
	check(login(fd, BCFW_USER_USER, "wrong-pin") == CKR(CKR_PIN_LOCKED),
	      "last failure locks");
	check(tok_flags(fd) & BCFW_TOKF_USER_PIN_LOCKED, "USER_PIN_LOCKED");
	check(login(fd, BCFW_USER_USER, user_pin) == CKR(CKR_PIN_LOCKED),
	      "locked even with the right PIN");

	/* The lock survives a restart. */
	close(fd);
	close(fd2);
	check(emu_stop(&e) == 0, "token: clean exit");
	if (emu_start(&e, "token", NULL)) {
		check(false, "token: restart");
		return;
	}
	fd = conn_open(&e);
	check(tok_flags(fd) & BCFW_TOKF_USER_PIN_LOCKED,
	      "lock persists across restart");
	check(login(fd, BCFW_USER_SO, so_pin) == 0 &&
	      pin_op(fd, BCFW_OP_INIT_PIN, 0, "new-user-pin") == 0 &&
	      logout(fd) == 0, "SO resets the user PIN");
	check(!(tok_flags(fd) & BCFW_TOKF_USER_PIN_LOCKED), "unlocked");
	check(login(fd, BCFW_USER_USER, "new-user-pin") == 0, "user login");
	check(set_pin(fd, "bad-old-pin", "next-pin-1") ==
	      CKR(CKR_PIN_INCORRECT), "SET_PIN checks the old PIN");
	check(set_pin(fd, "new-user-pin", "") == CKR(CKR_PIN_LEN_RANGE),
	      "SET_PIN refuses an empty PIN");
	check(set_pin(fd, "new-user-pin", "next-pin-1") == 0, "SET_PIN");
	check(logout(fd) == 0 && login(fd, BCFW_USER_USER, "new-user-pin") ==
	      CKR(CKR_PIN_INCORRECT) &&
	      login(fd, BCFW_USER_USER, "next-pin-1") == 0,
	      "new PIN works, old does not");
	check(logout(fd) == 0 && login(fd, BCFW_USER_SO, so_pin) == 0 &&
	      set_pin(fd, so_pin, "so-secret-2") == 0 && logout(fd) == 0 &&
	      login(fd, BCFW_USER_SO, "so-secret-2") == 0,
	      "SO changes the SO PIN");
	close(fd);
	check(emu_stop(&e) == 0, "token: clean exit after restart");

	/* The SO PIN locks too, and then the token cannot be re-initialized. */
	if (emu_start(&e, "solock", NULL)) {
		check(false, "solock: starts");
		return;
	}
	fd = conn_open(&e);
	check(init_token(fd, "SO lock", so_pin) == 0, "solock: initialized");
	for (int i = 0; i < BCFW_PIN_TRIES - 1; i++)
		login(fd, BCFW_USER_SO, "bad-so-pin");
	f = tok_flags(fd);
	check((f & BCFW_TOKF_SO_PIN_FINAL_TRY) &&
	      (f & BCFW_TOKF_SO_PIN_COUNT_LOW), "SO FINAL_TRY");
	check(login(fd, BCFW_USER_SO, "bad-so-pin") == CKR(CKR_PIN_LOCKED) &&
	      (tok_flags(fd) & BCFW_TOKF_SO_PIN_LOCKED), "SO PIN locked");
	check(init_token(fd, "Again", so_pin) == CKR(CKR_PIN_LOCKED),
	      "no re-initialization with a locked SO PIN");
	close(fd);
	check(emu_stop(&e) == 0, "solock: clean exit");
}

/* Does the chip report @want (space padded) in GET_INFO and TOKEN_INFO? */
static bool label_is(int fd, const char *want)
{
	uint8_t lab[BCFW_LABEL_LEN];
	struct bcfw_token_info ti;
	struct bcfw_info in;

	memset(lab, ' ', sizeof(lab));
	memcpy(lab, want, strlen(want));
	return get_info(fd, &in) && !memcmp(in.label, lab, sizeof(lab)) &&
		token_info(fd, &ti) && !memcmp(ti.label, lab, sizeof(lab));
}

/* The identity file's second line, without its newline; "" if unreadable. */
static const char *identity_label(const struct emu *e, char *buf, size_t n)
{
	char path[300], text[256], *l;
	FILE *fp;
	size_t got;

	snprintf(path, sizeof(path), "%s/identity", e->state);
	buf[0] = '\0';
	fp = fopen(path, "r");
	if (!fp)
		return buf;
	got = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[got] = '\0';
	l = strstr(text, "\nlabel=");
	if (l) {
		l += 7;
		l[strcspn(l, "\n")] = '\0';
		snprintf(buf, n, "<%s>", l);
	}
	return buf;
}

/*
 * A blank label is a label: set by INIT_TOKEN, kept across restarts (the
 * default applies at the first start only), and replaced like any other.
 */
static void test_blank_label(void)
{
	static const char *const relabel[] = { "--label", "Not used", NULL };
	char idl[64];
	struct emu e;
	int fd;

	if (emu_start(&e, "blank", NULL)) {
		check(false, "blank: emulator starts");
		return;
	}
	fd = conn_open(&e);
	check(!label_is(fd, ""), "blank: a fresh chip has the default label");
	check(init_token(fd, "", so_pin) == 0, "all-blank label accepted");
	check(label_is(fd, ""), "blank label in GET_INFO and TOKEN_INFO");
	check(tok_flags(fd) & BCFW_TOKF_TOKEN_INITIALIZED,
	      "token initialized with a blank label");
	check(!strcmp(identity_label(&e, idl, sizeof(idl)), "<>"),
	      "identity stores the blank label as an empty one (%s)", idl);
	check(init_token(fd, "\x01", so_pin) == CKR(CKR_ARGUMENTS_BAD) &&
	      init_token(fd, "Tab\there", so_pin) == CKR(CKR_ARGUMENTS_BAD) &&
	      init_token(fd, "Del\x7f", so_pin) == CKR(CKR_ARGUMENTS_BAD) &&
	      init_token(fd, "\xc3\xa9t\xc3\xa9", so_pin) ==
	      CKR(CKR_ARGUMENTS_BAD), "non-printable labels still refused");
	check(label_is(fd, ""), "a refused label changes nothing");
	close(fd);
	check(emu_stop(&e) == 0, "blank: clean exit");

	/* The state exists: --label and the default no longer apply. */
	if (emu_start(&e, "blank", relabel)) {
		check(false, "blank: restarts with a blank label stored");
		return;
	}
	fd = conn_open(&e);
	check(label_is(fd, ""), "blank label survives a restart");
	check(tok_flags(fd) & BCFW_TOKF_TOKEN_INITIALIZED,
	      "still initialized after the restart");
	check(init_token(fd, "  lead", so_pin) == 0 && label_is(fd, "  lead"),
	      "re-initialized with leading blanks");
	close(fd);
	check(emu_stop(&e) == 0, "blank: clean exit after restart");

	if (emu_start(&e, "blank", NULL)) {
		check(false, "blank: restarts with leading blanks stored");
		return;
	}
	fd = conn_open(&e);
	check(label_is(fd, "  lead") &&
	      !strcmp(identity_label(&e, idl, sizeof(idl)), "<  lead>"),
	      "leading blanks kept, trailing ones not stored (%s)", idl);
	check(init_token(fd, "", so_pin) == 0 && label_is(fd, "") &&
	      init_token(fd, "Named again", so_pin) == 0 &&
	      label_is(fd, "Named again"), "blank and back to a name");
	close(fd);
	check(emu_stop(&e) == 0, "blank: clean exit at the end");
}

static void test_objects(struct emu *e)
{
	struct b t = { 0 };
	uint32_t h = 0, h2 = 0, hs[64], s_ro = 0, s_rw = 0, hp, hpriv;
	uint8_t *v = NULL;
	int fd = conn_open(e), fd2 = conn_open(e), n;

	check(token_setup(fd, "Objects"), "objects: token set up");
	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_bool(&t, CKA_TOKEN, true);
	a_str(&t, CKA_LABEL, "data-1");
	a_str(&t, CKA_APPLICATION, "test");
	a_str(&t, CKA_VALUE, "hello data");
	check(create(fd, 0, &t, &h) == 0 && h && !(h & BCFW_HANDLE_SESSION),
	      "token data object created (%#x)", h);
	check(get_attr(fd, h, CKA_VALUE, &v) == 10 && !memcmp(v, "hello data",
							      10),
	      "its value reads back");
	free(v);
	v = NULL;
	check(get_attr(fd2, h, CKA_LABEL, &v) == 6, "other client sees it");
	free(v);
	v = NULL;
	check(get_attr(fd, h, CKA_MODULUS, &v) == BCFW_ATTR_INVALID,
	      "absent attribute: INVALID");
	check(session_open(fd, false, &s_ro) == 0 &&
	      session_open(fd, true, &s_rw) == 0, "RO and RW sessions");
	check(create(fd, s_ro, &t, &h2) == CKR(CKR_SESSION_READ_ONLY),
	      "RO session cannot create token objects");
	check(destroy(fd, s_ro, h) == CKR(CKR_SESSION_READ_ONLY),
	      "RO session cannot destroy token objects");
	b_free(&t);

	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_str(&t, CKA_LABEL, "session-data");
	check(create(fd, s_ro, &t, &h2) == 0 && (h2 & BCFW_HANDLE_SESSION),
	      "session object in an RO session");
	check(get_attr(fd2, h2, CKA_LABEL, &v) ==
	      CKR(CKR_OBJECT_HANDLE_INVALID), "other client cannot see it");
	free(v);
	v = NULL;
	n = find(fd, BCFW_FIND_SESSION_ONLY, NULL, hs);
	check(n == 1 && hs[0] == h2, "listed as this client's session object");
	n = find(fd2, BCFW_FIND_SESSION_ONLY, NULL, hs);
	check(n == 0, "not listed for the other client");
	b_free(&t);

	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_bool(&t, CKA_PRIVATE, true);
	a_str(&t, CKA_LABEL, "private-data");
	check(create(fd2, 0, &t, &h2) == CKR(CKR_USER_NOT_LOGGED_IN),
	      "private object needs a login");
	check(create(fd, 0, &t, &h2) == 0, "private object when logged in");
	b_free(&t);
	a_str(&t, CKA_LABEL, "private-data");
	check(find(fd, 0, &t, hs) == 1 && find(fd2, 0, &t, hs) == 0,
	      "private objects found only by the logged-in user");
	b_free(&t);

	/* Templates. */
	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_ul(&t, 0x8000abcd, 1);
	check(create(fd, 0, &t, &h2) == CKR(CKR_ATTRIBUTE_TYPE_INVALID),
	      "unknown attribute refused");
	b_free(&t);
	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_bytes(&t, CKA_TOKEN, "\x02", 1);
	check(create(fd, 0, &t, &h2) == CKR(CKR_ATTRIBUTE_VALUE_INVALID),
	      "bool must be 0 or 1");
	b_free(&t);
	a_str(&t, CKA_LABEL, "x");
	check(create(fd, 0, &t, &h2) == CKR(CKR_TEMPLATE_INCOMPLETE),
	      "CLASS is needed");
	b_free(&t);
	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_ul(&t, CKA_CLASS, CKO_DATA);
	check(create(fd, 0, &t, &h2) == CKR(CKR_TEMPLATE_INCONSISTENT),
	      "duplicate attribute refused");
	b_free(&t);

	/* SET, COPY, DESTROY. */
	a_str(&t, CKA_LABEL, "renamed");
	check(set_attr(fd, 0, h, &t) == 0, "SET_ATTRIBUTES on a label");
	check(get_attr(fd, h, CKA_LABEL, &v) == 7 && !memcmp(v, "renamed", 7),
	      "label changed");
	free(v);
	v = NULL;
	b_free(&t);
	a_ul(&t, CKA_CLASS, CKO_CERTIFICATE);
	check(set_attr(fd, 0, h, &t) == CKR(CKR_ATTRIBUTE_READ_ONLY),
	      "CLASS is read-only");
	b_free(&t);
	a_bool(&t, CKA_TOKEN, false);
	check(set_attr(fd, 0, h, &t) == CKR(CKR_ATTRIBUTE_READ_ONLY),
	      "TOKEN changes only by copy");
	{
		struct b cb = { 0 };
		uint8_t *out;
		size_t on;
		uint32_t st;

		b_u32(&cb, h);
		b_u32(&cb, t.count);
		b_put(&cb, t.p, t.n);
		st = call_b(fd, BCFW_OP_COPY_OBJECT, 0, &cb, &out, &on);
		check(st == 0 && on == 8 &&
		      (le32_at(out) & BCFW_HANDLE_SESSION),
		      "COPY_OBJECT to a session object");
		free(out);
		b_free(&cb);
	}
	b_free(&t);
	a_bool(&t, CKA_MODIFIABLE, false);
	a_bool(&t, CKA_DESTROYABLE, false);
	a_ul(&t, CKA_CLASS, CKO_DATA);
	check(create(fd, 0, &t, &h2) == 0, "frozen object");
	check(set_bool(fd, h2, CKA_DESTROYABLE, true) ==
	      CKR(CKR_ACTION_PROHIBITED), "MODIFIABLE false freezes");
	check(destroy(fd, 0, h2) == CKR(CKR_ACTION_PROHIBITED),
	      "DESTROYABLE false");
	b_free(&t);
	check(destroy(fd, s_rw, h) == 0, "DESTROY in an RW session");
	check(get_attr(fd, h, CKA_LABEL, &v) == CKR(CKR_OBJECT_HANDLE_INVALID),
	      "destroyed handle invalid");
	free(v);
	v = NULL;

	/* Session objects die with the connection. */
	check(keypair(fd2, "p256", false, false, &hp, &hpriv) ==
	      CKR(CKR_USER_NOT_LOGGED_IN), "private session key needs login");
	{
		struct bcfw_token_info ti;
		unsigned int before, after;

		token_info(fd, &ti);
		before = le32toh(ti.objects_in_use);
		a_ul(&t, CKA_CLASS, CKO_DATA);
		create(fd2, 0, &t, &h2);
		create(fd2, 0, &t, &h2);
		b_free(&t);
		token_info(fd, &ti);
		after = le32toh(ti.objects_in_use);
		close(fd2);
		usleep(100000);
		token_info(fd, &ti);
		check(after == before + 2 &&
		      le32toh(ti.objects_in_use) == before,
		      "session objects die with their client (%u %u %u)",
		      before, after, le32toh(ti.objects_in_use));
	}
	close(fd);
}

struct sigcase {
	const char *key;
	uint32_t mech;
	const EVP_MD *md;	/* hash for OpenSSL */
	int pss;		/* salt, or -1 */
	bool raw;		/* data is the digest */
};

static void test_sign(struct emu *e)
{
	static const uint8_t msg[] = "The quick brown fox jumps over the lazy dog";
	const char *kinds[] = { "p256", "p384", "p521", "ed25519", "rsa2048",
				"rsa3072", "rsa4096" };
	uint32_t pubs[7], privs[7];
	int fd = conn_open(e);

	check(login(fd, BCFW_USER_USER, user_pin) == 0, "sign: login");
	for (int i = 0; i < 7; i++) {
		uint8_t *v;

		check(keypair(fd, kinds[i], true, false, &pubs[i], &privs[i]) ==
		      0, "%s key pair generated", kinds[i]);
		check(get_bool(fd, pubs[i], CKA_LOCAL) == 1, "%s public LOCAL",
		      kinds[i]);
		check(get_bool(fd, privs[i], CKA_LOCAL) == 1 &&
		      get_bool(fd, privs[i], CKA_ALWAYS_SENSITIVE) == 1 &&
		      get_bool(fd, privs[i], CKA_NEVER_EXTRACTABLE) == 1,
		      "%s: LOCAL, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE", kinds[i]);
		check(get_attr(fd, privs[i], i < 4 ? CKA_VALUE :
			       CKA_PRIVATE_EXPONENT, &v) ==
		      BCFW_ATTR_SENSITIVE, "%s: private value sensitive",
		      kinds[i]);
		free(v);
		v = NULL;
	}
	{
		struct sigcase cases[] = {
			{ "p256", CKM_ECDSA_SHA256, EVP_sha256(), -1, false },
			{ "p256", CKM_ECDSA, EVP_sha256(), -1, true },
			{ "p384", CKM_ECDSA_SHA384, EVP_sha384(), -1, false },
			{ "p384", CKM_ECDSA, EVP_sha384(), -1, true },
			{ "p521", CKM_ECDSA_SHA512, EVP_sha512(), -1, false },
			{ "p256", CKM_ECDSA_SHA512, EVP_sha512(), -1, false },
			{ "ed25519", CKM_EDDSA, NULL, -1, false },
			{ "rsa2048", CKM_SHA256_RSA_PKCS, EVP_sha256(), -1, false },
			{ "rsa2048", CKM_SHA384_RSA_PKCS, EVP_sha384(), -1, false },
			{ "rsa2048", CKM_RSA_PKCS, EVP_sha256(), -1, true },
			{ "rsa2048", CKM_SHA256_RSA_PKCS_PSS, EVP_sha256(), 32, false },
			{ "rsa2048", CKM_RSA_PKCS_PSS, EVP_sha256(), 32, true },
			{ "rsa3072", CKM_SHA512_RSA_PKCS_PSS, EVP_sha512(), 64, false },
			{ "rsa3072", CKM_SHA384_RSA_PKCS, EVP_sha384(), -1, false },
			{ "rsa4096", CKM_SHA512_RSA_PKCS, EVP_sha512(), -1, false },
		};

		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			struct sigcase *sc = &cases[c];
			uint32_t pub = 0, priv = 0, s;
			struct bcfw_pss_params pp = { 0 };
			uint8_t data[128], sig[600];
			size_t dlen, slen = sizeof(sig), plen = 0;
			const void *param = NULL;
			EVP_PKEY *pk;
			bool ok;

			for (int i = 0; i < 7; i++)
				if (!strcmp(kinds[i], sc->key)) {
					pub = pubs[i];
					priv = privs[i];
				}
			if (sc->pss >= 0) {
				uint32_t hm = EVP_MD_get_type(sc->md) ==
					NID_sha256 ? CKM_SHA256 :
					EVP_MD_get_type(sc->md) == NID_sha384 ?
					CKM_SHA384 : CKM_SHA512;

				pp.hash = htole32(hm);
				pp.mgf = htole32(hm == CKM_SHA256 ?
						 CKG_MGF1_SHA256 :
						 hm == CKM_SHA384 ?
						 CKG_MGF1_SHA384 :
						 CKG_MGF1_SHA512);
				pp.salt_len = htole32((uint32_t)sc->pss);
				param = &pp;
				plen = sizeof(pp);
			}
			/* Raw mechanisms take the digest (DigestInfo for RSA_PKCS). */
			if (sc->raw) {
				unsigned int ml;

				EVP_Digest(msg, sizeof(msg), data, &ml, sc->md,
					   NULL);
				dlen = ml;
				if (sc->mech == CKM_RSA_PKCS) {
					static const uint8_t di[] = {
						0x30, 0x31, 0x30, 0x0d, 0x06,
						0x09, 0x60, 0x86, 0x48, 0x01,
						0x65, 0x03, 0x04, 0x02, 0x01,
						0x05, 0x00, 0x04, 0x20 };

					memmove(data + sizeof(di), data, dlen);
					memcpy(data, di, sizeof(di));
					dlen += sizeof(di);
				}
			} else {
				memcpy(data, msg, sizeof(msg));
				dlen = sizeof(msg);
			}
			ok = sign1(fd, sc->mech, param, plen, priv, data, dlen,
				   sig, &slen) == 0;
			pk = pub_of(fd, pub);
			check(ok && ossl_verify(pk, sc->mech == CKM_RSA_PKCS ?
						NULL : sc->md, sc->pss,
						sc->mech == CKM_RSA_PKCS ?
						data : sc->raw ? data : msg,
						dlen, sig, slen, sc->raw),
			      "%s mech %#x: one-shot signature verifies in "
			      "OpenSSL", sc->key, sc->mech);
			check(verify1(fd, sc->mech, param, plen, pub, data,
				      dlen, sig, slen) == 0,
			      "%s mech %#x: chip VERIFY accepts", sc->key,
			      sc->mech);
			sig[slen / 2] ^= 1;
			check(verify1(fd, sc->mech, param, plen, pub, data,
				      dlen, sig, slen) ==
			      CKR(CKR_SIGNATURE_INVALID),
			      "%s mech %#x: tampered signature refused",
			      sc->key, sc->mech);
			check(verify1(fd, sc->mech, param, plen, pub, data,
				      dlen, sig, slen - 1) ==
			      CKR(CKR_SIGNATURE_LEN_RANGE),
			      "%s mech %#x: short signature refused", sc->key,
			      sc->mech);
			/* Multi-part on a session, for hashing mechanisms. */
			if (!sc->raw && sc->mech != CKM_EDDSA &&
			    session_open(fd, false, &s) == 0) {
				size_t sl2 = 8;

				ok = op_init(fd, s, BCFW_OP_SIGN_INIT, sc->mech,
					     param, plen, priv) == 0 &&
					op_step(fd, s, BCFW_OP_SIGN_UPDATE, msg,
						10, NULL, NULL) == 0 &&
					op_step(fd, s, BCFW_OP_SIGN_UPDATE,
						msg + 10, sizeof(msg) - 10,
						NULL, NULL) == 0;
				check(ok && op_step(fd, s, BCFW_OP_SIGN_FINAL,
						    NULL, 0, sig, &sl2) ==
				      CKR(CKR_BUFFER_TOO_SMALL) &&
				      sl2 == slen,
				      "%s mech %#x: FINAL length query",
				      sc->key, sc->mech);
				sl2 = sizeof(sig);
				ok = op_step(fd, s, BCFW_OP_SIGN_FINAL, NULL, 0,
					     sig, &sl2) == 0;
				check(ok && ossl_verify(pk, sc->md, sc->pss,
							msg, sizeof(msg), sig,
							sl2, false),
				      "%s mech %#x: multi-part signature "
				      "verifies", sc->key, sc->mech);
				check(op_step(fd, s, BCFW_OP_SIGN_FINAL, NULL, 0,
					      sig, &sl2) ==
				      CKR(CKR_OPERATION_NOT_INITIALIZED),
				      "operation ends at FINAL");
				ok = op_init(fd, s, BCFW_OP_VERIFY_INIT,
					     sc->mech, param, plen, pub) == 0 &&
					op_step(fd, s, BCFW_OP_VERIFY_UPDATE,
						msg, sizeof(msg), NULL,
						NULL) == 0;
				check(ok && op_step(fd, s, BCFW_OP_VERIFY_FINAL,
						    sig, sl2, NULL, NULL) == 0,
				      "%s mech %#x: multi-part verify",
				      sc->key, sc->mech);
				call(fd, BCFW_OP_SESSION_CLOSE, s, NULL, 0,
				     NULL, NULL);
			}
			EVP_PKEY_free(pk);
		}
	}
	{
		struct b pub = { 0 }, priv = { 0 };
		uint32_t p2 = 0, v2 = 0;
		uint8_t *v = NULL;

		a_bytes(&pub, CKA_EC_PARAMS, "\x13\x0c" "edwards25519", 14);
		check(genkp(fd, CKM_EC_EDWARDS_KEY_PAIR_GEN, &pub, &priv, &p2,
			    &v2) == 0 && get_attr(fd, p2, CKA_EC_POINT, &v) ==
		      34, "Ed25519 from the printable-string curve name");
		free(v);
		b_free(&pub);
		a_bytes(&pub, CKA_EC_PARAMS, "\x06\x03\x2b\x65\x71", 5);
		check(genkp(fd, CKM_EC_EDWARDS_KEY_PAIR_GEN, &pub, &priv, &p2,
			    &v2) == CKR(CKR_CURVE_NOT_SUPPORTED),
		      "Ed448 not supported");
		b_free(&pub);
		a_bytes(&pub, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
		a_bytes(&priv, CKA_VALUE, "x", 1);
		check(genkp(fd, CKM_EC_KEY_PAIR_GEN, &pub, &priv, &p2, &v2) ==
		      CKR(CKR_TEMPLATE_INCONSISTENT),
		      "key material in a generation template");
		b_free(&pub);
		b_free(&priv);
	}
	/* Length query, login, usage flags, wrong key type. */
	{
		uint8_t sig[8];
		size_t sl = sizeof(sig);
		uint32_t s;

		check(sign1(fd, CKM_ECDSA_SHA256, NULL, 0, privs[0], msg, 3,
			    sig, &sl) == CKR(CKR_BUFFER_TOO_SMALL) && sl == 64,
		      "one-shot length query (P-256: 64)");
		check(sign1(fd, CKM_SHA256_RSA_PKCS, NULL, 0, privs[0], msg, 3,
			    sig, &sl) == CKR(CKR_KEY_TYPE_INCONSISTENT),
		      "RSA mechanism on an EC key");
		check(sign1(fd, CKM_ECDSA_SHA256, NULL, 0, pubs[0], msg, 3,
			    sig, &sl) == CKR(CKR_KEY_TYPE_INCONSISTENT),
		      "signing with a public key");
		check(sign1(fd, 0x7777, NULL, 0, privs[0], msg, 3, sig, &sl) ==
		      CKR(CKR_MECHANISM_INVALID), "unknown mechanism");
		check(set_bool(fd, privs[0], CKA_SIGN, false) == 0,
		      "SIGN can be turned off");
		check(sign1(fd, CKM_ECDSA_SHA256, NULL, 0, privs[0], msg, 3,
			    sig, &sl) == CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
		      "usage flag checked on sign");
		check(set_bool(fd, privs[0], CKA_SIGN, true) == 0,
		      "SIGN back on");
		check(session_open(fd, false, &s) == 0 &&
		      op_init(fd, s, BCFW_OP_SIGN_INIT, CKM_ECDSA_SHA256, NULL,
			      0, privs[0]) == 0 &&
		      op_init(fd, s, BCFW_OP_DIGEST_INIT, CKM_SHA256, NULL, 0,
			      0) == CKR(CKR_OPERATION_ACTIVE),
		      "one operation per session");
		check(op_step(fd, s, BCFW_OP_DIGEST_UPDATE, msg, 3, NULL,
			      NULL) == CKR(CKR_OPERATION_NOT_INITIALIZED),
		      "UPDATE of another family");
		check(call(fd, BCFW_OP_CANCEL, s, NULL, 0, NULL, NULL) == 0 &&
		      op_init(fd, s, BCFW_OP_DIGEST_INIT, CKM_SHA256, NULL, 0,
			      0) == 0, "CANCEL ends it");
		call(fd, BCFW_OP_SESSION_CLOSE, s, NULL, 0, NULL, NULL);
		check(op_init(fd, 0, BCFW_OP_SIGN_INIT, CKM_ECDSA_SHA256, NULL,
			      0, privs[0]) == 0, "INIT with session 0 checks");
		check(logout(fd) == 0 &&
		      sign1(fd, CKM_ECDSA_SHA256, NULL, 0, privs[0], msg, 3,
			    sig, &sl) == CKR(CKR_KEY_HANDLE_INVALID),
		      "private key invisible after logout");
		check(op_init(fd, 0, BCFW_OP_VERIFY_INIT, CKM_ECDSA_SHA256,
			      NULL, 0, pubs[0]) == 0,
		      "public key usable without login");
		login(fd, BCFW_USER_USER, user_pin);
	}
	close(fd);
}

static uint32_t genkey_aes(int fd, size_t len, bool token, bool extractable,
			   bool sensitive, uint32_t *h)
{
	struct b b = { 0 }, t = { 0 };
	uint8_t *out;
	size_t n;
	uint32_t st;

	a_ul(&t, CKA_VALUE_LEN, len);
	a_bool(&t, CKA_TOKEN, token);
	a_bool(&t, CKA_EXTRACTABLE, extractable);
	a_bool(&t, CKA_SENSITIVE, sensitive);
	b_u32(&b, t.count);
	b_u32(&b, 0);
	b_mech(&b, CKM_AES_KEY_GEN, NULL, 0);
	b_put(&b, t.p, t.n);
	st = call_b(fd, BCFW_OP_GENERATE_KEY, 0, &b, &out, &n);
	*h = st == 0 && n == 8 ? le32_at(out) : 0;
	free(out);
	b_free(&b);
	b_free(&t);
	return st;
}

static uint32_t import_aes(int fd, const uint8_t *key, size_t len,
			   uint32_t *h)
{
	struct b t = { 0 };
	uint32_t st;

	a_ul(&t, CKA_CLASS, CKO_SECRET_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_AES);
	a_bytes(&t, CKA_VALUE, key, len);
	a_bool(&t, CKA_TOKEN, true);
	st = create(fd, 0, &t, h);
	b_free(&t);
	return st;
}

static void test_rules(struct emu *e)
{
	uint32_t hp, hv, ha, hs, hw;
	uint8_t *v = NULL, buf[64];
	size_t n;
	int fd = conn_open(e);
	struct b t = { 0 };

	check(login(fd, BCFW_USER_USER, user_pin) == 0, "rules: login");
	check(keypair(fd, "p256", false, true, &hp, &hv) == 0,
	      "extractable key pair");
	check(get_bool(fd, hv, CKA_NEVER_EXTRACTABLE) == 0,
	      "extractable: NEVER_EXTRACTABLE false");
	check(get_attr(fd, hv, CKA_VALUE, &v) == BCFW_ATTR_SENSITIVE,
	      "sensitive value hidden");
	free(v);
	v = NULL;
	check(set_bool(fd, hv, CKA_SENSITIVE, false) ==
	      CKR(CKR_ATTRIBUTE_READ_ONLY), "SENSITIVE cannot go false");
	check(set_bool(fd, hv, CKA_EXTRACTABLE, false) == 0,
	      "EXTRACTABLE can go false");
	check(set_bool(fd, hv, CKA_EXTRACTABLE, true) ==
	      CKR(CKR_ATTRIBUTE_READ_ONLY), "and not back");
	check(set_bool(fd, hv, CKA_LOCAL, false) ==
	      CKR(CKR_ATTRIBUTE_READ_ONLY), "LOCAL read-only");
	check(set_bool(fd, hv, CKA_ALWAYS_SENSITIVE, false) ==
	      CKR(CKR_ATTRIBUTE_READ_ONLY), "ALWAYS_SENSITIVE read-only");
	a_bytes(&t, CKA_EC_POINT, "\x04\x01\x00", 3);
	check(set_attr(fd, 0, hp, &t) == CKR(CKR_ATTRIBUTE_READ_ONLY),
	      "key material read-only");
	b_free(&t);
	check(get_attr(fd, hp, CKA_EC_POINT, &v) == 67 && v[0] == 4 &&
	      v[1] == 65 && v[2] == 4, "EC_POINT is a DER OCTET STRING");
	free(v);
	v = NULL;

	/* Secret keys: readable when not sensitive and extractable. */
	check(genkey_aes(fd, 32, false, true, false, &ha) == 0,
	      "AES-256 generated, not sensitive");
	check(get_attr(fd, ha, CKA_VALUE, &v) == 32, "its value is readable");
	free(v);
	v = NULL;
	check(get_bool(fd, ha, CKA_ALWAYS_SENSITIVE) == 0 &&
	      get_bool(fd, ha, CKA_LOCAL) == 1, "ALWAYS_SENSITIVE false, LOCAL");
	check(set_bool(fd, ha, CKA_SENSITIVE, true) == 0 &&
	      get_attr(fd, ha, CKA_VALUE, &v) == BCFW_ATTR_SENSITIVE,
	      "SENSITIVE false -> true hides it");
	free(v);
	v = NULL;
	check(get_bool(fd, ha, CKA_ALWAYS_SENSITIVE) == 0,
	      "ALWAYS_SENSITIVE stays false");
	check(genkey_aes(fd, 20, false, true, false, &hs) ==
	      CKR(CKR_KEY_SIZE_RANGE), "AES-160 refused");
	a_str(&t, CKA_LABEL, "x");
	check(set_attr(fd, 0, ha, &t) == 0, "label of a key changes");
	b_free(&t);
	a_bytes(&t, CKA_VALUE, buf, 16);
	check(set_attr(fd, 0, ha, &t) == CKR(CKR_ATTRIBUTE_READ_ONLY),
	      "key value read-only");
	b_free(&t);

	/* Imported keys are not local. */
	RAND_bytes(buf, 16);
	check(import_aes(fd, buf, 16, &hs) == 0, "AES key imported");
	check(get_bool(fd, hs, CKA_LOCAL) == 0 &&
	      get_bool(fd, hs, CKA_NEVER_EXTRACTABLE) == 0 &&
	      get_bool(fd, hs, CKA_ALWAYS_SENSITIVE) == 0,
	      "imported: LOCAL, NEVER_EXTRACTABLE, ALWAYS_SENSITIVE false");
	a_ul(&t, CKA_CLASS, CKO_SECRET_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_AES);
	a_bytes(&t, CKA_VALUE, buf, 16);
	a_bool(&t, CKA_LOCAL, true);
	check(create(fd, 0, &t, &hw) == CKR(CKR_ATTRIBUTE_READ_ONLY),
	      "LOCAL cannot be given");
	b_free(&t);

	/* Wrapping honours EXTRACTABLE and WRAP. */
	check(genkey_aes(fd, 16, false, false, true, &hw) == 0,
	      "wrapping key");
	{
		struct b b = { 0 };
		uint8_t *out;
		uint32_t st;

		b_u32(&b, hw);
		b_u32(&b, hv);
		b_u32(&b, 4096);
		b_u32(&b, 0);
		b_mech(&b, CKM_AES_KEY_WRAP_PAD, NULL, 0);
		st = call_b(fd, BCFW_OP_WRAP_KEY, 0, &b, &out, &n);
		check(st == CKR(CKR_KEY_UNEXTRACTABLE),
		      "non-extractable key is not wrapped (%#x)", st);
		free(out);
		b_free(&b);
		check(set_bool(fd, hw, CKA_WRAP, false) == 0, "WRAP off");
		b_u32(&b, hw);
		b_u32(&b, ha);
		b_u32(&b, 4096);
		b_u32(&b, 0);
		b_mech(&b, CKM_AES_KEY_WRAP, NULL, 0);
		st = call_b(fd, BCFW_OP_WRAP_KEY, 0, &b, &out, &n);
		check(st == CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
		      "WRAP usage flag checked (%#x)", st);
		free(out);
		b_free(&b);
	}
	/* Usage flags on encryption. */
	{
		uint8_t iv[16] = { 0 }, ct[64];
		size_t cl = sizeof(ct);

		check(set_bool(fd, hs, CKA_ENCRYPT, false) == 0 &&
		      oneshot(fd, BCFW_OP_ENCRYPT, CKM_AES_CBC_PAD, iv, 16, hs,
			      "abc", 3, NULL, 0, ct, &cl) ==
		      CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
		      "ENCRYPT usage flag checked");
	}
	close(fd);
}

static void test_crypt(struct emu *e)
{
	uint32_t hp, hv, ha, s;
	int fd = conn_open(e);
	uint8_t pt[300], ct[700], out[700], key[32];
	size_t cl, ol;
	EVP_PKEY *pk;

	check(login(fd, BCFW_USER_USER, user_pin) == 0, "crypt: login");
	check(keypair(fd, "rsa2048", false, false, &hp, &hv) == 0,
	      "RSA-2048 for decryption");
	pk = pub_of(fd, hp);
	RAND_bytes(pt, sizeof(pt));
	for (int mode = 0; mode < 3; mode++) {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
		struct bcfw_oaep_params op = { 0 };
		const void *param = NULL;
		size_t plen = 0;
		uint32_t mech = CKM_RSA_PKCS;
		const char *name = "PKCS#1 v1.5";

		EVP_PKEY_encrypt_init(pc);
		if (mode) {
			const EVP_MD *md = mode == 1 ? EVP_sha1() : EVP_sha256();

			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING);
			EVP_PKEY_CTX_set_rsa_oaep_md(pc, md);
			EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md);
			op.hash = htole32(mode == 1 ? CKM_SHA_1 : CKM_SHA256);
			op.mgf = htole32(mode == 1 ? CKG_MGF1_SHA1 :
					 CKG_MGF1_SHA256);
			op.source = htole32(CKZ_DATA_SPECIFIED);
			param = &op;
			plen = sizeof(op);
			mech = CKM_RSA_PKCS_OAEP;
			name = mode == 1 ? "OAEP SHA-1" : "OAEP SHA-256";
		} else {
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
		}
		cl = sizeof(ct);
		EVP_PKEY_encrypt(pc, ct, &cl, pt, 100);
		EVP_PKEY_CTX_free(pc);
		ol = 16;
		check(oneshot(fd, BCFW_OP_DECRYPT, mech, param, plen, hv, ct,
			      cl, NULL, 0, out, &ol) ==
		      CKR(CKR_BUFFER_TOO_SMALL) && ol >= 100,
		      "%s: length query", name);
		ol = sizeof(out);
		check(oneshot(fd, BCFW_OP_DECRYPT, mech, param, plen, hv, ct,
			      cl, NULL, 0, out, &ol) == 0 && ol == 100 &&
		      !memcmp(out, pt, 100), "%s: chip decrypts OpenSSL's "
		      "ciphertext", name);
		ct[5] ^= 0x40;
		ol = sizeof(out);
		check(oneshot(fd, BCFW_OP_DECRYPT, mech, param, plen, hv, ct,
			      cl, NULL, 0, out, &ol) ==
		      CKR(CKR_ENCRYPTED_DATA_INVALID) || (mode == 0 &&
							 (ol != 100 ||
							  memcmp(out, pt, 100))),
		      "%s: damaged ciphertext", name);
		if (mode == 2) {
			/* Multi-part decryption on a session. */
			ct[5] ^= 0x40;
			ol = sizeof(out);
			check(session_open(fd, false, &s) == 0 &&
			      op_init(fd, s, BCFW_OP_DECRYPT_INIT, mech, param,
				      plen, hv) == 0 &&
			      op_step(fd, s, BCFW_OP_DECRYPT_UPDATE, ct, 100,
				      out, &ol) == 0 && ol == 0, "RSA UPDATE");
			ol = sizeof(out);
			check(op_step(fd, s, BCFW_OP_DECRYPT_UPDATE, ct + 100,
				      cl - 100, out, &ol) == 0 &&
			      (ol = sizeof(out),
			       op_step(fd, s, BCFW_OP_DECRYPT_FINAL, NULL, 0,
				       out, &ol) == 0) && ol == 100 &&
			      !memcmp(out, pt, 100), "RSA multi-part decrypt");
			call(fd, BCFW_OP_SESSION_CLOSE, s, NULL, 0, NULL, NULL);
		}
	}
	EVP_PKEY_free(pk);
	/* Empty inputs. */
	ol = sizeof(out);
	check(sign1(fd, CKM_RSA_PKCS, NULL, 0, hv, NULL, 0, out, &ol) == 0 &&
	      ol == 256, "RSA_PKCS signs empty data");
	ol = sizeof(out);
	check(oneshot(fd, BCFW_OP_DECRYPT, CKM_RSA_PKCS, NULL, 0, hv, NULL, 0,
		      NULL, 0, out, &ol) == CKR(CKR_ENCRYPTED_DATA_LEN_RANGE),
	      "RSA decrypt of nothing");
	ol = sizeof(out);
	check(oneshot(fd, BCFW_OP_DIGEST, CKM_SHA256, NULL, 0, 0, NULL, 0,
		      NULL, 0, out, &ol) == 0 && ol == 32 &&
	      out[0] == 0xe3 && out[1] == 0xb0, "SHA-256 of nothing");

	/* AES: CBC_PAD against OpenSSL, GCM round trips. */
	RAND_bytes(key, sizeof(key));
	check(import_aes(fd, key, 32, &ha) == 0, "AES-256 imported");
	{
		uint8_t iv[16], ref[400];
		int n1, n2;
		EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();

		RAND_bytes(iv, 16);
		EVP_EncryptInit_ex(cx, EVP_aes_256_cbc(), NULL, key, iv);
		EVP_EncryptUpdate(cx, ref, &n1, pt, 77);
		EVP_EncryptFinal_ex(cx, ref + n1, &n2);
		EVP_CIPHER_CTX_free(cx);
		cl = sizeof(ct);
		check(oneshot(fd, BCFW_OP_ENCRYPT, CKM_AES_CBC_PAD, iv, 16, ha,
			      pt, 77, NULL, 0, ct, &cl) == 0 &&
		      cl == (size_t)(n1 + n2) && !memcmp(ct, ref, cl),
		      "CBC_PAD encryption matches OpenSSL");
		/* Multi-part in odd pieces. */
		check(session_open(fd, false, &s) == 0 &&
		      op_init(fd, s, BCFW_OP_DECRYPT_INIT, CKM_AES_CBC_PAD, iv,
			      16, ha) == 0, "CBC decrypt init");
		{
			size_t got = 0, o;
			bool ok = true;

			for (size_t off = 0; off < cl && ok; off += 7) {
				size_t k = cl - off < 7 ? cl - off : 7;

				o = sizeof(out) - got;
				ok = op_step(fd, s, BCFW_OP_DECRYPT_UPDATE,
					     ct + off, k, out + got, &o) == 0;
				got += o;
			}
			o = 0;
			ok = ok && op_step(fd, s, BCFW_OP_DECRYPT_FINAL, NULL,
					   0, out + got, &o) ==
				CKR(CKR_BUFFER_TOO_SMALL);
			o = sizeof(out) - got;
			ok = ok && op_step(fd, s, BCFW_OP_DECRYPT_FINAL, NULL,
					   0, out + got, &o) == 0;
			got += o;
			check(ok && got == 77 && !memcmp(out, pt, 77),
			      "CBC_PAD multi-part decrypt in 7-byte pieces, "
			      "final length query");
		}
		call(fd, BCFW_OP_SESSION_CLOSE, s, NULL, 0, NULL, NULL);
	}
	{
		uint8_t gp[64] = { 0 };
		struct bcfw_gcm_params g = {
			.iv_bytes = htole32(12), .aad_bytes = htole32(5),
			.tag_nbits = htole32(128),
		};
		size_t gl = sizeof(g) + 16 + 5;

		memcpy(gp, &g, sizeof(g));
		RAND_bytes(gp + sizeof(g), 12);
		memcpy(gp + sizeof(g) + 16, "aad!!", 5);
		cl = sizeof(ct);
		check(oneshot(fd, BCFW_OP_ENCRYPT, CKM_AES_GCM, gp, gl, ha, pt,
			      200, NULL, 0, ct, &cl) == 0 && cl == 216,
		      "GCM encrypt: data + tag");
		ol = sizeof(out);
		check(oneshot(fd, BCFW_OP_DECRYPT, CKM_AES_GCM, gp, gl, ha, ct,
			      cl, NULL, 0, out, &ol) == 0 && ol == 200 &&
		      !memcmp(out, pt, 200), "GCM decrypt");
		ct[3] ^= 1;
		ol = sizeof(out);
		check(oneshot(fd, BCFW_OP_DECRYPT, CKM_AES_GCM, gp, gl, ha, ct,
			      cl, NULL, 0, out, &ol) ==
		      CKR(CKR_ENCRYPTED_DATA_INVALID), "GCM detects tampering");
		ct[3] ^= 1;
		{
			uint8_t ref[300];
			int n1, n2;
			EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();

			EVP_DecryptInit_ex(cx, EVP_aes_256_gcm(), NULL, NULL,
					   NULL);
			EVP_DecryptInit_ex(cx, NULL, NULL, key, gp + sizeof(g));
			EVP_DecryptUpdate(cx, NULL, &n1, (uint8_t *)"aad!!", 5);
			EVP_DecryptUpdate(cx, ref, &n1, ct, 200);
			EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, 16,
					    ct + 200);
			check(EVP_DecryptFinal_ex(cx, ref + n1, &n2) == 1 &&
			      !memcmp(ref, pt, 200),
			      "OpenSSL decrypts the chip's GCM");
			EVP_CIPHER_CTX_free(cx);
		}
	}
	/* Digest. */
	{
		uint8_t md[64], ref[64];
		size_t ml = sizeof(md);
		unsigned int rl;

		EVP_Digest(pt, 300, ref, &rl, EVP_sha384(), NULL);
		check(oneshot(fd, BCFW_OP_DIGEST, CKM_SHA384, NULL, 0, 0, pt,
			      300, NULL, 0, md, &ml) == 0 && ml == rl &&
		      !memcmp(md, ref, rl), "SHA-384 digest");
		check(session_open(fd, false, &s) == 0 &&
		      op_init(fd, s, BCFW_OP_DIGEST_INIT, CKM_SHA512, NULL, 0,
			      0) == 0 &&
		      op_step(fd, s, BCFW_OP_DIGEST_UPDATE, pt, 100, NULL,
			      NULL) == 0 &&
		      op_step(fd, s, BCFW_OP_DIGEST_UPDATE, pt + 100, 200, NULL,
			      NULL) == 0, "SHA-512 multi-part");
		ml = sizeof(md);
		EVP_Digest(pt, 300, ref, &rl, EVP_sha512(), NULL);
		check(op_step(fd, s, BCFW_OP_DIGEST_FINAL, NULL, 0, md, &ml) ==
		      0 && ml == 64 && !memcmp(md, ref, 64),
		      "SHA-512 multi-part result");
		call(fd, BCFW_OP_SESSION_CLOSE, s, NULL, 0, NULL, NULL);
	}
	close(fd);
}

static void put_bn(struct b *t, uint32_t type, EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[600];
	int n;

	EVP_PKEY_get_bn_param(pk, name, &bn);
	n = BN_bn2bin(bn, buf);
	a_bytes(t, type, buf, (size_t)n);
	BN_clear_free(bn);
}

static void test_import(struct emu *e)
{
	static const uint8_t msg[] = "imported keys sign too";
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct b t = { 0 };
	uint32_t hec, hrsa, hpub, hcert, h;
	uint8_t sig[600], pub[200], der[210];
	size_t sl, pl;
	int fd = conn_open(e);

	check(login(fd, BCFW_USER_USER, user_pin) == 0, "import: login");
	a_ul(&t, CKA_CLASS, CKO_PRIVATE_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_EC);
	a_bytes(&t, CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));
	{
		BIGNUM *d = NULL;
		uint8_t buf[48];

		EVP_PKEY_get_bn_param(ec, "priv", &d);
		BN_bn2binpad(d, buf, 48);
		a_bytes(&t, CKA_VALUE, buf, 48);
		BN_clear_free(d);
	}
	check(create(fd, 0, &t, &hec) == 0, "EC P-384 private key imported");
	b_free(&t);
	check(get_bool(fd, hec, CKA_LOCAL) == 0 &&
	      get_bool(fd, hec, CKA_SENSITIVE) == 1, "imported: not LOCAL, "
	      "SENSITIVE by default");
	sl = sizeof(sig);
	check(sign1(fd, CKM_ECDSA_SHA384, NULL, 0, hec, msg, sizeof(msg), sig,
		    &sl) == 0 && ossl_verify(ec, EVP_sha384(), -1, msg,
					     sizeof(msg), sig, sl, false),
	      "imported EC key signs; OpenSSL verifies");

	a_ul(&t, CKA_CLASS, CKO_PRIVATE_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_RSA);
	put_bn(&t, CKA_MODULUS, rsa, "n");
	put_bn(&t, CKA_PUBLIC_EXPONENT, rsa, "e");
	put_bn(&t, CKA_PRIVATE_EXPONENT, rsa, "d");
	put_bn(&t, CKA_PRIME_1, rsa, "rsa-factor1");
	put_bn(&t, CKA_PRIME_2, rsa, "rsa-factor2");
	put_bn(&t, CKA_EXPONENT_1, rsa, "rsa-exponent1");
	put_bn(&t, CKA_EXPONENT_2, rsa, "rsa-exponent2");
	put_bn(&t, CKA_COEFFICIENT, rsa, "rsa-coefficient1");
	a_bool(&t, CKA_TOKEN, true);
	check(create(fd, 0, &t, &hrsa) == 0, "RSA private key imported");
	b_free(&t);
	sl = sizeof(sig);
	check(sign1(fd, CKM_SHA256_RSA_PKCS, NULL, 0, hrsa, msg, sizeof(msg),
		    sig, &sl) == 0 && ossl_verify(rsa, EVP_sha256(), -1, msg,
						  sizeof(msg), sig, sl, false),
	      "imported RSA key signs; OpenSSL verifies");

	/* Public key import, then chip verification. */
	EVP_PKEY_get_octet_string_param(ec, "pub", pub, sizeof(pub), &pl);
	der[0] = 4;
	der[1] = (uint8_t)pl;
	memcpy(der + 2, pub, pl);
	a_ul(&t, CKA_CLASS, CKO_PUBLIC_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_EC);
	a_bytes(&t, CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));
	a_bytes(&t, CKA_EC_POINT, der, pl + 2);
	check(create(fd, 0, &t, &hpub) == 0, "EC public key imported");
	b_free(&t);
	sl = sizeof(sig);
	sign1(fd, CKM_ECDSA_SHA384, NULL, 0, hec, msg, sizeof(msg), sig, &sl);
	check(verify1(fd, CKM_ECDSA_SHA384, NULL, 0, hpub, msg, sizeof(msg),
		      sig, sl) == 0, "imported public key verifies");
	a_ul(&t, CKA_CLASS, CKO_PUBLIC_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_EC);
	a_bytes(&t, CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));
	der[10] ^= 0x55;
	a_bytes(&t, CKA_EC_POINT, der, pl + 2);
	check(create(fd, 0, &t, &h) == CKR(CKR_ATTRIBUTE_VALUE_INVALID),
	      "point off the curve refused");
	b_free(&t);
	a_ul(&t, CKA_CLASS, CKO_PRIVATE_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_EC);
	a_bytes(&t, CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));
	check(create(fd, 0, &t, &h) == CKR(CKR_TEMPLATE_INCOMPLETE),
	      "EC private key without a value");
	b_free(&t);

	/* Certificate (a self-signed one made here). */
	{
		X509 *x = X509_new();
		uint8_t *cd = NULL, *sd = NULL;
		int cl, sdl;

		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					   MBSTRING_ASC,
					   (const uint8_t *)"test", -1, -1, 0);
		X509_set_issuer_name(x, X509_get_subject_name(x));
		X509_set_pubkey(x, ec);
		X509_sign(x, ec, EVP_sha384());
		cl = i2d_X509(x, &cd);
		sdl = i2d_X509_NAME(X509_get_subject_name(x), &sd);
		a_ul(&t, CKA_CLASS, CKO_CERTIFICATE);
		a_ul(&t, CKA_CERTIFICATE_TYPE, CKC_X_509);
		a_bytes(&t, CKA_VALUE, cd, (size_t)cl);
		a_bytes(&t, CKA_SUBJECT, sd, (size_t)sdl);
		a_bool(&t, CKA_TOKEN, true);
		a_str(&t, CKA_LABEL, "cert");
		check(create(fd, 0, &t, &hcert) == 0, "certificate imported");
		{
			uint8_t *v;

			check(get_attr(fd, hcert, CKA_VALUE, &v) ==
			      (uint32_t)cl && !memcmp(v, cd, (size_t)cl),
			      "certificate value reads back");
			free(v);
			v = NULL;
		}
		b_free(&t);
		OPENSSL_free(cd);
		OPENSSL_free(sd);
		X509_free(x);
	}
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	close(fd);
}

static uint32_t wrap(int fd, uint32_t mech, uint32_t wk, uint32_t k,
		     uint8_t *out, size_t *olen)
{
	struct b b = { 0 };
	uint8_t *ans;
	size_t n;
	uint32_t st;

	b_u32(&b, wk);
	b_u32(&b, k);
	b_u32(&b, (uint32_t)*olen);
	b_u32(&b, 0);
	b_mech(&b, mech, NULL, 0);
	st = call_b(fd, BCFW_OP_WRAP_KEY, 0, &b, &ans, &n);
	if (st == 0) {
		*olen = le32_at(ans);
		if (le32_at(ans + 4) & BCFW_OUT_TOO_SMALL)
			st = CKR(CKR_BUFFER_TOO_SMALL);
		else
			memcpy(out, ans + 8, *olen);
	}
	free(ans);
	b_free(&b);
	return st;
}

static uint32_t unwrap(int fd, uint32_t mech, uint32_t uk, const uint8_t *w,
		       size_t wl, struct b *tpl, uint32_t *h)
{
	struct b b = { 0 };
	uint8_t *ans;
	size_t n;
	uint32_t st;

	b_u32(&b, uk);
	b_u32(&b, (uint32_t)wl);
	b_u32(&b, tpl->count);
	b_u32(&b, 0);
	b_mech(&b, mech, NULL, 0);
	b_put(&b, w, wl);
	b_pad8(&b);
	b_put(&b, tpl->p, tpl->n);
	st = call_b(fd, BCFW_OP_UNWRAP_KEY, 0, &b, &ans, &n);
	*h = st == 0 && n == 8 ? le32_at(ans) : 0;
	free(ans);
	b_free(&b);
	return st;
}

/* Key migration: wrap on chip A, unwrap on chip B, sign on B, verify with A's public key. */
static void test_migration(struct emu *a_emu)
{
	static const uint8_t msg[] = "migrated";
	const char *kinds[] = { "p256", "ed25519", "rsa2048" };
	const uint32_t mechs[] = { CKM_ECDSA_SHA256, CKM_EDDSA,
				   CKM_SHA256_RSA_PKCS };
	const uint64_t ktypes[] = { CKK_EC, CKK_EC_EDWARDS, CKK_RSA };
	struct emu b_emu;
	uint8_t tk[32], w[4096], sig[600];
	uint32_t ta, tb, hp, hv, hb, sa, sb;
	int fa = conn_open(a_emu), fb;

	if (emu_start(&b_emu, "chipb", NULL)) {
		check(false, "chip B starts");
		return;
	}
	fb = conn_open(&b_emu);
	check(token_setup(fb, "Chip B"), "chip B token set up");
	check(login(fa, BCFW_USER_USER, user_pin) == 0, "chip A login");
	RAND_bytes(tk, sizeof(tk));
	check(import_aes(fa, tk, 32, &ta) == 0 && import_aes(fb, tk, 32, &tb) ==
	      0, "shared transport key on both chips");
	for (int i = 0; i < 3; i++) {
		size_t wl = 16, sl = sizeof(sig);
		struct b t = { 0 };
		EVP_PKEY *pk;

		check(keypair(fa, kinds[i], false, true, &hp, &hv) == 0,
		      "%s: extractable key on A", kinds[i]);
		check(wrap(fa, CKM_AES_KEY_WRAP_PAD, ta, hv, w, &wl) ==
		      CKR(CKR_BUFFER_TOO_SMALL) && wl > 16,
		      "%s: wrap length query", kinds[i]);
		wl = sizeof(w);
		check(wrap(fa, i == 2 ? CKM_AES_KEY_WRAP : CKM_AES_KEY_WRAP_PAD,
			   ta, hv, w, &wl) == 0, "%s: wrapped on A", kinds[i]);
		a_ul(&t, CKA_CLASS, CKO_PRIVATE_KEY);
		a_ul(&t, CKA_KEY_TYPE, ktypes[i]);
		a_bool(&t, CKA_TOKEN, true);
		a_str(&t, CKA_LABEL, "migrated");
		check(unwrap(fb, i == 2 ? CKM_AES_KEY_WRAP :
			     CKM_AES_KEY_WRAP_PAD, tb, w, wl, &t, &hb) == 0,
		      "%s: unwrapped on B", kinds[i]);
		check(get_bool(fb, hb, CKA_LOCAL) == 0 &&
		      get_bool(fb, hb, CKA_ALWAYS_SENSITIVE) == 0 &&
		      get_bool(fb, hb, CKA_NEVER_EXTRACTABLE) == 0,
		      "%s: unwrapped key is not local", kinds[i]);
		check(sign1(fb, mechs[i], NULL, 0, hb, msg, sizeof(msg), sig,
			    &sl) == 0, "%s: B signs", kinds[i]);
		pk = pub_of(fa, hp);
		check(ossl_verify(pk, i == 1 ? NULL : EVP_sha256(), -1, msg,
				  sizeof(msg), sig, sl, false),
		      "%s: A's public key verifies B's signature", kinds[i]);
		EVP_PKEY_free(pk);
		w[wl / 2] ^= 1;
		check(unwrap(fb, i == 2 ? CKM_AES_KEY_WRAP :
			     CKM_AES_KEY_WRAP_PAD, tb, w, wl, &t, &hb) ==
		      CKR(CKR_WRAPPED_KEY_INVALID), "%s: damaged blob refused",
		      kinds[i]);
		b_free(&t);
	}
	/* Secret keys too. */
	{
		size_t wl = sizeof(w);
		struct b t = { 0 };
		uint8_t *v1, *v2;
		uint32_t n1, n2;

		check(genkey_aes(fa, 24, false, true, false, &sa) == 0 &&
		      wrap(fa, CKM_AES_KEY_WRAP, ta, sa, w, &wl) == 0 &&
		      wl == 32, "AES-192 wrapped (RFC 3394)");
		a_ul(&t, CKA_CLASS, CKO_SECRET_KEY);
		a_ul(&t, CKA_KEY_TYPE, CKK_AES);
		a_bool(&t, CKA_SENSITIVE, false);
		a_bool(&t, CKA_EXTRACTABLE, true);
		check(unwrap(fb, CKM_AES_KEY_WRAP, tb, w, wl, &t, &sb) == 0,
		      "AES-192 unwrapped");
		n1 = get_attr(fa, sa, CKA_VALUE, &v1);
		n2 = get_attr(fb, sb, CKA_VALUE, &v2);
		check(n1 == 24 && n2 == 24 && !memcmp(v1, v2, 24),
		      "same AES key on both chips");
		free(v1);
		free(v2);
		b_free(&t);
	}
	close(fa);
	close(fb);
	check(emu_stop(&b_emu) == 0, "chip B clean exit");
}

static void test_derive(struct emu *e)
{
	EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *mine;
	EVP_PKEY_CTX *dc;
	uint8_t ppub[100], ref[64], *v;
	size_t pl, rl = sizeof(ref);
	uint32_t hp, hv, hd, n;
	struct b b = { 0 }, t = { 0 };
	struct bcfw_ecdh_params ep = { 0 };
	uint8_t *out;
	size_t on;
	int fd = conn_open(e);

	check(login(fd, BCFW_USER_USER, user_pin) == 0, "derive: login");
	check(keypair(fd, "p256", false, false, &hp, &hv) == 0, "ECDH key");
	EVP_PKEY_get_octet_string_param(peer, "pub", ppub, sizeof(ppub), &pl);
	ep.kdf = htole32(CKD_NULL);
	ep.public_len = htole32((uint32_t)pl);
	a_ul(&t, CKA_CLASS, CKO_SECRET_KEY);
	a_ul(&t, CKA_KEY_TYPE, CKK_GENERIC_SECRET);
	a_bool(&t, CKA_SENSITIVE, false);
	a_bool(&t, CKA_EXTRACTABLE, true);
	b_u32(&b, hv);
	b_u32(&b, t.count);
	b_mech(&b, CKM_ECDH1_DERIVE, NULL, sizeof(ep) + pl);
	b_put(&b, &ep, sizeof(ep));
	b_put(&b, ppub, pl);
	b_pad8(&b);
	b_put(&b, t.p, t.n);
	check(call_b(fd, BCFW_OP_DERIVE_KEY, 0, &b, &out, &on) == 0 && on == 8,
	      "ECDH1_DERIVE");
	hd = on == 8 ? le32_at(out) : 0;
	free(out);
	mine = pub_of(fd, hp);
	dc = EVP_PKEY_CTX_new(peer, NULL);
	EVP_PKEY_derive_init(dc);
	EVP_PKEY_derive_set_peer(dc, mine);
	EVP_PKEY_derive(dc, ref, &rl);
	n = get_attr(fd, hd, CKA_VALUE, &v);
	check(n == rl && !memcmp(v, ref, rl),
	      "derived secret equals OpenSSL's ECDH");
	free(v);
	v = NULL;
	EVP_PKEY_CTX_free(dc);
	check(set_bool(fd, hv, CKA_DERIVE, false) == 0 &&
	      call_b(fd, BCFW_OP_DERIVE_KEY, 0, &b, NULL, NULL) ==
	      CKR(CKR_KEY_FUNCTION_NOT_PERMITTED), "DERIVE usage flag");
	EVP_PKEY_free(mine);
	EVP_PKEY_free(peer);
	b_free(&b);
	b_free(&t);
	close(fd);
}

/* A chip reset (RESET envelope) ends logins and session objects, not token objects. */
static void test_reset(struct emu *e)
{
	struct b t = { 0 };
	struct reply rp;
	struct bcfw_token_info ti;
	uint32_t hs = 0, ht = 0;
	uint8_t *v = NULL, *v2 = NULL;
	struct b b2 = { 0 };
	int fd = conn_open(e);

	check(login(fd, BCFW_USER_USER, user_pin) == 0, "reset: login");
	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_bool(&t, CKA_PRIVATE, true);
	check(create(fd, 0, &t, &hs) == 0, "private session object");
	a_bool(&t, CKA_TOKEN, true);
	check(create(fd, 0, &t, &ht) == 0, "private token object");
	b_free(&t);
	check(send_env(fd, BCEM_RESET, 0, 77, NULL, 0) == 0 &&
	      recv_env(fd, &rp) == 0 && rp.type == BCEM_RESET_DONE,
	      "RESET answered");
	free(rp.data);
	check(token_info(fd, &ti) && le32toh(ti.login) == BCFW_LOGIN_NONE,
	      "logged out by the reset");
	check(login(fd, BCFW_USER_USER, user_pin) == 0, "login again at once");
	check(get_attr(fd, hs, CKA_CLASS, &v) ==
	      CKR(CKR_OBJECT_HANDLE_INVALID), "session object gone");
	free(v);
	v = NULL;
	check(get_attr(fd, ht, CKA_CLASS, &v) == 8, "token object kept");
	free(v);
	v = NULL;

	/* CLIENT_CLOSE ends one client of a connection, not the others. */
	{
		struct resp r;
		struct b g = { 0 };
		uint8_t body[64];
		size_t n = 0;
		uint32_t pl = htole32((uint32_t)strlen(user_pin));
		uint32_t u = htole32(1), hs1 = 0, hs2 = 0;

		memcpy(body, &u, 4);
		memcpy(body + 4, &pl, 4);
		memcpy(body + 8, user_pin, strlen(user_pin));
		xact(fd, 2, BCFW_OP_LOGIN, 0, body,
		     8 + (uint32_t)strlen(user_pin), &r);
		check(!r.err && r.status == 0, "client 2 logs in");
		resp_free(&r);
		a_ul(&t, CKA_CLASS, CKO_DATA);
		b_u32(&b2, 0);
		b_u32(&b2, t.count);
		b_put(&b2, t.p, t.n);
		xact(fd, 2, BCFW_OP_CREATE_OBJECT, 0, b2.p, (uint32_t)b2.n, &r);
		check(!r.err && r.status == 0 && r.blen == 8,
		      "client 2 session object");
		if (!r.err && r.blen == 8)
			hs2 = le32_at(r.body);
		resp_free(&r);
		check(create(fd, 0, &t, &hs1) == 0, "client 1 session object");
		xact(fd, 2, BCFW_OP_CLIENT_CLOSE, 0, NULL, 0, &r);
		check(!r.err && r.status == 0, "CLIENT_CLOSE of client 2");
		resp_free(&r);
		b_u32(&g, hs2);
		b_u32(&g, 1);
		b_u32(&g, CKA_CLASS);
		xact(fd, 2, BCFW_OP_GET_ATTRIBUTES, 0, g.p, (uint32_t)g.n, &r);
		check(!r.err && r.status == CKR(CKR_OBJECT_HANDLE_INVALID),
		      "client 2's session object gone");
		resp_free(&r);
		b_free(&g);
		xact(fd, 2, BCFW_OP_TOKEN_INFO, 0, NULL, 0, &r);
		check(!r.err && r.blen == sizeof(struct bcfw_token_info) &&
		      le32_at(r.body + BCFW_LABEL_LEN + 4) == BCFW_LOGIN_NONE,
		      "client 2 logged out");
		resp_free(&r);
		check(get_attr(fd, hs1, CKA_CLASS, &v) == 8 &&
		      call(fd, BCFW_OP_TOKEN_INFO, 0, NULL, 0, &v2, &n) == 0 &&
		      le32_at(v2 + BCFW_LABEL_LEN + 4) == BCFW_LOGIN_USER,
		      "client 1 untouched");
		free(v);
		free(v2);
		b_free(&t);
		b_free(&b2);
	}
	close(fd);
}

struct worker {
	struct emu *e;
	uint32_t key;
	int kind;		/* 0 sign, 1 relabel, 2 login churn */
	unsigned int ok, n;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int fd = conn_open(w->e);
	uint8_t dg[32] = { 7 }, sig[128];

	if (fd < 0)
		return NULL;
	if (w->kind != 2)
		login(fd, BCFW_USER_USER, user_pin);
	for (unsigned int i = 0; i < w->n; i++) {
		size_t sl = sizeof(sig);
		struct b t = { 0 };
		char lab[32];

		switch (w->kind) {
		case 0:
			w->ok += sign1(fd, CKM_ECDSA, NULL, 0, w->key, dg, 32,
				       sig, &sl) == 0 && sl == 64;
			break;
		case 1:
			snprintf(lab, sizeof(lab), "label %u", i);
			a_str(&t, CKA_LABEL, lab);
			w->ok += set_attr(fd, 0, w->key, &t) == 0;
			b_free(&t);
			break;
		default:
			w->ok += login(fd, BCFW_USER_USER, user_pin) == 0 &&
				logout(fd) == 0;
			break;
		}
	}
	close(fd);
	return NULL;
}

/* Signatures on several engines while the key is relabelled and others log in. */
static void test_concurrency(struct emu *e)
{
	struct worker w[6];
	pthread_t th[6];
	uint32_t hp, hv;
	int fd = conn_open(e);

	check(login(fd, BCFW_USER_USER, user_pin) == 0 &&
	      keypair(fd, "p256", true, false, &hp, &hv) == 0,
	      "concurrency: token key");
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){ .e = e, .key = hv, .n = 150,
					.kind = i < 4 ? 0 : i - 3 };
		if (w[i].kind)
			w[i].n = 20;
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		check(w[i].ok == w[i].n, "concurrency: worker %d (kind %d) "
		      "%u of %u", i, w[i].kind, w[i].ok, w[i].n);
	}
	close(fd);
}

static void test_mechs(struct emu *e)
{
	uint8_t *out = NULL;
	size_t n = 0;
	int fd = conn_open(e);
	struct bcfw_mech_info_req rq = { .mech = htole32(CKM_RSA_PKCS_KEY_PAIR_GEN) };
	struct bcfw_mech_info mi;
	uint32_t st, cnt;

	st = call(fd, BCFW_OP_MECH_LIST, 0, NULL, 0, &out, &n);
	cnt = st == 0 && n >= 8 ? le32_at(out) : 0;
	check(st == 0 && n == 8 + 4 * (size_t)cnt && cnt >= 26,
	      "MECH_LIST (%u)", cnt);
	free(out);
	check(call(fd, BCFW_OP_MECH_INFO, 0, &rq, sizeof(rq), &out, &n) == 0 &&
	      n == sizeof(mi), "MECH_INFO");
	if (n == sizeof(mi)) {
		memcpy(&mi, out, sizeof(mi));
		check(le32toh(mi.min_key) == 2048 &&
		      le32toh(mi.max_key) == 4096 &&
		      (le64toh(mi.flags) & CKF_GENERATE_KEY_PAIR),
		      "RSA keygen: 2048..4096");
	}
	free(out);
	rq.mech = htole32(0x12345);
	check(call(fd, BCFW_OP_MECH_INFO, 0, &rq, sizeof(rq), NULL, NULL) ==
	      CKR(CKR_MECHANISM_INVALID), "unknown mechanism");
	close(fd);
}

static int count_files(const char *dir, const char *suffix)
{
	char cmd[600];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c -- '%s$'", dir, suffix);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void test_persistence(void)
{
	static const uint8_t msg[] = "after restart";
	struct emu e;
	uint32_t hd = 0, hp = 0, hv = 0, hx = 0, hn = 0, hs[64];
	uint8_t sig[128], *v;
	size_t sl = sizeof(sig);
	struct b t = { 0 };
	int fd;

	if (emu_start(&e, "persist", NULL)) {
		check(false, "persist: starts");
		return;
	}
	fd = conn_open(&e);
	check(token_setup(fd, "Persist"), "persist: token set up");
	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_bool(&t, CKA_TOKEN, true);
	a_str(&t, CKA_LABEL, "keep me");
	a_str(&t, CKA_VALUE, "persistent value");
	check(create(fd, 0, &t, &hd) == 0, "token data object");
	check(create(fd, 0, &t, &hx) == 0, "second one, to be destroyed");
	check(keypair(fd, "p384", true, false, &hp, &hv) == 0,
	      "token key pair");
	check(destroy(fd, 0, hx) == 0, "destroyed");
	close(fd);
	check(emu_stop(&e) == 0, "persist: clean exit");
	if (emu_start(&e, "persist", NULL)) {
		check(false, "persist: restarts");
		return;
	}
	fd = conn_open(&e);
	check(get_attr(fd, hd, CKA_VALUE, &v) == 16 &&
	      !memcmp(v, "persistent value", 16),
	      "token object back with the same handle");
	free(v);
	v = NULL;
	check(get_attr(fd, hx, CKA_LABEL, &v) ==
	      CKR(CKR_OBJECT_HANDLE_INVALID), "destroyed object stays gone");
	free(v);
	v = NULL;
	check(get_attr(fd, hv, CKA_LABEL, &v) ==
	      CKR(CKR_OBJECT_HANDLE_INVALID), "private key hidden before login");
	free(v);
	v = NULL;
	check(login(fd, BCFW_USER_USER, user_pin) == 0, "login after restart");
	check(sign1(fd, CKM_ECDSA_SHA384, NULL, 0, hv, msg, sizeof(msg), sig,
		    &sl) == 0 && verify1(fd, CKM_ECDSA_SHA384, NULL, 0, hp, msg,
					 sizeof(msg), sig, sl) == 0,
	      "stored key pair signs and verifies after restart");
	check(get_bool(fd, hv, CKA_LOCAL) == 1 &&
	      get_bool(fd, hv, CKA_NEVER_EXTRACTABLE) == 1,
	      "its attributes persisted");
	check(create(fd, 0, &t, &hn) == 0 && hn > hv && hn > hx,
	      "new handles are never reused (%#x > %#x)", hn, hv);
	b_free(&t);
	a_str(&t, CKA_LABEL, "keep me");
	check(find(fd, 0, &t, hs) == 2, "FIND over stored objects");
	b_free(&t);
	close(fd);
	check(emu_stop(&e) == 0, "persist: clean exit after restart");

	/* INIT_TOKEN wipes token objects, but not the handle counter. */
	if (emu_start(&e, "persist", NULL))
		return;
	fd = conn_open(&e);
	check(init_token(fd, "Wiped", so_pin) == 0, "re-initialized");
	check(get_attr(fd, hd, CKA_LABEL, &v) ==
	      CKR(CKR_OBJECT_HANDLE_INVALID), "token objects wiped");
	free(v);
	v = NULL;
	check(!(tok_flags(fd) & BCFW_TOKF_USER_PIN_INITIALIZED),
	      "user PIN wiped");
	a_ul(&t, CKA_CLASS, CKO_DATA);
	a_bool(&t, CKA_TOKEN, true);
	check(create(fd, 0, &t, &hx) == 0 && hx > hn,
	      "handle counter survives INIT_TOKEN");
	close(fd);
	check(emu_stop(&e) == 0, "persist: clean exit after wipe");

	/* Damage from outside: a flipped byte, a stray temporary. */
	{
		char path[400], objdir[300];
		int ofd;
		uint8_t x = 0;

		snprintf(objdir, sizeof(objdir), "%s/objects", e.state);
		snprintf(path, sizeof(path), "%s/%08x", objdir, hx);
		ofd = open(path, O_RDWR);
		check(ofd >= 0 && pread(ofd, &x, 1, 30) == 1, "object file");
		x ^= 0x10;
		check(ofd >= 0 && pwrite(ofd, &x, 1, 30) == 1, "damaged");
		if (ofd >= 0)
			close(ofd);
		snprintf(path, sizeof(path), "%s/%08x.tmp", objdir, hx + 1);
		ofd = open(path, O_WRONLY | O_CREAT, 0600);
		if (ofd >= 0)
			close(ofd);
		if (emu_start(&e, "persist", NULL)) {
			check(false, "persist: starts with a damaged object");
			b_free(&t);
			return;
		}
		fd = conn_open(&e);
		check(get_attr(fd, hx, CKA_CLASS, &v) ==
		      CKR(CKR_OBJECT_HANDLE_INVALID),
		      "damaged object not loaded");
		free(v);
		v = NULL;
		check(count_files(objdir, ".corrupt") == 1 &&
		      count_files(objdir, ".tmp") == 0,
		      "damaged file kept aside, temporary removed");
		check(create(fd, 0, &t, &hn) == 0 && hn > hx,
		      "handles still move on");
		close(fd);
		check(emu_stop(&e) == 0, "persist: clean exit after damage");
	}
	b_free(&t);
}

struct burst {
	struct emu *e;
	uint32_t handles[20000];
	unsigned int acked;
};

static void *burst_main(void *arg)
{
	struct burst *bu = arg;
	int fd = conn_open(bu->e);

	if (fd < 0)
		return NULL;
	for (unsigned int i = 0; i < 20000; i++) {
		struct b t = { 0 };
		char val[32];
		uint32_t h, st;

		snprintf(val, sizeof(val), "object %u", i);
		a_ul(&t, CKA_CLASS, CKO_DATA);
		a_bool(&t, CKA_TOKEN, true);
		a_str(&t, CKA_VALUE, val);
		st = create(fd, 0, &t, &h);
		b_free(&t);
		if (st)
			break;
		/* Acknowledged: from here it must survive. */
		bu->handles[i] = h;
		__atomic_store_n(&bu->acked, i + 1, __ATOMIC_RELEASE);
	}
	close(fd);
	return NULL;
}

static void test_crash(void)
{
	struct emu e;
	struct burst *bu = calloc(1, sizeof(*bu));
	char objdir[300];
	int fd;

	if (!bu || emu_start(&e, "crash", NULL)) {
		check(false, "crash: starts");
		free(bu);
		return;
	}
	snprintf(objdir, sizeof(objdir), "%s/objects", e.state);
	for (int round = 0; round < 3; round++) {
		pthread_t th;
		unsigned int acked, bad = 0;

		bu->e = &e;
		bu->acked = 0;
		pthread_create(&th, NULL, burst_main, bu);
		usleep(150000 + 100000 * (unsigned int)round);
		/* A power cut, as near as a process gets. */
		kill(e.pid, SIGKILL);
		waitpid(e.pid, NULL, 0);
		e.pid = 0;
		pthread_join(th, NULL);
		acked = __atomic_load_n(&bu->acked, __ATOMIC_ACQUIRE);
		check(acked > 0, "crash %d: objects acknowledged before the "
		      "kill (%u)", round, acked);
		if (emu_start(&e, "crash", NULL)) {
			check(false, "crash %d: restarts", round);
			break;
		}
		fd = conn_open(&e);
		for (unsigned int i = 0; i < acked; i++) {
			uint8_t *v;
			char val[32];
			uint32_t n;

			snprintf(val, sizeof(val), "object %u", i);
			n = get_attr(fd, bu->handles[i], CKA_VALUE, &v);
			if (n != strlen(val) || memcmp(v, val, n))
				bad++;
			free(v);
			v = NULL;
		}
		check(bad == 0, "crash %d: all %u acknowledged objects intact "
		      "(%u bad)", round, acked, bad);
		check(count_files(objdir, ".corrupt") == 0 &&
		      count_files(objdir, ".tmp") == 0,
		      "crash %d: no damaged or half-written files", round);
		close(fd);
	}
	check(emu_stop(&e) == 0, "crash: clean exit");
	free(bu);
}

/* Mutated requests for every key-store opcode: always answered, never fatal. */
static void test_fuzz(struct emu *e)
{
	struct b seeds[8] = { 0 };
	uint16_t ops[8] = {
		BCFW_OP_CREATE_OBJECT, BCFW_OP_GENERATE_KEY_PAIR, BCFW_OP_SIGN,
		BCFW_OP_UNWRAP_KEY, BCFW_OP_FIND_OBJECTS,
		BCFW_OP_GET_ATTRIBUTES, BCFW_OP_LOGIN, BCFW_OP_DERIVE_KEY,
	};
	unsigned int answered = 0, total = 0;
	unsigned int seed = 12345;
	int fd = conn_open(e);

	/* Valid shapes to start from. */
	b_u32(&seeds[0], 0);
	b_u32(&seeds[0], 3);
	a_ul(&seeds[0], CKA_CLASS, CKO_DATA);
	a_str(&seeds[0], CKA_LABEL, "fuzz");
	a_bool(&seeds[0], CKA_PRIVATE, false);
	b_u32(&seeds[1], 1);
	b_u32(&seeds[1], 1);
	b_mech(&seeds[1], CKM_EC_KEY_PAIR_GEN, NULL, 0);
	a_bytes(&seeds[1], CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
	a_bool(&seeds[1], CKA_SIGN, true);
	b_u32(&seeds[2], 1);
	b_u32(&seeds[2], 64);
	b_u32(&seeds[2], 5);
	b_u32(&seeds[2], 0);
	b_mech(&seeds[2], CKM_RSA_PKCS_PSS, NULL, 16);
	b_u32(&seeds[2], CKM_SHA256);
	b_u32(&seeds[2], CKG_MGF1_SHA256);
	b_u32(&seeds[2], 32);
	b_u32(&seeds[2], 0);
	b_put(&seeds[2], "hello", 5);
	b_u32(&seeds[3], 1);
	b_u32(&seeds[3], 24);
	b_u32(&seeds[3], 1);
	b_u32(&seeds[3], 0);
	b_mech(&seeds[3], CKM_AES_KEY_WRAP, NULL, 0);
	b_put(&seeds[3], "0123456789abcdef01234567", 24);
	a_ul(&seeds[3], CKA_CLASS, CKO_SECRET_KEY);
	b_u32(&seeds[4], 0);
	b_u32(&seeds[4], 0);
	b_u32(&seeds[4], 10);
	b_u32(&seeds[4], 1);
	a_ul(&seeds[4], CKA_CLASS, CKO_DATA);
	b_u32(&seeds[5], 1);
	b_u32(&seeds[5], 2);
	b_u32(&seeds[5], CKA_LABEL);
	b_u32(&seeds[5], CKA_VALUE);
	b_u32(&seeds[6], 1);
	b_u32(&seeds[6], 4);
	b_put(&seeds[6], "abcd", 4);
	b_u32(&seeds[7], 1);
	b_u32(&seeds[7], 1);
	b_mech(&seeds[7], CKM_ECDH1_DERIVE, NULL, 16 + 3);
	b_u32(&seeds[7], CKD_NULL);
	b_u32(&seeds[7], 0);
	b_u32(&seeds[7], 3);
	b_u32(&seeds[7], 0);
	b_put(&seeds[7], "\x04\x01\x02", 3);
	b_pad8(&seeds[7]);
	a_ul(&seeds[7], CKA_KEY_TYPE, CKK_AES);

	for (int i = 0; i < 3000; i++) {
		int k = (int)(rand_r(&seed) % 8);
		size_t n = seeds[k].n;
		uint8_t buf[600];
		uint16_t op = ops[k];
		uint32_t st;
		int muts = 1 + (int)(rand_r(&seed) % 4);

		memcpy(buf, seeds[k].p, n);
		for (int m = 0; m < muts; m++) {
			switch (rand_r(&seed) % 5) {
			case 0:	/* flip a byte */
				buf[rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
				break;
			case 1:	/* truncate */
				n = rand_r(&seed) % (n + 1);
				if (!n)
					n = 1;
				break;
			case 2:	/* huge length/count somewhere */
				if (n >= 4) {
					uint32_t big = 0xffffffffu -
						(rand_r(&seed) % 16);
					size_t at = (rand_r(&seed) % (n / 4)) * 4;

					memcpy(buf + at, &big, 4);
				}
				break;
			case 3:	/* extend with junk */
				if (n + 16 <= sizeof(buf)) {
					for (int j = 0; j < 16; j++)
						buf[n + j] = (uint8_t)rand_r(&seed);
					n += 16;
				}
				break;
			default: /* another opcode */
				op = (uint16_t)(0x0200 + rand_r(&seed) % 0x500);
				break;
			}
		}
		st = call(fd, op, 0, buf, n, NULL, NULL);
		total++;
		if (st != NO_ANSWER)
			answered++;
		else {
			close(fd);
			fd = conn_open(e);
		}
	}
	check(answered == total, "fuzz: %u of %u mutated requests answered",
	      answered, total);
	check(emu_alive(e), "fuzz: emulator alive");
	for (int k = 0; k < 8; k++)
		b_free(&seeds[k]);
	close(fd);
}

int main(int argc, char **argv)
{
	struct emu e;
	int rc = emutest_begin(argc, argv, "bcks-test");

	if (rc)
		return rc;
	test_token();
	test_blank_label();
	if (emu_start(&e, "main", NULL) == 0) {
		test_objects(&e);
		test_sign(&e);
		test_rules(&e);
		test_crypt(&e);
		test_import(&e);
		test_migration(&e);
		test_derive(&e);
		test_reset(&e);
		test_concurrency(&e);
		test_mechs(&e);
		test_fuzz(&e);
		check(emu_alive(&e), "emulator alive at the end");
		check(emu_stop(&e) == 0, "clean exit (sanitizers quiet)");
	} else {
		check(false, "emulator starts");
	}
	test_persistence();
	test_crash();
	return emutest_end();
}

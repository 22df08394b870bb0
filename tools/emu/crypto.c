// SPDX-License-Identifier: GPL-2.0
/*
 * Crypto operations: sign, verify, encrypt, decrypt and digest, one-shot
 * (stateless) or multi-part with their state on a chip session.
 *
 * Every output honours the caller's capacity without consuming anything
 * when it does not fit (PKCS#11's length query): sizes are computed
 * before the work where they are known, and found by a trial on a copy of
 * the state where they are not (padded decryption).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "keystore.h"

/* Largest output or buffered input: what one answer frame can carry. */
#define KS_MAX_DATA	(EMU_MAX_FRAME - BCFW_HDR_SIZE - 64)

enum kind { K_ECDSA, K_EDDSA, K_RSA_PKCS, K_PSS, K_OAEP, K_GCM, K_CBC,
	    K_DIGEST };

struct mcfg {
	enum kind kind;
	const EVP_MD *md;		/* hash of a hashing mechanism */
	const EVP_MD *pss_md, *mgf_md;	/* PSS, OAEP */
	int salt;
	const uint8_t *label;		/* OAEP */
	size_t label_len;
	const uint8_t *iv;		/* GCM, CBC */
	size_t ivl;
	const uint8_t *aad;
	size_t aadl;
	unsigned int tag_len;
};

struct ks_op {
	int family;			/* BCFW_OP_SIGN_INIT & 0xfff0, ... */
	struct mcfg m;
	struct ks_obj *key;
	EVP_MD_CTX *md;			/* hashing sign/verify, digest */
	EVP_CIPHER_CTX *cx;		/* AES */
	bool enc;
	size_t pending;			/* CBC: bytes in, not yet out */
	uint8_t *buf;			/* single-part data, GCM decrypt */
	size_t buf_len;
	uint8_t *label;			/* OAEP label copy */
};

int ks_op_family(const struct ks_op *op)
{
	return op->family;
}

static const EVP_MD *md_of_ckm(uint32_t ckm)
{
	switch (ckm) {
	case CKM_SHA_1: return EVP_sha1();
	case CKM_SHA256: return EVP_sha256();
	case CKM_SHA384: return EVP_sha384();
	case CKM_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static const EVP_MD *md_of_mgf(uint32_t mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1: return EVP_sha1();
	case CKG_MGF1_SHA256: return EVP_sha256();
	case CKG_MGF1_SHA384: return EVP_sha384();
	case CKG_MGF1_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static uint32_t mech_parse(int family, const struct ks_mech *mm,
			   struct mcfg *m)
{
	const struct ks_mech_desc *d = ks_mech_find(mm->mech);
	static const uint64_t need[] = {
		[1] = CKF_SIGN, [2] = CKF_VERIFY, [3] = CKF_ENCRYPT,
		[4] = CKF_DECRYPT, [5] = CKF_DIGEST,
	};
	int f = (family >> 4) & 0xf;
	const uint8_t *p = mm->param;
	uint32_t pl = mm->param_len;

	memset(m, 0, sizeof(*m));
	if (!d || f < 1 || f > 5 || !(d->flags & need[f]))
		return KS_CKR(CKR_MECHANISM_INVALID);
	switch (mm->mech) {
	case CKM_ECDSA: m->kind = K_ECDSA; break;
	case CKM_ECDSA_SHA256: m->kind = K_ECDSA; m->md = EVP_sha256(); break;
	case CKM_ECDSA_SHA384: m->kind = K_ECDSA; m->md = EVP_sha384(); break;
	case CKM_ECDSA_SHA512: m->kind = K_ECDSA; m->md = EVP_sha512(); break;
	case CKM_EDDSA: m->kind = K_EDDSA; break;
	case CKM_RSA_PKCS: m->kind = K_RSA_PKCS; break;
	case CKM_SHA256_RSA_PKCS: m->kind = K_RSA_PKCS; m->md = EVP_sha256(); break;
	case CKM_SHA384_RSA_PKCS: m->kind = K_RSA_PKCS; m->md = EVP_sha384(); break;
	case CKM_SHA512_RSA_PKCS: m->kind = K_RSA_PKCS; m->md = EVP_sha512(); break;
	case CKM_RSA_PKCS_PSS: m->kind = K_PSS; break;
	case CKM_SHA256_RSA_PKCS_PSS: m->kind = K_PSS; m->md = EVP_sha256(); break;
	case CKM_SHA384_RSA_PKCS_PSS: m->kind = K_PSS; m->md = EVP_sha384(); break;
	case CKM_SHA512_RSA_PKCS_PSS: m->kind = K_PSS; m->md = EVP_sha512(); break;
	case CKM_RSA_PKCS_OAEP: m->kind = K_OAEP; break;
	case CKM_AES_GCM: m->kind = K_GCM; break;
	case CKM_AES_CBC_PAD: m->kind = K_CBC; break;
	case CKM_SHA256: m->kind = K_DIGEST; m->md = EVP_sha256(); break;
	case CKM_SHA384: m->kind = K_DIGEST; m->md = EVP_sha384(); break;
	case CKM_SHA512: m->kind = K_DIGEST; m->md = EVP_sha512(); break;
	default:
		return KS_CKR(CKR_MECHANISM_INVALID);
	}
	switch (m->kind) {
	case K_PSS: {
		struct bcfw_pss_params pp;

		if (pl != sizeof(pp))
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		memcpy(&pp, p, sizeof(pp));
		m->pss_md = md_of_ckm(le32toh(pp.hash));
		m->mgf_md = md_of_mgf(le32toh(pp.mgf));
		m->salt = (int)le32toh(pp.salt_len);
		if (!m->pss_md || !m->mgf_md || pp.reserved ||
		    le32toh(pp.salt_len) > 512 ||
		    (m->md && m->md != m->pss_md))
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		return BCFW_S_OK;
	}
	case K_OAEP: {
		struct bcfw_oaep_params op;
		uint32_t src;

		if (pl < sizeof(op))
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		memcpy(&op, p, sizeof(op));
		m->pss_md = md_of_ckm(le32toh(op.hash));
		m->mgf_md = md_of_mgf(le32toh(op.mgf));
		src = le32toh(op.source);
		m->label_len = le32toh(op.source_len);
		m->label = p + sizeof(op);
		if (!m->pss_md || !m->mgf_md ||
		    (src != 0 && src != CKZ_DATA_SPECIFIED) ||
		    m->label_len != pl - sizeof(op) ||
		    (src == 0 && m->label_len))
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		return BCFW_S_OK;
	}
	case K_GCM: {
		struct bcfw_gcm_params gp;
		uint32_t tb;

		if (pl < sizeof(gp))
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		memcpy(&gp, p, sizeof(gp));
		m->ivl = le32toh(gp.iv_bytes);
		m->aadl = le32toh(gp.aad_bytes);
		tb = le32toh(gp.tag_nbits);
		if (gp.reserved || m->ivl < 1 || m->ivl > 128 ||
		    m->aadl > pl - sizeof(gp) ||
		    BCFW_ALIGN8(m->ivl) + (uint64_t)m->aadl !=
		    pl - sizeof(gp) || tb < 96 || tb > 128 || tb % 8)
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		m->iv = p + sizeof(gp);
		m->aad = m->iv + BCFW_ALIGN8(m->ivl);
		m->tag_len = tb / 8;
		return BCFW_S_OK;
	}
	case K_CBC:
		if (pl != 16)
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		m->iv = p;
		m->ivl = 16;
		return BCFW_S_OK;
	default:
		return pl ? KS_CKR(CKR_MECHANISM_PARAM_INVALID) : BCFW_S_OK;
	}
}

static uint64_t ktype_of(enum kind k)
{
	switch (k) {
	case K_ECDSA: return CKK_EC;
	case K_EDDSA: return CKK_EC_EDWARDS;
	case K_GCM:
	case K_CBC: return CKK_AES;
	default: return CKK_RSA;
	}
}

/* Finds the key and checks it may do this. */
static uint32_t key_for(const struct ks_caller *c, int family,
			const struct ks_mech *mm, const struct mcfg *m,
			uint32_t handle, struct ks_obj **out)
{
	const struct ks_mech_desc *d = ks_mech_find(mm->mech);
	struct ks_obj *o;
	uint32_t usage, st;
	uint64_t cls;
	bool sym = m->kind == K_GCM || m->kind == K_CBC;

	*out = NULL;
	if (family == BCFW_OP_DIGEST_INIT)
		return handle ? BCFW_S_BAD_ARGS : BCFW_S_OK;
	st = ks_obj_get(c, handle, true, &o);
	if (st)
		return st;
	switch (family) {
	case BCFW_OP_SIGN_INIT:
		usage = CKA_SIGN;
		cls = CKO_PRIVATE_KEY;
		break;
	case BCFW_OP_VERIFY_INIT:
		usage = CKA_VERIFY;
		cls = CKO_PUBLIC_KEY;
		break;
	case BCFW_OP_ENCRYPT_INIT:
		usage = CKA_ENCRYPT;
		cls = sym ? CKO_SECRET_KEY : CKO_PUBLIC_KEY;
		break;
	default:
		usage = CKA_DECRYPT;
		cls = sym ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
		break;
	}
	if (o->cls != cls || o->ktype != ktype_of(m->kind))
		st = KS_CKR(CKR_KEY_TYPE_INCONSISTENT);
	else if (!ks_obj_bool(o, usage))
		st = KS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED);
	else if (cls == CKO_PRIVATE_KEY && c->login != BCFW_LOGIN_USER)
		st = KS_CKR(CKR_USER_NOT_LOGGED_IN);
	else if (o->bits < d->min_key || o->bits > d->max_key)
		st = KS_CKR(CKR_KEY_SIZE_RANGE);
	if (st) {
		ks_obj_put(o);
		return st;
	}
	*out = o;
	return BCFW_S_OK;
}

void ks_op_free(struct ks_op *op)
{
	if (!op)
		return;
	EVP_MD_CTX_free(op->md);
	EVP_CIPHER_CTX_free(op->cx);
	if (op->buf) {
		OPENSSL_cleanse(op->buf, op->buf_len);
		free(op->buf);
	}
	free(op->label);
	ks_obj_put(op->key);
	free(op);
}

static const EVP_CIPHER *aes_cipher(enum kind k, size_t key_len)
{
	if (k == K_GCM)
		return key_len == 16 ? EVP_aes_128_gcm() :
			key_len == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
	return key_len == 16 ? EVP_aes_128_cbc() :
		key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
}

/* PSS and padding settings on a key context (sign or verify). */
static bool rsa_setup(EVP_PKEY_CTX *pc, const struct mcfg *m)
{
	if (m->kind == K_RSA_PKCS)
		return EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0;
	if (m->kind == K_PSS)
		return EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
			(m->md || EVP_PKEY_CTX_set_signature_md(pc, m->pss_md) > 0) &&
			EVP_PKEY_CTX_set_rsa_mgf1_md(pc, m->mgf_md) > 0 &&
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, m->salt) > 0;
	if (m->kind == K_OAEP) {
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pc, m->pss_md) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, m->mgf_md) <= 0)
			return false;
		if (m->label_len) {
			void *l = OPENSSL_memdup(m->label, m->label_len);

			if (!l || EVP_PKEY_CTX_set0_rsa_oaep_label(
				    pc, l, (int)m->label_len) <= 0) {
				OPENSSL_free(l);
				return false;
			}
		}
	}
	return true;
}

static bool streams(const struct ks_op *op)
{
	return op->m.md || op->m.kind == K_GCM || op->m.kind == K_CBC;
}

/* Sets up op for its first byte.  The key is already checked. */
static uint32_t op_start(struct ks_op *op)
{
	EVP_PKEY_CTX *pc = NULL;
	const struct mcfg *m = &op->m;
	bool sign = op->family == BCFW_OP_SIGN_INIT;

	if (op->family == BCFW_OP_DIGEST_INIT) {
		op->md = EVP_MD_CTX_new();
		if (!op->md || EVP_DigestInit_ex(op->md, m->md, NULL) != 1)
			return BCFW_S_INTERNAL;
		return BCFW_S_OK;
	}
	if (m->kind == K_GCM || m->kind == K_CBC) {
		const EVP_CIPHER *ciph = aes_cipher(m->kind,
						    op->key->secret_len);
		int dummy;

		op->enc = op->family == BCFW_OP_ENCRYPT_INIT;
		op->cx = EVP_CIPHER_CTX_new();
		if (!op->cx ||
		    EVP_CipherInit_ex(op->cx, ciph, NULL, NULL, NULL,
				      op->enc) != 1)
			return BCFW_S_INTERNAL;
		if (m->kind == K_GCM &&
		    EVP_CIPHER_CTX_ctrl(op->cx, EVP_CTRL_GCM_SET_IVLEN,
					(int)m->ivl, NULL) != 1)
			return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		if (EVP_CipherInit_ex(op->cx, NULL, NULL, op->key->secret,
				      m->iv, op->enc) != 1)
			return BCFW_S_INTERNAL;
		if (m->kind == K_GCM && m->aadl &&
		    EVP_CipherUpdate(op->cx, NULL, &dummy, m->aad,
				     (int)m->aadl) != 1)
			return BCFW_S_INTERNAL;
		/* The IV and AAD live in the request; not needed after this. */
		op->m.iv = op->m.aad = NULL;
		return BCFW_S_OK;
	}
	if (m->kind == K_OAEP && m->label_len) {
		/* Kept for the final step, after the request is gone. */
		op->label = malloc(m->label_len);
		if (!op->label)
			return BCFW_S_INTERNAL;
		memcpy(op->label, m->label, m->label_len);
		op->m.label = op->label;
	}
	if (!m->md && m->kind != K_EDDSA)
		return BCFW_S_OK;	/* single-part: buffered */
	if (m->kind == K_EDDSA)
		return BCFW_S_OK;	/* Ed25519 signs the whole message */
	op->md = EVP_MD_CTX_new();
	if (!op->md)
		return BCFW_S_INTERNAL;
	if ((sign ? EVP_DigestSignInit(op->md, &pc, m->md, NULL,
				       op->key->pkey) :
	     EVP_DigestVerifyInit(op->md, &pc, m->md, NULL,
				  op->key->pkey)) != 1)
		return BCFW_S_INTERNAL;
	if (op->key->ktype == CKK_RSA && !rsa_setup(pc, m))
		return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
	return BCFW_S_OK;
}

static uint32_t op_new(const struct ks_caller *c, int family,
		       const struct ks_mech *mm, uint32_t key,
		       struct ks_op **out)
{
	struct ks_op *op;
	uint32_t st;

	op = calloc(1, sizeof(*op));
	if (!op)
		return BCFW_S_INTERNAL;
	op->family = family;
	st = mech_parse(family, mm, &op->m);
	if (!st)
		st = key_for(c, family, mm, &op->m, key, &op->key);
	if (!st)
		st = op_start(op);
	if (st) {
		ks_op_free(op);
		return st;
	}
	*out = op;
	return BCFW_S_OK;
}

uint32_t ks_op_init(const struct ks_caller *c, int family,
		    const struct ks_mech *m, uint32_t key, struct ks_op **out)
{
	return op_new(c, family, m, key, out);
}

static uint32_t buffer_in(struct ks_op *op, const uint8_t *in, size_t n)
{
	uint8_t *nb;

	if (!n)
		return BCFW_S_OK;
	if (op->buf_len + n > KS_MAX_DATA)
		return KS_CKR(CKR_DATA_LEN_RANGE);
	nb = malloc(op->buf_len + n);
	if (!nb)
		return BCFW_S_INTERNAL;
	if (op->buf_len)
		memcpy(nb, op->buf, op->buf_len);
	memcpy(nb + op->buf_len, in, n);
	if (op->buf) {
		OPENSSL_cleanse(op->buf, op->buf_len);
		free(op->buf);
	}
	op->buf = nb;
	op->buf_len += n;
	return BCFW_S_OK;
}

/* The collected data; never NULL, as some EVP calls insist. */
static const uint8_t *op_data(const struct ks_op *op)
{
	static const uint8_t none[1];

	return op->buf ? op->buf : none;
}

/* Bytes CBC gives out for @t bytes held. */
static size_t cbc_out(bool enc, size_t t)
{
	if (enc)
		return t / 16 * 16;
	return t % 16 ? t / 16 * 16 : (t ? t - 16 : 0);
}

uint32_t ks_op_update(struct ks_op *op, const uint8_t *in, size_t in_len,
		      uint8_t *out, size_t cap, size_t *olen)
{
	int n;

	*olen = 0;
	if (op->family == BCFW_OP_DIGEST_INIT)
		return EVP_DigestUpdate(op->md, in, in_len) == 1 ?
			BCFW_S_OK : BCFW_S_INTERNAL;
	if (op->m.kind == K_CBC) {
		size_t want = cbc_out(op->enc, op->pending + in_len);

		if (want > KS_MAX_DATA)
			return KS_CKR(CKR_DATA_LEN_RANGE);
		*olen = want;
		if (want > cap)
			return BCFW_S_OK;
		if (EVP_CipherUpdate(op->cx, out, &n, in, (int)in_len) != 1 ||
		    (size_t)n != want)
			return BCFW_S_INTERNAL;
		op->pending = op->pending + in_len - want;
		return BCFW_S_OK;
	}
	if (op->m.kind == K_GCM && op->enc) {
		*olen = in_len;
		if (in_len > cap)
			return BCFW_S_OK;
		if (EVP_CipherUpdate(op->cx, out, &n, in, (int)in_len) != 1 ||
		    (size_t)n != in_len)
			return BCFW_S_INTERNAL;
		return BCFW_S_OK;
	}
	if (op->md && op->family == BCFW_OP_SIGN_INIT)
		return EVP_DigestSignUpdate(op->md, in, in_len) == 1 ?
			BCFW_S_OK : BCFW_S_INTERNAL;
	if (op->md && op->family == BCFW_OP_VERIFY_INIT)
		return EVP_DigestVerifyUpdate(op->md, in, in_len) == 1 ?
			BCFW_S_OK : BCFW_S_INTERNAL;
	/* Single-part mechanisms and GCM decryption: held until final. */
	return buffer_in(op, in, in_len);
}

/* ---- signatures ---- */

static size_t ec_half(const struct ks_obj *k)
{
	return ((size_t)k->bits + 7) / 8;
}

static size_t sig_size(const struct ks_op *op)
{
	switch (op->m.kind) {
	case K_ECDSA: return 2 * ec_half(op->key);
	case K_EDDSA: return 64;
	default: return (size_t)EVP_PKEY_get_size(op->key->pkey);
	}
}

/* DER ECDSA-Sig-Value -> r || s, each @half bytes. */
static uint32_t ecdsa_to_raw(const uint8_t *der, size_t len, size_t half,
			     uint8_t *out)
{
	const uint8_t *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *ss;
	uint32_t st = BCFW_S_INTERNAL;

	if (!s)
		return st;
	ECDSA_SIG_get0(s, &r, &ss);
	if (BN_bn2binpad(r, out, (int)half) == (int)half &&
	    BN_bn2binpad(ss, out + half, (int)half) == (int)half)
		st = BCFW_S_OK;
	ECDSA_SIG_free(s);
	return st;
}

/* r || s -> DER, malloc'd; NULL if it cannot be one. */
static uint8_t *ecdsa_to_der(const uint8_t *raw, size_t len, int *der_len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL);
	BIGNUM *ss = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
	uint8_t *der = NULL;

	if (s && r && ss && ECDSA_SIG_set0(s, r, ss) == 1) {
		r = ss = NULL;
		*der_len = i2d_ECDSA_SIG(s, &der);
		if (*der_len <= 0)
			der = NULL;
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return der;
}

/* Signs the buffered message (single-part) or finishes the digest. */
static uint32_t sign_final(struct ks_op *op, uint8_t *out, size_t *olen)
{
	uint8_t der[160];
	size_t dl = sizeof(der), want = sig_size(op), n = want;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *dst = op->m.kind == K_ECDSA ? der : out;
	uint32_t st = BCFW_S_INTERNAL;

	if (op->m.kind == K_ECDSA)
		n = dl;
	if (op->md) {
		if (EVP_DigestSignFinal(op->md, dst, &n) != 1)
			return BCFW_S_INTERNAL;
	} else if (op->m.kind == K_EDDSA) {
		EVP_MD_CTX *mc = EVP_MD_CTX_new();

		if (mc && EVP_DigestSignInit(mc, NULL, NULL, NULL,
					     op->key->pkey) == 1 &&
		    EVP_DigestSign(mc, dst, &n, op_data(op), op->buf_len) == 1)
			st = BCFW_S_OK;
		EVP_MD_CTX_free(mc);
		if (st)
			return st;
	} else {
		pc = EVP_PKEY_CTX_new(op->key->pkey, NULL);
		if (!pc || EVP_PKEY_sign_init(pc) != 1 ||
		    (op->key->ktype == CKK_RSA && !rsa_setup(pc, &op->m))) {
			EVP_PKEY_CTX_free(pc);
			return BCFW_S_INTERNAL;
		}
		if (op->m.kind == K_PSS &&
		    op->buf_len != (size_t)EVP_MD_get_size(op->m.pss_md)) {
			EVP_PKEY_CTX_free(pc);
			return KS_CKR(CKR_DATA_LEN_RANGE);
		}
		if (op->m.kind == K_RSA_PKCS && op->buf_len + 11 > want) {
			EVP_PKEY_CTX_free(pc);
			return KS_CKR(CKR_DATA_LEN_RANGE);
		}
		if (op->m.kind == K_ECDSA && !op->buf_len) {
			EVP_PKEY_CTX_free(pc);
			return KS_CKR(CKR_DATA_LEN_RANGE);
		}
		if (EVP_PKEY_sign(pc, dst, &n, op_data(op), op->buf_len) != 1) {
			EVP_PKEY_CTX_free(pc);
			return BCFW_S_INTERNAL;
		}
		EVP_PKEY_CTX_free(pc);
	}
	if (op->m.kind == K_ECDSA) {
		st = ecdsa_to_raw(der, n, ec_half(op->key), out);
		if (st)
			return st;
		n = want;
	}
	*olen = n;
	return BCFW_S_OK;
}

static uint32_t verify_final(struct ks_op *op, const uint8_t *sig,
			     size_t sig_len)
{
	const uint8_t *s = sig;
	uint8_t *der = NULL;
	size_t sl = sig_len;
	EVP_PKEY_CTX *pc = NULL;
	int ok = 0, dl = 0;

	if (sig_len != sig_size(op))
		return KS_CKR(CKR_SIGNATURE_LEN_RANGE);
	if (op->m.kind == K_ECDSA) {
		der = ecdsa_to_der(sig, sig_len, &dl);
		if (!der)
			return KS_CKR(CKR_SIGNATURE_INVALID);
		s = der;
		sl = (size_t)dl;
	}
	if (op->md) {
		ok = EVP_DigestVerifyFinal(op->md, s, sl);
	} else if (op->m.kind == K_EDDSA) {
		EVP_MD_CTX *mc = EVP_MD_CTX_new();

		if (mc && EVP_DigestVerifyInit(mc, NULL, NULL, NULL,
					       op->key->pkey) == 1)
			ok = EVP_DigestVerify(mc, s, sl, op_data(op), op->buf_len);
		EVP_MD_CTX_free(mc);
	} else {
		pc = EVP_PKEY_CTX_new(op->key->pkey, NULL);
		if (pc && EVP_PKEY_verify_init(pc) == 1 &&
		    (op->key->ktype != CKK_RSA || rsa_setup(pc, &op->m)))
			ok = EVP_PKEY_verify(pc, s, sl, op_data(op), op->buf_len);
		EVP_PKEY_CTX_free(pc);
	}
	OPENSSL_free(der);
	return ok == 1 ? BCFW_S_OK : KS_CKR(CKR_SIGNATURE_INVALID);
}

/* ---- RSA encryption ---- */

static uint32_t rsa_crypt(struct ks_op *op, uint8_t *out, size_t cap,
			  size_t *olen)
{
	size_t k = (size_t)EVP_PKEY_get_size(op->key->pkey), n = k;
	bool enc = op->family == BCFW_OP_ENCRYPT_INIT;
	EVP_PKEY_CTX *pc;
	uint8_t *tmp;
	uint32_t st = BCFW_S_OK;
	int ok;

	if (!enc && op->buf_len != k)
		return KS_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE);
	if (enc && cap < k) {
		*olen = k;
		return BCFW_S_OK;
	}
	tmp = malloc(k);
	pc = EVP_PKEY_CTX_new(op->key->pkey, NULL);
	if (!tmp || !pc ||
	    (enc ? EVP_PKEY_encrypt_init(pc) : EVP_PKEY_decrypt_init(pc)) != 1 ||
	    !rsa_setup(pc, &op->m)) {
		st = BCFW_S_INTERNAL;
		goto out;
	}
	ok = enc ? EVP_PKEY_encrypt(pc, tmp, &n, op_data(op), op->buf_len) :
		EVP_PKEY_decrypt(pc, tmp, &n, op_data(op), op->buf_len);
	if (ok != 1) {
		st = KS_CKR(enc ? CKR_DATA_LEN_RANGE :
			    CKR_ENCRYPTED_DATA_INVALID);
		goto out;
	}
	*olen = n;
	if (n <= cap)
		memcpy(out, tmp, n);
out:
	if (tmp) {
		OPENSSL_cleanse(tmp, k);
		free(tmp);
	}
	EVP_PKEY_CTX_free(pc);
	return st;
}

/* ---- AES final steps ---- */

static uint32_t cbc_final(struct ks_op *op, uint8_t *out, size_t cap,
			  size_t *olen)
{
	uint8_t tmp[32];
	EVP_CIPHER_CTX *trial;
	int n = 0;

	if (op->enc) {
		*olen = 16;
		if (cap < 16)
			return BCFW_S_OK;
		return EVP_CipherFinal_ex(op->cx, out, &n) == 1 && n == 16 ?
			BCFW_S_OK : BCFW_S_INTERNAL;
	}
	if (op->pending != 16)
		return KS_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE);
	/* The length is known only after unpadding: try on a copy. */
	trial = EVP_CIPHER_CTX_new();
	if (!trial || EVP_CIPHER_CTX_copy(trial, op->cx) != 1) {
		EVP_CIPHER_CTX_free(trial);
		return BCFW_S_INTERNAL;
	}
	if (EVP_CipherFinal_ex(trial, tmp, &n) != 1) {
		EVP_CIPHER_CTX_free(trial);
		return KS_CKR(CKR_ENCRYPTED_DATA_INVALID);
	}
	EVP_CIPHER_CTX_free(trial);
	*olen = (size_t)n;
	if ((size_t)n <= cap)
		memcpy(out, tmp, (size_t)n);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return BCFW_S_OK;
}

static uint32_t gcm_final(struct ks_op *op, uint8_t *out, size_t cap,
			  size_t *olen)
{
	size_t ct;
	int n = 0, m = 0;

	if (op->enc) {
		*olen = op->m.tag_len;
		if (cap < op->m.tag_len)
			return BCFW_S_OK;
		if (EVP_CipherFinal_ex(op->cx, out, &n) != 1 ||
		    EVP_CIPHER_CTX_ctrl(op->cx, EVP_CTRL_GCM_GET_TAG,
					(int)op->m.tag_len, out) != 1)
			return BCFW_S_INTERNAL;
		return BCFW_S_OK;
	}
	if (op->buf_len < op->m.tag_len)
		return KS_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE);
	ct = op->buf_len - op->m.tag_len;
	*olen = ct;
	if (ct > cap)
		return BCFW_S_OK;
	if (EVP_CIPHER_CTX_ctrl(op->cx, EVP_CTRL_GCM_SET_TAG,
				(int)op->m.tag_len, op->buf + ct) != 1 ||
	    EVP_CipherUpdate(op->cx, out, &n, op->buf, (int)ct) != 1)
		return BCFW_S_INTERNAL;
	if (EVP_CipherFinal_ex(op->cx, out + n, &m) != 1) {
		OPENSSL_cleanse(out, ct);
		*olen = 0;
		return KS_CKR(CKR_ENCRYPTED_DATA_INVALID);
	}
	return BCFW_S_OK;
}

uint32_t ks_op_final(struct ks_op *op, const uint8_t *sig, size_t sig_len,
		     uint8_t *out, size_t cap, size_t *olen)
{
	unsigned int dl;

	*olen = 0;
	switch (op->family) {
	case BCFW_OP_DIGEST_INIT:
		*olen = (size_t)EVP_MD_get_size(op->m.md);
		if (*olen > cap)
			return BCFW_S_OK;
		return EVP_DigestFinal_ex(op->md, out, &dl) == 1 ?
			BCFW_S_OK : BCFW_S_INTERNAL;
	case BCFW_OP_SIGN_INIT:
		*olen = sig_size(op);
		if (*olen > cap)
			return BCFW_S_OK;
		return sign_final(op, out, olen);
	case BCFW_OP_VERIFY_INIT:
		return verify_final(op, sig, sig_len);
	default:
		if (op->m.kind == K_CBC)
			return cbc_final(op, out, cap, olen);
		if (op->m.kind == K_GCM)
			return gcm_final(op, out, cap, olen);
		return rsa_crypt(op, out, cap, olen);
	}
}

uint32_t ks_op_oneshot(const struct ks_caller *c, int family,
		       const struct ks_mech *m, uint32_t key,
		       const uint8_t *in, size_t in_len,
		       const uint8_t *sig, size_t sig_len,
		       uint8_t *out, size_t cap, size_t *olen)
{
	struct ks_op *op;
	uint8_t *tmp = NULL;
	size_t n1 = 0, n2 = 0, tcap;
	uint32_t st;

	*olen = 0;
	st = op_new(c, family, m, key, &op);
	if (st)
		return st;
	/* Known sizes are answered before any work is done. */
	if (family == BCFW_OP_SIGN_INIT && sig_size(op) > cap) {
		*olen = sig_size(op);
		goto out;
	}
	if (family == BCFW_OP_SIGN_INIT || family == BCFW_OP_VERIFY_INIT ||
	    family == BCFW_OP_DIGEST_INIT || !streams(op)) {
		st = ks_op_update(op, in, in_len, NULL, 0, &n1);
		if (!st)
			st = ks_op_final(op, sig, sig_len, out, cap, olen);
		goto out;
	}
	/* AES: into a scratch buffer, then whatever fits. */
	tcap = in_len + 16 + 16;
	if (tcap > KS_MAX_DATA + 32) {
		st = KS_CKR(CKR_DATA_LEN_RANGE);
		goto out;
	}
	tmp = malloc(tcap);
	if (!tmp) {
		st = BCFW_S_INTERNAL;
		goto out;
	}
	st = ks_op_update(op, in, in_len, tmp, tcap, &n1);
	if (!st)
		st = ks_op_final(op, NULL, 0, tmp + n1, tcap - n1, &n2);
	if (!st) {
		*olen = n1 + n2;
		if (*olen <= cap)
			memcpy(out, tmp, *olen);
	}
out:
	if (tmp) {
		OPENSSL_cleanse(tmp, in_len + 32);
		free(tmp);
	}
	ks_op_free(op);
	return st;
}

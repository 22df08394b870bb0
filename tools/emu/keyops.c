// SPDX-License-Identifier: GPL-2.0
/*
 * The key store's opcodes: parse each request body exactly (every count
 * and length checked against the frame before anything is believed),
 * find out who is asking and with which session, and hand over to the
 * token, object and crypto code.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keystore.h"

/* Largest bcfw_out payload an answer frame can carry. */
#define OUT_MAX		(EMU_MAX_FRAME - BCFW_HDR_SIZE - sizeof(struct bcfw_out))

int ks_init(const char *state_dir)
{
	int ret = ks_store_init(state_dir);

	if (ret) {
		emu_log("cannot open the key store in %s: %s\n", state_dir,
			strerror(-ret));
		return ret;
	}
	ret = ks_token_init();
	if (!ret)
		ret = ks_objects_init();
	return ret;
}

void ks_fini(void)
{
	ks_objects_fini();
	ks_token_fini();
	ks_store_fini();
}

/* A request body being read. */
struct cur {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *r;

	if (c->bad || n > c->len - c->off) {
		c->bad = true;
		return NULL;
	}
	r = c->p + c->off;
	c->off += n;
	return r;
}

/* A variable part followed by others: padded with zeros to 8. */
static const uint8_t *take_padded(struct cur *c, size_t n)
{
	const uint8_t *r = take(c, n);
	size_t pad = BCFW_ALIGN8(n) - n;

	if (!r)
		return NULL;
	/* Padding after the last part may be left off. */
	if (c->off == c->len)
		return r;
	for (size_t i = 0; i < pad; i++) {
		const uint8_t *z = take(c, 1);

		if (!z || *z) {
			c->bad = true;
			return NULL;
		}
	}
	return r;
}

static bool at_end(const struct cur *c)
{
	return !c->bad && c->off == c->len;
}

/* The mechanism named in the fixed struct, and its parameters that follow. */
static uint32_t take_mech(struct cur *c, const struct bcfw_mech *wm,
			  struct ks_mech *m)
{
	m->mech = le32toh(wm->mech);
	m->param_len = le32toh(wm->param_len);
	m->param = NULL;
	if (m->param_len > c->len)
		return BCFW_S_BAD_ARGS;
	m->param = take_padded(c, m->param_len);
	if (!m->param && m->param_len)
		return BCFW_S_BAD_ARGS;
	if (!m->param)
		m->param = (const uint8_t *)"";
	return c->bad ? BCFW_S_BAD_ARGS : BCFW_S_OK;
}

static uint32_t take_tmpl(struct cur *c, uint32_t count, struct ks_tmpl *t)
{
	size_t used;
	uint32_t st;

	st = ks_tmpl_parse(c->p + c->off, c->len - c->off, count, t, &used);
	if (st)
		return st;
	c->off += used;
	return BCFW_S_OK;
}

/* A template that ends the body; nothing to free unless it returns OK. */
static uint32_t take_last_tmpl(struct cur *c, uint32_t count,
			       struct ks_tmpl *t)
{
	uint32_t st = take_tmpl(c, count, t);

	if (!st && !at_end(c)) {
		ks_tmpl_free(t);
		st = BCFW_S_BAD_ARGS;
	}
	return st;
}

/* The answer under construction. */
struct ans {
	uint32_t st;
	uint8_t *body;
	uint32_t len;
};

/*
 * Copies the fixed struct that opens a body into @r; a body too short for
 * it is BAD_ARGS, and the handler has nothing more to do.
 */
static bool take_fixed(struct cur *c, void *r, size_t n, struct ans *a)
{
	const uint8_t *h = take(c, n);

	if (!h) {
		a->st = BCFW_S_BAD_ARGS;
		return false;
	}
	memcpy(r, h, n);
	return true;
}

static uint8_t *ans_alloc(struct ans *a, size_t n)
{
	a->body = calloc(1, n ? n : 1);
	if (!a->body) {
		a->st = BCFW_S_INTERNAL;
		return NULL;
	}
	a->len = (uint32_t)n;
	return a->body;
}

static void ans_handle(struct ans *a, uint32_t h)
{
	struct bcfw_handle_resp r = { .handle = htole32(h) };

	if (ans_alloc(a, sizeof(r)))
		memcpy(a->body, &r, sizeof(r));
}

/* An output buffer for up to @out_cap bytes (what a frame can carry). */
static uint8_t *out_begin(struct ans *a, uint32_t out_cap, size_t *cap)
{
	*cap = out_cap < OUT_MAX ? out_cap : OUT_MAX;
	if (!ans_alloc(a, sizeof(struct bcfw_out) + *cap))
		return NULL;
	return a->body + sizeof(struct bcfw_out);
}

/* Finishes a bcfw_out answer after a call left *olen (see bcfw_out). */
static void out_end(struct ans *a, uint32_t out_cap, size_t cap, size_t olen)
{
	struct bcfw_out o = { .len = htole32((uint32_t)olen) };

	if (a->st) {
		free(a->body);
		a->body = NULL;
		a->len = 0;
		return;
	}
	if (olen > cap) {
		if (olen <= out_cap) {
			/* The caller has room, but no frame does. */
			a->st = BCFW_S_TOO_BIG;
			out_end(a, out_cap, cap, 0);
			return;
		}
		o.flags = htole32(BCFW_OUT_TOO_SMALL);
		olen = 0;
	}
	memcpy(a->body, &o, sizeof(o));
	a->len = (uint32_t)(sizeof(o) + olen);
}

/* ---- token ---- */

static void op_token_info(const struct ks_caller *c, struct cur *b,
			  struct ans *a)
{
	struct bcfw_token_info ti;

	if (!at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_token_info(c, &ti);
	if (!a->st && ans_alloc(a, sizeof(ti)))
		memcpy(a->body, &ti, sizeof(ti));
}

static void op_init_token(const struct ks_caller *c, struct cur *b,
			  struct ans *a)
{
	struct bcfw_init_token_req r;
	const uint8_t *pin;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	pin = take(b, le32toh(r.pin_len));
	if (r.reserved || !at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_token_init_token(c, r.label, pin, le32toh(r.pin_len));
}

static void op_init_pin(const struct ks_caller *c, struct cur *b,
			struct ans *a)
{
	struct bcfw_pin_req r;
	const uint8_t *pin;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	pin = take(b, le32toh(r.pin_len));
	if (r.reserved || !at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_token_init_pin(c, pin, le32toh(r.pin_len));
}

static void op_set_pin(const struct ks_caller *c, struct cur *b,
		       struct ans *a)
{
	struct bcfw_set_pin_req r;
	const uint8_t *old, *new_pin;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	/* Packed: the new PIN starts right after the old one. */
	old = take(b, le32toh(r.old_len));
	new_pin = take(b, le32toh(r.new_len));
	if (!at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_token_set_pin(c, old, le32toh(r.old_len), new_pin,
				 le32toh(r.new_len));
}

static void op_login(const struct ks_caller *c, struct cur *b, struct ans *a)
{
	struct bcfw_login_req r;
	const uint8_t *pin;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	pin = take(b, le32toh(r.pin_len));
	if (!at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_token_login(c, le32toh(r.user), pin, le32toh(r.pin_len));
}

/* ---- mechanisms ---- */

static void op_mech_list(struct cur *b, struct ans *a)
{
	unsigned int n = ks_mech_count();
	struct bcfw_mech_list h = { .count = htole32(n) };

	if (!at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	if (!ans_alloc(a, sizeof(h) + 4 * (size_t)n))
		return;
	memcpy(a->body, &h, sizeof(h));
	for (unsigned int i = 0; i < n; i++) {
		uint32_t m = htole32(ks_mech_at(i)->mech);

		memcpy(a->body + sizeof(h) + 4 * i, &m, 4);
	}
}

static void op_mech_info(struct cur *b, struct ans *a)
{
	const struct ks_mech_desc *d;
	struct bcfw_mech_info_req r;
	struct bcfw_mech_info mi;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	if (r.reserved || !at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	d = ks_mech_find(le32toh(r.mech));
	if (!d) {
		a->st = KS_CKR(CKR_MECHANISM_INVALID);
		return;
	}
	mi.min_key = htole32(d->min_key);
	mi.max_key = htole32(d->max_key);
	mi.flags = htole64(d->flags);
	if (ans_alloc(a, sizeof(mi)))
		memcpy(a->body, &mi, sizeof(mi));
}

/* ---- objects ---- */

static void op_create(const struct ks_caller *c, struct cur *b,
		      struct ans *a, bool copy)
{
	struct bcfw_obj_req r;
	struct ks_tmpl t;
	uint32_t h = 0;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	if (!copy && r.handle) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = take_last_tmpl(b, le32toh(r.count), &t);
	if (a->st)
		return;
	a->st = copy ? ks_obj_copy(c, le32toh(r.handle), &t, &h) :
		ks_obj_create(c, &t, &h);
	if (!a->st)
		ans_handle(a, h);
}

static void op_destroy(const struct ks_caller *c, struct cur *b,
		       struct ans *a)
{
	struct bcfw_obj_req r;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	if (r.count || !at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_obj_destroy(c, le32toh(r.handle));
}

static void op_get_attrs(const struct ks_caller *c, struct cur *b,
			 struct ans *a)
{
	struct bcfw_obj_req r;
	const uint8_t *types;
	uint32_t n;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	n = le32toh(r.count);
	types = n <= b->len / 4 ? take(b, 4 * (size_t)n) : NULL;
	if ((!types && n) || !at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_obj_get_attrs(c, le32toh(r.handle), types, n, &a->body,
				 &a->len);
}

static void op_set_attrs(const struct ks_caller *c, struct cur *b,
			 struct ans *a)
{
	struct bcfw_obj_req r;
	struct ks_tmpl t;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	a->st = take_last_tmpl(b, le32toh(r.count), &t);
	if (a->st)
		return;
	a->st = ks_obj_set_attrs(c, le32toh(r.handle), &t);
}

static void op_find(const struct ks_caller *c, struct cur *b, struct ans *a)
{
	struct bcfw_find_req r;
	struct bcfw_find_resp fr;
	struct ks_tmpl t;
	uint32_t *hs, n, max;
	bool more;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	max = le32toh(r.max);
	if ((le32toh(r.flags) & ~(uint32_t)BCFW_FIND_SESSION_ONLY) ||
	    max < 1 || max > BCFW_FIND_MAX) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	if (sizeof(fr) + 4 * (size_t)max > EMU_MAX_FRAME - BCFW_HDR_SIZE) {
		a->st = BCFW_S_TOO_BIG;
		return;
	}
	a->st = take_last_tmpl(b, le32toh(r.count), &t);
	if (a->st)
		return;
	if (ans_alloc(a, sizeof(fr) + 4 * (size_t)max)) {
		hs = calloc(max, sizeof(*hs));
		if (!hs) {
			a->st = BCFW_S_INTERNAL;
		} else {
			ks_obj_find(c, &t, le32toh(r.flags), le32toh(r.after),
				    max, hs, &n, &more);
			fr.count = htole32(n);
			fr.more = htole32(more ? 1 : 0);
			memcpy(a->body, &fr, sizeof(fr));
			for (uint32_t i = 0; i < n; i++) {
				uint32_t le = htole32(hs[i]);

				memcpy(a->body + sizeof(fr) + 4 * i, &le, 4);
			}
			a->len = (uint32_t)(sizeof(fr) + 4 * (size_t)n);
			free(hs);
		}
	}
	ks_tmpl_free(&t);
}

/* ---- keys ---- */

static void op_genkey(const struct ks_caller *c, struct cur *b,
		      struct ans *a)
{
	struct bcfw_genkey_req r;
	struct ks_mech m;
	struct ks_tmpl t;
	uint32_t hd;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	a->st = r.reserved ? BCFW_S_BAD_ARGS : take_mech(b, &r.mech, &m);
	if (!a->st)
		a->st = take_last_tmpl(b, le32toh(r.count), &t);
	if (a->st)
		return;
	a->st = ks_generate_key(c, &m, &t, &hd);
	if (!a->st)
		ans_handle(a, hd);
}

static void op_genkp(const struct ks_caller *c, struct cur *b, struct ans *a)
{
	struct bcfw_keypair_resp kr;
	struct bcfw_genkp_req r;
	struct ks_tmpl pub, priv;
	struct ks_mech m;
	uint32_t hp, hv;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	a->st = take_mech(b, &r.mech, &m);
	if (!a->st)
		a->st = take_tmpl(b, le32toh(r.pub_count), &pub);
	if (a->st)
		return;
	a->st = take_last_tmpl(b, le32toh(r.priv_count), &priv);
	if (a->st) {
		ks_tmpl_free(&pub);
		return;
	}
	a->st = ks_generate_key_pair(c, &m, &pub, &priv, &hp, &hv);
	if (a->st)
		return;
	kr.pub = htole32(hp);
	kr.priv = htole32(hv);
	if (ans_alloc(a, sizeof(kr)))
		memcpy(a->body, &kr, sizeof(kr));
}

static void op_wrap(const struct ks_caller *c, struct cur *b, struct ans *a)
{
	struct bcfw_wrap_req r;
	struct ks_mech m;
	uint8_t *out;
	size_t cap, olen = 0;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	a->st = r.reserved ? BCFW_S_BAD_ARGS : take_mech(b, &r.mech, &m);
	if (!a->st && !at_end(b))
		a->st = BCFW_S_BAD_ARGS;
	if (a->st)
		return;
	out = out_begin(a, le32toh(r.out_cap), &cap);
	if (!out)
		return;
	a->st = ks_wrap_key(c, &m, le32toh(r.wrapping_key), le32toh(r.key),
			    out, cap, &olen);
	out_end(a, le32toh(r.out_cap), cap, olen);
}

static void op_unwrap(const struct ks_caller *c, struct cur *b,
		      struct ans *a)
{
	struct bcfw_unwrap_req r;
	const uint8_t *wrapped;
	struct ks_mech m;
	struct ks_tmpl t;
	uint32_t hd, wl;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	wl = le32toh(r.wrapped_len);
	a->st = r.reserved ? BCFW_S_BAD_ARGS : take_mech(b, &r.mech, &m);
	if (a->st)
		return;
	wrapped = take_padded(b, wl);
	if (!wrapped) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = take_last_tmpl(b, le32toh(r.count), &t);
	if (a->st)
		return;
	a->st = ks_unwrap_key(c, &m, le32toh(r.unwrapping_key), wrapped, wl,
			      &t, &hd);
	if (!a->st)
		ans_handle(a, hd);
}

static void op_derive(const struct ks_caller *c, struct cur *b,
		      struct ans *a)
{
	struct bcfw_derive_req r;
	struct ks_mech m;
	struct ks_tmpl t;
	uint32_t hd;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	a->st = take_mech(b, &r.mech, &m);
	if (!a->st)
		a->st = take_last_tmpl(b, le32toh(r.count), &t);
	if (a->st)
		return;
	a->st = ks_derive_key(c, &m, le32toh(r.base_key), &t, &hd);
	if (!a->st)
		ans_handle(a, hd);
}

/* ---- crypto operations ---- */

static bool family_ok(int family)
{
	return family >= BCFW_OP_SIGN_INIT && family <= BCFW_OP_DIGEST_INIT &&
		!(family & 0xf);
}

static void op_crypto(const struct ks_caller *c, uint16_t opc,
		      struct ks_op **sop, struct cur *b, struct ans *a)
{
	int family = BCFW_OP_FAMILY(opc), step = BCFW_OP_STEP(opc);
	bool outputs = family != BCFW_OP_VERIFY_INIT;
	struct ks_mech m;
	uint8_t *out = NULL;
	size_t cap = 0, olen = 0;
	uint32_t out_cap = 0;

	if (step == BCFW_STEP_INIT) {
		struct bcfw_op_init r;
		struct ks_op *op = NULL;

		if (!take_fixed(b, &r, sizeof(r), a))
			return;
		a->st = r.reserved ? BCFW_S_BAD_ARGS :
			take_mech(b, &r.mech, &m);
		if (!a->st && !at_end(b))
			a->st = BCFW_S_BAD_ARGS;
		if (a->st)
			return;
		if (sop && *sop) {
			a->st = KS_CKR(CKR_OPERATION_ACTIVE);
			return;
		}
		a->st = ks_op_init(c, family, &m, le32toh(r.key), &op);
		if (!a->st && sop)
			*sop = op;
		else
			ks_op_free(op);
		return;
	}
	if (step == BCFW_STEP_ONESHOT) {
		struct bcfw_op_oneshot r;
		const uint8_t *in, *sig = NULL;
		uint32_t dl, sl;

		if (!take_fixed(b, &r, sizeof(r), a))
			return;
		dl = le32toh(r.data_len);
		sl = le32toh(r.sig_len);
		a->st = take_mech(b, &r.mech, &m);
		if (a->st)
			return;
		/* Packed: VERIFY's signature starts right after the data. */
		in = take(b, dl);
		if (family == BCFW_OP_VERIFY_INIT)
			sig = take(b, sl);
		if (!at_end(b) || (sl && family != BCFW_OP_VERIFY_INIT) ||
		    (!outputs && r.out_cap)) {
			a->st = BCFW_S_BAD_ARGS;
			return;
		}
		out_cap = le32toh(r.out_cap);
		if (outputs) {
			out = out_begin(a, out_cap, &cap);
			if (!out)
				return;
		}
		a->st = ks_op_oneshot(c, family, &m, le32toh(r.key), in, dl,
				      sig, sl, out, cap, &olen);
		if (outputs)
			out_end(a, out_cap, cap, olen);
		return;
	}
	/* UPDATE, FINAL, on the session's operation. */
	if (!sop) {
		a->st = BCFW_S_SESSION_INVALID;
		return;
	}
	if (!*sop || ks_op_family(*sop) != family) {
		/* Only what the request is about is checked first. */
		a->st = KS_CKR(CKR_OPERATION_NOT_INITIALIZED);
		return;
	}
	if (step == BCFW_STEP_UPDATE) {
		struct bcfw_op_update r;
		bool emits = family == BCFW_OP_ENCRYPT_INIT ||
			family == BCFW_OP_DECRYPT_INIT;

		if (!take_fixed(b, &r, sizeof(r), a))
			return;
		out_cap = le32toh(r.out_cap);
		if (r.reserved || (!emits && out_cap)) {
			a->st = BCFW_S_BAD_ARGS;
			return;
		}
		if (emits) {
			out = out_begin(a, out_cap, &cap);
			if (!out)
				return;
		}
		a->st = ks_op_update(*sop, b->p + b->off, b->len - b->off,
				     out, cap, &olen);
		if (emits)
			out_end(a, out_cap, cap, olen);
		if (a->st) {
			ks_op_free(*sop);
			*sop = NULL;
		}
		return;
	}
	if (step == BCFW_STEP_FINAL) {
		struct bcfw_op_final r;
		const uint8_t *sig;
		bool small;

		if (!take_fixed(b, &r, sizeof(r), a))
			return;
		out_cap = le32toh(r.out_cap);
		sig = take(b, le32toh(r.sig_len));
		if (!at_end(b) || (!outputs && out_cap) ||
		    (outputs && r.sig_len)) {
			a->st = BCFW_S_BAD_ARGS;
			return;
		}
		if (outputs) {
			out = out_begin(a, out_cap, &cap);
			if (!out)
				return;
		}
		a->st = ks_op_final(*sop, sig, le32toh(r.sig_len), out, cap,
				    &olen);
		small = !a->st && outputs && olen > cap;
		if (outputs)
			out_end(a, out_cap, cap, olen);
		if (!small) {
			ks_op_free(*sop);
			*sop = NULL;
		}
		return;
	}
	a->st = BCFW_S_BAD_OPCODE;
}

static void op_key_attest(const struct ks_caller *c, struct cur *b,
			  struct ans *a)
{
	struct bcfw_key_attest_req r;
	const uint8_t *nonce = NULL;
	uint32_t nlen;

	if (!take_fixed(b, &r, sizeof(r), a))
		return;
	nlen = le32toh(r.nonce_len);
	if (nlen > BCFW_NONCE_MAX) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	if (nlen)
		nonce = take_padded(b, nlen);
	if ((nlen && !nonce) || !at_end(b)) {
		a->st = BCFW_S_BAD_ARGS;
		return;
	}
	a->st = ks_key_attest(c, le32toh(r.key), nonce, nlen, &a->body,
			      &a->len);
}

bool ks_dispatch(uint64_t conn, uint32_t client, uint16_t op,
		 uint32_t session, const uint8_t *req, uint32_t req_len,
		 uint32_t *status, uint8_t **body, uint32_t *body_len)
{
	struct ks_caller c = {
		.conn = conn, .client = client, .session = session, .rw = true,
	};
	struct cur b = { .p = req, .len = req_len };
	struct ans a = { 0 };
	struct ks_op *sop = NULL;
	uint32_t flags = 0;
	bool crypto = family_ok(BCFW_OP_FAMILY(op));

	switch (op >> 8) {
	case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
		break;
	default:
		if (op != BCFW_OP_KEY_ATTEST)
			return false;
		break;
	}
	if (crypto && BCFW_OP_STEP(op) > BCFW_STEP_ONESHOT)
		crypto = false;
	if (session) {
		a.st = emu_session_acquire(conn, client, session, &flags, &sop);
		if (a.st)
			goto out;
		c.rw = flags & BCFW_SESSION_RW;
	}
	c.login = ks_token_login_state(conn, client);

	switch (op) {
	case BCFW_OP_TOKEN_INFO: op_token_info(&c, &b, &a); break;
	case BCFW_OP_INIT_TOKEN: op_init_token(&c, &b, &a); break;
	case BCFW_OP_INIT_PIN: op_init_pin(&c, &b, &a); break;
	case BCFW_OP_SET_PIN: op_set_pin(&c, &b, &a); break;
	case BCFW_OP_LOGIN: op_login(&c, &b, &a); break;
	case BCFW_OP_LOGOUT:
		a.st = at_end(&b) ? ks_token_logout(&c) : BCFW_S_BAD_ARGS;
		break;
	case BCFW_OP_MECH_LIST: op_mech_list(&b, &a); break;
	case BCFW_OP_MECH_INFO: op_mech_info(&b, &a); break;
	case BCFW_OP_CREATE_OBJECT: op_create(&c, &b, &a, false); break;
	case BCFW_OP_COPY_OBJECT: op_create(&c, &b, &a, true); break;
	case BCFW_OP_DESTROY_OBJECT: op_destroy(&c, &b, &a); break;
	case BCFW_OP_GET_ATTRIBUTES: op_get_attrs(&c, &b, &a); break;
	case BCFW_OP_SET_ATTRIBUTES: op_set_attrs(&c, &b, &a); break;
	case BCFW_OP_FIND_OBJECTS: op_find(&c, &b, &a); break;
	case BCFW_OP_GENERATE_KEY: op_genkey(&c, &b, &a); break;
	case BCFW_OP_GENERATE_KEY_PAIR: op_genkp(&c, &b, &a); break;
	case BCFW_OP_WRAP_KEY: op_wrap(&c, &b, &a); break;
	case BCFW_OP_UNWRAP_KEY: op_unwrap(&c, &b, &a); break;
	case BCFW_OP_DERIVE_KEY: op_derive(&c, &b, &a); break;
	case BCFW_OP_KEY_ATTEST: op_key_attest(&c, &b, &a); break;
	case BCFW_OP_CANCEL:
		if (!session || !at_end(&b)) {
			a.st = session ? BCFW_S_BAD_ARGS :
				BCFW_S_SESSION_INVALID;
		} else {
			ks_op_free(sop);
			sop = NULL;
		}
		break;
	default:
		if (crypto)
			op_crypto(&c, op, session ? &sop : NULL, &b, &a);
		else
			a.st = BCFW_S_BAD_OPCODE;
		break;
	}
	if (session)
		emu_session_release(conn, client, session, sop);
out:
	if (a.st) {
		free(a.body);
		a.body = NULL;
		a.len = 0;
	}
	*status = a.st;
	*body = a.body;
	*body_len = a.len;
	return true;
}

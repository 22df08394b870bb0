// SPDX-License-Identifier: GPL-2.0
/*
 * The object store: every object on the chip, sorted by handle, with the
 * rules of who may see, make, change and destroy what.  Token objects are
 * written to STATE/objects/<handle> (store.c) before they are
 * acknowledged; session objects live in memory and belong to one client.
 *
 * Objects are reference counted so that crypto runs without the table
 * lock; key material never changes after creation, and the attribute set
 * of an object is guarded by its own lock.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keystore.h"

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ks_obj **tab;		/* sorted by handle; under tab_lock */
static unsigned int tab_n;		/* under tab_lock */
static unsigned int tab_reserved;	/* being made; under tab_lock */
static uint32_t next_session_handle = 1;	/* under tab_lock */

static void obj_free(struct ks_obj *o)
{
	EVP_PKEY_free(o->pkey);
	if (o->secret) {
		OPENSSL_cleanse(o->secret, o->secret_len);
		free(o->secret);
	}
	ks_tmpl_free(&o->attrs);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->wlock);
	free(o);
}

/* Index of the first entry with handle >= h.  Under tab_lock. */
static unsigned int tab_pos(uint32_t h)
{
	unsigned int lo = 0, hi = tab_n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (tab[mid]->handle < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct ks_obj *tab_lookup(uint32_t h)
{
	unsigned int i = tab_pos(h);

	return i < tab_n && tab[i]->handle == h ? tab[i] : NULL;
}

static void tab_insert(struct ks_obj *o)
{
	unsigned int i = tab_pos(o->handle);

	memmove(&tab[i + 1], &tab[i], (tab_n - i) * sizeof(*tab));
	tab[i] = o;
	tab_n++;
}

/* Takes @o out of the table; freed at its last put.  Under tab_lock. */
static void tab_remove(struct ks_obj *o)
{
	unsigned int i = tab_pos(o->handle);

	if (i < tab_n && tab[i] == o) {
		memmove(&tab[i], &tab[i + 1], (tab_n - i - 1) * sizeof(*tab));
		tab_n--;
	}
	o->dead = true;
	if (--o->refs == 0)
		obj_free(o);
}

unsigned int ks_objects_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&tab_lock);
	n = tab_n;
	pthread_mutex_unlock(&tab_lock);
	return n;
}

static bool obj_dead(struct ks_obj *o)
{
	bool d;

	pthread_mutex_lock(&tab_lock);
	d = o->dead;
	pthread_mutex_unlock(&tab_lock);
	return d;
}

static bool visible(const struct ks_caller *c, const struct ks_obj *o)
{
	if (o->dead)
		return false;
	if (!o->token && (o->owner_conn != c->conn ||
			  o->owner_client != c->client))
		return false;
	return !o->priv || c->login == BCFW_LOGIN_USER;
}

uint32_t ks_obj_get(const struct ks_caller *c, uint32_t handle, bool key,
		    struct ks_obj **out)
{
	struct ks_obj *o;

	pthread_mutex_lock(&tab_lock);
	o = tab_lookup(handle);
	if (o && visible(c, o))
		o->refs++;
	else
		o = NULL;
	pthread_mutex_unlock(&tab_lock);
	*out = o;
	if (!o)
		return KS_CKR(key ? CKR_KEY_HANDLE_INVALID :
			      CKR_OBJECT_HANDLE_INVALID);
	return BCFW_S_OK;
}

void ks_obj_put(struct ks_obj *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&tab_lock);
	if (--o->refs == 0)
		obj_free(o);
	pthread_mutex_unlock(&tab_lock);
}

bool ks_obj_bool(struct ks_obj *o, uint32_t type)
{
	bool v;

	pthread_mutex_lock(&o->lock);
	v = ks_tmpl_bool(&o->attrs, type) == 1;
	pthread_mutex_unlock(&o->lock);
	return v;
}

uint64_t ks_obj_ulong(struct ks_obj *o, uint32_t type, uint64_t dflt)
{
	uint64_t v;

	pthread_mutex_lock(&o->lock);
	if (!ks_tmpl_ulong(&o->attrs, type, &v))
		v = dflt;
	pthread_mutex_unlock(&o->lock);
	return v;
}

/* ---- persistence ---- */

static void obj_name(uint32_t h, char *name, size_t n)
{
	snprintf(name, n, "%08x", h);
}

/* Image: __le32 handle, __le32 count, then the attributes as on the wire. */
static int obj_image(uint32_t handle, const struct ks_tmpl *t, uint8_t **buf,
		     size_t *len)
{
	size_t n = 8, off;
	uint8_t *p;
	uint32_t le;

	for (unsigned int i = 0; i < t->n; i++)
		n += BCFW_ATTR_SPACE((size_t)t->a[i].len);
	p = calloc(1, n);
	if (!p)
		return -ENOMEM;
	le = htole32(handle);
	memcpy(p, &le, 4);
	le = htole32(t->n);
	memcpy(p + 4, &le, 4);
	off = 8;
	for (unsigned int i = 0; i < t->n; i++) {
		struct bcfw_attr h = {
			.type = htole32(t->a[i].type),
			.len = htole32(t->a[i].len),
		};

		memcpy(p + off, &h, sizeof(h));
		if (t->a[i].len)
			memcpy(p + off + 8, t->a[i].val, t->a[i].len);
		off += BCFW_ATTR_SPACE((size_t)t->a[i].len);
	}
	*buf = p;
	*len = n;
	return 0;
}

static int obj_save(uint32_t handle, const struct ks_tmpl *t)
{
	char name[16];
	uint8_t *img;
	size_t len;
	int ret;

	ret = obj_image(handle, t, &img, &len);
	if (ret)
		return ret;
	obj_name(handle, name, sizeof(name));
	ret = ks_store_put("objects", name, img, len);
	OPENSSL_cleanse(img, len);
	free(img);
	if (ret)
		emu_log("cannot store object %s: %s\n", name, strerror(-ret));
	return ret;
}

/* Builds an object around a complete attribute set (taken over). */
static uint32_t obj_make(struct ks_tmpl *attrs, uint32_t handle,
			 struct ks_obj **out)
{
	struct ks_obj *o;
	uint64_t cls, ktype = ~0ull;
	uint32_t st;

	if (!ks_tmpl_ulong(attrs, CKA_CLASS, &cls)) {
		ks_tmpl_free(attrs);
		return KS_CKR(CKR_TEMPLATE_INCOMPLETE);
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		ks_tmpl_free(attrs);
		return BCFW_S_INTERNAL;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->wlock, NULL);
	o->attrs = *attrs;
	attrs->a = NULL;
	attrs->n = 0;
	o->handle = handle;
	o->cls = cls;
	o->token = ks_tmpl_bool(&o->attrs, CKA_TOKEN) == 1;
	o->priv = ks_tmpl_bool(&o->attrs, CKA_PRIVATE) == 1;
	o->refs = 1;
	if (ks_tmpl_ulong(&o->attrs, CKA_KEY_TYPE, &ktype))
		o->ktype = ktype;
	else
		o->ktype = ~0ull;
	st = ks_key_from_attrs(&o->attrs, cls, o->ktype, &o->pkey, &o->bits);
	if (!st && cls == CKO_SECRET_KEY) {
		const struct ks_attr *v = ks_tmpl_find(&o->attrs, CKA_VALUE);

		o->secret = malloc(v->len);
		if (!o->secret) {
			st = BCFW_S_INTERNAL;
		} else {
			memcpy(o->secret, v->val, v->len);
			o->secret_len = v->len;
		}
	}
	if (st) {
		obj_free(o);
		return st;
	}
	*out = o;
	return BCFW_S_OK;
}

static int load_one(const char *name, const uint8_t *buf, size_t len,
		    void *arg)
{
	struct ks_tmpl t;
	struct ks_obj *o;
	char want[16];
	uint32_t h, count, st;
	size_t used;

	(void)arg;
	if (len < 8)
		goto bad;
	memcpy(&h, buf, 4);
	memcpy(&count, buf + 4, 4);
	h = le32toh(h);
	count = le32toh(count);
	obj_name(h, want, sizeof(want));
	if (strcmp(name, want) || !h || (h & BCFW_HANDLE_SESSION))
		goto bad;
	st = ks_tmpl_parse(buf + 8, len - 8, count, &t, &used);
	if (st || used != len - 8) {
		if (!st)
			ks_tmpl_free(&t);
		goto bad;
	}
	st = obj_make(&t, h, &o);
	if (st)
		goto bad;
	if (!o->token || tab_n >= EMU_MAX_OBJECTS) {
		obj_free(o);
		goto bad;
	}
	pthread_mutex_lock(&tab_lock);
	tab_insert(o);
	pthread_mutex_unlock(&tab_lock);
	return 0;
bad:
	emu_log("stored object %s does not make sense; moved aside\n", name);
	ks_store_quarantine("objects", name);
	return 0;
}

int ks_objects_init(void)
{
	int ret;

	tab = calloc(EMU_MAX_OBJECTS, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	ret = ks_store_each("objects", load_one, NULL);
	if (ret) {
		emu_log("cannot load token objects: %s\n", strerror(-ret));
		return ret;
	}
	emu_log("%u token objects loaded\n", tab_n);
	/* The table is sorted: the last one has the highest handle. */
	if (tab_n && ks_token_handles_above(tab[tab_n - 1]->handle))
		return -EIO;
	return 0;
}

void ks_objects_fini(void)
{
	pthread_mutex_lock(&tab_lock);
	while (tab_n)
		tab_remove(tab[tab_n - 1]);
	free(tab);
	tab = NULL;
	pthread_mutex_unlock(&tab_lock);
}

static void drop_matching(bool token, uint64_t conn, bool any_client,
			  uint32_t client)
{
	pthread_mutex_lock(&tab_lock);
	for (unsigned int i = tab_n; i-- > 0;) {
		struct ks_obj *o = tab[i];

		if (token ? o->token : (!o->token && o->owner_conn == conn &&
					(any_client ||
					 o->owner_client == client)))
			tab_remove(o);
	}
	pthread_mutex_unlock(&tab_lock);
}

void ks_objects_drop(uint64_t conn, bool any_client, uint32_t client)
{
	drop_matching(false, conn, any_client, client);
}

void ks_objects_wipe_token(void)
{
	uint32_t *gone;
	unsigned int n = 0;

	pthread_mutex_lock(&tab_lock);
	gone = calloc(tab_n ? tab_n : 1, sizeof(*gone));
	for (unsigned int i = 0; gone && i < tab_n; i++)
		if (tab[i]->token)
			gone[n++] = tab[i]->handle;
	pthread_mutex_unlock(&tab_lock);
	drop_matching(true, 0, true, 0);
	/* Session objects, whoever made them, go as well: a clean token. */
	pthread_mutex_lock(&tab_lock);
	for (unsigned int i = tab_n; i-- > 0;)
		tab_remove(tab[i]);
	pthread_mutex_unlock(&tab_lock);
	for (unsigned int i = 0; i < n; i++) {
		char name[16];

		obj_name(gone[i], name, sizeof(name));
		if (ks_store_del("objects", name))
			emu_log("cannot remove object %s\n", name);
	}
	free(gone);
}

/* ---- making objects ---- */

uint32_t ks_obj_may_create(const struct ks_caller *c, const struct ks_tmpl *t,
			   uint64_t cls)
{
	int priv = ks_tmpl_bool(t, CKA_PRIVATE);

	if (priv < 0)
		priv = cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
	if (ks_tmpl_bool(t, CKA_TOKEN) == 1 && !c->rw)
		return KS_CKR(CKR_SESSION_READ_ONLY);
	if (priv && c->login != BCFW_LOGIN_USER)
		return KS_CKR(CKR_USER_NOT_LOGGED_IN);
	return BCFW_S_OK;
}

uint32_t ks_obj_publish(const struct ks_caller *c, struct ks_tmpl *attrs,
			EVP_PKEY *pkey, uint32_t *handle)
{
	struct ks_obj *o;
	uint32_t st, h = 0;
	bool token = ks_tmpl_bool(attrs, CKA_TOKEN) == 1;

	/* The stored attributes are the truth; the key is rebuilt from them. */
	EVP_PKEY_free(pkey);
	pthread_mutex_lock(&tab_lock);
	if (tab_n + tab_reserved >= EMU_MAX_OBJECTS) {
		pthread_mutex_unlock(&tab_lock);
		ks_tmpl_free(attrs);
		return KS_CKR(CKR_DEVICE_MEMORY);
	}
	tab_reserved++;
	if (!token) {
		do {
			h = BCFW_HANDLE_SESSION | next_session_handle++;
			next_session_handle &= ~BCFW_HANDLE_SESSION;
		} while (h == BCFW_HANDLE_SESSION || tab_lookup(h));
	}
	pthread_mutex_unlock(&tab_lock);

	st = token ? ks_token_next_handle(&h) : BCFW_S_OK;
	if (!st)
		st = obj_make(attrs, h, &o);
	else
		ks_tmpl_free(attrs);
	if (!st) {
		o->owner_conn = c->conn;
		o->owner_client = c->client;
		if (token && obj_save(h, &o->attrs)) {
			obj_free(o);
			st = KS_CKR(CKR_DEVICE_ERROR);
		}
	}
	pthread_mutex_lock(&tab_lock);
	tab_reserved--;
	if (!st)
		tab_insert(o);
	pthread_mutex_unlock(&tab_lock);
	if (!st)
		*handle = h;
	return st;
}

uint32_t ks_obj_create(const struct ks_caller *c, struct ks_tmpl *t,
		       uint32_t *handle)
{
	uint64_t cls, ktype = ~0ull, v;
	uint32_t st;

	if (!ks_tmpl_ulong(t, CKA_CLASS, &cls)) {
		st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
		goto fail;
	}
	switch (cls) {
	case CKO_DATA:
		break;
	case CKO_CERTIFICATE:
		if (!ks_tmpl_ulong(t, CKA_CERTIFICATE_TYPE, &v) ||
		    !ks_tmpl_find(t, CKA_VALUE)) {
			st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
			goto fail;
		}
		if (v != CKC_X_509) {
			st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
			goto fail;
		}
		if (!ks_tmpl_find(t, CKA_SUBJECT) &&
		    ks_tmpl_set(t, CKA_SUBJECT, NULL, 0)) {
			st = BCFW_S_INTERNAL;
			goto fail;
		}
		break;
	case CKO_PUBLIC_KEY:
	case CKO_PRIVATE_KEY:
	case CKO_SECRET_KEY:
		if (!ks_tmpl_ulong(t, CKA_KEY_TYPE, &ktype)) {
			st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
			goto fail;
		}
		break;
	default:
		st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
		goto fail;
	}
	st = ks_attrs_check(t, cls, ktype, KS_CREATE);
	if (!st)
		st = ks_obj_may_create(c, t, cls);
	if (st)
		goto fail;
	if (ks_attrs_defaults(t, cls, ktype)) {
		st = BCFW_S_INTERNAL;
		goto fail;
	}
	return ks_obj_publish(c, t, NULL, handle);
fail:
	ks_tmpl_free(t);
	return st;
}

/* SENSITIVE only false -> true, EXTRACTABLE only true -> false. */
static uint32_t one_way(const struct ks_tmpl *cur, const struct ks_tmpl *t)
{
	if (ks_tmpl_bool(cur, CKA_SENSITIVE) == 1 &&
	    ks_tmpl_bool(t, CKA_SENSITIVE) == 0)
		return KS_CKR(CKR_ATTRIBUTE_READ_ONLY);
	if (ks_tmpl_bool(cur, CKA_EXTRACTABLE) == 0 &&
	    ks_tmpl_bool(t, CKA_EXTRACTABLE) == 1)
		return KS_CKR(CKR_ATTRIBUTE_READ_ONLY);
	return BCFW_S_OK;
}

static int tmpl_dup(const struct ks_tmpl *src, struct ks_tmpl *dst)
{
	dst->n = 0;
	dst->a = NULL;
	for (unsigned int i = 0; i < src->n; i++)
		if (ks_tmpl_set(dst, src->a[i].type, src->a[i].val,
				src->a[i].len)) {
			ks_tmpl_free(dst);
			return -ENOMEM;
		}
	return 0;
}

static int tmpl_merge(struct ks_tmpl *dst, const struct ks_tmpl *t)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (ks_tmpl_set(dst, t->a[i].type, t->a[i].val, t->a[i].len))
			return -ENOMEM;
	return 0;
}

uint32_t ks_obj_copy(const struct ks_caller *c, uint32_t src,
		     struct ks_tmpl *t, uint32_t *handle)
{
	struct ks_tmpl n = { 0 };
	struct ks_obj *o;
	uint32_t st;

	st = ks_obj_get(c, src, false, &o);
	if (st)
		goto out;
	st = ks_attrs_check(t, o->cls, o->ktype, KS_COPY);
	if (st)
		goto out;
	pthread_mutex_lock(&o->lock);
	if (ks_tmpl_bool(&o->attrs, CKA_COPYABLE) == 0)
		st = KS_CKR(CKR_ACTION_PROHIBITED);
	if (!st)
		st = one_way(&o->attrs, t);
	if (!st && (tmpl_dup(&o->attrs, &n) || tmpl_merge(&n, t)))
		st = BCFW_S_INTERNAL;
	pthread_mutex_unlock(&o->lock);
	if (!st)
		st = ks_obj_may_create(c, &n, o->cls);
	if (!st)
		st = ks_obj_publish(c, &n, NULL, handle);
out:
	ks_obj_put(o);
	ks_tmpl_free(&n);
	ks_tmpl_free(t);
	return st;
}

uint32_t ks_obj_destroy(const struct ks_caller *c, uint32_t handle)
{
	struct ks_obj *o;
	uint32_t st;
	char name[16];

	st = ks_obj_get(c, handle, false, &o);
	if (st)
		return st;
	pthread_mutex_lock(&o->wlock);
	if (o->token && !c->rw)
		st = KS_CKR(CKR_SESSION_READ_ONLY);
	else if (!ks_obj_bool(o, CKA_DESTROYABLE))
		st = KS_CKR(CKR_ACTION_PROHIBITED);
	else if (obj_dead(o))
		st = KS_CKR(CKR_OBJECT_HANDLE_INVALID);
	if (!st && o->token) {
		obj_name(handle, name, sizeof(name));
		if (ks_store_del("objects", name))
			st = KS_CKR(CKR_DEVICE_ERROR);
	}
	pthread_mutex_lock(&tab_lock);
	if (!st && !o->dead)
		tab_remove(o);		/* drops the table's reference */
	pthread_mutex_unlock(&tab_lock);
	pthread_mutex_unlock(&o->wlock);
	ks_obj_put(o);
	return st;
}

static bool attr_hidden(struct ks_obj *o, uint32_t type)
{
	return ks_attr_sensitive(o->cls, type) &&
		(ks_tmpl_bool(&o->attrs, CKA_SENSITIVE) == 1 ||
		 ks_tmpl_bool(&o->attrs, CKA_EXTRACTABLE) == 0);
}

uint32_t ks_obj_get_attrs(const struct ks_caller *c, uint32_t handle,
			  const uint8_t *types, uint32_t count,
			  uint8_t **body, uint32_t *body_len)
{
	const size_t limit = EMU_MAX_FRAME - BCFW_HDR_SIZE;
	struct bcfw_attrs_resp rh = { .count = htole32(count) };
	struct ks_obj *o;
	uint8_t *p = NULL;
	size_t need = sizeof(rh), off;
	uint32_t st;

	st = ks_obj_get(c, handle, false, &o);
	if (st)
		return st;
	pthread_mutex_lock(&o->lock);
	for (uint32_t i = 0; i < count; i++) {
		const struct ks_attr *a;
		uint32_t type;

		memcpy(&type, types + 4 * (size_t)i, 4);
		type = le32toh(type);
		a = ks_tmpl_find(&o->attrs, type);
		need += 8;
		if (a && !attr_hidden(o, type))
			need += BCFW_ALIGN8((size_t)a->len);
	}
	if (need > limit) {
		st = BCFW_S_TOO_BIG;
		goto out;
	}
	p = calloc(1, need);
	if (!p) {
		st = BCFW_S_INTERNAL;
		goto out;
	}
	memcpy(p, &rh, sizeof(rh));
	off = sizeof(rh);
	for (uint32_t i = 0; i < count; i++) {
		const struct ks_attr *a;
		struct bcfw_attr h;
		uint32_t type;

		memcpy(&type, types + 4 * (size_t)i, 4);
		h.type = type;
		type = le32toh(type);
		a = ks_tmpl_find(&o->attrs, type);
		if (!a) {
			h.len = htole32(BCFW_ATTR_INVALID);
		} else if (attr_hidden(o, type)) {
			h.len = htole32(BCFW_ATTR_SENSITIVE);
		} else {
			h.len = htole32(a->len);
			if (a->len)
				memcpy(p + off + 8, a->val, a->len);
		}
		memcpy(p + off, &h, sizeof(h));
		off += 8;
		if (a && !attr_hidden(o, type))
			off += BCFW_ALIGN8((size_t)a->len);
	}
	*body = p;
	*body_len = (uint32_t)need;
out:
	pthread_mutex_unlock(&o->lock);
	ks_obj_put(o);
	return st;
}

uint32_t ks_obj_set_attrs(const struct ks_caller *c, uint32_t handle,
			  struct ks_tmpl *t)
{
	struct ks_tmpl n = { 0 };
	struct ks_obj *o;
	uint32_t st;

	st = ks_obj_get(c, handle, false, &o);
	if (st)
		goto out;
	if (o->token && !c->rw) {
		st = KS_CKR(CKR_SESSION_READ_ONLY);
		goto out;
	}
	st = ks_attrs_check(t, o->cls, o->ktype, KS_SET);
	if (st)
		goto out;
	/*
	 * Readers keep the old attributes while the new set is written:
	 * the disk write happens outside the attribute lock.
	 */
	pthread_mutex_lock(&o->wlock);
	pthread_mutex_lock(&o->lock);
	if (ks_tmpl_bool(&o->attrs, CKA_MODIFIABLE) == 0)
		st = KS_CKR(CKR_ACTION_PROHIBITED);
	if (!st)
		st = one_way(&o->attrs, t);
	if (!st && (tmpl_dup(&o->attrs, &n) || tmpl_merge(&n, t)))
		st = BCFW_S_INTERNAL;
	pthread_mutex_unlock(&o->lock);
	if (!st && obj_dead(o))
		st = KS_CKR(CKR_OBJECT_HANDLE_INVALID);
	/* Stored first: an answer of OK means it is on disk. */
	if (!st && o->token && obj_save(o->handle, &n))
		st = KS_CKR(CKR_DEVICE_ERROR);
	if (!st) {
		struct ks_tmpl old;

		pthread_mutex_lock(&o->lock);
		old = o->attrs;
		o->attrs = n;
		n = old;
		pthread_mutex_unlock(&o->lock);
	}
	pthread_mutex_unlock(&o->wlock);
out:
	ks_obj_put(o);
	ks_tmpl_free(&n);
	ks_tmpl_free(t);
	return st;
}

static bool matches(struct ks_obj *o, const struct ks_tmpl *t)
{
	bool ok = true;

	pthread_mutex_lock(&o->lock);
	for (unsigned int i = 0; ok && i < t->n; i++) {
		const struct ks_attr *a = ks_tmpl_find(&o->attrs, t->a[i].type);

		/* A secret is never matched against: that would reveal it. */
		ok = a && a->len == t->a[i].len &&
			!attr_hidden(o, a->type) &&
			(!a->len || !memcmp(a->val, t->a[i].val, a->len));
	}
	pthread_mutex_unlock(&o->lock);
	return ok;
}

uint32_t ks_obj_find(const struct ks_caller *c, const struct ks_tmpl *t,
		     uint32_t flags, uint32_t after, uint32_t max,
		     uint32_t *out, uint32_t *n, bool *more)
{
	unsigned int i;

	*n = 0;
	*more = false;
	pthread_mutex_lock(&tab_lock);
	for (i = tab_pos(after); i < tab_n; i++) {
		struct ks_obj *o = tab[i];

		if (o->handle <= after || !visible(c, o))
			continue;
		if ((flags & BCFW_FIND_SESSION_ONLY) && o->token)
			continue;
		if (!matches(o, t))
			continue;
		if (*n == max) {
			*more = true;
			break;
		}
		out[(*n)++] = o->handle;
	}
	pthread_mutex_unlock(&tab_lock);
	return BCFW_S_OK;
}

uint32_t ks_obj_find_pair(const struct ks_caller *c, const struct ks_obj *pub,
			  struct ks_obj **out)
{
	struct ks_obj *best = NULL;
	bool best_ok = false;

	pthread_mutex_lock(&tab_lock);
	for (unsigned int i = 0; i < tab_n; i++) {
		struct ks_obj *o = tab[i];
		bool ok;

		/*
		 * The caller's login does not matter here: only the pair's
		 * provenance is told, never its private half.
		 */
		if (o->dead || o->cls != CKO_PRIVATE_KEY || !o->pkey ||
		    (!o->token && (o->owner_conn != c->conn ||
				   o->owner_client != c->client)))
			continue;
		if (EVP_PKEY_eq(o->pkey, pub->pkey) != 1)
			continue;
		pthread_mutex_lock(&o->lock);
		ok = ks_tmpl_bool(&o->attrs, CKA_LOCAL) == 1 &&
			ks_tmpl_bool(&o->attrs, CKA_NEVER_EXTRACTABLE) == 1 &&
			ks_tmpl_bool(&o->attrs, CKA_EXTRACTABLE) == 0;
		pthread_mutex_unlock(&o->lock);
		/* Copies share the value: the one generated here wins. */
		if (!best || (ok && !best_ok)) {
			best = o;
			best_ok = ok;
		}
	}
	if (best)
		best->refs++;
	pthread_mutex_unlock(&tab_lock);
	*out = best;
	return best ? BCFW_S_OK : KS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED);
}

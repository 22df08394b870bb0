// SPDX-License-Identifier: GPL-2.0
/*
 * The token: SO and user PINs with their retry counters, the login state
 * of each client, and the counter that hands out token object handles.
 *
 * PINs are kept as salted PBKDF2-SHA256 hashes in STATE/token.  A failed
 * attempt is written to disk before the answer goes out, so that cutting
 * the power after a wrong guess does not give the guess back.  All of it
 * is under one lock (pin_lock): logins are rare and must be serialized
 * anyway for the retry counters to mean anything.  Who is logged in is
 * under login_lock alone, since every command asks it: a login's PBKDF2
 * and fsync must not stall other clients' signatures.  Order: pin_lock,
 * then login_lock.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "keystore.h"

#define TOKEN_FILE	"token"
#define TOKEN_MAGIC	0x4b4f5442u	/* "BTOK" */
#define PIN_SALT	16
#define PIN_HASH	32
#define PIN_ITER	10000
/* Token handles are reserved on disk in blocks, to save a write each. */
#define HANDLE_BLOCK	256u
#define HANDLE_MAX	0x7fffffffu

struct pin_rec {
	uint8_t set;
	uint8_t fails;
	uint8_t pad[6];
	uint8_t salt[PIN_SALT];
	uint8_t hash[PIN_HASH];
};

/* The on-disk image; little-endian fields. */
struct token_rec {
	uint32_t magic;
	uint32_t reserved;
	uint32_t handle_reserved;	/* handles below this may be in use */
	uint32_t reserved2;
	struct pin_rec so, user;
};

struct login {
	uint64_t conn;
	uint32_t client;
	int state;
	struct login *next;
};

static pthread_mutex_t pin_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t login_lock = PTHREAD_MUTEX_INITIALIZER;
static struct token_rec tok;		/* under pin_lock */
static uint32_t next_handle;		/* under pin_lock */
static struct login *logins;		/* under login_lock */

static int tok_save(void)
{
	return ks_store_put("", TOKEN_FILE, &tok, sizeof(tok));
}

int ks_token_init(void)
{
	uint8_t *buf;
	size_t len;
	int ret;

	ret = ks_store_get("", TOKEN_FILE, &buf, &len);
	if (ret == -ENOENT) {
		memset(&tok, 0, sizeof(tok));
		tok.magic = htole32(TOKEN_MAGIC);
		tok.handle_reserved = htole32(1);
		next_handle = 1;
		return tok_save();
	}
	if (ret) {
		emu_log("token state: %s\n", ret == -EBADMSG ?
			"damaged; refusing to start" : strerror(-ret));
		return ret;
	}
	if (len != sizeof(tok)) {
		free(buf);
		emu_log("token state: wrong size; refusing to start\n");
		return -EBADMSG;
	}
	memcpy(&tok, buf, sizeof(tok));
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (le32toh(tok.magic) != TOKEN_MAGIC ||
	    tok.so.fails > BCFW_PIN_TRIES || tok.user.fails > BCFW_PIN_TRIES) {
		emu_log("token state: bad contents; refusing to start\n");
		return -EBADMSG;
	}
	/* Whatever was handed out before the restart stays retired. */
	next_handle = le32toh(tok.handle_reserved);
	return 0;
}

void ks_token_fini(void)
{
	struct login *l;

	pthread_mutex_lock(&pin_lock);
	pthread_mutex_lock(&login_lock);
	while ((l = logins) != NULL) {
		logins = l->next;
		free(l);
	}
	pthread_mutex_unlock(&login_lock);
	OPENSSL_cleanse(&tok, sizeof(tok));
	pthread_mutex_unlock(&pin_lock);
}

uint32_t ks_token_next_handle(uint32_t *handle)
{
	uint32_t st = BCFW_S_OK;

	pthread_mutex_lock(&pin_lock);
	if (next_handle >= HANDLE_MAX) {
		st = KS_CKR(CKR_DEVICE_MEMORY);
	} else if (next_handle >= le32toh(tok.handle_reserved)) {
		uint32_t old = tok.handle_reserved;
		uint64_t r = (uint64_t)next_handle + HANDLE_BLOCK;

		tok.handle_reserved = htole32(r > HANDLE_MAX ? HANDLE_MAX :
					      (uint32_t)r);
		if (tok_save()) {
			tok.handle_reserved = old;
			st = KS_CKR(CKR_DEVICE_ERROR);
		}
	}
	if (!st)
		*handle = next_handle++;
	pthread_mutex_unlock(&pin_lock);
	return st;
}

uint32_t ks_token_handles_above(uint32_t h)
{
	uint32_t st = BCFW_S_OK;

	pthread_mutex_lock(&pin_lock);
	/* A token file older than the objects (restored from a backup). */
	if (h >= next_handle) {
		next_handle = h + 1;
		if (next_handle > le32toh(tok.handle_reserved)) {
			tok.handle_reserved = htole32(next_handle);
			if (tok_save())
				st = KS_CKR(CKR_DEVICE_ERROR);
		}
	}
	pthread_mutex_unlock(&pin_lock);
	return st;
}

static struct login *login_find(uint64_t conn, uint32_t client)
{
	for (struct login *l = logins; l; l = l->next)
		if (l->conn == conn && l->client == client)
			return l;
	return NULL;
}

int ks_token_login_state(uint64_t conn, uint32_t client)
{
	struct login *l;
	int st;

	pthread_mutex_lock(&login_lock);
	l = login_find(conn, client);
	st = l ? l->state : BCFW_LOGIN_NONE;
	pthread_mutex_unlock(&login_lock);
	return st;
}

static void drop_locked(uint64_t conn, bool any_conn, bool any_client,
			uint32_t client)
{
	struct login **pp = &logins;

	while (*pp) {
		struct login *l = *pp;

		if ((any_conn || l->conn == conn) &&
		    (any_client || l->client == client)) {
			*pp = l->next;
			free(l);
		} else {
			pp = &l->next;
		}
	}
}

void ks_token_drop(uint64_t conn, bool any_client, uint32_t client)
{
	pthread_mutex_lock(&login_lock);
	drop_locked(conn, false, any_client, client);
	pthread_mutex_unlock(&login_lock);
}

static bool pin_len_ok(size_t n)
{
	return n >= BCFW_PIN_MIN && n <= BCFW_PIN_MAX;
}

static int pin_hash(const uint8_t *salt, const uint8_t *pin, size_t n,
		    uint8_t *out)
{
	return PKCS5_PBKDF2_HMAC((const char *)pin, (int)n, salt, PIN_SALT,
				 PIN_ITER, EVP_sha256(), PIN_HASH, out) == 1 ?
		0 : -EIO;
}

static int pin_set(struct pin_rec *r, const uint8_t *pin, size_t n)
{
	if (RAND_bytes(r->salt, PIN_SALT) != 1 ||
	    pin_hash(r->salt, pin, n, r->hash))
		return -EIO;
	r->set = 1;
	r->fails = 0;
	return 0;
}

/*
 * Checks @pin against @r and records the outcome on disk before
 * returning.  Under pin_lock.
 */
static uint32_t pin_check(struct pin_rec *r, const uint8_t *pin, size_t n)
{
	uint8_t h[PIN_HASH];
	bool good;
	int ret;

	if (r->fails >= BCFW_PIN_TRIES)
		return KS_CKR(CKR_PIN_LOCKED);
	if (!pin_len_ok(n))
		return KS_CKR(CKR_PIN_LEN_RANGE);
	if (pin_hash(r->salt, pin, n, h))
		return KS_CKR(CKR_DEVICE_ERROR);
	good = CRYPTO_memcmp(h, r->hash, PIN_HASH) == 0;
	OPENSSL_cleanse(h, sizeof(h));
	if (good && !r->fails)
		return BCFW_S_OK;
	if (good)
		r->fails = 0;
	else
		r->fails++;
	ret = tok_save();
	if (ret) {
		emu_log("cannot record a PIN attempt: %s\n", strerror(-ret));
		return KS_CKR(CKR_DEVICE_ERROR);
	}
	if (good)
		return BCFW_S_OK;
	return KS_CKR(r->fails >= BCFW_PIN_TRIES ? CKR_PIN_LOCKED :
		      CKR_PIN_INCORRECT);
}

static uint32_t pin_flags(const struct pin_rec *r, uint32_t low,
			  uint32_t final, uint32_t locked)
{
	if (r->fails >= BCFW_PIN_TRIES)
		return locked;
	if (r->fails == BCFW_PIN_TRIES - 1)
		return final | low;
	return r->fails ? low : 0;
}

uint32_t ks_token_info(const struct ks_caller *c, struct bcfw_token_info *out)
{
	uint32_t f = BCFW_TOKF_RNG | BCFW_TOKF_LOGIN_REQUIRED;

	memset(out, 0, sizeof(*out));
	emu_firmware_label(out->label);
	pthread_mutex_lock(&pin_lock);
	if (tok.so.set)
		f |= BCFW_TOKF_TOKEN_INITIALIZED;
	if (tok.user.set)
		f |= BCFW_TOKF_USER_PIN_INITIALIZED;
	f |= pin_flags(&tok.user, BCFW_TOKF_USER_PIN_COUNT_LOW,
		       BCFW_TOKF_USER_PIN_FINAL_TRY,
		       BCFW_TOKF_USER_PIN_LOCKED);
	f |= pin_flags(&tok.so, BCFW_TOKF_SO_PIN_COUNT_LOW,
		       BCFW_TOKF_SO_PIN_FINAL_TRY, BCFW_TOKF_SO_PIN_LOCKED);
	out->user_tries_left = htole32(BCFW_PIN_TRIES - tok.user.fails);
	out->so_tries_left = htole32(BCFW_PIN_TRIES - tok.so.fails);
	pthread_mutex_unlock(&pin_lock);
	out->login = htole32((uint32_t)ks_token_login_state(c->conn,
							    c->client));
	out->flags = htole32(f);
	out->pin_min = htole32(BCFW_PIN_MIN);
	out->pin_max = htole32(BCFW_PIN_MAX);
	out->max_tries = htole32(BCFW_PIN_TRIES);
	out->max_sessions = htole32(emu_sessions_max());
	out->sessions_in_use = htole32(emu_sessions_in_use());
	out->rw_sessions_in_use = htole32(emu_sessions_rw_in_use());
	out->max_objects = htole32(EMU_MAX_OBJECTS);
	out->objects_in_use = htole32(ks_objects_count());
	return BCFW_S_OK;
}

/*
 * All spaces is a label too: PKCS#11 pads with blanks, so that is what an
 * application that names no label (pkcs11-tool --label "") sends.
 */
static bool label_ok(const uint8_t *label)
{
	for (int i = 0; i < BCFW_LABEL_LEN; i++)
		if (label[i] < 0x20 || label[i] > 0x7e)
			return false;
	return true;
}

uint32_t ks_token_init_token(const struct ks_caller *c, const uint8_t *label,
			     const uint8_t *pin, size_t pin_len)
{
	struct token_rec saved;
	uint32_t st;

	(void)c;
	if (!label_ok(label))
		return KS_CKR(CKR_ARGUMENTS_BAD);
	if (!pin_len_ok(pin_len))
		return KS_CKR(CKR_PIN_LEN_RANGE);
	pthread_mutex_lock(&pin_lock);
	if (emu_sessions_in_use()) {
		st = KS_CKR(CKR_SESSION_EXISTS);
		goto out;
	}
	if (tok.so.set) {
		st = pin_check(&tok.so, pin, pin_len);
		if (st)
			goto out;
	}
	saved = tok;
	memset(&tok.user, 0, sizeof(tok.user));
	if (pin_set(&tok.so, pin, pin_len) || tok_save()) {
		tok = saved;
		st = KS_CKR(CKR_DEVICE_ERROR);
		goto out;
	}
	OPENSSL_cleanse(&saved, sizeof(saved));
	/* Nobody stays logged in to a token that was just wiped. */
	pthread_mutex_lock(&login_lock);
	drop_locked(0, true, true, 0);
	pthread_mutex_unlock(&login_lock);
	pthread_mutex_unlock(&pin_lock);
	ks_objects_wipe_token();
	if (emu_firmware_set_label(label))
		return KS_CKR(CKR_DEVICE_ERROR);
	return BCFW_S_OK;
out:
	pthread_mutex_unlock(&pin_lock);
	return st;
}

uint32_t ks_token_init_pin(const struct ks_caller *c, const uint8_t *pin,
			   size_t pin_len)
{
	struct pin_rec saved;
	uint32_t st = BCFW_S_OK;

	pthread_mutex_lock(&pin_lock);
	if (c->login != BCFW_LOGIN_SO) {
		st = KS_CKR(CKR_USER_NOT_LOGGED_IN);
	} else if (!c->rw) {
		st = KS_CKR(CKR_SESSION_READ_ONLY);
	} else if (!pin_len_ok(pin_len)) {
		st = KS_CKR(CKR_PIN_LEN_RANGE);
	} else {
		saved = tok.user;
		if (pin_set(&tok.user, pin, pin_len) || tok_save()) {
			tok.user = saved;
			st = KS_CKR(CKR_DEVICE_ERROR);
		}
		OPENSSL_cleanse(&saved, sizeof(saved));
	}
	pthread_mutex_unlock(&pin_lock);
	return st;
}

uint32_t ks_token_set_pin(const struct ks_caller *c, const uint8_t *old,
			  size_t old_len, const uint8_t *new_pin,
			  size_t new_len)
{
	struct pin_rec *r, saved;
	uint32_t st;

	pthread_mutex_lock(&pin_lock);
	r = c->login == BCFW_LOGIN_SO ? &tok.so : &tok.user;
	if (!c->rw) {
		st = KS_CKR(CKR_SESSION_READ_ONLY);
		goto out;
	}
	if (!r->set) {
		st = KS_CKR(r == &tok.user ? CKR_USER_PIN_NOT_INITIALIZED :
			    CKR_PIN_INCORRECT);
		goto out;
	}
	if (!pin_len_ok(new_len)) {
		st = KS_CKR(CKR_PIN_LEN_RANGE);
		goto out;
	}
	st = pin_check(r, old, old_len);
	if (st)
		goto out;
	saved = *r;
	if (pin_set(r, new_pin, new_len) || tok_save()) {
		*r = saved;
		st = KS_CKR(CKR_DEVICE_ERROR);
	}
	OPENSSL_cleanse(&saved, sizeof(saved));
out:
	pthread_mutex_unlock(&pin_lock);
	return st;
}

uint32_t ks_token_login(const struct ks_caller *c, uint32_t user,
			const uint8_t *pin, size_t pin_len)
{
	struct pin_rec *r;
	struct login *l, *nl;
	int want, have;
	uint32_t st;

	if (user == BCFW_USER_SO) {
		want = BCFW_LOGIN_SO;
	} else if (user == BCFW_USER_USER) {
		want = BCFW_LOGIN_USER;
	} else {
		return KS_CKR(CKR_USER_TYPE_INVALID);
	}
	have = ks_token_login_state(c->conn, c->client);
	if (have != BCFW_LOGIN_NONE)
		return KS_CKR(have == want ? CKR_USER_ALREADY_LOGGED_IN :
			      CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return KS_CKR(CKR_HOST_MEMORY);
	nl->conn = c->conn;
	nl->client = c->client;
	nl->state = want;
	pthread_mutex_lock(&pin_lock);
	r = want == BCFW_LOGIN_SO ? &tok.so : &tok.user;
	if (!r->set)
		st = KS_CKR(want == BCFW_LOGIN_USER ?
			    CKR_USER_PIN_NOT_INITIALIZED : CKR_PIN_INCORRECT);
	else
		st = pin_check(r, pin, pin_len);
	if (!st) {
		pthread_mutex_lock(&login_lock);
		/* Another command of this client may have won the race. */
		l = login_find(c->conn, c->client);
		if (l) {
			st = KS_CKR(l->state == want ?
				    CKR_USER_ALREADY_LOGGED_IN :
				    CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
		} else {
			nl->next = logins;
			logins = nl;
			nl = NULL;
		}
		pthread_mutex_unlock(&login_lock);
	}
	pthread_mutex_unlock(&pin_lock);
	free(nl);
	return st;
}

uint32_t ks_token_logout(const struct ks_caller *c)
{
	uint32_t st = BCFW_S_OK;

	pthread_mutex_lock(&login_lock);
	if (!login_find(c->conn, c->client))
		st = KS_CKR(CKR_USER_NOT_LOGGED_IN);
	else
		drop_locked(c->conn, false, false, c->client);
	pthread_mutex_unlock(&login_lock);
	return st;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * PKCS#11 glue for the provider: loading libbc_pkcs11, lazy and fork-aware
 * initialization, the session pool and logins.  docs/openssl.md.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bcp11.h"

/*
 * Sessions cost our library nothing on the chip (single-part operations
 * need no chip session, docs/pkcs11.md), but every concurrent operation
 * needs its own PKCS#11 session.  The pool bounds how many a process holds
 * per slot, whatever the number of threads.
 */
#define POOL_MAX 16
#define MAX_SLOTS 32
#define PIN_MAX 128

struct slot_state {
	CK_SLOT_ID id;
	int used;
	CK_SESSION_HANDLE idle[POOL_MAX];
	unsigned int n_idle;
	unsigned int n_out;		/* lent, of this generation */
	unsigned int limit;
	int logged_in;
	char *pin;			/* what the last good login used */
	char *bad_pin;			/* what the chip last refused */
};

struct bcp11 {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *module;
	char *pin_source;
	void *dl;
	CK_FUNCTION_LIST *f;
	pid_t pid;			/* process that initialized, 0: none */
	int we_initialized;
	unsigned long gen;		/* moves on at each re-initialization */
	struct slot_state slots[MAX_SLOTS];
	struct bcp11 *next;		/* on the list of all, for fork() */
	char load_error[256];		/* why the module could not be used */
};

/*
 * fork() while another thread holds an instance's lock (logging in, say)
 * would leave the child a lock nobody releases: every instance's lock is
 * taken around fork().  We call the module with our lock held, so ours
 * must be taken before the module's own fork lock: the handlers are
 * registered after the module's (at its first C_Initialize), since
 * prepare handlers run in reverse order of registration.  glibc drops
 * them if this provider is unloaded.
 */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bcp11 *all;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_mutex_lock(&all_lock);
	for (struct bcp11 *p = all; p; p = p->next)
		pthread_mutex_lock(&p->lock);
}

static void fork_release(void)
{
	for (struct bcp11 *p = all; p; p = p->next)
		pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&all_lock);
}

static void atfork_register(void)
{
	/* Without it, only a fork() during a login could go wrong. */
	(void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

struct bcp11 *bcp11_new(const char *module, const char *pin_source)
{
	struct bcp11 *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->module = strdup(module);
	p->pin_source = strdup(pin_source);
	if (!p->module || !p->pin_source ||
	    pthread_mutex_init(&p->lock, NULL)) {
		free(p->module);
		free(p->pin_source);
		free(p);
		return NULL;
	}
	if (pthread_cond_init(&p->cond, NULL)) {
		pthread_mutex_destroy(&p->lock);
		free(p->module);
		free(p->pin_source);
		free(p);
		return NULL;
	}
	pthread_mutex_lock(&all_lock);
	p->next = all;
	all = p;
	pthread_mutex_unlock(&all_lock);
	return p;
}

static void forget_slots(struct bcp11 *p)
{
	for (unsigned int i = 0; i < MAX_SLOTS; i++) {
		struct slot_state *s = &p->slots[i];

		s->n_idle = 0;
		s->n_out = 0;
		s->logged_in = 0;
	}
}

void bcp11_free(struct bcp11 *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&all_lock);
	for (struct bcp11 **pp = &all; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&all_lock);
	if (p->f && p->we_initialized && p->pid == getpid())
		p->f->C_Finalize(NULL);
	/*
	 * The module stays mapped: it registered pthread_atfork handlers,
	 * which must not point into unmapped code at the next fork().
	 */
	for (unsigned int i = 0; i < MAX_SLOTS; i++) {
		wipe_free(p->slots[i].pin);
		wipe_free(p->slots[i].bad_pin);
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->module);
	free(p->pin_source);
	free(p);
}

/* Called with the lock held. */
static CK_RV ready_locked(struct bcp11 *p)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	if (!p->dl) {
		CK_C_GetFunctionList gfl;

		p->dl = dlopen(p->module, RTLD_NOW | RTLD_LOCAL);
		if (!p->dl) {
			const char *e = dlerror();

			snprintf(p->load_error, sizeof(p->load_error), "%s",
				 e ? e : "dlopen failed");
			return CKR_GENERAL_ERROR;
		}
		*(void **)&gfl = dlsym(p->dl, "C_GetFunctionList");
		if (!gfl || gfl(&p->f) != CKR_OK || !p->f) {
			p->f = NULL;
			snprintf(p->load_error, sizeof(p->load_error),
				 "no C_GetFunctionList");
			return CKR_GENERAL_ERROR;
		}
	}
	if (p->pid == getpid())
		return CKR_OK;
	/*
	 * First use, or a forked child: the library answers
	 * CKR_CRYPTOKI_NOT_INITIALIZED there until C_Initialize, and the
	 * parent's sessions and login are not ours.
	 */
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = p->f->C_Initialize(&args);
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		/* The application uses the module itself; share it. */
		p->we_initialized = 0;
	} else if (rv != CKR_OK) {
		return rv;
	} else {
		p->we_initialized = 1;
	}
	p->pid = getpid();
	p->gen++;
	forget_slots(p);
	pthread_cond_broadcast(&p->cond);
	return CKR_OK;
}

CK_FUNCTION_LIST *bcp11_functions(struct bcp11 *p, CK_RV *rv,
				  char *why, size_t whylen)
{
	CK_FUNCTION_LIST *f = NULL;

	pthread_mutex_lock(&p->lock);
	*rv = ready_locked(p);
	if (*rv == CKR_OK)
		f = p->f;
	else if (why && whylen)
		snprintf(why, whylen, "%s", p->load_error[0] ? p->load_error :
			 bcp11_rv_name(*rv));
	pthread_mutex_unlock(&p->lock);
	/* Not under our lock: fork() holds glibc's while it takes ours. */
	if (f)
		pthread_once(&atfork_once, atfork_register);
	return f;
}

static struct slot_state *slot_find(struct bcp11 *p, CK_SLOT_ID id)
{
	struct slot_state *free_s = NULL;

	for (unsigned int i = 0; i < MAX_SLOTS; i++) {
		if (p->slots[i].used && p->slots[i].id == id)
			return &p->slots[i];
		if (!p->slots[i].used && !free_s)
			free_s = &p->slots[i];
	}
	if (free_s) {
		free_s->used = 1;
		free_s->id = id;
		free_s->limit = 0;
	}
	return free_s;
}

/* The configured PIN, in a new buffer (NULL if there is none). */
static char *pin_from_source(const char *src)
{
	char *pin = NULL;

	if (!strncmp(src, "env:", 4)) {
		const char *v = secure_getenv(src + 4);

		if (v)
			pin = strdup(v);
	} else if (!strncmp(src, "file:", 5)) {
		char buf[PIN_MAX + 2];
		ssize_t n;
		int fd = open(src + 5, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return NULL;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			n = 0;
		buf[n] = 0;
		buf[strcspn(buf, "\r\n")] = 0;
		pin = strdup(buf);
		OPENSSL_cleanse(buf, sizeof(buf));
	}
	return pin;
}

struct lease {
	struct slot_state *s;
	CK_SESSION_HANDLE h;
	unsigned long gen;
};

static CK_RV login(struct bcp11 *p, struct lease *l, const char *pin)
{
	char *cfg = NULL, *use;
	CK_RV rv;

	if (pin)
		use = (char *)pin;
	else if (l->s->pin)
		use = l->s->pin;
	else
		use = cfg = pin_from_source(p->pin_source);
	if (!use)
		return CKR_PIN_INCORRECT;
	/*
	 * Every refused login counts towards the chip's lockout: a PIN it
	 * refused is not offered again by this process (a server under load
	 * would otherwise lock the token within a second).
	 */
	if (l->s->bad_pin && strlen(l->s->bad_pin) == strlen(use) &&
	    !CRYPTO_memcmp(l->s->bad_pin, use, strlen(use))) {
		wipe_free(cfg);
		return CKR_PIN_INCORRECT;
	}
	rv = p->f->C_Login(l->h, CKU_USER, (CK_UTF8CHAR *)use, strlen(use));
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv == CKR_PIN_INCORRECT) {
		char *copy = strdup(use);

		wipe_free(l->s->bad_pin);
		l->s->bad_pin = copy;
		if (use == l->s->pin) {
			/* Changed on the token: the configuration may know. */
			wipe_free(l->s->pin);
			l->s->pin = NULL;
		}
	} else if (rv == CKR_OK) {
		wipe_free(l->s->bad_pin);
		l->s->bad_pin = NULL;
	}
	if (rv == CKR_OK && use != l->s->pin) {
		char *copy = strdup(use);

		if (copy) {
			wipe_free(l->s->pin);
			l->s->pin = copy;
		}
	}
	wipe_free(cfg);
	return rv;
}

static CK_RV acquire(struct bcp11 *p, CK_SLOT_ID slot, int want_login,
		     const char *pin, struct lease *l)
{
	struct slot_state *s;
	CK_RV rv;

	pthread_mutex_lock(&p->lock);
	rv = ready_locked(p);
	if (rv != CKR_OK)
		goto out;
	s = slot_find(p, slot);
	if (!s) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (!s->limit) {
		CK_TOKEN_INFO ti;

		s->limit = POOL_MAX;
		if (p->f->C_GetTokenInfo(slot, &ti) == CKR_OK &&
		    ti.ulMaxSessionCount != CK_EFFECTIVELY_INFINITE &&
		    ti.ulMaxSessionCount != CK_UNAVAILABLE_INFORMATION &&
		    ti.ulMaxSessionCount && ti.ulMaxSessionCount < POOL_MAX)
			s->limit = ti.ulMaxSessionCount;
	}
	while (!s->n_idle && s->n_out >= s->limit)
		pthread_cond_wait(&p->cond, &p->lock);
	l->s = s;
	l->gen = p->gen;
	if (s->n_idle) {
		l->h = s->idle[--s->n_idle];
	} else {
		rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
					 &l->h);
		if (rv != CKR_OK)
			goto out;
	}
	s->n_out++;
	/*
	 * Logging in under the lock keeps two threads from racing to log in
	 * (the second would get CKR_USER_ALREADY_LOGGED_IN anyway, but a
	 * wrong PIN must be counted once).
	 */
	if (want_login && !s->logged_in) {
		rv = login(p, l, pin);
		if (rv == CKR_OK) {
			s->logged_in = 1;
		} else {
			s->n_out--;
			if (s->n_idle < POOL_MAX)
				s->idle[s->n_idle++] = l->h;
			else
				p->f->C_CloseSession(l->h);
			pthread_cond_broadcast(&p->cond);
		}
	}
out:
	pthread_mutex_unlock(&p->lock);
	return rv;
}

/*
 * Errors that mean the session or login went away under us.  A session
 * of a connection that dropped answers CKR_DEVICE_REMOVED; opening a new
 * one makes the library connect again (docs/pkcs11.md "Chip reset").
 * A chip that forgot the login without the library being told (a
 * firmware restart that no reset reported) answers for a private key
 * CKR_KEY_HANDLE_INVALID: logging in again tells that apart from a key
 * really gone, which fails the retry too.
 */
static int stale(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_DEVICE_REMOVED ||
	       rv == CKR_CRYPTOKI_NOT_INITIALIZED ||
	       rv == CKR_KEY_HANDLE_INVALID;
}

static void release(struct bcp11 *p, struct lease *l, CK_RV rv)
{
	struct slot_state *s = l->s;

	pthread_mutex_lock(&p->lock);
	if (l->gen != p->gen) {
		/* Re-initialized meanwhile (fork): the handle means nothing. */
		pthread_mutex_unlock(&p->lock);
		return;
	}
	s->n_out--;
	if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
		p->pid = 0;
	} else if (rv == CKR_BUFFER_TOO_SMALL) {
		/* The operation stays active on it: not reusable. */
		p->f->C_CloseSession(l->h);
	} else if (stale(rv)) {
		s->logged_in = 0;
		p->f->C_CloseSession(l->h);
		/* Its siblings are of the same dead epoch. */
		while (s->n_idle)
			p->f->C_CloseSession(s->idle[--s->n_idle]);
	} else if (s->n_idle < POOL_MAX) {
		s->idle[s->n_idle++] = l->h;
	} else {
		p->f->C_CloseSession(l->h);
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

CK_RV bcp11_run(struct bcp11 *p, CK_SLOT_ID slot, int login_needed,
		const char *pin, bcp11_op *fn, void *arg)
{
	struct lease l;
	CK_RV rv = CKR_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		rv = acquire(p, slot, login_needed, pin, &l);
		if (rv != CKR_OK) {
			if (stale(rv) && attempt == 0) {
				pthread_mutex_lock(&p->lock);
				if (rv == CKR_CRYPTOKI_NOT_INITIALIZED)
					p->pid = 0;
				forget_slots(p);
				p->gen++;
				pthread_mutex_unlock(&p->lock);
				continue;
			}
			return rv;
		}
		rv = fn(p->f, l.h, arg);
		release(p, &l, rv);
		if (!stale(rv))
			break;
	}
	return rv;
}

const char *bcp11_rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT (or no PIN)";
	case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
	case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
	case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
		return "CKR_KEY_FUNCTION_NOT_PERMITTED";
	case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
	case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
	case CKR_MECHANISM_PARAM_INVALID:
		return "CKR_MECHANISM_PARAM_INVALID";
	case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE";
	case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID";
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
		return "CKR_ENCRYPTED_DATA_LEN_RANGE";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR (module not loaded?)";
	case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
	default: return "CKR_* error";
	}
}

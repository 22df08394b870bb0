// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session pool (500 application sessions on a chip of a few),
 * fork() with login state, and a chip reset in the middle of a run.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p11test.h"

static CK_BBOOL yes = CK_TRUE;

static const unsigned char oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

#define POOL_SESSIONS 500
#define POOL_THREADS 10

struct pool_arg {
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE key;
	CK_SESSION_HANDLE *h;	/* POOL_SESSIONS / POOL_THREADS of them */
	long bad;
};

static void *pool_worker(void *p)
{
	struct pool_arg *a = p;
	int per = POOL_SESSIONS / POOL_THREADS;
	CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
	CK_MECHANISM sign = { CKM_ECDSA_SHA256, NULL, 0 };
	unsigned char d[64] = { 7 }, out[128];

	for (int i = 0; i < per; i++)
		if (f->C_OpenSession(a->slot, CKF_SERIAL_SESSION, NULL, NULL,
				     &a->h[i]) != CKR_OK)
			a->bad++;
	/* Every session works while all of them are open. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < per; i++) {
			CK_ULONG ol = sizeof(out);
			CK_SESSION_HANDLE h = a->h[i];

			if (f->C_DigestInit(h, &sha) != CKR_OK ||
			    f->C_DigestUpdate(h, d, 32) != CKR_OK ||
			    f->C_DigestUpdate(h, d, 32) != CKR_OK ||
			    f->C_DigestFinal(h, out, &ol) != CKR_OK ||
			    ol != 32)
				a->bad++;
			ol = sizeof(out);
			if (f->C_SignInit(h, &sign, a->key) != CKR_OK ||
			    f->C_Sign(h, d, sizeof(d), out, &ol) != CKR_OK)
				a->bad++;
		}
	}
	return NULL;
}

static void test_500(void)
{
	CK_SESSION_HANDLE setup = user_session(1);
	CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pub[] = {
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
	};
	CK_ATTRIBUTE priv[] = { { CKA_SIGN, &yes, 1 } };
	CK_OBJECT_HANDLE kpub = 0, kpriv = 0;
	struct pool_arg args[POOL_THREADS];
	pthread_t th[POOL_THREADS];
	CK_SESSION_HANDLE *all;
	CK_TOKEN_INFO ti;
	long bad = 0;

	CHECK(setup != 0, "user session on slot 1");
	if (!setup)
		return;
	CHECK_RV(f->C_GenerateKeyPair(setup, &gen, pub, 1, priv, 1, &kpub,
				      &kpriv), CKR_OK);
	all = calloc(POOL_SESSIONS, sizeof(*all));
	if (!all)
		return;
	for (int i = 0; i < POOL_THREADS; i++) {
		args[i] = (struct pool_arg){ 1, kpriv,
			all + i * (POOL_SESSIONS / POOL_THREADS), 0 };
		pthread_create(&th[i], NULL, pool_worker, &args[i]);
	}
	for (int i = 0; i < POOL_THREADS; i++) {
		pthread_join(th[i], NULL);
		bad += args[i].bad;
	}
	CHECK(bad == 0, "%d sessions from %d threads, multi-part digests "
	      "and signatures: %ld failures", POOL_SESSIONS, POOL_THREADS,
	      bad);
	CHECK_RV(f->C_GetTokenInfo(1, &ti), CKR_OK);
	CHECK(ti.ulSessionCount == POOL_SESSIONS + 1, "%lu sessions open",
	      ti.ulSessionCount);
	for (int i = 0; i < POOL_SESSIONS; i++)
		f->C_CloseSession(all[i]);
	free(all);
	f->C_DestroyObject(setup, kpub);
	f->C_DestroyObject(setup, kpriv);
	CHECK_RV(f->C_CloseSession(setup), CKR_OK);
}

/*
 * More multi-part operations held open than the chip has sessions: the
 * one too many waits, then fails with CKR_DEVICE_MEMORY; once one ends
 * the next gets its chip session.
 */
static void test_exhaustion(struct emu *e)
{
	int n = e[1].max_sessions;
	CK_SESSION_HANDLE *h = calloc((size_t)n + 1, sizeof(*h));
	CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
	unsigned char d[8] = { 0 }, out[32];
	CK_ULONG ol = sizeof(out);

	if (!h)
		return;
	for (int i = 0; i <= n; i++) {
		CHECK_RV(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL,
					  &h[i]), CKR_OK);
		CHECK_RV(f->C_DigestInit(h[i], &sha), CKR_OK);
	}
	for (int i = 0; i < n; i++)
		CHECK_RV(f->C_DigestUpdate(h[i], d, sizeof(d)), CKR_OK);
	setenv("BCCHIP_POOL_WAIT_MS", "200", 1);
	CHECK_RV(f->C_DigestUpdate(h[n], d, sizeof(d)), CKR_DEVICE_MEMORY);
	unsetenv("BCCHIP_POOL_WAIT_MS");
	CHECK_RV(f->C_DigestFinal(h[0], out, &ol), CKR_OK);
	CHECK_RV(f->C_DigestInit(h[n], &sha), CKR_OK);
	CHECK_RV(f->C_DigestUpdate(h[n], d, sizeof(d)), CKR_OK);
	/* Closing a session mid-operation gives its chip session back. */
	for (int i = 0; i <= n; i++)
		CHECK_RV(f->C_CloseSession(h[i]), CKR_OK);
	CHECK_RV(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &h[0]),
		 CKR_OK);
	for (int i = 0; i < n; i++) {
		CHECK_RV(f->C_DigestInit(h[0], &sha), CKR_OK);
		CHECK_RV(f->C_DigestUpdate(h[0], d, sizeof(d)), CKR_OK);
		ol = sizeof(out);
		CHECK_RV(f->C_DigestFinal(h[0], out, &ol), CKR_OK);
	}
	CHECK_RV(f->C_CloseSession(h[0]), CKR_OK);
	free(h);
}

void test_pool(struct emu *e)
{
	test_500();
	if (!external)
		test_exhaustion(e);
}

/* A token key on slot 0 for the fork and reset tests. */
static CK_OBJECT_HANDLE token_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *pub)
{
	CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pt[] = {
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
		{ CKA_TOKEN, &yes, 1 },
	};
	CK_ATTRIBUTE st[] = { { CKA_SIGN, &yes, 1 }, { CKA_TOKEN, &yes, 1 } };
	CK_OBJECT_HANDLE priv = 0;

	CHECK_RV(f->C_GenerateKeyPair(h, &gen, pt, 2, st, 2, pub, &priv),
		 CKR_OK);
	return priv;
}

static int sign_ok(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	unsigned char sig[64], d[] = "x";
	CK_ULONG sl = sizeof(sig);

	return f->C_SignInit(h, &m, k) == CKR_OK &&
	       f->C_Sign(h, d, 1, sig, &sl) == CKR_OK && sl == 64;
}

/* Exit code of the child: bit per failed step. */
static int fork_child(CK_OBJECT_HANDLE key)
{
	CK_SESSION_HANDLE h;
	CK_SESSION_INFO si;
	int r = 0;

	if (init_os() != CKR_OK)
		return 1;
	if (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
		return 2;
	/* The parent's login is not ours: our own chip client. */
	if (f->C_GetSessionInfo(h, &si) != CKR_OK ||
	    si.state != CKS_RO_PUBLIC_SESSION)
		r |= 4;
	if (sign_ok(h, key))
		r |= 8;
	if (f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN,
		       strlen(USER_PIN)) != CKR_OK)
		r |= 16;
	if (!sign_ok(h, key))
		r |= 32;
	if (f->C_Finalize(NULL) != CKR_OK)
		r |= 64;
	return r;
}

void test_fork_login(void)
{
	CK_SESSION_HANDLE h = user_session(0);
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_OBJECT_HANDLE pub = 0, key;
	unsigned char sig[64];
	CK_ULONG sl = sizeof(sig);
	CK_SESSION_INFO si;
	pid_t pid;
	int st = 0;

	CHECK(h != 0, "user session");
	if (!h)
		return;
	key = token_key(h, &pub);
	/* A multi-part operation in flight on a pooled chip session. */
	CHECK_RV(f->C_SignInit(h, &m, key), CKR_OK);
	CHECK_RV(f->C_SignUpdate(h, (CK_BYTE_PTR)"abc", 3), CKR_OK);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fork_child(key));
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0, "child: own client, own login, signs "
	      "(failed steps 0x%x)", WEXITSTATUS(st));
	CHECK_RV(f->C_SignFinal(h, sig, &sl), CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(h, &si), CKR_OK);
	CHECK(si.state == CKS_RW_USER_FUNCTIONS, "parent still logged in");
	CHECK(sign_ok(h, key), "parent signs");
	f->C_DestroyObject(h, key);
	f->C_DestroyObject(h, pub);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
}

/*
 * The chip restarts under a running application (over the unix
 * transport: the emulator dies and comes back; its token objects
 * persist, our client, login, sessions and session objects do not).
 */
void test_reset(struct emu *e)
{
	CK_SESSION_HANDLE h = user_session(0), h2;
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE dt[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_OBJECT_HANDLE pub = 0, key, sobj = 0;
	CK_SESSION_INFO si;
	unsigned char b[8];

	CHECK(h != 0, "user session");
	if (!h)
		return;
	key = token_key(h, &pub);
	CHECK_RV(f->C_CreateObject(h, dt, 1, &sobj), CKR_OK);
	CHECK_RV(f->C_DigestInit(h, &m), CKR_OK);
	CHECK_RV(f->C_DigestUpdate(h, b, sizeof(b)), CKR_OK);

	emu_stop(&e[0], SIGKILL);
	CHECK(emu_start(&e[0]) == 0, "emulator back");
	/* The old connection is dead: its sessions say so. */
	CHECK_RV(f->C_DigestUpdate(h, b, sizeof(b)), CKR_DEVICE_REMOVED);
	/* A new session reconnects at once; login is gone. */
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				  NULL, NULL, &h2), CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(h2, &si), CKR_OK);
	CHECK(si.state == CKS_RW_PUBLIC_SESSION, "not logged in after reset");
	CHECK_RV(f->C_GenerateRandom(h, b, sizeof(b)),
		 CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_Login(h2, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN,
			    strlen(USER_PIN)), CKR_OK);
	/* Token objects keep their handles; session objects are gone. */
	CHECK(sign_ok(h2, key), "token key handle still valid");
	{
		CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

		CHECK_RV(f->C_GetAttributeValue(h2, sobj, &a, 1),
			 CKR_OBJECT_HANDLE_INVALID);
	}
	f->C_DestroyObject(h2, key);
	f->C_DestroyObject(h2, pub);
	CHECK_RV(f->C_CloseSession(h2), CKR_OK);
}

/*
 * Through the kernel driver: the administrator resets chip 0 (sysfs) under
 * a running application.  The chip forgets its clients; token objects
 * stay.  Old sessions must say so rather than reach a reused chip session.
 */
void test_driver_reset(const char *reset_attr)
{
	CK_SESSION_HANDLE h = user_session(0), h2;
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_OBJECT_HANDLE pub = 0, key;
	CK_SESSION_INFO si;
	unsigned char b[8];
	int fd;

	CHECK(h != 0, "user session before the reset");
	if (!h)
		return;
	key = token_key(h, &pub);
	CHECK_RV(f->C_DigestInit(h, &m), CKR_OK);
	CHECK_RV(f->C_DigestUpdate(h, b, sizeof(b)), CKR_OK);

	fd = open(reset_attr, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0, "open the reset attribute");
	if (fd >= 0) {
		CHECK(write(fd, "1", 1) == 1, "chip reset by the administrator");
		close(fd);
	}
	CHECK_RV(f->C_DigestUpdate(h, b, sizeof(b)),
		 CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_GenerateRandom(h, b, sizeof(b)),
		 CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				  NULL, NULL, &h2), CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(h2, &si), CKR_OK);
	CHECK(si.state == CKS_RW_PUBLIC_SESSION, "not logged in after reset");
	CHECK_RV(f->C_Login(h2, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN,
			    strlen(USER_PIN)), CKR_OK);
	CHECK(sign_ok(h2, key), "token key handle valid after the reset");
	f->C_DestroyObject(h2, key);
	f->C_DestroyObject(h2, pub);
	CHECK_RV(f->C_CloseSession(h2), CKR_OK);
}

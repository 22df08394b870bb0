// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The PKCS#11 module as an application sees it: dlopen()ed, driven
 * through its function list, over the unix transport to real bcchip-emu
 * processes that this program starts.
 *
 *   test_pkcs11 MODULE.so BCCHIP-EMU
 *   test_pkcs11 MODULE.so -
 *
 * The second form uses the devices already there ($BCCHIP_DEVICE or
 * /dev/bcchip*; at least two, with no other sessions on them), e.g. the
 * kernel driver in a VM, and skips the tests that stop an emulator.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "p11test.h"

int passed, failed, skipped;
CK_FUNCTION_LIST_PTR f;

/* ---- emulators ---------------------------------------------------- */

static const char *emu_bin;
int external;
static char tmpdir[] = "/tmp/bc-p11-test-XXXXXX";

static int can_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int emu_start(struct emu *e)
{
	char ms[16];

	snprintf(ms, sizeof(ms), "%d", e->max_sessions);
	e->pid = fork();
	if (e->pid < 0)
		return -1;
	if (e->pid == 0) {
		execl(emu_bin, emu_bin, "--state", e->dir, "--socket", e->sock,
		      "--label", e->label, "--max-sessions", ms,
		      "--foreground", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		int st;

		if (can_connect(e->sock))
			return 0;
		if (waitpid(e->pid, &st, WNOHANG) == e->pid) {
			e->pid = 0;
			return -1;
		}
		usleep(25000);
	}
	return -1;
}

void emu_stop(struct emu *e, int sig)
{
	if (e->pid <= 0)
		return;
	kill(e->pid, sig);
	waitpid(e->pid, NULL, 0);
	e->pid = 0;
	unlink(e->sock);
}

/* SIGSTOP is asynchronous: wait until the process is really stopped. */
static void wait_stopped(pid_t pid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 200; i++) {
		FILE *fp = fopen(path, "r");
		char *p = NULL;

		if (fp) {
			p = fgets(buf, sizeof(buf), fp);
			fclose(fp);
		}
		p = p ? strrchr(buf, ')') : NULL;
		if (p && p[1] == ' ' && p[2] == 'T')
			return;
		usleep(5000);
	}
}

/* ---- helpers ------------------------------------------------------ */

static int padded_eq(const unsigned char *field, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n > len || memcmp(field, s, n))
		return 0;
	for (size_t i = n; i < len; i++)
		if (field[i] != ' ')
			return 0;
	return 1;
}

static int all_spaces(const unsigned char *field, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (field[i] != ' ')
			return 0;
	return 1;
}

int init_os(void)
{
	CK_C_INITIALIZE_ARGS a = { .flags = CKF_OS_LOCKING_OK };

	return (int)f->C_Initialize(&a);
}

/* Bytes spread over all values: a cheap sanity check, not a test of
 * randomness. */
static int looks_random(const unsigned char *b, size_t n)
{
	int seen[256] = { 0 }, distinct = 0;

	for (size_t i = 0; i < n; i++)
		if (!seen[b[i]]++)
			distinct++;
	return n >= 4096 ? distinct == 256 : distinct > (int)n / 4;
}

/* ---- tests -------------------------------------------------------- */

static void test_not_initialized(void)
{
	CK_INFO info;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE h;
	CK_C_INITIALIZE_ARGS bad = { 0 };

	CHECK_RV(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(f->C_GetSlotList(CK_FALSE, NULL, &n),
		 CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(f->C_Login(1, CKU_USER, NULL, 0),
		 CKR_CRYPTOKI_NOT_INITIALIZED);
	bad.pReserved = &bad;
	CHECK_RV(f->C_Initialize(&bad), CKR_ARGUMENTS_BAD);
	memset(&bad, 0, sizeof(bad));
	bad.CreateMutex = (CK_CREATEMUTEX)1;
	CHECK_RV(f->C_Initialize(&bad), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void test_info_and_slots(struct emu *e)
{
	CK_INFO info;
	CK_SLOT_ID slots[4];
	CK_ULONG n;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti[2];
	CK_MECHANISM_INFO mi;

	CHECK_RV(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_GetInfo(&info), CKR_OK);
	CHECK(info.cryptokiVersion.major == 2 &&
	      info.cryptokiVersion.minor == 40, "cryptoki 2.40");
	CHECK(padded_eq(info.manufacturerID, 32, "Bastionchip"),
	      "library manufacturer");
	CHECK(!all_spaces(info.libraryDescription, 32) && info.flags == 0,
	      "library description");

	CHECK_RV(f->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	CHECK(n == 2, "two slots, got %lu", n);
	n = 1;
	CHECK_RV(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
	CHECK(n == 2, "count after BUFFER_TOO_SMALL %lu", n);
	n = 4;
	CHECK_RV(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CHECK(n == 2 && slots[0] == 0 && slots[1] == 1, "slot ids 0, 1");

	CHECK_RV(f->C_GetSlotInfo(7, &si), CKR_SLOT_ID_INVALID);
	CHECK_RV(f->C_GetSlotInfo(0, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_GetSlotInfo(0, &si), CKR_OK);
	CHECK((si.flags & CKF_TOKEN_PRESENT) && (si.flags & CKF_HW_SLOT),
	      "slot flags 0x%lx", si.flags);
	CHECK(padded_eq(si.manufacturerID, 32, "Bastionchip"),
	      "slot manufacturer");

	CHECK_RV(f->C_GetTokenInfo(9, &ti[0]), CKR_SLOT_ID_INVALID);
	CHECK_RV(f->C_GetTokenInfo(0, NULL), CKR_ARGUMENTS_BAD);
	for (int i = 0; i < 2; i++) {
		CK_TOKEN_INFO *t = &ti[i];

		CHECK_RV(f->C_GetTokenInfo((CK_SLOT_ID)i, t), CKR_OK);
		CHECK(padded_eq(t->label, 32, e[i].label),
		      "slot %d label '%.32s'", i, t->label);
		CHECK(!all_spaces(t->serialNumber, 16),
		      "slot %d serial set", i);
		CHECK(!all_spaces(t->model, 16) &&
		      !all_spaces(t->manufacturerID, 32),
		      "slot %d model and manufacturer", i);
		CHECK((t->flags & CKF_RNG) && !(t->flags & ~(CKF_RNG |
		      CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED |
		      CKF_USER_PIN_INITIALIZED | CKF_USER_PIN_COUNT_LOW |
		      CKF_USER_PIN_FINAL_TRY | CKF_SO_PIN_COUNT_LOW |
		      CKF_SO_PIN_FINAL_TRY)),
		      "slot %d flags 0x%lx", i, t->flags);
		/* Sessions are pooled: the application has no limit. */
		CHECK(t->ulMaxSessionCount == CK_EFFECTIVELY_INFINITE &&
		      t->ulSessionCount == 0 && t->ulRwSessionCount == 0,
		      "slot %d session counts %lu %lu", i,
		      t->ulMaxSessionCount, t->ulSessionCount);
		CHECK(t->ulMinPinLen > 0 && t->ulMaxPinLen >= t->ulMinPinLen,
		      "pin lengths");
		CHECK(t->ulTotalPublicMemory == CK_UNAVAILABLE_INFORMATION &&
		      t->ulFreePrivateMemory == CK_UNAVAILABLE_INFORMATION,
		      "memory unavailable");
		CHECK(all_spaces(t->utcTime, 16), "utcTime blank");
	}
	CHECK(memcmp(ti[0].serialNumber, ti[1].serialNumber, 16) != 0,
	      "serials differ");

	CHECK_RV(f->C_GetMechanismList(0, NULL, NULL), CKR_ARGUMENTS_BAD);
	n = 0;
	CHECK_RV(f->C_GetMechanismList(0, NULL, &n), CKR_OK);
	CHECK(n >= 20, "the chip's mechanisms: %lu", n);
	CHECK_RV(f->C_GetMechanismList(5, NULL, &n), CKR_SLOT_ID_INVALID);
	{
		CK_MECHANISM_TYPE ml[64];
		CK_ULONG m = 1;
		int have_ecdsa = 0, have_pss = 0;

		CHECK_RV(f->C_GetMechanismList(0, ml, &m),
			 CKR_BUFFER_TOO_SMALL);
		m = 64;
		CHECK_RV(f->C_GetMechanismList(0, ml, &m), CKR_OK);
		for (CK_ULONG i = 0; i < m; i++) {
			have_ecdsa |= ml[i] == CKM_ECDSA_SHA384;
			have_pss |= ml[i] == CKM_SHA256_RSA_PKCS_PSS;
		}
		CHECK(have_ecdsa && have_pss, "ECDSA_SHA384, PSS listed");
	}
	CHECK_RV(f->C_GetMechanismInfo(0, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi),
		 CKR_OK);
	CHECK(mi.ulMinKeySize == 2048 && mi.ulMaxKeySize == 4096 &&
	      (mi.flags & CKF_GENERATE_KEY_PAIR) && (mi.flags & CKF_HW),
	      "RSA key sizes %lu..%lu flags 0x%lx", mi.ulMinKeySize,
	      mi.ulMaxKeySize, mi.flags);
	CHECK_RV(f->C_GetMechanismInfo(0, CKM_ECDSA, &mi), CKR_OK);
	CHECK((mi.flags & CKF_SIGN) && (mi.flags & CKF_VERIFY) &&
	      mi.ulMinKeySize == 256 && mi.ulMaxKeySize == 521,
	      "ECDSA %lu..%lu flags 0x%lx", mi.ulMinKeySize, mi.ulMaxKeySize,
	      mi.flags);
	CHECK_RV(f->C_GetMechanismInfo(0, CKM_MD5, &mi),
		 CKR_MECHANISM_INVALID);
}

static void test_sessions_and_random(struct emu *e)
{
	CK_SESSION_HANDLE ro, rw, *h;
	CK_SESSION_INFO si;
	size_t n;
	CK_TOKEN_INFO ti;
	unsigned char buf[64], zero[64] = { 0 }, *big;
	size_t big_len = 200000 + 17;
	int i;

	CHECK_RV(f->C_OpenSession(0, 0, NULL, NULL, &ro),
		 CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, NULL),
		 CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_OpenSession(3, CKF_SERIAL_SESSION, NULL, NULL, &ro),
		 CKR_SLOT_ID_INVALID);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro),
		 CKR_OK);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				  NULL, NULL, &rw), CKR_OK);
	CHECK(ro != CK_INVALID_HANDLE && rw != ro, "distinct handles");
	CHECK_RV(f->C_GetSessionInfo(ro, &si), CKR_OK);
	CHECK(si.slotID == 0 && si.state == CKS_RO_PUBLIC_SESSION &&
	      si.flags == CKF_SERIAL_SESSION, "RO session info");
	CHECK_RV(f->C_GetSessionInfo(rw, &si), CKR_OK);
	CHECK(si.state == CKS_RW_PUBLIC_SESSION &&
	      si.flags == (CKF_SERIAL_SESSION | CKF_RW_SESSION),
	      "RW session info");
	CHECK_RV(f->C_GetSessionInfo(rw, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_GetSessionInfo(rw + 1000, &si),
		 CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_GetTokenInfo(0, &ti), CKR_OK);
	CHECK(ti.ulSessionCount == 2 && ti.ulRwSessionCount == 1,
	      "token counts our sessions: %lu %lu", ti.ulSessionCount,
	      ti.ulRwSessionCount);

	/* Random. */
	CHECK_RV(f->C_GenerateRandom(ro, buf, 0), CKR_OK);
	CHECK_RV(f->C_GenerateRandom(ro, NULL, 8), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_GenerateRandom(ro + 1000, buf, 8),
		 CKR_SESSION_HANDLE_INVALID);
	memset(buf, 0, sizeof(buf));
	CHECK_RV(f->C_GenerateRandom(ro, buf, sizeof(buf)), CKR_OK);
	CHECK(memcmp(buf, zero, sizeof(buf)) && looks_random(buf, 64),
	      "64 random bytes");
	big = calloc(1, big_len);
	if (big) {
		CHECK_RV(f->C_GenerateRandom(rw, big, big_len), CKR_OK);
		CHECK(looks_random(big, big_len) &&
		      looks_random(big + big_len - 4096, 4096),
		      "%zu random bytes, chunked", big_len);
		free(big);
	}
	CHECK_RV(f->C_SeedRandom(ro, buf, 8), CKR_RANDOM_SEED_NOT_SUPPORTED);

	/* Object search: nothing to find yet, but the state machine holds. */
	{
		CK_OBJECT_HANDLE objs[4];
		CK_ULONG got = 99;

		CHECK_RV(f->C_FindObjects(ro, objs, 4, &got),
			 CKR_OPERATION_NOT_INITIALIZED);
		CHECK_RV(f->C_FindObjectsInit(ro, NULL, 1), CKR_ARGUMENTS_BAD);
		CHECK_RV(f->C_FindObjectsInit(ro, NULL, 0), CKR_OK);
		CHECK_RV(f->C_FindObjectsInit(ro, NULL, 0),
			 CKR_OPERATION_ACTIVE);
		CHECK_RV(f->C_FindObjects(ro, objs, 4, &got), CKR_OK);
		CHECK(got == 0, "no objects yet");
		CHECK_RV(f->C_FindObjectsFinal(ro), CKR_OK);
		CHECK_RV(f->C_FindObjectsFinal(ro),
			 CKR_OPERATION_NOT_INITIALIZED);
	}

	CHECK_RV(f->C_CloseSession(ro), CKR_OK);
	CHECK_RV(f->C_CloseSession(ro), CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_GenerateRandom(ro, buf, 8), CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_CloseSession(rw), CKR_OK);

	/*
	 * Far more sessions than the second chip holds (4 in our emulator):
	 * they are the library's, the chip lends its own only to running
	 * multi-part operations.
	 */
	n = (size_t)e[1].max_sessions * 3 + 10;
	h = calloc(n, sizeof(*h));
	if (!h) {
		CHECK(0, "out of memory");
		return;
	}
	for (i = 0; i < (int)n; i++)
		CHECK_RV(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL,
					  &h[i]), CKR_OK);
	CHECK_RV(f->C_GetTokenInfo(1, &ti), CKR_OK);
	CHECK(ti.ulSessionCount == n, "%zu sessions: %lu", n,
	      ti.ulSessionCount);
	for (i = 0; i < (int)n; i++)
		CHECK_RV(f->C_GenerateRandom(h[i], buf, 8), CKR_OK);
	CHECK_RV(f->C_CloseSession(h[0]), CKR_OK);
	CHECK_RV(f->C_CloseAllSessions(9), CKR_SLOT_ID_INVALID);
	CHECK_RV(f->C_CloseAllSessions(1), CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(h[1], &si), CKR_SESSION_HANDLE_INVALID);
	CHECK_RV(f->C_GetTokenInfo(1, &ti), CKR_OK);
	CHECK(ti.ulSessionCount == 0, "all closed");
	free(h);
}

#define NTHREADS 8
#define NITER 40

static void *worker(void *arg)
{
	CK_SLOT_ID slot = (CK_SLOT_ID)(uintptr_t)arg % 2;
	long bad = 0;

	for (int i = 0; i < NITER; i++) {
		CK_SESSION_HANDLE h;
		unsigned char b[100];
		CK_TOKEN_INFO ti;

		if (f->C_OpenSession(0, CKF_SERIAL_SESSION,
				     NULL, NULL, &h) != CKR_OK) {
			bad++;
			continue;
		}
		if (f->C_GenerateRandom(h, b, sizeof(b)) != CKR_OK)
			bad++;
		if (i % 8 == 0 && f->C_GetTokenInfo(slot, &ti) != CKR_OK)
			bad++;
		if (f->C_CloseSession(h) != CKR_OK)
			bad++;
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t th[NTHREADS];
	long bad = 0;
	CK_TOKEN_INFO ti;

	for (uintptr_t i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < NTHREADS; i++) {
		void *r;

		pthread_join(th[i], &r);
		bad += (long)r;
	}
	CHECK(bad == 0, "%d threads x %d open/random/close: %ld failures",
	      NTHREADS, NITER, bad);
	CHECK_RV(f->C_GetTokenInfo(0, &ti), CKR_OK);
	CHECK(ti.ulSessionCount == 0, "threads left no sessions: %lu",
	      ti.ulSessionCount);
}

/* Exit code of the child: bit per failed step. */
static int child_steps(CK_SESSION_HANDLE parent_session)
{
	CK_INFO info;
	CK_SESSION_HANDLE h;
	CK_ULONG n = 0;
	unsigned char b[32];
	int r = 0;

	if (f->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
		r |= 1;
	if (f->C_GenerateRandom(parent_session, b, sizeof(b)) !=
	    CKR_CRYPTOKI_NOT_INITIALIZED)
		r |= 2;
	if (f->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
		r |= 4;
	if (init_os() != CKR_OK)
		return r | 8;
	if (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n != 2)
		r |= 16;
	if (f->C_GenerateRandom(parent_session, b, sizeof(b)) !=
	    CKR_SESSION_HANDLE_INVALID)
		r |= 32;
	if (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK ||
	    f->C_GenerateRandom(h, b, sizeof(b)) != CKR_OK)
		r |= 64;
	if (f->C_Finalize(NULL) != CKR_OK)
		r |= 128;
	return r;
}

static void test_fork(void)
{
	CK_SESSION_HANDLE h;
	unsigned char b[32];
	pid_t pid;
	int st;

	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_OK);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child_steps(h));
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st),
	      "child ran");
	CHECK(WEXITSTATUS(st) == 0, "child: not initialized until "
	      "C_Initialize, then its own connections (steps failed 0x%x)",
	      WEXITSTATUS(st));
	/* The child's C_Initialize and C_Finalize left ours alone. */
	CHECK_RV(f->C_GenerateRandom(h, b, sizeof(b)), CKR_OK);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
}

static void test_device_loss(struct emu *e)
{
	CK_SESSION_HANDLE h;
	CK_SLOT_ID slots[2];
	CK_ULONG n = 2;
	unsigned char b[16];
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;

	CHECK_RV(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_OK);
	emu_stop(&e[1], SIGKILL);
	CHECK_RV(f->C_GenerateRandom(h, b, sizeof(b)), CKR_DEVICE_REMOVED);
	CHECK_RV(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CHECK(n == 1 && slots[0] == 0, "only slot 0 has a token (%lu)", n);
	CHECK_RV(f->C_GetSlotInfo(1, &si), CKR_OK);
	CHECK(!(si.flags & CKF_TOKEN_PRESENT), "slot 1 token absent");
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
	CHECK(f->C_GetTokenInfo(1, &ti) == CKR_TOKEN_NOT_PRESENT,
	      "token info of a gone chip");
	/* The chip comes back: same slot, same identity (state dir). */
	/* The reconnection reads it: a stopped chip fails fast below. */
	setenv("BCCHIP_TIMEOUT_MS", "1500", 1);
	CHECK(emu_start(&e[1]) == 0, "emulator restarted");
	n = 2;
	CHECK_RV(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CHECK(n == 2, "slot 1 back (%lu)", n);
	CHECK_RV(f->C_GetTokenInfo(1, &ti), CKR_OK);
	CHECK(padded_eq(ti.label, 32, e[1].label), "label kept");
	CHECK_RV(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_OK);
	CHECK_RV(f->C_GenerateRandom(h, b, sizeof(b)), CKR_OK);

	/* A chip that stops answering gives an error, not a hang. */
	kill(e[1].pid, SIGSTOP);
	wait_stopped(e[1].pid);
	CHECK_RV(f->C_GenerateRandom(h, b, sizeof(b)), CKR_DEVICE_ERROR);
	kill(e[1].pid, SIGCONT);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
}

/* External devices: what the tests expect is what the tokens say. */
static int learn_tokens(struct emu *e)
{
	CK_ULONG n = 0;

	if (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n < 2)
		return -1;
	for (int i = 0; i < 2; i++) {
		CK_TOKEN_INFO ti;
		size_t len = 32;

		if (f->C_GetTokenInfo((CK_SLOT_ID)i, &ti) != CKR_OK)
			return -1;
		while (len && ti.label[len - 1] == ' ')
			len--;
		memcpy(e[i].label, ti.label, len);
		e[i].label[len] = 0;
		e[i].max_sessions = (int)ti.ulMaxSessionCount;
	}
	return 0;
}

static int mutexes_created, locks_taken;
static pthread_mutex_t cb_mutex = PTHREAD_MUTEX_INITIALIZER;

static CK_RV cb_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *p = malloc(sizeof(*p));

	if (!p)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(p, NULL);
	*m = p;
	__atomic_add_fetch(&mutexes_created, 1, __ATOMIC_RELAXED);
	return CKR_OK;
}

static CK_RV cb_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	__atomic_sub_fetch(&mutexes_created, 1, __ATOMIC_RELAXED);
	return CKR_OK;
}

static CK_RV cb_lock(CK_VOID_PTR m)
{
	__atomic_add_fetch(&locks_taken, 1, __ATOMIC_RELAXED);
	return pthread_mutex_lock(m) ? CKR_GENERAL_ERROR : CKR_OK;
}

static CK_RV cb_unlock(CK_VOID_PTR m)
{
	return pthread_mutex_unlock(m) ? CKR_MUTEX_NOT_LOCKED : CKR_OK;
}

static void test_app_mutexes(void)
{
	CK_C_INITIALIZE_ARGS a = {
		.CreateMutex = cb_create, .DestroyMutex = cb_destroy,
		.LockMutex = cb_lock, .UnlockMutex = cb_unlock,
	};
	CK_ULONG n;

	(void)cb_mutex;
	CHECK_RV(f->C_Initialize(&a), CKR_OK);
	CHECK_RV(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	CHECK(mutexes_created > 0 && locks_taken > 0,
	      "application's mutex callbacks used");
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
	CHECK(mutexes_created == 0, "and released");
	/* No arguments at all is fine too. */
	CHECK_RV(f->C_Initialize(NULL), CKR_OK);
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
}

static void test_no_devices(void)
{
	CK_ULONG n = 9;

	setenv("BCCHIP_DEVICE", "unix:/nonexistent/a.sock", 1);
	CHECK_RV(init_os(), CKR_OK);
	CHECK_RV(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	CHECK(n == 1, "configured slot without a chip still a slot");
	CHECK_RV(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	CHECK(n == 0, "but no token");
	{
		CK_TOKEN_INFO ti;
		CK_SESSION_HANDLE h;

		CHECK_RV(f->C_GetTokenInfo(0, &ti), CKR_TOKEN_NOT_PRESENT);
		CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL,
					  &h), CKR_TOKEN_NOT_PRESENT);
	}
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
}

int main(int argc, char **argv)
{
	CK_C_GetFunctionList gfl;
	struct emu e[2] = {
		{ .max_sessions = 64 }, { .max_sessions = 4 },
	};
	char devs[700];
	void *mod;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MODULE.so BCCHIP-EMU\n", argv[0]);
		return 2;
	}
	emu_bin = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!mod) {
		printf("dlopen: %s\n0 passed, 1 failed\n", dlerror());
		return 1;
	}
	gfl = (CK_C_GetFunctionList)dlsym(mod, "C_GetFunctionList");
	CHECK(gfl != NULL, "C_GetFunctionList exported");
	if (!gfl || gfl(&f) != CKR_OK || !f) {
		printf("%d passed, %d failed\n", passed, failed + 1);
		return 1;
	}
	CHECK(f->version.major == 2 && f->version.minor == 40,
	      "function list version");
	CHECK(dlsym(mod, "bc_transport_open") == NULL &&
	      dlsym(mod, "bc_lock") == NULL, "internals not exported");

	external = !strcmp(emu_bin, "-");
	if (external)
		goto run;
	if (!mkdtemp(tmpdir)) {
		printf("mkdtemp: %s\n0 passed, 1 failed\n", strerror(errno));
		return 1;
	}
	snprintf(devs, sizeof(devs), "%s/factory", tmpdir);
	setenv("BCCHIP_FACTORY", devs, 1);	/* the emulators' CA */
	for (int i = 0; i < 2; i++) {
		snprintf(e[i].dir, sizeof(e[i].dir), "%s/state%d", tmpdir, i);
		snprintf(e[i].sock, sizeof(e[i].sock), "%s/chip%d.sock",
			 tmpdir, i);
		snprintf(e[i].label, sizeof(e[i].label), "test token %c",
			 'A' + i);
		if (emu_start(&e[i])) {
			printf("cannot start %s\n", emu_bin);
			printf("%d passed, %d failed\n", passed, failed + 1);
			return 1;
		}
	}
	snprintf(devs, sizeof(devs), "unix:%s,unix:%s", e[0].sock, e[1].sock);
	setenv("BCCHIP_DEVICE", devs, 1);
	/* Generous: RSA key generation in a sanitized emulator is slow. */
	setenv("BCCHIP_TIMEOUT_MS", "60000", 1);
run:
	test_not_initialized();
	CHECK_RV(init_os(), CKR_OK);
	if (external && learn_tokens(e)) {
		printf("need two devices with tokens\n");
		printf("%d passed, %d failed\n", passed, failed + 1);
		return 1;
	}
	CHECK_RV(init_os(), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	test_info_and_slots(e);
	test_sessions_and_random(e);
	test_token(e);
	test_objects();
	test_crypto();
	test_wrap();
	test_attest(e);
	test_pool(e);
	test_threads();
	test_fork();
	test_fork_login();
	if (!external) {
		test_reset(e);
		test_device_loss(e);
	} else if (access("/sys/class/bcchip/bcchip0/reset", W_OK) == 0) {
		test_driver_reset("/sys/class/bcchip/bcchip0/reset");
	}
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
	CHECK_RV(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	test_app_mutexes();
	test_no_devices();

	dlclose(mod);
	if (!external) {
		char cmd[300];

		for (int i = 0; i < 2; i++)
			emu_stop(&e[i], SIGTERM);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("note: could not remove %s\n", tmpdir);
	} else {
		printf("(external devices: emulator-loss tests skipped)\n");
	}
	if (skipped)
		printf("pkcs11: %d passed, %d failed, %d skipped\n", passed,
		       failed, skipped);
	else
		printf("pkcs11: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

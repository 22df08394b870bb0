// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * p11bench: signatures per second through any PKCS#11 module, for P-256,
 * P-384 and RSA-2048 keys at several thread counts, several modules side
 * by side in one run.  A benchmark, not a test: it prints figures.
 *
 *   p11bench [-t SECONDS] [-j 1,2,4,8] [-p USER_PIN] [-s SO_PIN]
 *            NAME=MODULE.so[@LABEL] ...
 *
 * For each module: the first token (or the one labelled LABEL) is used;
 * an uninitialized token is initialized with SO_PIN and given USER_PIN.
 * Keys are session objects made for the run.  Each thread has its own
 * session and repeats C_SignInit + C_Sign on a 32-byte digest (CKM_ECDSA)
 * or a short message (CKM_SHA256_RSA_PKCS).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define MAX_THREADS 64
#define MAX_MODULES 8

static CK_BBOOL yes = CK_TRUE;
static const unsigned char oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };

struct module {
	const char *name, *path, *label;
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE admin;
};

enum key_kind { K_P256, K_P384, K_RSA2048, K_KINDS };
static const char *kind_name[K_KINDS] = { "P-256", "P-384", "RSA-2048" };

static const char *user_pin = "1234-bench", *so_pin = "so-1234-bench";
static double seconds = 2.0;

struct worker {
	struct module *m;
	CK_OBJECT_HANDLE key;
	enum key_kind kind;
	atomic_int *go;
	atomic_int *stop;
	long ops;
	CK_RV err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *p)
{
	struct worker *w = p;
	CK_FUNCTION_LIST_PTR f = w->m->f;
	CK_MECHANISM mech = {
		w->kind == K_RSA2048 ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0
	};
	unsigned char data[48], sig[512];
	CK_ULONG dlen = w->kind == K_P384 ? 48 : 32;
	CK_SESSION_HANDLE h;

	memset(data, 0x5c, sizeof(data));
	w->err = f->C_OpenSession(w->m->slot, CKF_SERIAL_SESSION, NULL, NULL,
				  &h);
	if (w->err != CKR_OK)
		return NULL;
	while (!atomic_load(w->go))
		;
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		CK_ULONG sl = sizeof(sig);
		CK_RV rv = f->C_SignInit(h, &mech, w->key);

		if (rv == CKR_OK)
			rv = f->C_Sign(h, data, dlen, sig, &sl);
		if (rv != CKR_OK) {
			w->err = rv;
			break;
		}
		w->ops++;
	}
	f->C_CloseSession(h);
	return NULL;
}

static double run(struct module *m, CK_OBJECT_HANDLE key, enum key_kind k,
		  int nthreads, CK_RV *err)
{
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	atomic_int go = 0, stop = 0;
	double t0, t1;
	long total = 0;

	*err = CKR_OK;
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ m, key, k, &go, &stop, 0, CKR_OK };
		if (pthread_create(&th[i], NULL, work, &w[i])) {
			nthreads = i;
			break;
		}
	}
	usleep(50000);
	t0 = now();
	atomic_store(&go, 1);
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		total += w[i].ops;
		if (w[i].err != CKR_OK)
			*err = w[i].err;
	}
	t1 = now();
	return (double)total / (t1 - t0);
}

static int find_slot(struct module *m)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;

	if (m->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || !n)
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		size_t l;

		if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		l = m->label ? strlen(m->label) : 0;
		if (m->label && (l > 32 || memcmp(ti.label, m->label, l) ||
				 (l < 32 && ti.label[l] != ' ')))
			continue;
		m->slot = slots[i];
		return (ti.flags & CKF_TOKEN_INITIALIZED) ? 1 : 0;
	}
	return -1;
}

static int prepare(struct module *m)
{
	CK_C_INITIALIZE_ARGS a = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList gfl;
	CK_RV rv;
	int st;

	m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		fprintf(stderr, "%s: %s\n", m->name, dlerror());
		return -1;
	}
	gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (!gfl || gfl(&m->f) != CKR_OK || m->f->C_Initialize(&a) != CKR_OK) {
		fprintf(stderr, "%s: cannot initialize\n", m->name);
		return -1;
	}
	st = find_slot(m);
	if (st < 0) {
		fprintf(stderr, "%s: no token\n", m->name);
		return -1;
	}
	if (st == 0) {
		CK_UTF8CHAR label[32];
		CK_SESSION_HANDLE h;

		memset(label, ' ', sizeof(label));
		memcpy(label, "p11bench", 8);
		rv = m->f->C_InitToken(m->slot, (CK_UTF8CHAR_PTR)so_pin,
				       strlen(so_pin), label);
		if (rv != CKR_OK) {
			fprintf(stderr, "%s: C_InitToken 0x%lx\n", m->name, rv);
			return -1;
		}
		/* Some modules move an initialized token to a new slot. */
		m->label = "p11bench";
		if (find_slot(m) != 1)
			return -1;
		if (m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION |
					CKF_RW_SESSION, NULL, NULL,
					&h) != CKR_OK ||
		    m->f->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)so_pin,
				  strlen(so_pin)) != CKR_OK ||
		    m->f->C_InitPIN(h, (CK_UTF8CHAR_PTR)user_pin,
				    strlen(user_pin)) != CKR_OK) {
			fprintf(stderr, "%s: cannot set the user PIN\n",
				m->name);
			return -1;
		}
		m->f->C_CloseSession(h);
	}
	rv = m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				 NULL, NULL, &m->admin);
	if (rv == CKR_OK)
		rv = m->f->C_Login(m->admin, CKU_USER,
				   (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		fprintf(stderr, "%s: login 0x%lx\n", m->name, rv);
		return -1;
	}
	return 0;
}

static CK_OBJECT_HANDLE make_key(struct module *m, enum key_kind k)
{
	CK_MECHANISM ec = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG bits = 2048;
	CK_BYTE exp[] = { 1, 0, 1 };
	CK_ATTRIBUTE pub_ec[] = {
		{ CKA_EC_PARAMS, (void *)(k == K_P256 ? oid_p256 : oid_p384),
		  k == K_P256 ? sizeof(oid_p256) : sizeof(oid_p384) },
		{ CKA_VERIFY, &yes, 1 },
	};
	CK_ATTRIBUTE pub_rsa[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, exp, sizeof(exp) },
		{ CKA_VERIFY, &yes, 1 },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_SIGN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
		{ CKA_SENSITIVE, &yes, 1 },
	};
	CK_OBJECT_HANDLE pub, prv;
	CK_RV rv;

	if (k == K_RSA2048)
		rv = m->f->C_GenerateKeyPair(m->admin, &rsa, pub_rsa, 3, priv, 3,
					     &pub, &prv);
	else
		rv = m->f->C_GenerateKeyPair(m->admin, &ec, pub_ec, 2, priv, 3,
					     &pub, &prv);
	if (rv != CKR_OK) {
		fprintf(stderr, "%s: %s key: 0x%lx\n", m->name, kind_name[k],
			rv);
		return CK_INVALID_HANDLE;
	}
	return prv;
}

static void usage(const char *p)
{
	fprintf(stderr, "usage: %s [-t SECONDS] [-j 1,2,4,8] [-p USER_PIN] "
		"[-s SO_PIN] NAME=MODULE.so[@LABEL] ...\n", p);
	exit(2);
}

int main(int argc, char **argv)
{
	struct module mods[MAX_MODULES];
	int threads[16] = { 1, 2, 4, 8 }, nthreads = 4, nmods = 0, opt;
	double res[MAX_MODULES][K_KINDS][16];
	CK_RV errs[MAX_MODULES][K_KINDS][16];

	while ((opt = getopt(argc, argv, "t:j:p:s:")) != -1) {
		switch (opt) {
		case 't':
			seconds = atof(optarg);
			if (seconds <= 0)
				usage(argv[0]);
			break;
		case 'j': {
			char *s = optarg, *e;

			nthreads = 0;
			while (*s && nthreads < 16) {
				long v = strtol(s, &e, 10);

				if (e == s || v < 1 || v > MAX_THREADS)
					usage(argv[0]);
				threads[nthreads++] = (int)v;
				s = *e == ',' ? e + 1 : e;
			}
			break;
		}
		case 'p':
			user_pin = optarg;
			break;
		case 's':
			so_pin = optarg;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind >= argc)
		usage(argv[0]);
	for (int i = optind; i < argc && nmods < MAX_MODULES; i++) {
		struct module *m = &mods[nmods];
		char *eq = strchr(argv[i], '='), *at;

		memset(m, 0, sizeof(*m));
		if (!eq)
			usage(argv[0]);
		*eq = 0;
		m->name = argv[i];
		m->path = eq + 1;
		at = strchr(eq + 1, '@');
		if (at) {
			*at = 0;
			m->label = at + 1;
		}
		nmods++;
	}
	memset(res, 0, sizeof(res));
	for (int i = 0; i < nmods; i++) {
		struct module *m = &mods[i];

		if (prepare(m)) {
			m->f = NULL;
			continue;
		}
		for (int k = 0; k < K_KINDS; k++) {
			CK_OBJECT_HANDLE key = make_key(m, (enum key_kind)k);

			for (int j = 0; j < nthreads; j++) {
				errs[i][k][j] = CKR_OK;
				if (key == CK_INVALID_HANDLE) {
					errs[i][k][j] = CKR_GENERAL_ERROR;
					continue;
				}
				res[i][k][j] = run(m, key, (enum key_kind)k,
						   threads[j], &errs[i][k][j]);
				fprintf(stderr, "%s %s %d threads: %.0f/s\n",
					m->name, kind_name[k], threads[j],
					res[i][k][j]);
			}
			if (key != CK_INVALID_HANDLE)
				m->f->C_DestroyObject(m->admin, key);
		}
	}

	printf("signatures per second (%.1f s per figure)\n\n", seconds);
	printf("%-10s %-9s", "key", "module");
	for (int j = 0; j < nthreads; j++)
		printf(" %7d thr", threads[j]);
	printf("\n");
	for (int k = 0; k < K_KINDS; k++)
		for (int i = 0; i < nmods; i++) {
			printf("%-10s %-9s", kind_name[k], mods[i].name);
			for (int j = 0; j < nthreads; j++) {
				if (!mods[i].f || errs[i][k][j] != CKR_OK)
					printf(" %11s", "error");
				else
					printf(" %11.0f", res[i][k][j]);
			}
			printf("\n");
		}
	for (int i = 0; i < nmods; i++)
		if (mods[i].f) {
			mods[i].f->C_CloseSession(mods[i].admin);
			mods[i].f->C_Finalize(NULL);
		}
	return 0;
}

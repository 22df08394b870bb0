// SPDX-License-Identifier: GPL-2.0
/*
 * bc-p11-hold: a PKCS#11 session that lives across something done to the
 * chip meanwhile (an attestation refresh).  Before: log in, make a
 * session key pair, sign, note every token object's handle and label.
 * Prints "READY" and waits for a line on stdin.  After: the same session
 * still works (logged in, signs with the same key handle), and the token
 * objects have the same handles and labels.
 *
 *   bc-p11-hold MODULE.so TOKEN_LABEL     (user PIN in $BC_PIN)
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#define MAX_OBJS 1024

static int pass, fail;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		pass++;							\
	} else {							\
		fail++;							\
		printf("FAIL: " __VA_ARGS__);				\
		printf("\n");						\
	}								\
} while (0)

struct objs {
	CK_OBJECT_HANDLE h[MAX_OBJS];
	char label[MAX_OBJS][64];
	CK_ULONG n;
};

static CK_RV list_objs(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
		       struct objs *o)
{
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t = { CKA_TOKEN, &yes, 1 };
	CK_RV rv = f->C_FindObjectsInit(s, &t, 1);

	o->n = 0;
	if (rv != CKR_OK)
		return rv;
	rv = f->C_FindObjects(s, o->h, MAX_OBJS, &o->n);
	f->C_FindObjectsFinal(s);
	for (CK_ULONG i = 0; i < o->n && rv == CKR_OK; i++) {
		CK_ATTRIBUTE a = { CKA_LABEL, o->label[i],
				   sizeof(o->label[i]) - 1 };

		memset(o->label[i], 0, sizeof(o->label[i]));
		if (f->C_GetAttributeValue(s, o->h[i], &a, 1) != CKR_OK)
			strcpy(o->label[i], "?");
	}
	return rv;
}

static CK_RV sign_verify(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
			 CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	unsigned char digest[32], sig[128];
	CK_ULONG sl = sizeof(sig);
	CK_RV rv;

	memset(digest, 0x42, sizeof(digest));
	rv = f->C_SignInit(s, &m, priv);
	if (rv == CKR_OK)
		rv = f->C_Sign(s, digest, sizeof(digest), sig, &sl);
	if (rv == CKR_OK)
		rv = f->C_VerifyInit(s, &m, pub);
	if (rv == CKR_OK)
		rv = f->C_Verify(s, digest, sizeof(digest), sig, sl);
	return rv;
}

int main(int argc, char **argv)
{
	static const unsigned char p256[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
	CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE pubt[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
				{ CKA_VERIFY, &yes, 1 } };
	CK_ATTRIBUTE privt[] = { { CKA_SIGN, &yes, 1 } };
	CK_FUNCTION_LIST_PTR f;
	CK_C_GetFunctionList gfl;
	CK_SLOT_ID slots[16], slot = 0;
	CK_ULONG ns = 16;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE pub, priv;
	CK_SESSION_INFO si;
	static struct objs before, after;
	const char *pin = getenv("BC_PIN");
	char line[64];
	void *dl;
	int found = 0;
	CK_RV rv;

	if (argc != 3 || !pin) {
		fprintf(stderr, "usage: BC_PIN=... bc-p11-hold MODULE "
			"TOKEN_LABEL\n");
		return 2;
	}
	dl = dlopen(argv[1], RTLD_NOW);
	gfl = dl ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
	if (!gfl || gfl(&f) != CKR_OK || f->C_Initialize(&ia) != CKR_OK ||
	    f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK) {
		fprintf(stderr, "bc-p11-hold: cannot load %s\n", argv[1]);
		return 1;
	}
	for (CK_ULONG i = 0; i < ns && !found; i++) {
		CK_TOKEN_INFO ti;
		size_t l = strlen(argv[2]);

		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && l <= 32 &&
		    !memcmp(ti.label, argv[2], l) &&
		    (l == 32 || ti.label[l] == ' ')) {
			slot = slots[i];
			found = 1;
		}
	}
	if (!found) {
		fprintf(stderr, "bc-p11-hold: no token '%s'\n", argv[2]);
		return 1;
	}
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	CHECK(rv == CKR_OK, "C_OpenSession 0x%lx", rv);
	rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	CHECK(rv == CKR_OK, "C_Login 0x%lx", rv);
	rv = f->C_GenerateKeyPair(s, &gen, pubt, 2, privt, 1, &pub, &priv);
	CHECK(rv == CKR_OK, "session key pair 0x%lx", rv);
	rv = sign_verify(f, s, priv, pub);
	CHECK(rv == CKR_OK, "sign before 0x%lx", rv);
	rv = list_objs(f, s, &before);
	CHECK(rv == CKR_OK && before.n > 0, "token objects before: 0x%lx, %lu",
	      rv, before.n);
	printf("READY %lu token objects\n", before.n);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;

	rv = f->C_GetSessionInfo(s, &si);
	CHECK(rv == CKR_OK && si.state == CKS_RO_USER_FUNCTIONS,
	      "session after: 0x%lx state %lu", rv, si.state);
	rv = sign_verify(f, s, priv, pub);
	CHECK(rv == CKR_OK, "sign after with the same handles 0x%lx", rv);
	rv = list_objs(f, s, &after);
	CHECK(rv == CKR_OK, "token objects after 0x%lx", rv);
	CHECK(after.n == before.n, "token object count %lu -> %lu", before.n,
	      after.n);
	for (CK_ULONG i = 0; i < before.n && i < after.n; i++)
		CHECK(before.h[i] == after.h[i] &&
		      !strcmp(before.label[i], after.label[i]),
		      "object %lu '%s' -> %lu '%s'", before.h[i],
		      before.label[i], after.h[i], after.label[i]);
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	printf("bc-p11-hold: %d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

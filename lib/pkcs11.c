// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Cryptoki entry points: initialization, locking, fork handling and the
 * function list.  docs/pkcs11.md describes the behaviour.
 *
 * Fork: a child inherits our descriptors and sessions, which belong to
 * the parent's chip client.  A pthread_atfork child handler marks the
 * library as not initialized in the child (the library lock is taken
 * around fork() so the child's copy of the tables is consistent); every
 * call then returns CKR_CRYPTOKI_NOT_INITIALIZED until the child calls
 * C_Initialize, which drops the inherited state without sending anything
 * through it and opens the child's own connections.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11.h"

struct bc_state bc_g;

/* Serializes C_Initialize, C_Finalize and fork(). */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_err;

/* Read without a lock on every call, hence atomic. */
static atomic_int initialized;
static atomic_int forked;

/* Under init_lock. */
static pid_t init_pid;
static void *state_mutex;
static CK_CREATEMUTEX create_mutex_fn;
static CK_DESTROYMUTEX destroy_mutex_fn;
static CK_LOCKMUTEX lock_mutex_fn;
static CK_UNLOCKMUTEX unlock_mutex_fn;

static CK_RV os_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *p = malloc(sizeof(*p));

	if (!p)
		return CKR_HOST_MEMORY;
	if (pthread_mutex_init(p, NULL)) {
		free(p);
		return CKR_CANT_LOCK;
	}
	*m = p;
	return CKR_OK;
}

static CK_RV os_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV os_lock(CK_VOID_PTR m)
{
	return pthread_mutex_lock(m) ? CKR_CANT_LOCK : CKR_OK;
}

static CK_RV os_unlock(CK_VOID_PTR m)
{
	return pthread_mutex_unlock(m) ? CKR_MUTEX_NOT_LOCKED : CKR_OK;
}

void bc_lock(void)
{
	/*
	 * Nothing sensible can follow a lock failure (the application's
	 * callback broke); carrying on unlocked is worse than stopping.
	 */
	if (lock_mutex_fn(state_mutex) != CKR_OK)
		abort();
}

void bc_unlock(void)
{
	unlock_mutex_fn(state_mutex);
}

CK_RV bc_check_init(void)
{
	if (!atomic_load_explicit(&initialized, memory_order_acquire) ||
	    atomic_load_explicit(&forked, memory_order_relaxed))
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	return CKR_OK;
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&init_lock);
	if (atomic_load(&initialized) && !atomic_load(&forked))
		bc_lock();
}

static void atfork_parent(void)
{
	if (atomic_load(&initialized) && !atomic_load(&forked))
		bc_unlock();
	pthread_mutex_unlock(&init_lock);
}

static void atfork_child(void)
{
	if (atomic_load(&initialized) && !atomic_load(&forked))
		bc_unlock();
	atomic_store(&forked, 1);
	pthread_mutex_unlock(&init_lock);
}

static void register_atfork(void)
{
	atfork_err = pthread_atfork(atfork_prepare, atfork_parent,
				    atfork_child);
}

/*
 * In a child after fork(): forgets the parent's state.  Descriptors are
 * closed, nothing is sent, and the parent's transport locks are not
 * touched (a parent thread may have held one at fork time).
 */
static void drop_inherited(void)
{
	bc_sessions_release(bc_g.buckets, 0);
	bc_slots_release(bc_g.slots, bc_g.nslots, 0);
	memset(&bc_g, 0, sizeof(bc_g));
	if (state_mutex)
		destroy_mutex_fn(state_mutex);
	state_mutex = NULL;
	atomic_store(&initialized, 0);
	atomic_store(&forked, 0);
}

BC_EXPORT CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_C_INITIALIZE_ARGS *a = pInitArgs;
	CK_RV rv;
	int ret;

	if (a) {
		int set = !!a->CreateMutex + !!a->DestroyMutex +
			  !!a->LockMutex + !!a->UnlockMutex;

		if (a->pReserved)
			return CKR_ARGUMENTS_BAD;
		if (set != 0 && set != 4)
			return CKR_ARGUMENTS_BAD;
	}
	pthread_once(&atfork_once, register_atfork);
	if (atfork_err)
		return CKR_GENERAL_ERROR;

	pthread_mutex_lock(&init_lock);
	if (atomic_load(&initialized) &&
	    (atomic_load(&forked) || init_pid != getpid()))
		drop_inherited();
	if (atomic_load(&initialized)) {
		pthread_mutex_unlock(&init_lock);
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	atomic_store(&forked, 0);

	/*
	 * Our own pthread mutexes whenever OS locking is allowed or no
	 * locking was asked for; the application's callbacks only when it
	 * gave them without CKF_OS_LOCKING_OK.
	 */
	if (a && a->CreateMutex && !(a->flags & CKF_OS_LOCKING_OK)) {
		create_mutex_fn = a->CreateMutex;
		destroy_mutex_fn = a->DestroyMutex;
		lock_mutex_fn = a->LockMutex;
		unlock_mutex_fn = a->UnlockMutex;
	} else {
		create_mutex_fn = os_create;
		destroy_mutex_fn = os_destroy;
		lock_mutex_fn = os_lock;
		unlock_mutex_fn = os_unlock;
	}
	rv = create_mutex_fn(&state_mutex);
	if (rv != CKR_OK) {
		state_mutex = NULL;
		pthread_mutex_unlock(&init_lock);
		return rv;
	}
	memset(&bc_g, 0, sizeof(bc_g));
	ret = bc_slots_init();
	if (ret) {
		destroy_mutex_fn(state_mutex);
		state_mutex = NULL;
		pthread_mutex_unlock(&init_lock);
		return ret == -ENOMEM ? CKR_HOST_MEMORY : CKR_GENERAL_ERROR;
	}
	init_pid = getpid();
	atomic_store_explicit(&initialized, 1, memory_order_release);
	pthread_mutex_unlock(&init_lock);
	return CKR_OK;
}

BC_EXPORT CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
	struct bc_session *buckets[BC_SESSION_BUCKETS];
	struct bc_slot *slots;
	CK_ULONG nslots;
	CK_RV rv;

	if (pReserved)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&init_lock);
	rv = bc_check_init();
	if (rv != CKR_OK) {
		pthread_mutex_unlock(&init_lock);
		return rv;
	}
	atomic_store(&initialized, 0);
	bc_lock();
	memcpy(buckets, bc_g.buckets, sizeof(buckets));
	slots = bc_g.slots;
	nslots = bc_g.nslots;
	memset(&bc_g, 0, sizeof(bc_g));
	bc_unlock();
	/* Closing a transport ends its chip client and all its sessions. */
	bc_sessions_release(buckets, 1);
	bc_slots_release(slots, nslots, 1);
	destroy_mutex_fn(state_mutex);
	state_mutex = NULL;
	pthread_mutex_unlock(&init_lock);
	return CKR_OK;
}

BC_EXPORT CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->cryptokiVersion.major = 2;
	pInfo->cryptokiVersion.minor = 40;
	bc_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	       BC_MANUFACTURER);
	pInfo->flags = 0;
	bc_pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
	       BC_LIB_DESCRIPTION);
	pInfo->libraryVersion.major = BC_LIB_VERSION_MAJOR;
	pInfo->libraryVersion.minor = BC_LIB_VERSION_MINOR;
	return CKR_OK;
}

static CK_FUNCTION_LIST function_list = {
	.version = { 2, 40 },
	.C_Initialize = C_Initialize,
	.C_Finalize = C_Finalize,
	.C_GetInfo = C_GetInfo,
	.C_GetFunctionList = C_GetFunctionList,
	.C_GetSlotList = C_GetSlotList,
	.C_GetSlotInfo = C_GetSlotInfo,
	.C_GetTokenInfo = C_GetTokenInfo,
	.C_GetMechanismList = C_GetMechanismList,
	.C_GetMechanismInfo = C_GetMechanismInfo,
	.C_InitToken = C_InitToken,
	.C_InitPIN = C_InitPIN,
	.C_SetPIN = C_SetPIN,
	.C_OpenSession = C_OpenSession,
	.C_CloseSession = C_CloseSession,
	.C_CloseAllSessions = C_CloseAllSessions,
	.C_GetSessionInfo = C_GetSessionInfo,
	.C_GetOperationState = C_GetOperationState,
	.C_SetOperationState = C_SetOperationState,
	.C_Login = C_Login,
	.C_Logout = C_Logout,
	.C_CreateObject = C_CreateObject,
	.C_CopyObject = C_CopyObject,
	.C_DestroyObject = C_DestroyObject,
	.C_GetObjectSize = C_GetObjectSize,
	.C_GetAttributeValue = C_GetAttributeValue,
	.C_SetAttributeValue = C_SetAttributeValue,
	.C_FindObjectsInit = C_FindObjectsInit,
	.C_FindObjects = C_FindObjects,
	.C_FindObjectsFinal = C_FindObjectsFinal,
	.C_EncryptInit = C_EncryptInit,
	.C_Encrypt = C_Encrypt,
	.C_EncryptUpdate = C_EncryptUpdate,
	.C_EncryptFinal = C_EncryptFinal,
	.C_DecryptInit = C_DecryptInit,
	.C_Decrypt = C_Decrypt,
	.C_DecryptUpdate = C_DecryptUpdate,
	.C_DecryptFinal = C_DecryptFinal,
	.C_DigestInit = C_DigestInit,
	.C_Digest = C_Digest,
	.C_DigestUpdate = C_DigestUpdate,
	.C_DigestKey = C_DigestKey,
	.C_DigestFinal = C_DigestFinal,
	.C_SignInit = C_SignInit,
	.C_Sign = C_Sign,
	.C_SignUpdate = C_SignUpdate,
	.C_SignFinal = C_SignFinal,
	.C_SignRecoverInit = C_SignRecoverInit,
	.C_SignRecover = C_SignRecover,
	.C_VerifyInit = C_VerifyInit,
	.C_Verify = C_Verify,
	.C_VerifyUpdate = C_VerifyUpdate,
	.C_VerifyFinal = C_VerifyFinal,
	.C_VerifyRecoverInit = C_VerifyRecoverInit,
	.C_VerifyRecover = C_VerifyRecover,
	.C_DigestEncryptUpdate = C_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = C_DecryptDigestUpdate,
	.C_SignEncryptUpdate = C_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = C_DecryptVerifyUpdate,
	.C_GenerateKey = C_GenerateKey,
	.C_GenerateKeyPair = C_GenerateKeyPair,
	.C_WrapKey = C_WrapKey,
	.C_UnwrapKey = C_UnwrapKey,
	.C_DeriveKey = C_DeriveKey,
	.C_SeedRandom = C_SeedRandom,
	.C_GenerateRandom = C_GenerateRandom,
	.C_GetFunctionStatus = C_GetFunctionStatus,
	.C_CancelFunction = C_CancelFunction,
	.C_WaitForSlotEvent = C_WaitForSlotEvent,
};

BC_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (!ppFunctionList)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &function_list;
	return CKR_OK;
}

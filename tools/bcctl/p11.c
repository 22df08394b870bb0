// SPDX-License-Identifier: GPL-2.0
/*
 * The PKCS#11 module as bcctl uses it: loaded with dlopen (the installed
 * module unless told otherwise), one slot picked by device or token
 * label, and CKR_* codes by name for messages.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bcctl.h"

#ifndef BCCTL_MODULE_DEFAULT
#define BCCTL_MODULE_DEFAULT "/usr/lib/x86_64-linux-gnu/pkcs11/libbc_pkcs11.so"
#endif

const char *bcctl_module_path(const char *opt)
{
	const char *env = getenv("BCCHIP_PKCS11_MODULE");

	if (opt)
		return opt;
	return env && *env ? env : BCCTL_MODULE_DEFAULT;
}

int bcctl_device_by_label(const char *label, char *out, size_t cap)
{
	char **devs;
	int n, ret = -ENOENT;

	n = bc_devices_discover(&devs);
	if (n < 0)
		return n;
	for (int i = 0; i < n && ret; i++) {
		struct bc_transport *t;
		struct bc_info bi;
		char l[BCFW_LABEL_LEN + 1];

		if (bc_transport_open(devs[i], &t))
			continue;
		if (!bc_transport_info(t, &bi)) {
			bc_field_to_str(l, bi.chip.label, BCFW_LABEL_LEN);
			if (!strcmp(l, label)) {
				snprintf(out, cap, "%s", devs[i]);
				ret = 0;
			}
		}
		bc_transport_close(t);
	}
	bc_devices_free(devs, n);
	return ret;
}

static void token_label(const CK_TOKEN_INFO *ti, char *out)
{
	size_t n = sizeof(ti->label);

	memcpy(out, ti->label, n);
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

static int init_module(struct bcctl_p11 *p)
{
	CK_C_INITIALIZE_ARGS a = { .flags = CKF_OS_LOCKING_OK };
	CK_RV rv = p->f->C_Initialize(&a);

	if (rv != CKR_OK) {
		bcctl_err("C_Initialize: %s", bcctl_ckr_name(rv));
		return EXIT_ERR;
	}
	p->initialized = true;
	return EXIT_OK;
}

int bcctl_p11_open(struct bcctl_p11 *p, const struct bcctl_p11_opts *o,
		   bool need_initialized)
{
	const char *path = bcctl_module_path(o->module);
	CK_C_GetFunctionList gfl;
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_RV rv;
	int ret;

	memset(p, 0, sizeof(*p));
	if (o->device) {
		ret = bcctl_pick_device(o->device, p->device,
					sizeof(p->device));
		if (ret)
			return ret;
	} else if (o->token) {
		/* Naming the token's device lets the rest of bcctl (the
		 * attestation chain) talk to the same chip. */
		if (bcctl_device_by_label(o->token, p->device,
					  sizeof(p->device)))
			p->device[0] = 0;
	}
	if (p->device[0] && setenv("BCCHIP_DEVICE", p->device, 1)) {
		bcctl_err("setenv: %s", strerror(errno));
		return EXIT_ERR;
	}
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		bcctl_err("loading %s: %s", path, dlerror());
		return EXIT_ERR;
	}
	gfl = (CK_C_GetFunctionList)dlsym(p->dl, "C_GetFunctionList");
	if (!gfl || gfl(&p->f) != CKR_OK || !p->f) {
		bcctl_err("%s: not a PKCS#11 module", path);
		dlclose(p->dl);
		p->dl = NULL;
		return EXIT_ERR;
	}
	ret = init_module(p);
	if (ret)
		goto fail;
	rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK) {
		bcctl_err("C_GetSlotList: %s", bcctl_ckr_name(rv));
		ret = EXIT_ERR;
		goto fail;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		char l[33];

		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		token_label(&ti, l);
		if (o->token && strcmp(l, o->token))
			continue;
		if (need_initialized && !(ti.flags & CKF_TOKEN_INITIALIZED)) {
			bcctl_err("token '%s' is not initialized "
				  "(bcctl token init)", l);
			ret = EXIT_ERR;
			goto fail;
		}
		p->slot = slots[i];
		snprintf(p->token, sizeof(p->token), "%s", l);
		if (!p->device[0]) {
			CK_SLOT_INFO si;
			char d[65];
			size_t k = sizeof(si.slotDescription);

			/* Our module describes a slot as "Bastionchip DEV". */
			if (p->f->C_GetSlotInfo(slots[i], &si) == CKR_OK) {
				memcpy(d, si.slotDescription, k);
				while (k && d[k - 1] == ' ')
					k--;
				d[k] = 0;
				if (!strncmp(d, "Bastionchip ", 12))
					snprintf(p->device, sizeof(p->device),
						 "%s", d + 12);
			}
		}
		return EXIT_OK;
	}
	if (o->token)
		bcctl_err("no token labelled '%s'", o->token);
	else
		bcctl_err("no token present");
	ret = EXIT_ERR;
fail:
	bcctl_p11_close(p);
	return ret;
}

int bcctl_p11_reinit(struct bcctl_p11 *p)
{
	p->initialized = false;
	return init_module(p);
}

void bcctl_p11_close(struct bcctl_p11 *p)
{
	if (p->f && p->initialized)
		p->f->C_Finalize(NULL);
	p->initialized = false;
	if (p->dl)
		dlclose(p->dl);
	p->dl = NULL;
	p->f = NULL;
}

#define R(x) { x, #x }
static const struct {
	CK_RV rv;
	const char *name;
} ckr_names[] = {
	R(CKR_OK), R(CKR_CANCEL), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID),
	R(CKR_GENERAL_ERROR), R(CKR_FUNCTION_FAILED), R(CKR_ARGUMENTS_BAD),
	R(CKR_NO_EVENT), R(CKR_NEED_TO_CREATE_THREADS), R(CKR_CANT_LOCK),
	R(CKR_ATTRIBUTE_READ_ONLY), R(CKR_ATTRIBUTE_SENSITIVE),
	R(CKR_ATTRIBUTE_TYPE_INVALID), R(CKR_ATTRIBUTE_VALUE_INVALID),
	R(CKR_ACTION_PROHIBITED), R(CKR_DATA_INVALID), R(CKR_DATA_LEN_RANGE),
	R(CKR_DEVICE_ERROR), R(CKR_DEVICE_MEMORY), R(CKR_DEVICE_REMOVED),
	R(CKR_ENCRYPTED_DATA_INVALID), R(CKR_ENCRYPTED_DATA_LEN_RANGE),
	R(CKR_FUNCTION_CANCELED), R(CKR_FUNCTION_NOT_PARALLEL),
	R(CKR_FUNCTION_NOT_SUPPORTED), R(CKR_KEY_HANDLE_INVALID),
	R(CKR_KEY_SIZE_RANGE), R(CKR_KEY_TYPE_INCONSISTENT),
	R(CKR_KEY_NOT_NEEDED), R(CKR_KEY_CHANGED), R(CKR_KEY_NEEDED),
	R(CKR_KEY_INDIGESTIBLE), R(CKR_KEY_FUNCTION_NOT_PERMITTED),
	R(CKR_KEY_NOT_WRAPPABLE), R(CKR_KEY_UNEXTRACTABLE),
	R(CKR_MECHANISM_INVALID), R(CKR_MECHANISM_PARAM_INVALID),
	R(CKR_OBJECT_HANDLE_INVALID), R(CKR_OPERATION_ACTIVE),
	R(CKR_OPERATION_NOT_INITIALIZED), R(CKR_PIN_INCORRECT),
	R(CKR_PIN_INVALID), R(CKR_PIN_LEN_RANGE), R(CKR_PIN_EXPIRED),
	R(CKR_PIN_LOCKED), R(CKR_SESSION_CLOSED), R(CKR_SESSION_COUNT),
	R(CKR_SESSION_HANDLE_INVALID), R(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
	R(CKR_SESSION_READ_ONLY), R(CKR_SESSION_EXISTS),
	R(CKR_SESSION_READ_ONLY_EXISTS), R(CKR_SESSION_READ_WRITE_SO_EXISTS),
	R(CKR_SIGNATURE_INVALID), R(CKR_SIGNATURE_LEN_RANGE),
	R(CKR_TEMPLATE_INCOMPLETE), R(CKR_TEMPLATE_INCONSISTENT),
	R(CKR_TOKEN_NOT_PRESENT), R(CKR_TOKEN_NOT_RECOGNIZED),
	R(CKR_TOKEN_WRITE_PROTECTED), R(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
	R(CKR_UNWRAPPING_KEY_SIZE_RANGE),
	R(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT), R(CKR_USER_ALREADY_LOGGED_IN),
	R(CKR_USER_NOT_LOGGED_IN), R(CKR_USER_PIN_NOT_INITIALIZED),
	R(CKR_USER_TYPE_INVALID), R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	R(CKR_USER_TOO_MANY_TYPES), R(CKR_WRAPPED_KEY_INVALID),
	R(CKR_WRAPPED_KEY_LEN_RANGE), R(CKR_WRAPPING_KEY_HANDLE_INVALID),
	R(CKR_WRAPPING_KEY_SIZE_RANGE), R(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
	R(CKR_RANDOM_SEED_NOT_SUPPORTED), R(CKR_RANDOM_NO_RNG),
	R(CKR_DOMAIN_PARAMS_INVALID), R(CKR_CURVE_NOT_SUPPORTED),
	R(CKR_BUFFER_TOO_SMALL), R(CKR_SAVED_STATE_INVALID),
	R(CKR_INFORMATION_SENSITIVE), R(CKR_STATE_UNSAVEABLE),
	R(CKR_CRYPTOKI_NOT_INITIALIZED), R(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	R(CKR_MUTEX_BAD), R(CKR_MUTEX_NOT_LOCKED),
	R(CKR_FUNCTION_REJECTED), R(CKR_VENDOR_DEFINED),
};
#undef R

/* Unknown codes get a per-thread buffer: callers run in many threads. */
const char *bcctl_ckr_name(CK_RV rv)
{
	static _Thread_local char buf[32];

	for (size_t i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
		if (ckr_names[i].rv == rv)
			return ckr_names[i].name;
	snprintf(buf, sizeof(buf), "CKR_0x%08lx", (unsigned long)rv);
	return buf;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The chip's identity and attestation (docs/attestation.md).
 *
 * The identity key (P-384) is made at the chip's first start and
 * certified by the manufacturer CA; it never leaves the state directory,
 * which stands for the chip's secure storage.  The attestation
 * certificate states the chip's current state and is reissued by the
 * identity key every period, on the chip clock, by a scheduler thread or
 * on request.  A refresh touches nothing but the attestation record:
 * token objects, sessions and keys go on as they were.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "keystore.h"

#define ID_KEY_FILE	"identity.key"
#define ID_CERT_FILE	"identity.crt"
#define ATT_FILE	"attestation"
#define ATT_VERSION	1
#define ATT_FLAG_NEAR	0x1	/* NEAR_EXPIRY sent for this cert */

/* STATE/attestation: this, then the certificate's DER. */
struct att_record {
	uint32_t version;
	uint32_t generation;
	uint32_t failures;
	uint32_t flags;
	uint64_t last_refresh;
	uint64_t next_refresh;
	/* The configuration the certificate states; a change reissues it. */
	uint32_t period;
	uint32_t max_sessions;
	uint32_t engines;
	uint32_t reserved;
};

static struct {
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t cond;		/* wakes the scheduler */
	bool have_identity;
	EVP_PKEY *id_key;
	X509 *id_cert;
	uint8_t *id_der;
	size_t id_der_len;
	uint8_t *att_der;		/* current attestation certificate */
	size_t att_der_len;
	uint64_t not_before, not_after;
	uint64_t last_refresh, next_refresh;
	uint32_t generation, failures;
	bool near_sent;
	bool fail_refresh;		/* TEST_CLOCK */
	bool stop, started;
	pthread_t thread;
	/* Fixed at init. */
	uint32_t period, max_sessions, engines;
	bool test_clock;
	char serial[BCFW_SERIAL_LEN + 1];
} att = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

const char *emu_attest_serial(void)
{
	return att.serial;
}

/* Time until a failed refresh is tried again, chip seconds. */
static uint64_t retry_delay(void)
{
	uint64_t d = att.period / 90;

	if (d > 86400)
		d = 86400;
	return d ? d : 1;
}

/* ---- identity ---- */

static int load_identity_key(void)
{
	const unsigned char *p;
	uint8_t *buf;
	size_t len;
	int ret;

	ret = ks_store_get("", ID_KEY_FILE, &buf, &len);
	if (ret)
		return ret;
	p = buf;
	att.id_key = d2i_AutoPrivateKey(NULL, &p, (long)len);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return att.id_key ? 0 : -EBADMSG;
}

static int make_identity_key(void)
{
	unsigned char *der = NULL;
	int n, ret;

	att.id_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!att.id_key)
		return -EIO;
	n = i2d_PrivateKey(att.id_key, &der);
	if (n <= 0)
		return -EIO;
	ret = ks_store_put("", ID_KEY_FILE, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return ret;
}

static int load_identity_cert(void)
{
	const unsigned char *p;
	uint8_t *buf;
	size_t len;
	int ret;

	ret = ks_store_get("", ID_CERT_FILE, &buf, &len);
	if (ret)
		return ret;
	p = buf;
	att.id_cert = d2i_X509(NULL, &p, (long)len);
	free(buf);
	if (!att.id_cert)
		return -EBADMSG;
	if (X509_check_private_key(att.id_cert, att.id_key) != 1) {
		X509_free(att.id_cert);
		att.id_cert = NULL;
		return -EBADMSG;
	}
	return 0;
}

/* The factory certifies the identity key: what manufacture does. */
static int certify_identity(const char *factory_dir)
{
	static const char *const exts[] = {
		"basicConstraints=critical,CA:TRUE,pathlen:0",
		"keyUsage=critical,keyCertSign,digitalSignature",
		"subjectKeyIdentifier=hash",
		"authorityKeyIdentifier=keyid:always",
		NULL
	};
	char dflt[4096], cn[64];
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	X509_NAME *name;
	uint8_t *der;
	size_t len;
	int ret;

	if (!factory_dir) {
		ret = emu_factory_default(dflt, sizeof(dflt));
		if (ret) {
			emu_log("no factory directory: set --factory or "
				"BCCHIP_FACTORY\n");
			return ret;
		}
		factory_dir = dflt;
	}
	ret = emu_factory_open(factory_dir, &ca_key, &ca_cert);
	if (ret)
		return ret;
	snprintf(cn, sizeof(cn), "Bastionchip %s", att.serial);
	name = emu_chip_name(att.serial, cn);
	att.id_cert = name ? emu_cert_issue(name, ca_cert, ca_key, att.id_key,
					    emu_clock_now(), 0, exts, NULL,
					    NULL) : NULL;
	X509_NAME_free(name);
	EVP_PKEY_free(ca_key);
	X509_free(ca_cert);
	if (!att.id_cert)
		return -EIO;
	der = emu_cert_der(att.id_cert, &len);
	if (!der)
		return -ENOMEM;
	ret = ks_store_put("", ID_CERT_FILE, der, len);
	free(der);
	if (!ret)
		emu_log("identity certified by the manufacturer CA in %s\n",
			factory_dir);
	return ret;
}

/*
 * Makes sure the chip has a certified identity.  A damaged key stops the
 * chip (its identity would silently change); a missing one is made now,
 * for new chips and for state directories older than attestation.
 */
static int identity_init(const struct emu_config *cfg)
{
	int ret = load_identity_key();

	if (ret == -EBADMSG || (ret && ret != -ENOENT)) {
		emu_log("%s: %s; refusing to start rather than change the "
			"chip's identity\n", ID_KEY_FILE, strerror(-ret));
		return ret;
	}
	if (ret == -ENOENT) {
		emu_log("making the chip's identity key\n");
		ret = make_identity_key();
		if (ret) {
			emu_log("cannot store the identity key: %s\n",
				strerror(-ret));
			return ret;
		}
	}
	ret = load_identity_cert();
	if (ret == -EBADMSG)
		emu_log("%s does not fit the identity key; certifying again\n",
			ID_CERT_FILE);
	if (ret) {
		ret = certify_identity(cfg->factory_dir);
		if (ret) {
			/* Still a working HSM; status says what is missing. */
			emu_log("the chip has no certified identity: %s\n",
				strerror(-ret));
			return 0;
		}
	}
	att.id_der = emu_cert_der(att.id_cert, &att.id_der_len);
	if (!att.id_der)
		return -ENOMEM;
	att.have_identity = true;
	return 0;
}

/* ---- attestation certificate ---- */

/* The chip state extension (arc .1); docs/attestation.md gives the ASN.1. */
static void chip_state(struct der *d, uint32_t gen, uint64_t now)
{
	der_seq_begin(d);
	der_uint(d, 1);
	der_prim(d, 0x13, att.serial, strlen(att.serial));
	der_prim(d, 0x0c, EMU_MODEL, strlen(EMU_MODEL));
	der_seq_begin(d);
	der_uint(d, EMU_FW_MAJOR);
	der_uint(d, EMU_FW_MINOR);
	der_seq_end(d);
	der_seq_begin(d);
	der_uint(d, EMU_HW_MAJOR);
	der_uint(d, EMU_HW_MINOR);
	der_seq_end(d);
	der_uint(d, gen);
	der_time(d, now);
	der_seq_begin(d);
	der_uint(d, att.max_sessions);
	der_uint(d, att.engines);
	der_uint(d, EMU_MAX_OBJECTS);
	der_uint(d, att.period);
	der_seq_end(d);
	der_seq_end(d);
}

static int save_record(const uint8_t *cert, size_t len, uint32_t gen,
		       uint32_t failures, bool near, uint64_t last,
		       uint64_t next)
{
	struct att_record r = {
		.version = htole32(ATT_VERSION),
		.generation = htole32(gen),
		.failures = htole32(failures),
		.flags = htole32(near ? ATT_FLAG_NEAR : 0),
		.last_refresh = htole64(last),
		.next_refresh = htole64(next),
		.period = htole32(att.period),
		.max_sessions = htole32(att.max_sessions),
		.engines = htole32(att.engines),
	};
	uint8_t *img = malloc(sizeof(r) + len);
	int ret;

	if (!img)
		return -ENOMEM;
	memcpy(img, &r, sizeof(r));
	memcpy(img + sizeof(r), cert, len);
	ret = ks_store_put("", ATT_FILE, img, sizeof(r) + len);
	free(img);
	return ret;
}

static int cert_times(const uint8_t *der, size_t len, uint64_t *nb,
		      uint64_t *na)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	struct tm tm;
	int ok = 0;

	if (!x)
		return -EBADMSG;
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm)) {
		*nb = (uint64_t)timegm(&tm);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) {
			*na = (uint64_t)timegm(&tm);
			ok = 1;
		}
	}
	/* A certificate of another identity (remade key) does not count. */
	if (ok && X509_check_private_key(x, att.id_key) != 1)
		ok = 0;
	X509_free(x);
	return ok ? 0 : -EBADMSG;
}

/* Loads the record; -ESTALE when it states another configuration. */
static int load_record(void)
{
	struct att_record r;
	uint8_t *buf, *der;
	size_t len, dlen;
	uint64_t nb, na;
	int ret;

	ret = ks_store_get("", ATT_FILE, &buf, &len);
	if (ret)
		return ret;
	if (len <= sizeof(r)) {
		free(buf);
		return -EBADMSG;
	}
	memcpy(&r, buf, sizeof(r));
	dlen = len - sizeof(r);
	if (le32toh(r.version) != ATT_VERSION ||
	    cert_times(buf + sizeof(r), dlen, &nb, &na)) {
		free(buf);
		return -EBADMSG;
	}
	der = malloc(dlen);
	if (!der) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(der, buf + sizeof(r), dlen);
	free(buf);
	att.att_der = der;
	att.att_der_len = dlen;
	att.not_before = nb;
	att.not_after = na;
	att.generation = le32toh(r.generation);
	att.failures = le32toh(r.failures);
	att.near_sent = le32toh(r.flags) & ATT_FLAG_NEAR;
	att.last_refresh = le64toh(r.last_refresh);
	att.next_refresh = le64toh(r.next_refresh);
	if (le32toh(r.period) != att.period ||
	    le32toh(r.max_sessions) != att.max_sessions ||
	    le32toh(r.engines) != att.engines)
		return -ESTALE;
	return 0;
}

/* Counts a failed refresh and tells the host.  Under att.lock. */
static void refresh_failed(uint64_t now, const char *why)
{
	att.failures++;
	att.next_refresh = now + retry_delay();
	emu_log("attestation refresh failed (%s), %u in a row; next try at "
		"%llu\n", why, att.failures,
		(unsigned long long)att.next_refresh);
	/* Best effort: the counter is advice, the certificate is unchanged. */
	if (att.att_der)
		save_record(att.att_der, att.att_der_len, att.generation,
			    att.failures, att.near_sent, att.last_refresh,
			    att.next_refresh);
	emu_event_raise(BCCHIP_EVENT_REFRESH_FAILED, att.failures,
			att.not_after);
}

/* Issues a new attestation certificate.  0 or -errno.  Under att.lock. */
static int refresh_locked(uint64_t now)
{
	static const char *const exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"authorityKeyIdentifier=keyid:always",
		NULL
	};
	struct der ext = { 0 };
	uint32_t gen = att.generation + 1;
	uint64_t na = now + att.period + EMU_ATTEST_GRACE;
	X509_NAME *name;
	X509 *x = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	char cn[64];
	int ret;

	if (!att.have_identity) {
		refresh_failed(now, "no identity");
		return -ENOKEY;
	}
	if (att.fail_refresh) {
		refresh_failed(now, "failure simulated by TEST_CLOCK");
		return -EIO;
	}
	snprintf(cn, sizeof(cn), "Bastionchip %s attestation", att.serial);
	name = emu_chip_name(att.serial, cn);
	chip_state(&ext, gen, now);
	if (name)
		x = emu_cert_issue(name, att.id_cert, att.id_key, att.id_key,
				   now, na, exts, EMU_OID_CHIP_STATE, &ext);
	if (x)
		der = emu_cert_der(x, &len);
	X509_free(x);
	X509_NAME_free(name);
	der_free(&ext);
	if (!der) {
		refresh_failed(now, "cannot issue the certificate");
		return -EIO;
	}
	ret = save_record(der, len, gen, 0, false, now, now + att.period);
	if (ret) {
		free(der);
		refresh_failed(now, strerror(-ret));
		return ret;
	}
	free(att.att_der);
	att.att_der = der;
	att.att_der_len = len;
	att.generation = gen;
	att.failures = 0;
	att.near_sent = false;
	att.not_before = now;
	att.not_after = na;
	att.last_refresh = now;
	att.next_refresh = now + att.period;
	emu_log("attestation refreshed: generation %u, valid until %llu\n",
		gen, (unsigned long long)na);
	emu_event_raise(BCCHIP_EVENT_REFRESH_DONE, gen, na);
	return 0;
}

/* Does whatever the chip clock says is due.  Under att.lock. */
static void tick_locked(void)
{
	uint64_t now = emu_clock_now();

	if (!att.have_identity)
		return;
	if (now >= att.next_refresh)
		refresh_locked(now);
	if (!att.near_sent && att.att_der &&
	    now + EMU_NEAR_EXPIRY >= att.not_after) {
		att.near_sent = true;
		save_record(att.att_der, att.att_der_len, att.generation,
			    att.failures, true, att.last_refresh,
			    att.next_refresh);
		emu_event_raise(BCCHIP_EVENT_NEAR_EXPIRY, att.not_after,
				att.not_after > now ? att.not_after - now : 0);
	}
}

/* The next chip time at which tick_locked() has work.  Under att.lock. */
static uint64_t next_due_locked(void)
{
	uint64_t t = att.next_refresh;

	if (!att.have_identity)
		return UINT64_MAX;	/* nothing will ever be due */
	if (!att.near_sent && att.att_der &&
	    att.not_after > EMU_NEAR_EXPIRY &&
	    att.not_after - EMU_NEAR_EXPIRY < t)
		t = att.not_after - EMU_NEAR_EXPIRY;
	return t;
}

/*
 * Real time between two scheduler passes, at least: a period or a retry
 * delay shorter than this in real time (a fast clock) would otherwise
 * keep the scheduler signing and syncing in a loop.
 */
#define SCHED_MIN_GAP_NS 10000000LL

static void *scheduler_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&att.lock);
	while (!att.stop) {
		struct timespec ts, now;
		int64_t due, floor_ns;

		tick_locked();
		emu_clock_deadline(next_due_locked(), &ts);
		clock_gettime(CLOCK_MONOTONIC, &now);
		due = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		floor_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec +
			   SCHED_MIN_GAP_NS;
		if (due < floor_ns) {
			ts.tv_sec = floor_ns / 1000000000LL;
			ts.tv_nsec = floor_ns % 1000000000LL;
		}
		pthread_cond_timedwait(&att.cond, &att.lock, &ts);
	}
	pthread_mutex_unlock(&att.lock);
	return NULL;
}

int emu_attest_init(const struct emu_config *cfg,
		    const struct emu_identity *id)
{
	pthread_condattr_t ca;
	int ret;

	memcpy(att.serial, id->serial, sizeof(att.serial));
	att.period = cfg->attest_period;
	att.max_sessions = cfg->max_sessions;
	att.engines = cfg->engines;
	att.test_clock = cfg->test_clock;
	ret = pthread_condattr_init(&ca);
	if (!ret)
		ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&att.cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return -ret;

	ret = identity_init(cfg);
	if (ret || !att.have_identity)
		return ret;
	ret = load_record();
	if (ret == -EBADMSG) {
		emu_log("%s is damaged; issuing a new certificate\n", ATT_FILE);
		ks_store_quarantine("", ATT_FILE);
	} else if (ret == -ESTALE) {
		emu_log("configuration changed; issuing a new attestation "
			"certificate\n");
	} else if (ret && ret != -ENOENT) {
		return ret;
	}
	pthread_mutex_lock(&att.lock);
	if (ret)
		refresh_locked(emu_clock_now());
	pthread_mutex_unlock(&att.lock);
	return 0;
}

int emu_attest_start(void)
{
	int ret = pthread_create(&att.thread, NULL, scheduler_main, NULL);

	if (ret) {
		emu_log("cannot start the attestation scheduler: %s\n",
			strerror(ret));
		return -ret;
	}
	att.started = true;
	return 0;
}

void emu_attest_stop(void)
{
	if (!att.started)
		return;
	pthread_mutex_lock(&att.lock);
	att.stop = true;
	pthread_cond_broadcast(&att.cond);
	pthread_mutex_unlock(&att.lock);
	pthread_join(att.thread, NULL);
	att.started = false;
}

void emu_attest_fini(void)
{
	emu_attest_stop();
	EVP_PKEY_free(att.id_key);
	X509_free(att.id_cert);
	free(att.id_der);
	free(att.att_der);
	att.id_key = NULL;
	att.id_cert = NULL;
	att.id_der = att.att_der = NULL;
	pthread_cond_destroy(&att.cond);
}

/* ---- opcodes ---- */

static void status_locked(struct bcfw_attest_status *s)
{
	uint64_t now = emu_clock_now();
	uint32_t health = 0;

	if (!att.have_identity)
		health |= BCFW_HEALTH_NO_IDENTITY;
	if (att.failures)
		health |= BCFW_HEALTH_REFRESH_FAILED;
	if (att.att_der && now >= att.not_after)
		health |= BCFW_HEALTH_EXPIRED;
	else if (att.att_der && now + EMU_NEAR_EXPIRY >= att.not_after)
		health |= BCFW_HEALTH_NEAR_EXPIRY;
	memset(s, 0, sizeof(*s));
	s->now = htole64(now);
	s->not_before = htole64(att.not_before);
	s->not_after = htole64(att.not_after);
	s->last_refresh = htole64(att.last_refresh);
	s->next_refresh = htole64(att.next_refresh);
	s->period = htole32(att.period);
	s->generation = htole32(att.generation);
	s->health = htole32(health);
	s->failures = htole32(att.failures);
}

static uint32_t answer_status_locked(uint8_t **body, uint32_t *len)
{
	struct bcfw_attest_status s;

	status_locked(&s);
	*body = malloc(sizeof(s));
	if (!*body)
		return BCFW_S_INTERNAL;
	memcpy(*body, &s, sizeof(s));
	*len = sizeof(s);
	return BCFW_S_OK;
}

uint32_t emu_attest_op_status(uint8_t **body, uint32_t *len)
{
	uint32_t st;

	pthread_mutex_lock(&att.lock);
	st = answer_status_locked(body, len);
	pthread_mutex_unlock(&att.lock);
	return st;
}

uint32_t emu_attest_op_chain(uint8_t **body, uint32_t *len)
{
	struct der d = { 0 };
	struct bcfw_cert_list h = { .count = htole32(2) };

	pthread_mutex_lock(&att.lock);
	if (!att.have_identity || !att.att_der) {
		pthread_mutex_unlock(&att.lock);
		return KS_CKR(CKR_DEVICE_ERROR);
	}
	der_raw(&d, &h, sizeof(h));
	emu_cert_list_put(&d, att.id_der, att.id_der_len);
	emu_cert_list_put(&d, att.att_der, att.att_der_len);
	pthread_mutex_unlock(&att.lock);
	if (d.bad || d.n > EMU_MAX_FRAME - BCFW_HDR_SIZE) {
		der_free(&d);
		return d.bad ? BCFW_S_INTERNAL : BCFW_S_TOO_BIG;
	}
	*body = d.p;
	*len = (uint32_t)d.n;
	return BCFW_S_OK;
}

uint32_t emu_attest_op_refresh(void)
{
	int ret;

	pthread_mutex_lock(&att.lock);
	ret = refresh_locked(emu_clock_now());
	/* The schedule moved: the scheduler recomputes its wake-up. */
	pthread_cond_broadcast(&att.cond);
	pthread_mutex_unlock(&att.lock);
	return ret ? KS_CKR(CKR_DEVICE_ERROR) : BCFW_S_OK;
}

uint32_t emu_attest_op_test_clock(const uint8_t *req, uint32_t n,
				  uint8_t **body, uint32_t *len)
{
	struct bcfw_test_clock_req r;
	uint32_t flags, scale, fail, st;

	if (!att.test_clock)
		return BCFW_S_DENIED;
	if (n != sizeof(r))
		return BCFW_S_BAD_ARGS;
	memcpy(&r, req, sizeof(r));
	flags = le32toh(r.flags);
	scale = le32toh(r.scale);
	fail = le32toh(r.fail_refresh);
	if (r.reserved || (flags & ~(uint32_t)(BCFW_CLOCK_SET_TIME |
					       BCFW_CLOCK_SET_SCALE |
					       BCFW_CLOCK_SET_FAIL)) ||
	    ((flags & BCFW_CLOCK_SET_SCALE) &&
	     (scale < 1 || scale > EMU_CLOCK_SCALE_MAX)) ||
	    ((flags & BCFW_CLOCK_SET_FAIL) && fail > 1) ||
	    ((flags & BCFW_CLOCK_SET_TIME) && le64toh(r.time) > INT64_MAX))
		return BCFW_S_BAD_ARGS;

	pthread_mutex_lock(&att.lock);
	if (flags & BCFW_CLOCK_SET_FAIL)
		att.fail_refresh = fail;
	if (flags & BCFW_CLOCK_SET_SCALE)
		emu_clock_set_scale(scale);
	if (flags & BCFW_CLOCK_SET_TIME)
		emu_clock_set_time(le64toh(r.time));
	emu_log("test clock: now %llu, %u chip s per s, refreshes %s\n",
		(unsigned long long)emu_clock_now(), emu_clock_scale(),
		att.fail_refresh ? "fail" : "work");
	/* What became due happens before the answer, so tests see it. */
	tick_locked();
	pthread_cond_broadcast(&att.cond);
	st = answer_status_locked(body, len);
	pthread_mutex_unlock(&att.lock);
	return st;
}

uint32_t emu_attest_issue_key(EVP_PKEY *pub, uint32_t handle,
			      const struct der *ext, uint8_t **out,
			      size_t *out_len)
{
	static const char *const exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"authorityKeyIdentifier=keyid:always",
		NULL
	};
	X509_NAME *name;
	X509 *x = NULL;
	char cn[64];

	snprintf(cn, sizeof(cn), "Bastionchip %s key %u", att.serial,
		 (unsigned int)handle);
	name = emu_chip_name(att.serial, cn);
	if (!name)
		return BCFW_S_INTERNAL;
	pthread_mutex_lock(&att.lock);
	if (!att.have_identity) {
		pthread_mutex_unlock(&att.lock);
		X509_NAME_free(name);
		return KS_CKR(CKR_DEVICE_ERROR);
	}
	x = emu_cert_issue(name, att.id_cert, att.id_key, pub, emu_clock_now(),
			   0, exts, EMU_OID_KEY_ATTEST, ext);
	pthread_mutex_unlock(&att.lock);
	X509_NAME_free(name);
	if (!x)
		return BCFW_S_INTERNAL;
	*out = emu_cert_der(x, out_len);
	X509_free(x);
	return *out ? BCFW_S_OK : BCFW_S_INTERNAL;
}

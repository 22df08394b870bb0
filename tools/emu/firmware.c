// SPDX-License-Identifier: GPL-2.0
/* The chip's firmware: parses one request frame and builds its response. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "attest.h"
#include "emu.h"
#include "keystore.h"

static pthread_mutex_t info_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bcfw_info info_template;	/* label under info_lock */
static struct emu_identity identity;	/* label under info_lock */
static const char *state_path;		/* set once before threads start */

static void pad(uint8_t *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	memset(dst, ' ', n);
	memcpy(dst, src, len < n ? len : n);
}

void emu_firmware_init(const struct emu_identity *id, const char *state_dir)
{
	struct bcfw_info *in = &info_template;

	identity = *id;
	state_path = state_dir;
	memset(in, 0, sizeof(*in));
	pad(in->serial, sizeof(in->serial), id->serial);
	pad(in->label, sizeof(in->label), id->label);
	pad(in->model, sizeof(in->model), "BC-1 emulated");
	pad(in->manufacturer, sizeof(in->manufacturer), "Bastionchip");
	in->fw_major = 1;
	in->fw_minor = 0;
	in->hw_major = 1;
	in->hw_minor = 0;
	in->max_sessions = htole32(emu_sessions_max());
	in->max_objects = htole32(EMU_MAX_OBJECTS);
	in->objects_in_use = htole32(0);
	in->max_frame = htole32(EMU_MAX_FRAME);
	in->max_random = htole32(EMU_MAX_RANDOM);
}

/* The response under construction. */
struct resp {
	uint8_t *buf;
	uint32_t len;
	uint32_t status;
};

static int resp_body(struct resp *r, uint32_t body)
{
	r->buf = calloc(1, BCFW_HDR_SIZE + (size_t)body);
	if (!r->buf) {
		r->status = BCFW_S_INTERNAL;
		return -ENOMEM;
	}
	r->len = BCFW_HDR_SIZE + body;
	return 0;
}

void emu_firmware_label(uint8_t *out)
{
	pthread_mutex_lock(&info_lock);
	memcpy(out, info_template.label, BCFW_LABEL_LEN);
	pthread_mutex_unlock(&info_lock);
}

int emu_firmware_set_label(const uint8_t *label)
{
	struct emu_identity id;
	size_t n = BCFW_LABEL_LEN;
	int ret;

	/* Stored without the padding, as --label gives it. */
	while (n && label[n - 1] == ' ')
		n--;
	pthread_mutex_lock(&info_lock);
	id = identity;
	memcpy(id.label, label, n);
	id.label[n] = '\0';
	ret = emu_state_save(state_path, &id);
	if (!ret) {
		identity = id;
		memcpy(info_template.label, label, BCFW_LABEL_LEN);
	}
	pthread_mutex_unlock(&info_lock);
	return ret;
}

static void op_get_info(struct resp *r)
{
	struct bcfw_info in;

	pthread_mutex_lock(&info_lock);
	in = info_template;
	pthread_mutex_unlock(&info_lock);
	in.sessions_in_use = htole32(emu_sessions_in_use());
	in.objects_in_use = htole32(ks_objects_count());
	if (resp_body(r, sizeof(in)) == 0)
		memcpy(r->buf + BCFW_HDR_SIZE, &in, sizeof(in));
}

static void op_echo(struct resp *r, const uint8_t *body, uint32_t n)
{
	if (resp_body(r, n) == 0 && n)
		memcpy(r->buf + BCFW_HDR_SIZE, body, n);
}

static void op_random(struct resp *r, const uint8_t *body, uint32_t n)
{
	struct bcfw_random_req req;
	uint32_t len;

	if (n != sizeof(req)) {
		r->status = BCFW_S_BAD_ARGS;
		return;
	}
	memcpy(&req, body, sizeof(req));
	len = le32toh(req.length);
	if (req.reserved || len < 1 || len > EMU_MAX_RANDOM) {
		r->status = BCFW_S_BAD_ARGS;
		return;
	}
	if (resp_body(r, len))
		return;
	if (RAND_bytes(r->buf + BCFW_HDR_SIZE, (int)len) != 1) {
		free(r->buf);
		r->buf = NULL;
		r->status = BCFW_S_INTERNAL;
	}
}

/*
 * Holds this engine only: other engines keep running.  Ends early, still
 * with OK, when the connection closes or is reset, so that dead clients do
 * not pin engines.
 */
static void op_sleep(struct resp *r, struct emu_job *job,
		     const uint8_t *body, uint32_t n)
{
	struct emu_conn *c = job->conn;
	struct bcfw_sleep_req req;
	struct timespec until;
	uint32_t ms;

	if (n != sizeof(req)) {
		r->status = BCFW_S_BAD_ARGS;
		return;
	}
	memcpy(&req, body, sizeof(req));
	ms = le32toh(req.msecs);
	if (req.reserved || ms > BCFW_SLEEP_MAX_MS) {
		r->status = BCFW_S_BAD_ARGS;
		return;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &until)) {
		r->status = BCFW_S_INTERNAL;
		return;
	}
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->closing && c->reset_gen == job->reset_gen) {
		if (pthread_cond_timedwait(&c->cond, &c->lock, &until) ==
		    ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&c->lock);
}

static void op_session_open(struct resp *r, struct emu_job *job,
			    const uint8_t *body, uint32_t n)
{
	struct bcfw_session_open_req req;
	struct bcfw_session_open_resp out = { 0 };
	uint32_t h;

	if (n != sizeof(req)) {
		r->status = BCFW_S_BAD_ARGS;
		return;
	}
	memcpy(&req, body, sizeof(req));
	if (req.reserved || (le32toh(req.flags) & ~(uint32_t)BCFW_SESSION_RW)) {
		r->status = BCFW_S_BAD_ARGS;
		return;
	}
	r->status = emu_session_open(job->conn->id, job->client,
				     le32toh(req.flags), &h);
	if (r->status)
		return;
	if (resp_body(r, sizeof(out))) {
		emu_session_close(job->conn->id, job->client, h);
		return;
	}
	out.session = htole32(h);
	memcpy(r->buf + BCFW_HDR_SIZE, &out, sizeof(out));
}

/* ks_dispatch answers a body; the frame needs the header in front. */
static void add_header_room(struct resp *r)
{
	uint8_t *f = malloc(BCFW_HDR_SIZE + (size_t)r->len);

	if (!f) {
		OPENSSL_cleanse(r->buf, r->len);
		free(r->buf);
		r->buf = NULL;
		r->status = BCFW_S_INTERNAL;
		return;
	}
	memcpy(f + BCFW_HDR_SIZE, r->buf, r->len);
	OPENSSL_cleanse(r->buf, r->len);
	free(r->buf);
	r->buf = f;
	r->len += BCFW_HDR_SIZE;
}

static void dispatch(struct resp *r, struct emu_job *job, uint16_t op,
		     uint32_t session)
{
	const uint8_t *body = job->data + BCFW_HDR_SIZE;
	uint32_t n = job->len - BCFW_HDR_SIZE;

	switch (op) {
	case BCFW_OP_GET_INFO:
		if (n)
			r->status = BCFW_S_BAD_ARGS;
		else
			op_get_info(r);
		break;
	case BCFW_OP_ECHO:
		op_echo(r, body, n);
		break;
	case BCFW_OP_RANDOM:
		op_random(r, body, n);
		break;
	case BCFW_OP_SLEEP:
		op_sleep(r, job, body, n);
		break;
	case BCFW_OP_SESSION_OPEN:
		op_session_open(r, job, body, n);
		break;
	case BCFW_OP_SESSION_CLOSE:
		if (n)
			r->status = BCFW_S_BAD_ARGS;
		else
			r->status = emu_session_close(job->conn->id,
						      job->client, session);
		break;
	case BCFW_OP_CLIENT_CLOSE:
		if (n) {
			r->status = BCFW_S_BAD_ARGS;
		} else {
			emu_sessions_drop_client(job->conn->id, job->client);
			r->status = BCFW_S_OK;
		}
		break;
	case BCFW_OP_ATTEST_STATUS:
		r->status = n ? BCFW_S_BAD_ARGS :
			emu_attest_op_status(&r->buf, &r->len);
		if (r->buf)
			add_header_room(r);
		break;
	case BCFW_OP_ATTEST_CHAIN:
		r->status = n ? BCFW_S_BAD_ARGS :
			emu_attest_op_chain(&r->buf, &r->len);
		if (r->buf)
			add_header_room(r);
		break;
	case BCFW_OP_ATTEST_REFRESH:
		/* Admin class: the driver checked who asked. */
		r->status = n ? BCFW_S_BAD_ARGS : emu_attest_op_refresh();
		break;
	case BCFW_OP_TEST_CLOCK:
		r->status = emu_attest_op_test_clock(body, n, &r->buf, &r->len);
		if (r->buf)
			add_header_room(r);
		break;
	default:
		/* The key store's opcodes (KEY_ATTEST among them). */
		if (!ks_dispatch(job->conn->id, job->client, op, session, body,
				 n, &r->status, &r->buf, &r->len))
			r->status = BCFW_S_BAD_OPCODE;
		else if (r->buf)
			add_header_room(r);
		break;
	}
}

static uint32_t check_header(const struct bcfw_hdr *h, uint32_t len)
{
	if (le32toh(h->magic) != BCFW_MAGIC)
		return BCFW_S_BAD_FRAME;
	if (h->version != BCFW_PROTO_VERSION)
		return BCFW_S_BAD_VERSION;
	if (h->flags || h->status || h->reserved)
		return BCFW_S_BAD_FRAME;
	if (le32toh(h->length) != len || len < BCFW_HDR_SIZE ||
	    len > EMU_MAX_FRAME)
		return BCFW_S_BAD_FRAME;
	return BCFW_S_OK;
}

uint8_t *emu_firmware_run(struct emu_job *job, uint32_t *rlen)
{
	struct resp r = { 0 };
	struct bcfw_hdr h, out;

	/* The server only hands over frames with at least a header. */
	memcpy(&h, job->data, sizeof(h));
	r.status = check_header(&h, job->len);
	if (r.status == BCFW_S_OK && job->have == job->len)
		dispatch(&r, job, le16toh(h.opcode), le32toh(h.session));
	else if (r.status == BCFW_S_OK)
		r.status = BCFW_S_BAD_FRAME;

	/* Errors carry no body; neither do some successes. */
	if (r.status != BCFW_S_OK || !r.buf) {
		free(r.buf);
		r.buf = calloc(1, BCFW_HDR_SIZE);
		if (!r.buf)
			return NULL;
		r.len = BCFW_HDR_SIZE;
	}
	memset(&out, 0, sizeof(out));
	out.magic = htole32(BCFW_MAGIC);
	out.version = BCFW_PROTO_VERSION;
	out.opcode = h.opcode;
	out.length = htole32(r.len);
	out.session = h.session;
	out.status = htole32(r.status);
	memcpy(r.buf, &out, sizeof(out));
	*rlen = r.len;
	return r.buf;
}

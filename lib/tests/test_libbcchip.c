// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of libbcchip.a without an emulator: frame building and
 * validation, device names and discovery, and the unix transport against
 * a scripted server in this process (answers out of order, silence,
 * hang-up, garbage).
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "emu_envelope.h"
#include "frame.h"
#include "transport.h"

static int passed, failed;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		passed++;						\
	} else {							\
		failed++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

static void put_hdr(uint8_t *buf, uint16_t op, uint32_t len, uint32_t sess,
		    uint32_t status)
{
	struct bcfw_hdr h = {
		.magic = htole32(BCFW_MAGIC),
		.version = BCFW_PROTO_VERSION,
		.opcode = htole16(op),
		.length = htole32(len),
		.session = htole32(sess),
		.status = htole32(status),
	};

	memcpy(buf, &h, sizeof(h));
}

static void test_frames(void)
{
	uint8_t buf[256], small[30];
	struct bc_frame_view v;
	struct bcfw_hdr h;
	size_t n;
	uint16_t op;
	uint32_t sess;

	n = bc_frame_build(buf, sizeof(buf), BCFW_OP_ECHO, 7, "abcd", 4);
	CHECK(n == BCFW_HDR_SIZE + 4, "build length %zu", n);
	memcpy(&h, buf, sizeof(h));
	CHECK(buf[0] == 0x42 && buf[1] == 0x43 && buf[2] == 0x46 &&
	      buf[3] == 0x57, "magic bytes are BCFW in order");
	CHECK(le16toh(h.opcode) == BCFW_OP_ECHO && h.version == 1 &&
	      le32toh(h.length) == 28 && le32toh(h.session) == 7 &&
	      h.status == 0 && h.reserved == 0 && h.flags == 0,
	      "header fields");
	CHECK(!memcmp(buf + 24, "abcd", 4), "body copied");
	CHECK(bc_frame_build(small, sizeof(small), BCFW_OP_ECHO, 0, "abcdefg",
			     7) == 0, "too small buffer refused");
	CHECK(bc_frame_req_peek(buf, n, &op, &sess) == 0 &&
	      op == BCFW_OP_ECHO && sess == 7, "peek");
	CHECK(bc_frame_req_peek(buf, n - 1, &op, &sess) == -EINVAL,
	      "peek length mismatch");

	/* Valid response. */
	put_hdr(buf, BCFW_OP_ECHO, 28, 7, 0);
	memcpy(buf + 24, "wxyz", 4);
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_ECHO, 7, &v) == 0 &&
	      v.body_len == 4 && !memcmp(v.body, "wxyz", 4) && v.status == 0,
	      "valid response parsed");
	CHECK(bc_frame_parse(buf, 27, BCFW_OP_ECHO, 7, &v) == -EBADMSG,
	      "length vs bytes received");
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_RANDOM, 7, &v) == -EBADMSG,
	      "opcode must be echoed");
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_ECHO, 8, &v) == -EBADMSG,
	      "session must be echoed");
	CHECK(bc_frame_parse(buf, 10, BCFW_OP_ECHO, 7, &v) == -EBADMSG,
	      "short frame");
	buf[0] ^= 1;
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_ECHO, 7, &v) == -EBADMSG,
	      "bad magic");
	buf[0] ^= 1;
	buf[4] = 2;
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_ECHO, 7, &v) == -EBADMSG,
	      "bad version");
	buf[4] = 1;
	buf[5] = 1;
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_ECHO, 7, &v) == -EBADMSG,
	      "flags must be 0");
	buf[5] = 0;
	buf[20] = 1;
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_ECHO, 7, &v) == -EBADMSG,
	      "reserved must be 0");
	buf[20] = 0;
	/* Errors carry no body; an error may not know the session. */
	put_hdr(buf, BCFW_OP_ECHO, 28, 7, BCFW_S_BAD_ARGS);
	CHECK(bc_frame_parse(buf, 28, BCFW_OP_ECHO, 7, &v) == -EBADMSG,
	      "error with body refused");
	put_hdr(buf, BCFW_OP_ECHO, 24, 0, BCFW_S_BAD_FRAME);
	CHECK(bc_frame_parse(buf, 24, BCFW_OP_ECHO, 7, &v) == 0 &&
	      v.status == BCFW_S_BAD_FRAME, "error status parsed");
}

static void test_info(void)
{
	struct bcfw_info w;
	struct bc_chip_info ci;
	char s[BCFW_LABEL_LEN + 1];

	memset(&w, ' ', sizeof(w));
	memcpy(w.label, "token one", 9);
	w.fw_major = 1;
	w.fw_minor = 2;
	w.max_sessions = htole32(64);
	w.sessions_in_use = htole32(3);
	w.max_frame = htole32(65536);
	w.max_random = htole32(4096);
	w.max_objects = 0;
	w.objects_in_use = 0;
	memset(w.reserved, 0, sizeof(w.reserved));
	CHECK(bc_chip_info_parse(&w, sizeof(w), &ci) == 0 &&
	      ci.max_sessions == 64 && ci.sessions_in_use == 3 &&
	      ci.max_random == 4096 && ci.fw_minor == 2, "info decoded");
	CHECK(bc_chip_info_parse(&w, sizeof(w) - 1, &ci) == -EBADMSG,
	      "info size exact");
	w.max_random = 0;
	CHECK(bc_chip_info_parse(&w, sizeof(w), &ci) == -EBADMSG,
	      "max_random 0 refused");
	bc_field_to_str(s, w.label, BCFW_LABEL_LEN);
	CHECK(!strcmp(s, "token one"), "trailing spaces trimmed: '%s'", s);
	CHECK(!strcmp(bc_fw_status_name(BCFW_S_SESSION_COUNT),
		      "SESSION_COUNT") &&
	      !strcmp(bc_fw_status_name(99), "UNKNOWN"), "status names");
}

static void test_names(void)
{
	char out[64], **list;
	int n;

	CHECK(!bc_device_normalize("3", out, sizeof(out)) &&
	      !strcmp(out, "/dev/bcchip3"), "N");
	CHECK(!bc_device_normalize("bcchip12", out, sizeof(out)) &&
	      !strcmp(out, "/dev/bcchip12"), "bcchipN");
	CHECK(!bc_device_normalize("/dev/bcchip0", out, sizeof(out)) &&
	      !strcmp(out, "/dev/bcchip0"), "path");
	CHECK(!bc_device_normalize("unix:/tmp/x", out, sizeof(out)) &&
	      !strcmp(out, "unix:/tmp/x"), "unix:");
	CHECK(bc_device_normalize("bcchipx", out, sizeof(out)) == -EINVAL &&
	      bc_device_normalize("-1", out, sizeof(out)) == -EINVAL &&
	      bc_device_normalize("", out, sizeof(out)) == -EINVAL,
	      "bad names");

	setenv("BCCHIP_DEVICE", " unix:/a , /dev/bcchip1,,unix:/b", 1);
	n = bc_devices_discover(&list);
	CHECK(n == 3 && !strcmp(list[0], "unix:/a") &&
	      !strcmp(list[1], "/dev/bcchip1") && !strcmp(list[2], "unix:/b"),
	      "BCCHIP_DEVICE list (%d)", n);
	bc_devices_free(list, n > 0 ? n : 0);
	unsetenv("BCCHIP_DEVICE");

	{
		struct bc_transport *t;

		CHECK(bc_transport_open("unix:/nonexistent/sock", &t) ==
		      -ENOENT && !t, "missing socket -ENOENT");
		CHECK(bc_transport_open("/dev/null", &t) == -ENODEV,
		      "not a bcchip node -ENODEV");
		CHECK(bc_transport_open("/nonexistent/bcchip0", &t) == -ENOENT,
		      "missing node -ENOENT");
	}
}

/* ---- scripted server ---------------------------------------------- */

enum script { ANSWER_REVERSED, SILENT, HANG_UP, GARBAGE };

struct server {
	int lfd;
	enum script script;
	int batch;		/* requests to collect before answering */
};

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = read(fd, b, len);

		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct { struct bcem_envelope env; uint8_t frame[256]; } msgs[16];
	int fd = accept(s->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	for (int i = 0; i < s->batch; i++) {
		struct bcem_envelope *e = &msgs[i].env;
		uint32_t len;

		if (read_all(fd, e, sizeof(*e)))
			goto out;
		len = le32toh(e->length);
		if (len > sizeof(msgs[i].frame) ||
		    read_all(fd, msgs[i].frame, len))
			goto out;
	}
	switch (s->script) {
	case SILENT:
		/* Until the client gives up and closes. */
		{
			char c;

			while (read(fd, &c, 1) > 0)
				;
		}
		break;
	case HANG_UP:
		break;
	case GARBAGE:
		if (write(fd, "not an envelope at all!!", 24) != 24)
			break;
		{
			char c;

			while (read(fd, &c, 1) > 0)
				;
		}
		break;
	case ANSWER_REVERSED:
		for (int i = s->batch - 1; i >= 0; i--) {
			struct bcem_envelope e = msgs[i].env;
			uint8_t *f = msgs[i].frame;
			uint32_t len = le32toh(e.length);
			struct bcfw_hdr h;

			memcpy(&h, f, sizeof(h));
			put_hdr(f, le16toh(h.opcode), len, le32toh(h.session),
				0);
			e.type = htole16(BCEM_RESPONSE);
			if (write(fd, &e, sizeof(e)) != sizeof(e) ||
			    write(fd, f, len) != (ssize_t)len)
				break;
		}
		break;
	}
out:
	close(fd);
	return NULL;
}

static int start_server(struct server *s, const char *path, pthread_t *th)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->lfd, 4))
		return -1;
	return pthread_create(th, NULL, server_main, s) ? -1 : 0;
}

static void stop_server(struct server *s, pthread_t th, const char *path)
{
	pthread_join(th, NULL);
	close(s->lfd);
	unlink(path);
}

struct caller {
	struct bc_transport *t;
	int id;
	int ret;
	int ok;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	uint8_t req[64], resp[64];
	char body[16];
	size_t rl = 0, n;
	uint32_t st = 99;

	snprintf(body, sizeof(body), "caller-%02d", c->id);
	n = bc_frame_build(req, sizeof(req), BCFW_OP_ECHO, (uint32_t)c->id,
			   body, strlen(body));
	c->ret = bc_transport_cmd(c->t, req, n, resp, sizeof(resp), &rl, &st, NULL);
	c->ok = !c->ret && st == 0 && rl == n && !memcmp(resp + 24, body,
							  strlen(body));
	return NULL;
}

static void test_unix_transport(void)
{
	char path[128];
	struct server s = { 0 };
	struct bc_transport *t;
	struct caller c[4];
	pthread_t th, ct[4];
	uint8_t req[64], resp[64];
	size_t n, rl;
	uint32_t st;
	int ok = 1;

	snprintf(path, sizeof(path), "/tmp/bc-test-%d.sock", (int)getpid());
	setenv("BCCHIP_TIMEOUT_MS", "400", 1);

	/* Four callers, answered in reverse order: each gets its own. */
	s.script = ANSWER_REVERSED;
	s.batch = 4;
	if (start_server(&s, path, &th)) {
		CHECK(0, "server start: %s", strerror(errno));
		return;
	}
	{
		char dev[160];

		snprintf(dev, sizeof(dev), "unix:%s", path);
		CHECK(bc_transport_open(dev, &t) == 0, "open unix transport");
	}
	for (int i = 0; i < 4; i++) {
		c[i] = (struct caller){ .t = t, .id = i + 1 };
		pthread_create(&ct[i], NULL, caller_main, &c[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(ct[i], NULL);
		ok &= c[i].ok;
	}
	CHECK(ok, "concurrent callers each get their own answer (%d %d %d %d)",
	      c[0].ret, c[1].ret, c[2].ret, c[3].ret);
	/* The server hung up after its batch. */
	n = bc_frame_build(req, sizeof(req), BCFW_OP_ECHO, 0, NULL, 0);
	CHECK(bc_transport_cmd(t, req, n, resp, sizeof(resp), &rl, &st, NULL) ==
	      -ENODEV, "peer gone -> -ENODEV");
	CHECK(bc_transport_cmd(t, req, n, resp, sizeof(resp), &rl, &st, NULL) ==
	      -ENODEV, "and stays gone");
	bc_transport_close(t);
	stop_server(&s, th, path);

	/* Silence: a timeout, not a hang. */
	s.script = SILENT;
	s.batch = 1;
	start_server(&s, path, &th);
	{
		char dev[160];

		snprintf(dev, sizeof(dev), "unix:%s", path);
		bc_transport_open(dev, &t);
	}
	CHECK(bc_transport_cmd(t, req, n, resp, sizeof(resp), &rl, &st, NULL) ==
	      -ETIMEDOUT, "silent peer -> -ETIMEDOUT");
	bc_transport_close(t);
	stop_server(&s, th, path);

	/* Garbage instead of an envelope. */
	s.script = GARBAGE;
	start_server(&s, path, &th);
	{
		char dev[160];

		snprintf(dev, sizeof(dev), "unix:%s", path);
		bc_transport_open(dev, &t);
	}
	CHECK(bc_transport_cmd(t, req, n, resp, sizeof(resp), &rl, &st, NULL) ==
	      -EBADMSG, "garbage -> -EBADMSG");
	bc_transport_close(t);
	stop_server(&s, th, path);
	unsetenv("BCCHIP_TIMEOUT_MS");
}

/* ---- against a running bcchip-emu -------------------------------- */

struct sleeper {
	struct bc_transport *t;
	int ret;
	uint32_t st;
	int done;	/* atomic */
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	struct bcfw_sleep_req rq = { .msecs = htole32(1500) };

	s->ret = bc_transport_call(s->t, BCFW_OP_SLEEP, 0, &rq, sizeof(rq),
				   NULL, 0, NULL, &s->st, NULL);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_emulator(const char *device)
{
	struct bc_transport *t;
	struct bc_info bi;
	struct sleeper sl = { 0 };
	struct bcfw_random_req rr = { 0 };
	struct bcfw_hdr h;
	uint8_t req[64], resp[128], echo[8];
	size_t n, rl, got;
	uint32_t st, gen = 7;
	pthread_t th;
	int still_sleeping;

	if (bc_transport_open(device, &t)) {
		CHECK(0, "open %s", device);
		return;
	}
	CHECK(bc_transport_kind(t) == BC_TRANSPORT_UNIX &&
	      !strcmp(bc_transport_device(t), device), "kind and name");
	CHECK(bc_transport_info(t, &bi) == 0 && bi.state == BCCHIP_STATE_LIVE &&
	      bi.chip.max_sessions > 0 && bi.chip.max_random > 0 &&
	      bi.chip.max_frame >= BCFW_HDR_SIZE + bi.chip.max_random,
	      "GET_INFO limits");

	/* A malformed request is answered, with a status saying why. */
	n = bc_frame_build(req, sizeof(req), BCFW_OP_ECHO, 0, "hi", 2);
	memcpy(&h, req, sizeof(h));
	h.version = 9;
	memcpy(req, &h, sizeof(h));
	CHECK(bc_transport_cmd(t, req, n, resp, sizeof(resp), &rl, &st,
			       &gen) == 0 && st == BCFW_S_BAD_VERSION &&
	      rl == BCFW_HDR_SIZE && gen == 0,
	      "bad version answered BAD_VERSION (st %u)", st);

	rr.length = htole32(bi.chip.max_random + 1);
	CHECK(bc_transport_call(t, BCFW_OP_RANDOM, 0, &rr, sizeof(rr), NULL,
				0, &got, &st, NULL) == -EREMOTEIO &&
	      st == BCFW_S_BAD_ARGS, "RANDOM above max_random: BAD_ARGS");
	CHECK(bc_transport_call(t, BCFW_OP_SESSION_CLOSE, 12345, NULL, 0,
				NULL, 0, NULL, &st, NULL) == -EREMOTEIO &&
	      st == BCFW_S_SESSION_INVALID, "unknown session: INVALID");

	/*
	 * One connection, two commands in flight: an ECHO sent while a
	 * SLEEP runs is answered first, so nothing serializes the round
	 * trips (an ordering check, not a timing one).
	 */
	sl.t = t;
	pthread_create(&th, NULL, sleeper_main, &sl);
	usleep(200000);
	CHECK(bc_transport_call(t, BCFW_OP_ECHO, 0, "abcdefgh", 8, echo,
				sizeof(echo), NULL, &st, NULL) == 0 &&
	      !memcmp(echo, "abcdefgh", 8), "ECHO during SLEEP");
	still_sleeping = !__atomic_load_n(&sl.done, __ATOMIC_ACQUIRE);
	CHECK(still_sleeping, "ECHO answered before the SLEEP ended");
	pthread_join(th, NULL);
	CHECK(sl.ret == 0 && sl.st == 0, "SLEEP answered too (%d)", sl.ret);
	bc_transport_close(t);
}

int main(int argc, char **argv)
{
	test_frames();
	test_info();
	test_names();
	test_unix_transport();
	if (argc > 1)
		test_emulator(argv[1]);
	printf("libbcchip: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

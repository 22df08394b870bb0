/* SPDX-License-Identifier: GPL-2.0 */
/* bcchip-emu internals shared between its files. */
#ifndef BC_EMU_H
#define BC_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>
#include <linux/bcchip.h>

#define EMU_MAX_FRAME		32768u
#define EMU_MAX_RANDOM		(EMU_MAX_FRAME - BCFW_HDR_SIZE)
#define EMU_MAX_OBJECTS		4096u
/* Bounds that keep a misbehaving peer from exhausting memory or threads. */
#define EMU_MAX_CONNS		256u
#define EMU_CONN_INFLIGHT	32u
#define EMU_MAX_ENGINES		64u
#define EMU_MAX_SESSIONS_LIMIT	65536u
/* Events queued for one subscriber that does not read, beyond its answers. */
#define EMU_CONN_EVENTS		64u
#define EMU_CLOCK_SCALE_MAX	1000000000u

struct emu_identity {
	char serial[BCFW_SERIAL_LEN + 1];
	char label[BCFW_LABEL_LEN + 1];
};

struct emu_config {
	const char *state_dir;
	const char *socket_path;
	const char *label;
	const char *pidfile;
	const char *logfile;
	unsigned int max_sessions;
	unsigned int engines;
	bool foreground;
	/* Attestation (docs/attestation.md) */
	const char *factory_dir;	/* NULL: the default */
	uint32_t attest_period;		/* seconds */
	uint32_t clock_scale;
	bool clock_start_set;
	uint64_t clock_start;
	bool test_clock;		/* TEST_CLOCK allowed */
};

/* One socket connection; freed by its reader thread once idle. */
struct emu_conn {
	uint64_t id;
	int fd;
	pthread_t writer;
	pthread_mutex_t lock;		/* the fields below */
	pthread_cond_t cond;		/* any change below */
	unsigned int inflight;		/* jobs from arrival until written */
	uint32_t reset_gen;		/* bumped by RESET: ends SLEEPs */
	bool closing;			/* reader done: ends SLEEPs */
	bool dead;			/* send failed: drop the answers */
	bool writer_stop;
	bool subscribed;		/* sent SUBSCRIBE: gets events */
	struct emu_job *out_head, *out_tail;	/* answers to write */
	struct emu_conn *next;		/* server's list, under its lock */
};

/*
 * One message through the emulator: a REQUEST waiting for, or held by, an
 * engine, then its answer waiting for the connection's writer.
 */
struct emu_job {
	struct emu_conn *conn;
	uint32_t client;
	uint32_t tag;
	uint32_t reset_gen;	/* conn->reset_gen when it arrived */
	uint32_t len;		/* payload length announced */
	uint32_t have;		/* bytes kept in data (len, or a prefix) */
	uint16_t out_type;	/* the answer: envelope type and status */
	uint16_t out_status;
	uint8_t *out;		/* malloc'd answer payload, out_len bytes */
	uint32_t out_len;
	struct emu_job *next;
	uint8_t data[];
};

void emu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* files.c: crash-safe replacement of a state file (0 or -errno) */
int emu_write_all(int fd, const void *buf, size_t n);
int emu_replace_file(int dfd, const char *name, const void *buf, size_t len,
		     mode_t mode);

int emu_state_load(const char *dir, const char *label,
		   struct emu_identity *id);
/* Replaces the stored identity (crash-safely). */
int emu_state_save(const char *dir, const struct emu_identity *id);

int emu_sessions_init(unsigned int max);
void emu_sessions_fini(void);
unsigned int emu_sessions_max(void);
unsigned int emu_sessions_in_use(void);
/* 0 and *handle set, or a BCFW_S_* status. */
uint32_t emu_session_open(uint64_t conn, uint32_t client, uint32_t flags,
			  uint32_t *handle);
uint32_t emu_session_close(uint64_t conn, uint32_t client, uint32_t handle);
void emu_sessions_drop_client(uint64_t conn, uint32_t client);
void emu_sessions_drop_conn(uint64_t conn);

void emu_firmware_init(const struct emu_identity *id, const char *state_dir);
/* The token label, space padded (BCFW_LABEL_LEN bytes). */
void emu_firmware_label(uint8_t *out);
/* Sets and stores a new label (space padded); 0 or -errno. */
int emu_firmware_set_label(const uint8_t *label);
/*
 * Runs one request frame; returns the response frame (malloc'd, *rlen
 * bytes) or NULL when out of memory.
 */
uint8_t *emu_firmware_run(struct emu_job *job, uint32_t *rlen);

int emu_server_run(const struct emu_config *cfg, int listen_fd,
		   int signal_fd);
/*
 * Queues one envelope of @type (client 0, tag 0) to every subscribed
 * connection; returns how many.
 */
unsigned int emu_server_broadcast(uint16_t type, const void *payload,
				  uint32_t len);

/* ---- clock.c: the chip clock (docs/attestation.md) ---- */

int emu_clock_init(uint32_t scale, bool have_start, uint64_t start);
uint64_t emu_clock_now(void);
uint32_t emu_clock_scale(void);
void emu_clock_set_time(uint64_t t);
int emu_clock_set_scale(uint32_t scale);
/* The CLOCK_MONOTONIC time at which the chip clock reaches @when (capped). */
void emu_clock_deadline(uint64_t when, struct timespec *ts);

/* ---- events.c ---- */

/* Sends a chip event (enum bcchip_event_type) to the subscribers. */
void emu_event_raise(uint16_t type, uint64_t arg0, uint64_t arg1);

#endif

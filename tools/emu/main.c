// SPDX-License-Identifier: GPL-2.0
/* bcchip-emu: options, the listening socket, daemon life cycle. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "attest.h"
#include "keystore.h"

void emu_log(const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (clock_gettime(CLOCK_REALTIME, &ts) || !gmtime_r(&ts.tv_sec, &tm))
		memset(&tm, 0, sizeof(tm));
	n = snprintf(buf, sizeof(buf), "%02d:%02d:%02d bcchip-emu[%d]: ",
		     tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* One write per line, so lines from threads do not interleave. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: bcchip-emu --state DIR --socket PATH [--label TEXT]\n"
"                  [--max-sessions N] [--engines N] [--foreground]\n"
"                  [--pidfile FILE] [--log FILE] [--factory DIR]\n"
"                  [--attest-period SECONDS] [--clock-scale N]\n"
"                  [--clock-start UNIXTIME] [--test-clock]\n");
}

static int parse_uint(const char *s, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	/* Years up to 9999 keep every certificate time encodable. */
	if (errno || end == s || *end || s[0] == '-' || v > 253402300799ULL)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct emu_config *cfg)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "label", required_argument, NULL, 'l' },
		{ "max-sessions", required_argument, NULL, 'm' },
		{ "engines", required_argument, NULL, 'e' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'L' },
		{ "factory", required_argument, NULL, 'F' },
		{ "attest-period", required_argument, NULL, 'P' },
		{ "clock-scale", required_argument, NULL, 'C' },
		{ "clock-start", required_argument, NULL, 'T' },
		{ "test-clock", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	cfg->max_sessions = 64;
	cfg->engines = 4;
	cfg->attest_period = EMU_ATTEST_PERIOD_DEFAULT;
	cfg->clock_scale = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': cfg->state_dir = optarg; break;
		case 'S': cfg->socket_path = optarg; break;
		case 'l': cfg->label = optarg; break;
		case 'f': cfg->foreground = true; break;
		case 'p': cfg->pidfile = optarg; break;
		case 'L': cfg->logfile = optarg; break;
		case 'm':
			if (parse_uint(optarg, 1, EMU_MAX_SESSIONS_LIMIT,
				       &cfg->max_sessions)) {
				fprintf(stderr, "bcchip-emu: --max-sessions "
					"must be 1..%u\n",
					EMU_MAX_SESSIONS_LIMIT);
				return -EINVAL;
			}
			break;
		case 'e':
			if (parse_uint(optarg, 1, EMU_MAX_ENGINES,
				       &cfg->engines)) {
				fprintf(stderr, "bcchip-emu: --engines must "
					"be 1..%u\n", EMU_MAX_ENGINES);
				return -EINVAL;
			}
			break;
		case 'F': cfg->factory_dir = optarg; break;
		case 't': cfg->test_clock = true; break;
		case 'P':
			if (parse_uint(optarg, 1, EMU_ATTEST_PERIOD_MAX,
				       &cfg->attest_period)) {
				fprintf(stderr, "bcchip-emu: --attest-period "
					"must be 1..%u seconds\n",
					EMU_ATTEST_PERIOD_MAX);
				return -EINVAL;
			}
			break;
		case 'C':
			if (parse_uint(optarg, 1, EMU_CLOCK_SCALE_MAX,
				       &cfg->clock_scale)) {
				fprintf(stderr, "bcchip-emu: --clock-scale "
					"must be 1..%u\n", EMU_CLOCK_SCALE_MAX);
				return -EINVAL;
			}
			break;
		case 'T':
			if (parse_u64(optarg, &cfg->clock_start)) {
				fprintf(stderr, "bcchip-emu: --clock-start "
					"must be Unix seconds\n");
				return -EINVAL;
			}
			cfg->clock_start_set = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || !cfg->state_dir || !cfg->socket_path) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int open_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		emu_log("socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	/* A socket left by a dead emulator is replaced; a live one is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			emu_log("%s exists and is not a socket\n", path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return -errno;
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			emu_log("%s: another emulator is listening\n", path);
			return -EADDRINUSE;
		}
		close(probe);
		if (unlink(path) && errno != ENOENT) {
			emu_log("cannot remove stale %s: %s\n", path,
				strerror(errno));
			return -errno;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 64)) {
		int err = errno;

		emu_log("cannot listen on %s: %s\n", path, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

/* Replaced as a whole, so a reader never sees half a pid. */
static int write_pidfile(const char *path)
{
	char tmp[PATH_MAX], text[32];
	int fd, n, ret = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		ret = -errno;
	else if (write(fd, text, (size_t)n) != n)
		ret = -EIO;
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		emu_log("cannot write pid file %s: %s\n", path, strerror(-ret));
	}
	return ret;
}

/*
 * Forks; the parent returns only once the child is serving (exit 0) or
 * has failed (exit 1), so that callers can rely on the socket afterwards.
 * Returns the write end of the readiness pipe in the child.
 */
static int daemonize(void)
{
	int pfd[2], devnull;
	pid_t pid;
	char c = 0;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pfd[1]);
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(c == 'R' ? 0 : 1);
	}
	close(pfd[0]);
	if (setsid() < 0)
		return -errno;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	if (dup2(devnull, STDIN_FILENO) < 0 ||
	    dup2(devnull, STDOUT_FILENO) < 0)
		return -errno;
	close(devnull);
	return pfd[1];
}

int main(int argc, char **argv)
{
	struct emu_config cfg = { 0 };
	struct emu_identity id;
	sigset_t sigs;
	int lfd, sfd, ready = -1, ret;

	if (parse_args(argc, argv, &cfg))
		return 2;
	if (cfg.logfile) {
		int fd = open(cfg.logfile,
			      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
			fprintf(stderr, "bcchip-emu: %s: %s\n", cfg.logfile,
				strerror(errno));
			return 1;
		}
		close(fd);
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || signal(SIGHUP, SIG_IGN) ==
	    SIG_ERR)
		return 1;
	if (emu_state_load(cfg.state_dir, cfg.label, &id))
		return 1;
	if (emu_sessions_init(cfg.max_sessions)) {
		emu_log("out of memory\n");
		return 1;
	}
	if (ks_init(cfg.state_dir)) {
		ks_fini();
		emu_sessions_fini();
		return 1;
	}
	emu_firmware_init(&id, cfg.state_dir);
	if (emu_clock_init(cfg.clock_scale, cfg.clock_start_set,
			   cfg.clock_start) ||
	    emu_attest_init(&cfg, &id)) {
		emu_attest_fini();
		emu_sessions_fini();
		ks_fini();
		return 1;
	}
	lfd = open_socket(cfg.socket_path);
	if (lfd < 0) {
		emu_attest_fini();
		emu_sessions_fini();
		ks_fini();
		return 1;
	}
	if (!cfg.foreground) {
		ready = daemonize();
		if (ready < 0) {
			emu_log("cannot daemonize: %s\n", strerror(-ready));
			goto fail;
		}
	}
	/* Signals arrive through sfd only; threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL))
		goto fail;
	/* Threads only now: they would not survive the daemon's fork. */
	if (emu_attest_start())
		goto fail;
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		emu_log("signalfd: %s\n", strerror(errno));
		goto fail;
	}
	if (cfg.pidfile && write_pidfile(cfg.pidfile)) {
		close(sfd);
		goto fail;
	}
	emu_log("serving chip %s (\"%s\") on %s, %u engines, %u sessions\n",
		id.serial, id.label, cfg.socket_path, cfg.engines,
		cfg.max_sessions);
	if (ready >= 0) {
		if (write(ready, "R", 1) != 1)
			emu_log("cannot tell the parent we are ready\n");
		close(ready);
	}
	ret = emu_server_run(&cfg, lfd, sfd);
	emu_attest_stop();
	close(sfd);
	close(lfd);
	unlink(cfg.socket_path);
	if (cfg.pidfile)
		unlink(cfg.pidfile);
	emu_attest_fini();
	emu_sessions_fini();
	ks_fini();
	emu_log("stopped\n");
	return ret ? 1 : 0;
fail:
	close(lfd);
	unlink(cfg.socket_path);
	emu_attest_fini();
	emu_sessions_fini();
	ks_fini();
	return 1;
}

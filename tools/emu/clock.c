// SPDX-License-Identifier: GPL-2.0
/*
 * The chip's clock: seconds since 1970 as the chip believes them.
 *
 * It runs from a base (chip time at a moment of the host's monotonic
 * clock) at a whole number of chip seconds per real second, so that tests
 * can live through a 90-day attestation period in seconds.  Changing the
 * time or the rate rebases it; the time never depends on the host's wall
 * clock being stepped.  docs/attestation.md "Chip clock".
 */
#include <errno.h>
#include <time.h>

#include "emu.h"

static pthread_mutex_t clk_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t base_chip;		/* chip seconds at base_mono */
static uint64_t base_frac_ns;		/* and nanoseconds beyond */
static int64_t base_mono;		/* host monotonic ns */
static uint32_t rate = 1;		/* chip seconds per real second */

static int64_t mono_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Chip time in whole seconds and the nanoseconds beyond.  Under clk_lock. */
static void chip_now(int64_t mono, uint64_t *sec, uint64_t *frac)
{
	uint64_t el = mono > base_mono ? (uint64_t)(mono - base_mono) : 0;
	/* Split so that a large rate cannot overflow 64 bits. */
	uint64_t whole = (el / 1000000000ULL) * rate;
	uint64_t part = (el % 1000000000ULL) * rate + base_frac_ns;

	*sec = base_chip + whole + part / 1000000000ULL;
	*frac = part % 1000000000ULL;
}

int emu_clock_init(uint32_t scale, bool have_start, uint64_t start)
{
	struct timespec ts;

	if (scale < 1 || scale > EMU_CLOCK_SCALE_MAX)
		return -EINVAL;
	if (!have_start) {
		if (clock_gettime(CLOCK_REALTIME, &ts))
			return -errno;
		start = (uint64_t)ts.tv_sec;
	}
	pthread_mutex_lock(&clk_lock);
	base_chip = start;
	base_frac_ns = 0;
	base_mono = mono_ns();
	rate = scale;
	pthread_mutex_unlock(&clk_lock);
	return 0;
}

uint64_t emu_clock_now(void)
{
	uint64_t s, f;

	pthread_mutex_lock(&clk_lock);
	chip_now(mono_ns(), &s, &f);
	pthread_mutex_unlock(&clk_lock);
	return s;
}

uint32_t emu_clock_scale(void)
{
	uint32_t r;

	pthread_mutex_lock(&clk_lock);
	r = rate;
	pthread_mutex_unlock(&clk_lock);
	return r;
}

void emu_clock_set_time(uint64_t t)
{
	pthread_mutex_lock(&clk_lock);
	base_chip = t;
	base_frac_ns = 0;
	base_mono = mono_ns();
	pthread_mutex_unlock(&clk_lock);
}

int emu_clock_set_scale(uint32_t scale)
{
	int64_t m;

	if (scale < 1 || scale > EMU_CLOCK_SCALE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&clk_lock);
	/* Keep the current time; only the rate from here on changes. */
	m = mono_ns();
	chip_now(m, &base_chip, &base_frac_ns);
	base_mono = m;
	rate = scale;
	pthread_mutex_unlock(&clk_lock);
	return 0;
}

void emu_clock_deadline(uint64_t when, struct timespec *ts)
{
	uint64_t s, f, left_ns;
	int64_t m, at;

	pthread_mutex_lock(&clk_lock);
	m = mono_ns();
	chip_now(m, &s, &f);
	if (when <= s) {
		left_ns = 0;
	} else {
		uint64_t chip_left = when - s;

		/* Real nanoseconds until then, at most an hour ahead. */
		if (chip_left / rate > 3600)
			left_ns = 3600ULL * 1000000000ULL;
		else
			left_ns = chip_left / rate * 1000000000ULL +
				  (chip_left % rate) * 1000000000ULL / rate -
				  f / rate + 1;
	}
	pthread_mutex_unlock(&clk_lock);
	at = m + (int64_t)left_ns;
	ts->tv_sec = at / 1000000000LL;
	ts->tv_nsec = at % 1000000000LL;
}

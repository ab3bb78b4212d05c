// SPDX-License-Identifier: GPL-2.0-only
/*
 * tally_race - drives the split tallydev sample (fixtures/tallydev) from
 * several threads, through its kernel path (write) and its moved path
 * (TALLY_IOC_ADJUST, served by the daemon), and plays a daemon that dies
 * holding the tally's LPC lock.
 *
 * usage: tally_race race LABEL DEV THREADS ITERS
 *            each thread: ITERS writes of 1..97 bytes, and after every
 *            fourth an ADJUST of +3; prints "STEP LABEL_<what>: N" lines:
 *            the tally's change (bytes, writes, adjustments) and what the
 *            calls themselves saw (bytes written, calls that succeeded or
 *            failed), so lost updates show as a difference
 *        tally_race get DEV                    prints "bytes writes adjustments"
 *        tally_race write DEV LEN              one write; prints its result
 *        tally_race hold LPC-DEV PLAN-HASH     attaches as the daemon, takes
 *            the lock "tally" (LOCK_LPC), prints "STEP hold_locked: 0" and
 *            waits to be killed
 *        tally_race lockfree LPC-DEV PLAN-HASH attaches, takes the lock with a
 *            2 s timeout, gives it back: prints 0 or -errno
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lpc_call.h"
#include "tallydev.h"

#define ADJUST_BY	3

static const char *dev;
static int iters;

struct result {
	uint64_t bytes;		/* bytes the writes that succeeded wrote */
	uint64_t writes_ok, write_failed;
	uint64_t adjust_ok, adjust_failed;
	int tid;
};

static int get(int fd, struct tally_stats *st)
{
	return ioctl(fd, TALLY_IOC_GET, st);
}

static void *racer(void *arg)
{
	struct result *r = arg;
	static const char data[128];
	int fd = open(dev, O_RDWR);
	int k;

	if (fd < 0) {
		perror(dev);
		exit(1);
	}
	for (k = 0; k < iters; k++) {
		size_t len = 1 + (r->tid * 31 + k) % 97;
		int64_t delta = ADJUST_BY;

		if (write(fd, data, len) == (ssize_t)len) {
			r->writes_ok++;
			r->bytes += len;
		} else {
			r->write_failed++;
		}
		if (k % 4 != 3)
			continue;
		if (ioctl(fd, TALLY_IOC_ADJUST, &delta) == 0)
			r->adjust_ok++;
		else
			r->adjust_failed++;
	}
	close(fd);
	return NULL;
}

static int race(const char *label, int threads)
{
	struct result *r = calloc(threads, sizeof(*r));
	struct tally_stats before, after;
	struct result sum = { 0 };
	pthread_t *t = calloc(threads, sizeof(*t));
	int fd = open(dev, O_RDWR);
	int i;

	if (fd < 0 || !r || !t || get(fd, &before)) {
		perror("race");
		return 1;
	}
	for (i = 0; i < threads; i++) {
		r[i].tid = i;
		pthread_create(&t[i], NULL, racer, &r[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum.bytes += r[i].bytes;
		sum.writes_ok += r[i].writes_ok;
		sum.write_failed += r[i].write_failed;
		sum.adjust_ok += r[i].adjust_ok;
		sum.adjust_failed += r[i].adjust_failed;
	}
	if (get(fd, &after)) {
		perror("GET");
		return 1;
	}
	printf("STEP %s_bytes: %llu\n", label, (unsigned long long)(after.bytes - before.bytes));
	printf("STEP %s_writes: %llu\n", label, (unsigned long long)(after.writes - before.writes));
	printf("STEP %s_adjusted: %llu\n", label, (unsigned long long)(after.adjustments - before.adjustments));
	printf("STEP %s_written: %llu\n", label, (unsigned long long)sum.bytes);
	printf("STEP %s_writes_ok: %llu\n", label, (unsigned long long)sum.writes_ok);
	printf("STEP %s_write_failed: %llu\n", label, (unsigned long long)sum.write_failed);
	printf("STEP %s_adjust_ok: %llu\n", label, (unsigned long long)sum.adjust_ok);
	printf("STEP %s_adjust_failed: %llu\n", label, (unsigned long long)sum.adjust_failed);
	return 0;
}

static int attach(const char *lpc, const char *hex)
{
	int fd = open(lpc, O_RDWR);

	if (fd < 0) {
		perror(lpc);
		exit(1);
	}
	if (attach_hex(fd, hex) < 0) {
		perror("ATTACH");
		exit(1);
	}
	return fd;
}

static int lock(int fd, struct tally_stats *copy, unsigned int timeout_ms)
{
	struct lpc_sync sy;

	memset(&sy, 0, sizeof(sy));
	snprintf(sy.name, sizeof(sy.name), "tally");
	sy.data = (uintptr_t)copy;
	sy.data_len = sizeof(*copy);
	sy.timeout_ms = timeout_ms;
	return ioctl(fd, LPC_IOC_LOCK, &sy) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct tally_stats st;
	int fd;

	if (argc == 6 && !strcmp(argv[1], "race")) {
		dev = argv[3];
		iters = atoi(argv[5]);
		return race(argv[2], atoi(argv[4]));
	}
	if (argc == 3 && !strcmp(argv[1], "get")) {
		fd = open(argv[2], O_RDWR);
		if (fd < 0 || get(fd, &st))
			return 1;
		printf("%llu %llu %llu\n", (unsigned long long)st.bytes,
		       (unsigned long long)st.writes, (unsigned long long)st.adjustments);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "write")) {
		static char data[4096];
		size_t len = strtoul(argv[3], NULL, 0);

		fd = open(argv[2], O_RDWR);
		if (fd < 0 || len > sizeof(data))
			return 1;
		printf("%zd\n", write(fd, data, len));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "hold")) {
		fd = attach(argv[2], argv[3]);
		printf("STEP hold_locked: %d\n", lock(fd, &st, 0));
		fflush(stdout);
		for (;;)
			pause();
	}
	if (argc == 4 && !strcmp(argv[1], "lockfree")) {
		struct lpc_sync sy;
		int ret;

		fd = attach(argv[2], argv[3]);
		ret = lock(fd, &st, 2000);
		printf("%d\n", ret);
		memset(&sy, 0, sizeof(sy));
		snprintf(sy.name, sizeof(sy.name), "tally");
		if (!ret && ioctl(fd, LPC_IOC_UNLOCK, &sy) < 0)
			perror("UNLOCK");
		return 0;
	}
	fprintf(stderr, "usage: see the comment at the top of tally_race.c\n");
	return 2;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * appload - applications calling a split driver from many threads at once,
 * each call checked for its result and against a deadline.
 *
 * usage: appload -t THREADS -s SECONDS [-D DEADLINE-MS] write DEVICE
 *        appload -t THREADS -s SECONDS [-D DEADLINE-MS] [-K K] request DEVICE PROC
 *
 * write:   write()s "!fact N", "!set mode xor" and "!set mode bogus" (the
 *          moved parser must refuse it: EINVAL) to the emitted sample
 *          driver, and read()s its reply.
 * request: REQUEST_LPC of PROC with the pair (a, b): "mul" and "nested"
 *          must return a*b + K (the C daemon adds 1000 times the depth,
 *          the self-test's user half's nested adds 7), "sum_via_kernel"
 *          (a + b) * 100 + 1 (the self-test's user half), others status 0.
 * SIGTERM ends the run early: each thread finishes its call first.
 *
 * Prints one line: "APPLOAD calls C ok K wrong W late L max-ms M errno
 * NAME=N ...".  A late call is one slower than the deadline; a wrong one
 * returned success with a wrong result.  Errors (ECONNABORTED while the
 * daemon is being killed, ...) are counted by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lpc_call.h"

#define MAX_ERRNO 256

static const char *mode, *device, *proc;
static double deadline_ms = 10000, seconds = 5;
static pthread_mutex_t tally_lock = PTHREAD_MUTEX_INITIALIZER;
static long calls, ok, wrong, late, errs[MAX_ERRNO];
static double max_ms;
static int64_t k_add = 1000;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/*
 * One write() and a read(); 1 right, 0 wrong, -errno failed.  Each write's
 * own result is checked: "!set mode bogus" must fail with EINVAL and
 * "!set mode xor" succeed (both decided by the moved parser), "!fact N"
 * succeed.  The reply a read returns is the device's, shared by all threads
 * and written without a lock (as in the original driver), so under
 * concurrency it may be another call's or torn: only its presence counts.
 */
static int call_write(int fd, unsigned int seq)
{
	char cmd[32], got[64];
	ssize_t r;

	switch (seq % 4) {
	case 3:
		r = write(fd, "!set mode bogus", 15);
		if (r >= 0)
			return 0;
		return errno == EINVAL ? 1 : -errno;
	case 1:
		snprintf(cmd, sizeof(cmd), "!set mode xor");
		break;
	default:
		snprintf(cmd, sizeof(cmd), "!fact %u", seq % 20 + 1);
	}
	r = write(fd, cmd, strlen(cmd));
	if (r < 0)
		return -errno;
	if (r != (ssize_t)strlen(cmd))
		return 0;
	r = pread(fd, got, sizeof(got) - 1, 0);
	if (r < 0)
		return -errno;
	return r > 0;
}

static int call_request(int fd, unsigned int seq)
{
	int64_t a = seq % 1000, b = (seq >> 3) % 97, res, want;
	struct lpc_msg m;

	if (call_pair(fd, LPC_IOC_REQUEST, proc, a, b, &res, &m) < 0)
		return -errno;
	if (!strcmp(proc, "mul") || !strcmp(proc, "nested"))
		want = a * b + k_add;
	else if (!strcmp(proc, "sum_via_kernel"))
		want = (a + b) * 100 + 1;
	else
		return m.status == 0;
	if (m.status < 0)
		return m.status;
	return m.result_len == sizeof(res) && res == want;
}

static void *thread(void *arg)
{
	unsigned int seq = (unsigned int)(uintptr_t)arg * 7919;
	double end = now_ms() + seconds * 1e3;
	int fd = open(device, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror(device);
		exit(1);
	}
	while (!stop && now_ms() < end) {
		double t0 = now_ms(), dt;
		int r = !strcmp(mode, "write") ? call_write(fd, seq++) : call_request(fd, seq++);

		dt = now_ms() - t0;
		pthread_mutex_lock(&tally_lock);
		calls++;
		if (r == 1)
			ok++;
		else if (r == 0)
			wrong++;
		else
			errs[-r < MAX_ERRNO ? -r : 0]++;
		if (dt > deadline_ms)
			late++;
		if (dt > max_ms)
			max_ms = dt;
		pthread_mutex_unlock(&tally_lock);
	}
	close(fd);
	return NULL;
}

static const char *errname(int e)
{
	switch (e) {
	case ECONNABORTED: return "ECONNABORTED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENOTCONN: return "ENOTCONN";
	case ELOOP: return "ELOOP";
	case EINTR: return "EINTR";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	default: return NULL;
	}
}

int main(int argc, char **argv)
{
	pthread_t tids[256];
	int threads = 8, opt, i;

	while ((opt = getopt(argc, argv, "t:s:D:K:")) != -1) {
		if (opt == 't')
			threads = atoi(optarg);
		else if (opt == 's')
			seconds = atof(optarg);
		else if (opt == 'D')
			deadline_ms = atof(optarg);
		else if (opt == 'K')
			k_add = atoll(optarg);
		else
			goto usage;
	}
	if (argc - optind < 2 || threads < 1 || threads > 256)
		goto usage;
	mode = argv[optind];
	device = argv[optind + 1];
	if (!strcmp(mode, "request")) {
		if (argc - optind != 3)
			goto usage;
		proc = argv[optind + 2];
	} else if (strcmp(mode, "write") || argc - optind != 2) {
		goto usage;
	}
	signal(SIGTERM, on_term);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, thread, (void *)(uintptr_t)i)) {
			fprintf(stderr, "appload: cannot start thread\n");
			return 1;
		}
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	printf("APPLOAD calls %ld ok %ld wrong %ld late %ld max-ms %.0f errno", calls, ok, wrong, late, max_ms);
	for (i = 0; i < MAX_ERRNO; i++)
		if (errs[i] && errname(i))
			printf(" %s=%ld", errname(i), errs[i]);
		else if (errs[i])
			printf(" %d=%ld", i, errs[i]);
	printf("\n");
	return 0;
usage:
	fprintf(stderr, "usage: appload -t THREADS -s SECONDS [-D DEADLINE-MS] [-K K] write DEVICE | request DEVICE PROC\n");
	return 2;
}

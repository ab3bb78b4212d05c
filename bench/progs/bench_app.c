// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_app - the application side of `npm run bench:kernel`: times each of
 * COUNT operations with CLOCK_MONOTONIC and prints
 *   "SAMPLES <label> <total-us> <us>,<us>,..."   (one time per operation)
 *
 *   bench_app LABEL write DEVICE COMMAND COUNT   write(COMMAND) on the driver's
 *                                                device, COUNT times
 *   bench_app LABEL request DEVICE PROC BYTES COUNT
 *                                                REQUEST_LPC of user procedure
 *                                                PROC with BYTES argument bytes
 *   bench_app LABEL local N COUNT                N! computed in this program
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lpc_abi.h"

/* The sample driver's sample_factorial(), as a plain C program runs it. */
__attribute__((noinline)) static uint64_t factorial(unsigned int n)
{
	uint64_t result = 1;
	unsigned int i;

	for (i = 2; i <= n; i++)
		result *= i;
	return result;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	static uint8_t args[LPC_ARGS_MAX], result[LPC_ARGS_MAX];
	volatile uint64_t sink = 0;
	const char *label, *mode;
	double *t, start, total;
	long count, i;
	int fd = -1;

	if (argc < 5)
		goto usage;
	label = argv[1];
	mode = argv[2];
	count = atol(argv[argc - 1]);
	if (count < 1 || !(t = calloc(count, sizeof(*t))))
		goto usage;
	if (strcmp(mode, "local")) {
		fd = open(argv[3], O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "bench_app: %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
	}
	start = now_us();
	if (!strcmp(mode, "write") && argc == 6) {
		size_t len = strlen(argv[4]);

		for (i = 0; i < count; i++) {
			double t0 = now_us();

			if (write(fd, argv[4], len) != (ssize_t)len) {
				fprintf(stderr, "bench_app: write %s: %s\n", argv[4], strerror(errno));
				return 1;
			}
			t[i] = now_us() - t0;
		}
	} else if (!strcmp(mode, "request") && argc == 7 && strlen(argv[4]) < LPC_NAME_MAX) {
		unsigned int bytes = atoi(argv[5]);

		memset(args, 0xa5, sizeof(args));
		for (i = 0; i < count; i++) {
			struct lpc_msg m = { 0 };
			double t0 = now_us();

			strcpy(m.proc, argv[4]);
			m.args = (uintptr_t)args;
			m.args_len = bytes;
			m.result = (uintptr_t)result;
			m.result_cap = bytes;
			if (ioctl(fd, LPC_IOC_REQUEST, &m) < 0 || m.status) {
				fprintf(stderr, "bench_app: REQUEST %s: %s status %d\n", argv[4], strerror(errno), m.status);
				return 1;
			}
			t[i] = now_us() - t0;
		}
	} else if (!strcmp(mode, "local") && argc == 5) {
		unsigned int n = atoi(argv[3]);

		for (i = 0; i < count; i++) {
			double t0 = now_us();

			sink += factorial(n);
			t[i] = now_us() - t0;
		}
	} else {
		goto usage;
	}
	total = now_us() - start;
	printf("SAMPLES %s %.1f ", label, total);
	for (i = 0; i < count; i++)
		printf("%s%.3f", i ? "," : "", t[i]);
	printf("\n");
	return 0;
usage:
	fprintf(stderr, "usage: bench_app LABEL write DEVICE COMMAND COUNT | request DEVICE PROC BYTES COUNT | local N COUNT\n");
	return 2;
}

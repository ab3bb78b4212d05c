// SPDX-License-Identifier: GPL-2.0-only
/*
 * udaemon_call - a kernel-to-user call from a test program: REQUEST_LPC of
 * one procedure, as the kernel half's callers make it.
 *
 * usage: udaemon_call DEVICE PROC HEX-ARGS|- RESULT-CAP [COUNT]
 * Prints "status S result HEX" (HEX "-" if empty), or "error ERRNO-NAME".
 * With COUNT > 1, repeats the call and also prints "avg-us N".
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

static const char *errname(int e)
{
	switch (e) {
	case ECONNABORTED: return "ECONNABORTED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENOTCONN: return "ENOTCONN";
	case ELOOP: return "ELOOP";
	case EINTR: return "EINTR";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	static uint8_t args[LPC_ARGS_MAX], result[LPC_ARGS_MAX];
	struct lpc_msg m;
	struct timespec t0, t1;
	long count = argc > 5 ? atol(argv[5]) : 1;
	size_t len = 0, i;
	long n;
	int fd;

	if (argc < 5 || count < 1 || strlen(argv[2]) >= LPC_NAME_MAX) {
		fprintf(stderr, "usage: udaemon_call DEVICE PROC HEX-ARGS|- RESULT-CAP [COUNT]\n");
		return 2;
	}
	if (strcmp(argv[3], "-"))
		for (len = 0; len < sizeof(args) && sscanf(argv[3] + 2 * len, "%2hhx", &args[len]) == 1; len++)
			;
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("error %s\n", errname(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (n = 0; n < count; n++) {
		memset(&m, 0, sizeof(m));
		strcpy(m.proc, argv[2]);
		m.args = (uintptr_t)args;
		m.args_len = len;
		m.result = (uintptr_t)result;
		m.result_cap = atoi(argv[4]);
		if (ioctl(fd, LPC_IOC_REQUEST, &m) < 0) {
			printf("error %s\n", errname(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("status %d result ", m.status);
	for (i = 0; i < m.result_len; i++)
		printf("%02x", result[i]);
	printf("%s\n", m.result_len ? "" : "-");
	if (count > 1)
		printf("avg-us %.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / count);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor_daemon - the smallest daemon that serves a user half's C library:
 * N threads, each looping POLL -> lpc_user_dispatch() -> RESPONSE, with no
 * queue and no runtime.  It runs the same library code the TypeScript daemon
 * runs, so the difference between the two is the runtime alone.
 *
 * usage: floor_daemon [-n threads] -p plan-hash-hex -l library.so /dev/<name>_lpc
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lpc_abi.h"

typedef int (*dispatch_fn)(const char *proc, const void *args, unsigned int args_len,
			   void *result, unsigned int result_cap, unsigned int *result_len,
			   unsigned long long request_id);

static int dev_fd;
static dispatch_fn dispatch;

static void *worker(void *unused)
{
	void *args = malloc(LPC_ARGS_MAX);
	void *result = malloc(LPC_ARGS_MAX);

	(void)unused;
	if (!args || !result) {
		perror("floor_daemon: malloc");
		exit(1);
	}
	for (;;) {
		struct lpc_msg m = { 0 }, r = { 0 };
		unsigned int len = 0;

		m.args = (uintptr_t)args;
		m.args_cap = LPC_ARGS_MAX;
		if (ioctl(dev_fd, LPC_IOC_POLL, &m) < 0) {
			if (errno == EINTR || errno == ETIMEDOUT)
				continue;
			perror("floor_daemon: POLL");
			exit(1);
		}
		r.status = dispatch(m.proc, args, m.args_len, result, m.result_cap, &len, m.id);
		r.id = m.id;
		r.generation = m.generation;
		r.result = (uintptr_t)result;
		r.result_len = r.status < 0 ? 0 : len;
		/* ENOENT: the caller gave up meanwhile. */
		if (ioctl(dev_fd, LPC_IOC_RESPONSE, &r) < 0 && errno != ENOENT)
			perror("floor_daemon: RESPONSE");
	}
	return NULL;
}

static int parse_hash(const char *hex, __u8 *out)
{
	size_t i;

	if (strlen(hex) != 2 * LPC_PLAN_HASH_LEN)
		return -1;
	for (i = 0; i < LPC_PLAN_HASH_LEN; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct lpc_attach a = { .abi_version = LPC_ABI_VERSION };
	const char *lib = NULL;
	int threads = 4, opt, i, hash = 0;
	int (*init)(int fd);
	pthread_t tid;
	void *h;

	while ((opt = getopt(argc, argv, "n:p:l:")) != -1) {
		if (opt == 'n' && atoi(optarg) > 0)
			threads = atoi(optarg);
		else if (opt == 'p' && !parse_hash(optarg, a.plan_hash))
			hash = 1;
		else if (opt == 'l')
			lib = optarg;
		else
			goto usage;
	}
	if (optind != argc - 1 || !hash || !lib)
		goto usage;
	h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
	dispatch = h ? (dispatch_fn)dlsym(h, "lpc_user_dispatch") : NULL;
	init = h ? (int (*)(int))dlsym(h, "lpc_user_init") : NULL;
	if (!dispatch) {
		fprintf(stderr, "floor_daemon: %s: %s\n", lib, dlerror());
		return 1;
	}
	dev_fd = open(argv[optind], O_RDWR | O_CLOEXEC);
	if (dev_fd < 0 || ioctl(dev_fd, LPC_IOC_ATTACH, &a) < 0) {
		fprintf(stderr, "floor_daemon: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (init && init(dev_fd)) {
		fprintf(stderr, "floor_daemon: lpc_user_init failed\n");
		return 1;
	}
	printf("attached generation %llu\n", (unsigned long long)a.generation);
	fflush(stdout);
	for (i = 1; i < threads; i++) {
		if (pthread_create(&tid, NULL, worker, NULL)) {
			fprintf(stderr, "floor_daemon: cannot start thread\n");
			return 1;
		}
	}
	worker(NULL);
	return 0;
usage:
	fprintf(stderr, "usage: floor_daemon [-n threads] -p plan-hash-hex -l library.so /dev/<name>_lpc\n");
	return 2;
}

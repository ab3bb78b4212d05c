// SPDX-License-Identifier: GPL-2.0-only
/*
 * cdaemon - the smallest useful daemon for an LPC device, in plain C: the
 * floor the TypeScript daemon is measured against.  Each of N threads loops
 * run the procedure -> RESPONSE_POLL (answer it and poll the next), so
 * nested calls (a procedure that EXECs a kernel function which calls back
 * into user space) are served by another thread.
 *
 * usage: cdaemon [-n threads] [-p plan-hash-hex] [-l library.so] /dev/<name>_lpc
 * Prints "attached generation N" once attached.  The procedures are those
 * the self-test module (kmod/test/lpc_selftest.c) and the tests call, or,
 * with -l, those of a user half's library (lpc_user_dispatch()), the same
 * code the TypeScript daemon runs, so that the difference is the runtime.
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

struct pair {
	int64_t a;
	int64_t b;
};

/* Arguments of the self-test's call_user export. */
struct call_user_args {
	char proc[32];
	struct pair pair;
};

struct call {
	const struct lpc_msg *msg;	/* the polled request */
	const void *args;
	void *result;
	uint32_t result_len;		/* out */
};

static int dev_fd;

/* With -l: the user half's entry point, in place of the built-in procedures. */
static int (*lib_dispatch)(const char *proc, const void *args, unsigned int args_len,
			   void *result, unsigned int result_cap, unsigned int *result_len,
			   unsigned long long request_id);

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Runs a kernel function; returns its status or -errno of the ioctl. */
static int exec_kernel(struct call *c, const char *proc,
		       const void *args, uint32_t len)
{
	struct lpc_msg m = { 0 };

	m.id = c->msg->id;	/* the kernel derives the nesting depth */
	snprintf(m.proc, sizeof(m.proc), "%s", proc);
	m.args = (uintptr_t)args;
	m.args_len = len;
	m.result = (uintptr_t)c->result;
	m.result_cap = c->msg->result_cap;
	if (ioctl(dev_fd, LPC_IOC_EXEC, &m) < 0)
		return -errno;
	c->result_len = m.result_len;
	return m.status;
}

static int put_i64(struct call *c, int64_t v)
{
	if (c->msg->result_cap < sizeof(v))
		return -EINVAL;
	memcpy(c->result, &v, sizeof(v));
	c->result_len = sizeof(v);
	return 0;
}

static int get_pair(const struct call *c, struct pair *p)
{
	if (c->msg->args_len != sizeof(*p))
		return -EINVAL;
	memcpy(p, c->args, sizeof(*p));
	return 0;
}

static int proc_noop(struct call *c)
{
	(void)c;
	return 0;
}

static int proc_hello(struct call *c)
{
	return put_i64(c, 42);
}

static int proc_echo(struct call *c)
{
	c->result_len = min_u32(c->msg->args_len, c->msg->result_cap);
	memcpy(c->result, c->args, c->result_len);
	return 0;
}

/* a * b, plus 1000 times the nesting depth so tests can see the depth. */
static int proc_mul(struct call *c)
{
	struct pair p;
	int err = get_pair(c, &p);

	return err ? err : put_i64(c, p.a * p.b + 1000 * (int64_t)c->msg->depth);
}

/* Calls the kernel, which calls user procedure @callee with the same pair. */
static int via_kernel(struct call *c, const char *callee)
{
	struct call_user_args a = { 0 };
	int err = get_pair(c, &a.pair);

	if (err)
		return err;
	snprintf(a.proc, sizeof(a.proc), "%s", callee);
	return exec_kernel(c, "call_user", &a, sizeof(a));
}

static int proc_nested(struct call *c)
{
	return via_kernel(c, "mul");
}

/* Recurses through the kernel until it refuses the depth (ELOOP). */
static int proc_recurse(struct call *c)
{
	return via_kernel(c, "recurse");
}

static int proc_kstate(struct call *c)
{
	return exec_kernel(c, "state", NULL, 0);
}

/* Never answers: lets tests kill the daemon while a call is in flight. */
static int proc_hang(struct call *c)
{
	(void)c;
	for (;;)
		pause();
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct call *c);
} procs[] = {
	{ "noop", proc_noop },
	{ "hello", proc_hello },
	{ "echo", proc_echo },
	{ "mul", proc_mul },
	{ "nested", proc_nested },
	{ "recurse", proc_recurse },
	{ "kstate", proc_kstate },
	{ "hang", proc_hang },
};

static int dispatch(struct call *c)
{
	size_t i;

	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		if (!strcmp(procs[i].name, c->msg->proc))
			return procs[i].fn(c);
	return -ENOSYS;
}

/*
 * Answers and polls in one RESPONSE_POLL per request, the protocol's
 * shortest path (the first call answers nothing: id 0).
 */
static void *worker(void *unused)
{
	void *args = malloc(LPC_ARGS_MAX);
	void *result = malloc(LPC_ARGS_MAX);
	struct lpc_msg m = { 0 };

	(void)unused;
	if (!args || !result) {
		perror("cdaemon: malloc");
		exit(1);
	}
	m.args = (uintptr_t)args;
	m.args_cap = LPC_ARGS_MAX;
	m.result = (uintptr_t)result;
	for (;;) {
		struct call c = { &m, args, result, 0 };

		if (ioctl(dev_fd, LPC_IOC_RESPONSE_POLL, &m) < 0) {
			/* ENOENT: the caller gave up meanwhile; nothing to do. */
			if (errno == EINVAL || errno == ESTALE)
				perror("cdaemon: RESPONSE_POLL answer");
			else if (errno != EINTR && errno != ETIMEDOUT && errno != ENOENT) {
				perror("cdaemon: RESPONSE_POLL");
				exit(1);
			}
			m.id = 0;
			continue;
		}
		if (lib_dispatch) {
			unsigned int len = 0;

			m.status = lib_dispatch(m.proc, args, m.args_len, result,
						m.result_cap, &len, m.id);
			c.result_len = len;
		} else {
			m.status = dispatch(&c);
		}
		m.result_len = m.status < 0 ? 0 : c.result_len;
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

static int load_library(const char *lib)
{
	int (*init)(int fd);
	void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);

	lib_dispatch = h ? dlsym(h, "lpc_user_dispatch") : NULL;
	init = h ? dlsym(h, "lpc_user_init") : NULL;
	if (!lib_dispatch) {
		fprintf(stderr, "cdaemon: %s: %s\n", lib, dlerror());
		return -1;
	}
	if (init && init(dev_fd)) {
		fprintf(stderr, "cdaemon: lpc_user_init failed\n");
		return -1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: cdaemon [-n threads] [-p plan-hash-hex] [-l library.so] /dev/<name>_lpc\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct lpc_attach a = { .abi_version = LPC_ABI_VERSION };
	const char *lib = NULL;
	int threads = 4, opt, i;
	pthread_t tid;

	while ((opt = getopt(argc, argv, "n:p:l:")) != -1) {
		if (opt == 'n' && atoi(optarg) > 0)
			threads = atoi(optarg);
		else if (opt == 'p' && !parse_hash(optarg, a.plan_hash))
			continue;
		else if (opt == 'l')
			lib = optarg;
		else
			return usage();
	}
	if (optind != argc - 1)
		return usage();
	dev_fd = open(argv[optind], O_RDWR | O_CLOEXEC);
	if (dev_fd < 0 || ioctl(dev_fd, LPC_IOC_ATTACH, &a) < 0) {
		fprintf(stderr, "cdaemon: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (lib && load_library(lib))
		return 1;
	printf("attached generation %llu\n", (unsigned long long)a.generation);
	fflush(stdout);
	for (i = 1; i < threads; i++) {
		if (pthread_create(&tid, NULL, worker, NULL)) {
			fprintf(stderr, "cdaemon: cannot start thread\n");
			return 1;
		}
	}
	worker(NULL);
	return 0;
}

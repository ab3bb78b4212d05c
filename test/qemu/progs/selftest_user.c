// SPDX-License-Identifier: GPL-2.0-only
/*
 * selftest_user - the user half of the LPC self-test module
 * (kmod/test/lpc_selftest.c), written to the contract a generated library
 * follows (lpc_user_init, lpc_user_dispatch) so that the TypeScript daemon
 * serves it: `split-driver udaemon DIR` with selftest_user.json as the
 * manifest.  Every kernel call made while serving carries the request id,
 * kept thread-local, so the kernel knows how deep the call nests.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lpc_abi.h"

struct pair {
	int64_t a;
	int64_t b;
};

/* Arguments of the module's call_user export. */
struct call_user_args {
	char proc[32];
	struct pair pair;
};

struct out {
	void *buf;
	unsigned int cap;
	unsigned int *len;
};

static int dev_fd = -1;
static __thread unsigned long long serving;

int lpc_user_init(int fd)
{
	dev_fd = fd;
	return 0;
}

/* EXEC_LPC of an exported kernel function; its status, or -errno. */
static int kexec(const char *proc, const void *args, unsigned int len,
		 int64_t *result)
{
	struct lpc_msg m = { 0 };

	m.id = serving;
	strncpy(m.proc, proc, sizeof(m.proc) - 1);
	m.args = (uintptr_t)args;
	m.args_len = len;
	m.result = (uintptr_t)result;
	m.result_cap = result ? sizeof(*result) : 0;
	if (ioctl(dev_fd, LPC_IOC_EXEC, &m) < 0)
		return -errno;
	if (m.status == 0 && result && m.result_len != sizeof(*result))
		return -EIO;
	return m.status;
}

static int sync_op(unsigned long cmd, const char *name, void *data,
		   unsigned int len, unsigned int timeout_ms)
{
	struct lpc_sync s = { 0 };

	strncpy(s.name, name, sizeof(s.name) - 1);
	s.data = (uintptr_t)data;
	s.data_len = len;
	s.timeout_ms = timeout_ms;
	return ioctl(dev_fd, cmd, &s) < 0 ? -errno : 0;
}

static int put(struct out *o, int64_t v)
{
	if (o->cap < sizeof(v))
		return -EINVAL;
	memcpy(o->buf, &v, sizeof(v));
	*o->len = sizeof(v);
	return 0;
}

/* Runs on attach (the module's on_attach): moved initialisation. */
static int proc_hello(struct out *o)
{
	return put(o, 4242);
}

/* The kernel adds, user space combines: (a + b) * 100 + 1. */
static int proc_sum_via_kernel(const struct pair *p, struct out *o)
{
	int64_t v;
	int err = kexec("add", p, sizeof(*p), &v);

	return err ? err : put(o, v * 100 + 1);
}

static int proc_mul(const struct pair *p, struct out *o)
{
	return put(o, p->a * p->b);
}

/* kernel -> user -> kernel (call_user) -> user (mul): then + 7. */
static int proc_nested(const struct pair *p, struct out *o)
{
	struct call_user_args c = { "mul", *p };
	int64_t v;
	int err = kexec("call_user", &c, sizeof(c), &v);

	return err ? err : put(o, v + 7);
}

/* Adds a to the kernel's counter under the shared lock; returns the new value. */
static int proc_bump_counter(const struct pair *p, struct out *o)
{
	int64_t counter = 0;
	int err = sync_op(LPC_IOC_LOCK, "counter", &counter, sizeof(counter), 2000);

	if (err)
		return err;
	counter += p->a;
	err = sync_op(LPC_IOC_UNLOCK, "counter", &counter, sizeof(counter), 0);
	return err ? err : put(o, counter);
}

/* The kernel's own view of the counter, read under the lock. */
static int proc_kcounter(struct out *o)
{
	int64_t v;
	int err = kexec("counter", NULL, 0, &v);

	return err ? err : put(o, v);
}

/*
 * The semaphore both ways: user UP then kernel DOWN; kernel UP then user
 * DOWN; then a user DOWN on an empty semaphore must time out.  Returns 111
 * when all three behave.
 */
static int proc_sem_cycle(struct out *o)
{
	int64_t score = 0;

	if (!sync_op(LPC_IOC_UP, "ready", NULL, 0, 0) &&
	    !kexec("sem_down", NULL, 0, NULL))
		score += 1;
	if (!kexec("sem_up", NULL, 0, NULL) &&
	    !sync_op(LPC_IOC_DOWN, "ready", NULL, 0, 2000))
		score += 10;
	if (sync_op(LPC_IOC_DOWN, "ready", NULL, 0, 100) == -ETIMEDOUT)
		score += 100;
	return put(o, score);
}

/* The module's state: (attaches << 32) | greeting. */
static int proc_kstate(struct out *o)
{
	int64_t st[2];
	struct lpc_msg m = { 0 };

	m.id = serving;
	strcpy(m.proc, "state");
	m.result = (uintptr_t)st;
	m.result_cap = sizeof(st);
	if (ioctl(dev_fd, LPC_IOC_EXEC, &m) < 0)
		return -errno;
	if (m.status || m.result_len != sizeof(st))
		return m.status ? m.status : -EIO;
	return put(o, (st[0] << 32) | st[1]);
}

/* Never returns: the test kills the daemon while this call waits. */
static int proc_hang(void)
{
	for (;;)
		pause();
	return 0;
}

/*
 * Kernel -> user -> kernel ... a levels deep (a = 1: this call only), each
 * level adding 1 to b on the way back: returns b + a.  Deeper than the
 * module's max_depth the kernel refuses with ELOOP.
 */
static int proc_deep(const struct pair *p, struct out *o)
{
	struct call_user_args c = { "deep", { p->a - 1, p->b } };
	int64_t v;
	int err;

	if (p->a <= 1)
		return put(o, p->b + 1);
	err = kexec("call_user", &c, sizeof(c), &v);
	return err ? err : put(o, v + 1);
}

/* Sleeps a milliseconds: concurrent callers show whether the pool serves them at once. */
static int proc_nap(const struct pair *p, struct out *o)
{
	usleep(p->a * 1000);
	return put(o, p->a);
}

/*
 * Procedures that misbehave on demand, for the fault campaign: the daemon
 * must die (or its watchdog must fire), the caller must get an errno, and
 * the supervisor must bring service back.
 */
static int proc_crash_segv(void)
{
	volatile int *nowhere = NULL;

	return *nowhere;
}

static int proc_spin_forever(void)
{
	volatile unsigned long spins = 0;

	for (;;)
		spins++;
	return 0;
}

/* Dies holding the kernel's counter lock: the kernel must release it. */
static int proc_lock_and_crash(void)
{
	int64_t counter;
	int err = sync_op(LPC_IOC_LOCK, "counter", &counter, sizeof(counter), 2000);

	if (err)
		return err;
	abort();
}

/* Holds the counter lock until killed from outside. */
static int proc_lock_and_hang(void)
{
	int64_t counter;
	int err = sync_op(LPC_IOC_LOCK, "counter", &counter, sizeof(counter), 2000);

	if (err)
		return err;
	for (;;)
		pause();
	return 0;
}

int lpc_user_dispatch(const char *proc, const void *args, unsigned int args_len,
		      void *result, unsigned int result_cap,
		      unsigned int *result_len, unsigned long long request_id)
{
	struct out o = { result, result_cap, result_len };
	struct pair p = { 0, 0 };
	static const char *const with_pair[] = {
		"sum_via_kernel", "mul", "nested", "bump_counter", "deep",
		"nap",
	};
	size_t i;

	serving = request_id;
	*result_len = 0;
	for (i = 0; i < sizeof(with_pair) / sizeof(with_pair[0]); i++) {
		if (strcmp(proc, with_pair[i]))
			continue;
		if (args_len != sizeof(p))
			return -EINVAL;
		memcpy(&p, args, sizeof(p));
	}
	if (!strcmp(proc, "nop"))
		return 0;
	if (!strcmp(proc, "hello"))
		return proc_hello(&o);
	if (!strcmp(proc, "sum_via_kernel"))
		return proc_sum_via_kernel(&p, &o);
	if (!strcmp(proc, "mul"))
		return proc_mul(&p, &o);
	if (!strcmp(proc, "nested"))
		return proc_nested(&p, &o);
	if (!strcmp(proc, "bump_counter"))
		return proc_bump_counter(&p, &o);
	if (!strcmp(proc, "kcounter"))
		return proc_kcounter(&o);
	if (!strcmp(proc, "sem_cycle"))
		return proc_sem_cycle(&o);
	if (!strcmp(proc, "kstate"))
		return proc_kstate(&o);
	if (!strcmp(proc, "hang"))
		return proc_hang();
	if (!strcmp(proc, "nap"))
		return proc_nap(&p, &o);
	if (!strcmp(proc, "deep"))
		return proc_deep(&p, &o);
	if (!strcmp(proc, "crash_segv"))
		return proc_crash_segv();
	if (!strcmp(proc, "crash_abort"))
		abort();
	if (!strcmp(proc, "spin_forever"))
		return proc_spin_forever();
	if (!strcmp(proc, "lock_and_crash"))
		return proc_lock_and_crash();
	if (!strcmp(proc, "lock_and_hang"))
		return proc_lock_and_hang();
	return -ENOENT;
}

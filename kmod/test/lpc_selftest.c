// SPDX-License-Identifier: GPL-2.0-only
/*
 * Uses the LPC core the way a generated kernel half does:
 * exports kernel functions, shares a lock-guarded counter and a semaphore
 * with the daemon, and runs "moved" initialisation when a daemon attaches.
 * The user-space side is test/qemu/progs/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/string.h>

#include "lpc_core.h"

struct st_pair {
	s64 a;
	s64 b;
};

/* Arguments of call_user: which user procedure to call, and its pair. */
struct st_call {
	char proc[32];
	struct st_pair pair;
};

struct st_state {
	s64 attaches;
	s64 greeting;
};

static struct lpc_dev *st_dev;
static atomic64_t st_attaches;
static atomic64_t st_greeting;
static s64 st_counter;

static struct lpc_lock st_locks[] = {
	{ .name = "counter", .data = &st_counter, .size = sizeof(st_counter) },
};

static struct lpc_sem st_sems[] = {
	{ .name = "ready", .initial = 0 },
};

static int st_add(struct lpc_dev *dev, const void *args, size_t len,
		  void *result, size_t rlen)
{
	const struct st_pair *p = args;
	s64 sum;

	if (len != sizeof(*p) || rlen < sizeof(sum))
		return -EINVAL;
	sum = p->a + p->b;
	memcpy(result, &sum, sizeof(sum));
	return sizeof(sum);
}

static int st_echo(struct lpc_dev *dev, const void *args, size_t len,
		   void *result, size_t rlen)
{
	size_t n = min(len, rlen);

	memcpy(result, args, n);
	return n;
}

/* Calls back into the daemon: the nested kernel->user->kernel->user path. */
static int st_call_user(struct lpc_dev *dev, const void *args, size_t len,
			void *result, size_t rlen)
{
	struct st_call c;

	if (len != sizeof(c))
		return -EINVAL;
	memcpy(&c, args, sizeof(c));
	c.proc[sizeof(c.proc) - 1] = '\0';
	return lpc_call_user(dev, c.proc, &c.pair, sizeof(c.pair), result,
			     rlen);
}

/* The kernel's view of the counter, taken under the shared lock. */
static int st_counter_get(struct lpc_dev *dev, const void *args, size_t len,
			  void *result, size_t rlen)
{
	s64 v;
	int err;

	if (rlen < sizeof(v))
		return -EINVAL;
	err = lpc_lock_acquire(&st_locks[0]);
	if (err)
		return err;
	v = st_counter;
	lpc_lock_release(&st_locks[0]);
	memcpy(result, &v, sizeof(v));
	return sizeof(v);
}

static int st_sem_up(struct lpc_dev *dev, const void *args, size_t len,
		     void *result, size_t rlen)
{
	return lpc_sem_up(&st_sems[0]);
}

static int st_sem_down(struct lpc_dev *dev, const void *args, size_t len,
		       void *result, size_t rlen)
{
	return lpc_sem_down(&st_sems[0]);
}

static int st_get_state(struct lpc_dev *dev, const void *args, size_t len,
			void *result, size_t rlen)
{
	struct st_state st = {
		.attaches = atomic64_read(&st_attaches),
		.greeting = atomic64_read(&st_greeting),
	};

	if (rlen < sizeof(st))
		return -EINVAL;
	memcpy(result, &st, sizeof(st));
	return sizeof(st);
}

static struct lpc_export st_exports[] = {
	{ .name = "add", .fn = st_add, .args_max = sizeof(struct st_pair),
	  .result_max = sizeof(s64) },
	{ .name = "echo", .fn = st_echo, .args_max = 4096, .result_max = 4096 },
	{ .name = "call_user", .fn = st_call_user,
	  .args_max = sizeof(struct st_call), .result_max = sizeof(s64) },
	{ .name = "counter", .fn = st_counter_get, .result_max = sizeof(s64) },
	{ .name = "sem_up", .fn = st_sem_up },
	{ .name = "sem_down", .fn = st_sem_down },
	{ .name = "state", .fn = st_get_state,
	  .result_max = sizeof(struct st_state) },
};

/* Stands in for initialisation moved to user space: asks the daemon. */
static void st_on_attach(struct lpc_dev *dev)
{
	s64 greeting;
	int ret;

	ret = lpc_call_user(dev, "hello", NULL, 0, &greeting, sizeof(greeting));
	if (ret != sizeof(greeting)) {
		pr_warn("daemon's hello failed: %d\n", ret);
		return;
	}
	atomic64_set(&st_greeting, greeting);
	atomic64_inc(&st_attaches);
}

static struct lpc_config st_config = {
	.name = "lpcselftest",
	.plan_hash = "split-driver lpc selftest plan",
	.exports = st_exports,
	.n_exports = ARRAY_SIZE(st_exports),
	.locks = st_locks,
	.n_locks = ARRAY_SIZE(st_locks),
	.sems = st_sems,
	.n_sems = ARRAY_SIZE(st_sems),
	.on_attach = st_on_attach,
};

static int __init st_init(void)
{
	st_dev = lpc_register(&st_config);
	return PTR_ERR_OR_ZERO(st_dev);
}

static void __exit st_exit(void)
{
	lpc_unregister(st_dev);
}

module_init(st_init);
module_exit(st_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Self-test of the split-driver LPC core");
MODULE_INFO(test, "Y");

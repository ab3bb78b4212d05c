/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel-internal API of the LPC core, used by the generated
 * kernel half of a split driver (and by the self-test module).
 *
 * The core is linked into the driver's module: one misc device
 * /dev/<name>_lpc per lpc_register(), served by one user-space daemon.
 */
#ifndef _LPC_CORE_H
#define _LPC_CORE_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/wait.h>
#include <linux/atomic.h>

#include "lpc_abi.h"

struct lpc_dev;

/*
 * struct lpc_export - a kernel function the daemon may run with EXEC.
 * @fn returns the number of result bytes written (at most @rlen) or -errno.
 * @args_max bounds the argument bytes EXEC accepts; @result_max bounds the
 * result buffer handed to @fn.  Only functions listed here can be executed.
 */
struct lpc_export {
	const char *name;
	int (*fn)(struct lpc_dev *dev, const void *args, size_t len,
		  void *result, size_t rlen);
	size_t args_max;
	size_t result_max;
	/* private to the core */
	struct hlist_node node;
};

/*
 * struct lpc_lock - a lock shared by both halves, guarding @size bytes at
 * @data.  Owner-less (a flag and a waitqueue), because the daemon holds it
 * across returns to user space; the core drops it if the daemon dies.
 */
struct lpc_lock {
	const char *name;
	void *data;
	size_t size;
	/* private to the core */
	unsigned long flags;
	wait_queue_head_t wait;
	struct hlist_node node;
};

/* struct lpc_sem - a counting semaphore both halves may up and down. */
struct lpc_sem {
	const char *name;
	int initial;
	/* private to the core */
	atomic_t count;
	wait_queue_head_t wait;
	struct hlist_node node;
};

/*
 * struct lpc_config - what a split driver gives lpc_register().  The arrays
 * must outlive the device.  @on_attach, if set, runs in process context
 * (from a workqueue) each time a daemon attaches, so that initialisation
 * moved to user space can run and the driver's own device can be registered
 * only once it has completed.
 */
struct lpc_config {
	const char *name;
	u8 plan_hash[LPC_PLAN_HASH_LEN];
	struct lpc_export *exports;
	unsigned int n_exports;
	struct lpc_lock *locks;
	unsigned int n_locks;
	struct lpc_sem *sems;
	unsigned int n_sems;
	void (*on_attach)(struct lpc_dev *dev);
};

struct lpc_dev *lpc_register(struct lpc_config *cfg);
void lpc_unregister(struct lpc_dev *dev);

/*
 * lpc_call_user() - run procedure @proc in the daemon.  Sleeps, killable,
 * for at most the module's call_timeout_ms.  Returns the number of result
 * bytes copied to @result (at most @rlen), the procedure's negative status,
 * or a transport error (see lpc_abi.h).
 */
int lpc_call_user(struct lpc_dev *dev, const char *proc, const void *args,
		  size_t len, void *result, size_t rlen);

int lpc_lock_acquire(struct lpc_lock *lk);
void lpc_lock_release(struct lpc_lock *lk);
int lpc_sem_down(struct lpc_sem *sem);
int lpc_sem_up(struct lpc_sem *sem);

#endif /* _LPC_CORE_H */

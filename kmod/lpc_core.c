// SPDX-License-Identifier: GPL-2.0-only
/*
 * Local procedure calls between a split driver's kernel half
 * and its user-space daemon, over the ioctls of lpc_abi.h.
 *
 * Fault handling follows fs/fuse/dev.c: a request is reference counted and
 * owned by whichever list holds it (pending queue, sent table) plus its
 * caller; a caller that gives up unlinks it so a late answer finds nothing;
 * closing the daemon's file aborts everything with -ECONNABORTED.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/capability.h>
#include <linux/device.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/kstrtox.h>
#include <linux/jiffies.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "lpc_core.h"

static unsigned int call_timeout_ms = 5000;
module_param(call_timeout_ms, uint, 0644);
MODULE_PARM_DESC(call_timeout_ms,
		 "Milliseconds a kernel-to-user call waits for its answer");

static bool wait_for_daemon = true;
module_param(wait_for_daemon, bool, 0644);
MODULE_PARM_DESC(wait_for_daemon,
		 "With no daemon attached, queue calls until the timeout (1) or fail them at once with -ENOTCONN (0)");

static unsigned int max_depth = 8;
module_param(max_depth, uint, 0644);
MODULE_PARM_DESC(max_depth, "Deepest kernel->user->kernel nesting allowed");

static unsigned int max_args = LPC_ARGS_MAX;
module_param(max_args, uint, 0644);
MODULE_PARM_DESC(max_args, "Largest argument or result buffer, in bytes (at most 65536)");

/* A request moves QUEUED -> SENDING -> SENT -> ANSWERING -> DONE. */
enum lpc_req_state {
	LPC_REQ_QUEUED,		/* on dev->pending, owned by the queue */
	LPC_REQ_SENDING,	/* being copied out by POLL, owned by it */
	LPC_REQ_SENT,		/* in dev->sent, owned by the table */
	LPC_REQ_ANSWERING,	/* being copied in by RESPONSE, owned by it */
	LPC_REQ_DONE,		/* result or error final */
};

struct lpc_req {
	refcount_t ref;
	struct list_head entry;
	struct hlist_node hnode;
	struct completion done;
	enum lpc_req_state state;
	bool abandoned;		/* caller gave up while SENDING/ANSWERING */
	u64 id;
	unsigned int depth;
	int error;		/* transport error */
	int status;		/* the procedure's return code */
	u32 len;
	u32 rcap;
	u32 rlen;
	char proc[LPC_NAME_MAX];
	u8 *result;
	u8 buf[];		/* arguments, then result */
};

/* A daemon worker running an exported function: sets its calls' depth. */
struct lpc_frame {
	struct list_head entry;
	struct task_struct *task;
	unsigned int depth;
};

struct lpc_session {
	struct lpc_dev *dev;
};

struct lpc_dev {
	struct miscdevice misc;
	struct lpc_config *cfg;
	char devname[LPC_NAME_MAX + 4];

	spinlock_t lock;		/* everything below up to attach_mutex */
	struct list_head pending;
	DECLARE_HASHTABLE(sent, 6);
	struct list_head frames;
	atomic_t waiting;		/* callers inside lpc_call() */
	struct lpc_session *daemon;
	u64 generation;
	u64 next_id;
	wait_queue_head_t pollers;	/* POLL ioctls wait here for requests */
	wait_queue_head_t waitq;	/* and poll() here */

	struct mutex attach_mutex;	/* serialises attach and detach */
	struct work_struct attach_work;

	/* read-only after lpc_register() */
	DECLARE_HASHTABLE(exports, 6);
	DECLARE_HASHTABLE(locks, 4);
	DECLARE_HASHTABLE(sems, 4);
};

#define LPC_LOCK_HELD	0	/* lpc_lock.flags: taken by either half */
#define LPC_LOCK_USER	1	/* lpc_lock.flags: taken by the daemon */

static u32 lpc_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

static u32 lpc_max_args(void)
{
	return min_t(u32, READ_ONCE(max_args), LPC_ARGS_MAX);
}

static long lpc_timeout_jiffies(u32 ms)
{
	return ms ? (long)msecs_to_jiffies(ms) : MAX_SCHEDULE_TIMEOUT;
}

static struct lpc_export *lpc_find_export(struct lpc_dev *dev, const char *name)
{
	struct lpc_export *e;

	hash_for_each_possible(dev->exports, e, node, lpc_name_hash(name))
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

static struct lpc_lock *lpc_find_lock(struct lpc_dev *dev, const char *name)
{
	struct lpc_lock *lk;

	hash_for_each_possible(dev->locks, lk, node, lpc_name_hash(name))
		if (!strcmp(lk->name, name))
			return lk;
	return NULL;
}

static struct lpc_sem *lpc_find_sem(struct lpc_dev *dev, const char *name)
{
	struct lpc_sem *sem;

	hash_for_each_possible(dev->sems, sem, node, lpc_name_hash(name))
		if (!strcmp(sem->name, name))
			return sem;
	return NULL;
}

static void lpc_req_put(struct lpc_req *req)
{
	if (refcount_dec_and_test(&req->ref))
		kvfree(req);
}

/* Called with dev->lock held. */
static struct lpc_req *lpc_find_sent(struct lpc_dev *dev, u64 id)
{
	struct lpc_req *req;

	hash_for_each_possible(dev->sent, req, hnode, id)
		if (req->id == id)
			return req;
	return NULL;
}

/* Called with dev->lock held. */
static unsigned int lpc_current_depth(struct lpc_dev *dev)
{
	struct lpc_frame *f;

	list_for_each_entry(f, &dev->frames, entry)
		if (f->task == current)
			return f->depth;
	return 0;
}

/*
 * Fail every queued and sent request with @err.  Requests being copied by
 * POLL or RESPONSE are on neither list; they finish normally.
 */
static void lpc_abort_all(struct lpc_dev *dev, int err)
{
	struct lpc_req *req, *tmp;
	struct hlist_node *htmp;
	LIST_HEAD(victims);
	int bkt;

	spin_lock(&dev->lock);
	list_splice_init(&dev->pending, &victims);
	hash_for_each_safe(dev->sent, bkt, htmp, req, hnode) {
		hash_del(&req->hnode);
		list_add_tail(&req->entry, &victims);
	}
	list_for_each_entry(req, &victims, entry) {
		req->state = LPC_REQ_DONE;
		req->error = err;
	}
	spin_unlock(&dev->lock);

	list_for_each_entry_safe(req, tmp, &victims, entry) {
		list_del(&req->entry);
		complete(&req->done);
		lpc_req_put(req);
	}
}

static bool lpc_has_pending(struct lpc_dev *dev)
{
	return !list_empty_careful(&dev->pending);
}

/* A request is pending: wake one POLL ioctl, and every poll(). */
static void lpc_wake(struct lpc_dev *dev)
{
	wake_up(&dev->pollers);
	wake_up(&dev->waitq);
}

/*
 * Wait up to @timeout jiffies for a pending request, as an exclusive waiter
 * at the head of dev->pollers: a request wakes one POLL, the one that slept
 * last, whose code and data are the warmest in the caches; the others sleep
 * on.  A waiter that leaves without a request (signal, timeout) passes its
 * wake-up on.  Returns what wait_event_interruptible_timeout() would.
 */
static long lpc_wait_pending(struct lpc_dev *dev, long timeout)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long ret = timeout;

	wait.flags |= WQ_FLAG_EXCLUSIVE;
	spin_lock_irq(&dev->pollers.lock);
	__add_wait_queue(&dev->pollers, &wait);
	spin_unlock_irq(&dev->pollers.lock);
	for (;;) {
		if (lpc_has_pending(dev)) {
			ret = max(ret, 1L);
			break;
		}
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (!ret)
			break;
		ret = wait_woken(&wait, TASK_INTERRUPTIBLE, ret);
	}
	remove_wait_queue(&dev->pollers, &wait);
	if (ret <= 0 && lpc_has_pending(dev))
		wake_up(&dev->pollers);
	return ret;
}

/*
 * Send @proc to the daemon and wait for its answer.  Returns 0 with the
 * procedure's status and result length, or a transport error.
 */
static int lpc_call(struct lpc_dev *dev, const char *proc, const void *args,
		    u32 len, void *result, u32 rcap, u32 *rlen, int *status)
{
	struct lpc_req *req;
	unsigned int depth;
	long left, timeout;
	int err = 0;

	if (strnlen(proc, LPC_NAME_MAX) >= LPC_NAME_MAX ||
	    len > lpc_max_args() || rcap > lpc_max_args())
		return -EINVAL;

	/*
	 * Only the header is cleared: the result space is read back only as
	 * far as the daemon wrote it, and clearing a large capacity on every
	 * call would cost more than the call.
	 */
	req = kvmalloc(struct_size(req, buf, (size_t)len + rcap), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	memset(req, 0, sizeof(*req));
	refcount_set(&req->ref, 2);	/* the caller's and the queue's */
	init_completion(&req->done);
	strscpy(req->proc, proc, sizeof(req->proc));
	req->len = len;
	req->rcap = rcap;
	req->result = req->buf + len;
	if (len)
		memcpy(req->buf, args, len);

	spin_lock(&dev->lock);
	depth = lpc_current_depth(dev) + 1;
	if (depth > READ_ONCE(max_depth))
		err = -ELOOP;
	else if (!dev->daemon && !READ_ONCE(wait_for_daemon))
		err = -ENOTCONN;
	if (err) {
		spin_unlock(&dev->lock);
		kvfree(req);
		return err;
	}
	req->depth = depth;
	req->id = ++dev->next_id;
	req->state = LPC_REQ_QUEUED;
	list_add_tail(&req->entry, &dev->pending);
	spin_unlock(&dev->lock);
	atomic_inc(&dev->waiting);
	lpc_wake(dev);

	timeout = lpc_timeout_jiffies(READ_ONCE(call_timeout_ms));
	left = wait_for_completion_killable_timeout(&req->done, timeout);
	if (left <= 0) {
		err = left ? -EINTR : -ETIMEDOUT;
		spin_lock(&dev->lock);
		switch (req->state) {
		case LPC_REQ_QUEUED:
			list_del(&req->entry);
			refcount_dec(&req->ref);
			req->state = LPC_REQ_DONE;
			break;
		case LPC_REQ_SENT:
			hash_del(&req->hnode);
			refcount_dec(&req->ref);
			req->state = LPC_REQ_DONE;
			break;
		case LPC_REQ_SENDING:
		case LPC_REQ_ANSWERING:
			/* POLL or RESPONSE holds it and drops it when done */
			req->abandoned = true;
			break;
		case LPC_REQ_DONE:
			err = 0;	/* answered while the wait ended */
			break;
		}
		spin_unlock(&dev->lock);
	}
	if (!err) {
		err = req->error;
		*status = req->status;
		*rlen = req->rlen;
		if (!err && req->rlen)
			memcpy(result, req->result, req->rlen);
	}
	lpc_req_put(req);
	atomic_dec(&dev->waiting);
	return err;
}

int lpc_call_user(struct lpc_dev *dev, const char *proc, const void *args,
		  size_t len, void *result, size_t rlen)
{
	u32 got = 0;
	int status = 0;
	int err;

	if (len > LPC_ARGS_MAX || rlen > LPC_ARGS_MAX)
		return -EINVAL;
	err = lpc_call(dev, proc, args, len, result, rlen, &got, &status);
	if (err)
		return err;
	return status < 0 ? status : got;
}

static bool lpc_lock_try(struct lpc_lock *lk)
{
	return !test_and_set_bit_lock(LPC_LOCK_HELD, &lk->flags);
}

int lpc_lock_acquire(struct lpc_lock *lk)
{
	return wait_event_killable(lk->wait, lpc_lock_try(lk));
}

void lpc_lock_release(struct lpc_lock *lk)
{
	clear_bit_unlock(LPC_LOCK_HELD, &lk->flags);
	wake_up(&lk->wait);
}

static bool lpc_sem_try(struct lpc_sem *sem)
{
	return atomic_add_unless(&sem->count, -1, 0);
}

int lpc_sem_down(struct lpc_sem *sem)
{
	return wait_event_killable(sem->wait, lpc_sem_try(sem));
}

int lpc_sem_up(struct lpc_sem *sem)
{
	if (!atomic_add_unless(&sem->count, 1, INT_MAX))
		return -EOVERFLOW;
	wake_up(&sem->wait);
	return 0;
}

static bool lpc_is_daemon(struct lpc_session *s)
{
	return READ_ONCE(s->dev->daemon) == s;
}

/* Copy an ioctl's lpc_msg from user space and check its fixed fields. */
static int lpc_get_msg(struct lpc_msg *m, const struct lpc_msg __user *um,
		       bool named)
{
	if (copy_from_user(m, um, sizeof(*m)))
		return -EFAULT;
	if (m->flags || m->reserved[0] || m->reserved[1])
		return -EINVAL;
	if (named && strnlen(m->proc, LPC_NAME_MAX) >= LPC_NAME_MAX)
		return -EINVAL;
	return 0;
}

/* The same for an lpc_sync, whose name is always required. */
static int lpc_get_sync(struct lpc_sync *sy, const struct lpc_sync __user *us)
{
	if (copy_from_user(sy, us, sizeof(*sy)))
		return -EFAULT;
	if (sy->flags || sy->pad || sy->reserved[0] || sy->reserved[1] ||
	    strnlen(sy->name, LPC_NAME_MAX) >= LPC_NAME_MAX)
		return -EINVAL;
	return 0;
}

static void lpc_attach_work(struct work_struct *work)
{
	struct lpc_dev *dev = container_of(work, struct lpc_dev, attach_work);

	dev->cfg->on_attach(dev);
}

static long lpc_ioc_attach(struct lpc_session *s, struct lpc_attach __user *ua)
{
	struct lpc_dev *dev = s->dev;
	struct lpc_attach a;
	int err = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&a, ua, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.reserved[0] || a.reserved[1])
		return -EINVAL;
	if (a.abi_version != LPC_ABI_VERSION)
		return -EPROTONOSUPPORT;
	if (memcmp(a.plan_hash, dev->cfg->plan_hash, LPC_PLAN_HASH_LEN))
		return -EPROTO;

	mutex_lock(&dev->attach_mutex);
	if (READ_ONCE(dev->daemon)) {
		err = -EBUSY;
		goto out;
	}
	/* Report first, so that a bad pointer leaves nothing attached. */
	a.generation = dev->generation + 1;
	a.max_args = lpc_max_args();
	a.max_depth = READ_ONCE(max_depth);
	if (copy_to_user(ua, &a, sizeof(a))) {
		err = -EFAULT;
		goto out;
	}
	spin_lock(&dev->lock);
	dev->generation++;
	WRITE_ONCE(dev->daemon, s);
	spin_unlock(&dev->lock);
	pr_debug("%s: daemon attached, generation %llu\n", dev->devname,
		 dev->generation);
	if (dev->cfg->on_attach)
		queue_work(system_long_wq, &dev->attach_work);
out:
	mutex_unlock(&dev->attach_mutex);
	return err;
}

static void lpc_detach(struct lpc_session *s)
{
	struct lpc_dev *dev = s->dev;
	unsigned int i;

	mutex_lock(&dev->attach_mutex);
	spin_lock(&dev->lock);
	WRITE_ONCE(dev->daemon, NULL);
	dev->generation++;	/* answers from the old session are stale */
	spin_unlock(&dev->lock);
	lpc_abort_all(dev, -ECONNABORTED);
	for (i = 0; i < dev->cfg->n_locks; i++) {
		struct lpc_lock *lk = &dev->cfg->locks[i];

		if (test_and_clear_bit(LPC_LOCK_USER, &lk->flags))
			lpc_lock_release(lk);
	}
	mutex_unlock(&dev->attach_mutex);
	pr_debug("%s: daemon detached\n", dev->devname);
}

/* Put a request POLL could not deliver back at the head of the queue. */
static void lpc_requeue(struct lpc_dev *dev, struct lpc_req *req)
{
	spin_lock(&dev->lock);
	if (req->abandoned) {
		req->state = LPC_REQ_DONE;
		spin_unlock(&dev->lock);
		lpc_req_put(req);
		return;
	}
	req->state = LPC_REQ_QUEUED;
	list_add(&req->entry, &dev->pending);
	spin_unlock(&dev->lock);
	lpc_wake(dev);
}

/* A fresh POLL header for the daemon, with the inputs it gave written back. */
static void lpc_keep_inputs(struct lpc_msg *out, const struct lpc_msg *in)
{
	memset(out, 0, sizeof(*out));
	out->args = in->args;
	out->args_cap = in->args_cap;
	out->result = in->result;
	out->timeout_ms = in->timeout_ms;
}

/*
 * POLL's work, for the checked @in: hand the next request to the daemon,
 * writing its header to @um with the inputs (@args, @args_cap, @result,
 * @timeout_ms) unchanged, so that a thread can reuse the struct as it is.
 */
static long lpc_next(struct lpc_dev *dev, struct file *file,
		     const struct lpc_msg *in, struct lpc_msg __user *um)
{
	struct lpc_msg out;
	struct lpc_req *req;
	long left;

	left = lpc_timeout_jiffies(in->timeout_ms);
	for (;;) {
		spin_lock(&dev->lock);
		req = list_first_entry_or_null(&dev->pending, struct lpc_req,
					       entry);
		if (req && req->len > in->args_cap) {
			u32 need = req->len;

			spin_unlock(&dev->lock);
			lpc_wake(dev);	/* perhaps another thread has room */
			lpc_keep_inputs(&out, in);
			out.args_len = need;
			if (copy_to_user(um, &out, sizeof(out)))
				return -EFAULT;
			return -EMSGSIZE;
		}
		if (req) {
			list_del(&req->entry);
			req->state = LPC_REQ_SENDING;
			spin_unlock(&dev->lock);
		} else {
			spin_unlock(&dev->lock);
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			left = lpc_wait_pending(dev, left);
			if (left < 0)
				return left;
			if (!left)
				return -ETIMEDOUT;
			continue;
		}

		lpc_keep_inputs(&out, in);
		out.id = req->id;
		out.args_len = req->len;
		out.result_cap = req->rcap;
		out.depth = req->depth;
		memcpy(out.proc, req->proc, sizeof(out.proc));
		if ((req->len && copy_to_user(u64_to_user_ptr(in->args), req->buf,
					      req->len))) {
			lpc_requeue(dev, req);
			return -EFAULT;
		}

		spin_lock(&dev->lock);
		out.generation = dev->generation;
		if (req->abandoned) {
			/* its caller is gone: serve the next one instead */
			req->state = LPC_REQ_DONE;
			spin_unlock(&dev->lock);
			lpc_req_put(req);
			continue;
		}
		req->state = LPC_REQ_SENT;
		hash_add(dev->sent, &req->hnode, req->id);
		spin_unlock(&dev->lock);

		/* A lost header is like a lost answer: the caller times out. */
		if (copy_to_user(um, &out, sizeof(out)))
			return -EFAULT;
		return 0;
	}
}

static long lpc_ioc_poll(struct lpc_session *s, struct file *file,
			 struct lpc_msg __user *um)
{
	struct lpc_msg in;
	int err;

	err = lpc_get_msg(&in, um, false);
	if (err)
		return err;
	return lpc_next(s->dev, file, &in, um);
}

/* RESPONSE's work, for the checked @m: complete request @m->id. */
static int lpc_answer(struct lpc_dev *dev, const struct lpc_msg *m)
{
	struct lpc_req *req;
	int err = 0;

	if (m->status > 0 || m->status < -MAX_ERRNO)
		return -EINVAL;

	spin_lock(&dev->lock);
	if (m->generation != dev->generation) {
		spin_unlock(&dev->lock);
		return -ESTALE;
	}
	req = lpc_find_sent(dev, m->id);
	if (!req) {
		spin_unlock(&dev->lock);
		return -ENOENT;
	}
	if (m->result_len > req->rcap) {
		spin_unlock(&dev->lock);
		return -EINVAL;
	}
	hash_del(&req->hnode);
	req->state = LPC_REQ_ANSWERING;	/* the table's reference is ours */
	spin_unlock(&dev->lock);

	if (m->result_len && copy_from_user(req->result,
					    u64_to_user_ptr(m->result),
					    m->result_len)) {
		req->error = -EFAULT;
		err = -EFAULT;
	} else {
		req->status = m->status;
		req->rlen = m->result_len;
	}

	spin_lock(&dev->lock);
	req->state = LPC_REQ_DONE;
	spin_unlock(&dev->lock);
	complete(&req->done);
	lpc_req_put(req);
	return err;
}

static long lpc_ioc_response(struct lpc_session *s, struct lpc_msg __user *um)
{
	struct lpc_msg m;
	int err;

	err = lpc_get_msg(&m, um, false);
	if (err)
		return err;
	return lpc_answer(s->dev, &m);
}

/*
 * RESPONSE_POLL: RESPONSE of @id (none if 0), then POLL into the same
 * struct: one system call per request for a thread that goes on serving.
 * An answer refused stops it before polling.  Once the answer is in, a
 * signal ends the wait with EINTR rather than a restart, which would send
 * the answer again.
 */
static long lpc_ioc_response_poll(struct lpc_session *s, struct file *file,
				  struct lpc_msg __user *um)
{
	struct lpc_msg m;
	long err;

	err = lpc_get_msg(&m, um, false);
	if (err)
		return err;
	if (m.id) {
		err = lpc_answer(s->dev, &m);
		if (err)
			return err;
	}
	err = lpc_next(s->dev, file, &m, um);
	return m.id && err == -ERESTARTSYS ? -EINTR : err;
}

static long lpc_ioc_exec(struct lpc_session *s, struct lpc_msg __user *um)
{
	struct lpc_dev *dev = s->dev;
	struct lpc_frame frame = { .task = current };
	struct lpc_export *e;
	struct lpc_req *parent;
	void *args = NULL, *result = NULL;
	struct lpc_msg m;
	size_t rcap;
	int ret;

	ret = lpc_get_msg(&m, um, true);
	if (ret)
		return ret;
	e = lpc_find_export(dev, m.proc);
	if (!e)
		return -ENOENT;
	if (m.args_len > e->args_max || m.result_cap > lpc_max_args())
		return -EINVAL;
	rcap = min_t(size_t, m.result_cap, e->result_max);

	args = kvmalloc(max_t(size_t, m.args_len, 1), GFP_KERNEL);
	result = kvzalloc(max_t(size_t, rcap, 1), GFP_KERNEL);
	if (!args || !result) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(args, u64_to_user_ptr(m.args), m.args_len)) {
		ret = -EFAULT;
		goto out;
	}

	spin_lock(&dev->lock);
	parent = m.id ? lpc_find_sent(dev, m.id) : NULL;
	frame.depth = parent ? parent->depth : 0;
	list_add(&frame.entry, &dev->frames);
	spin_unlock(&dev->lock);

	ret = e->fn(dev, args, m.args_len, result, rcap);

	spin_lock(&dev->lock);
	list_del(&frame.entry);
	spin_unlock(&dev->lock);

	m.status = ret < 0 ? ret : 0;
	m.result_len = ret < 0 ? 0 : min_t(size_t, ret, rcap);
	ret = 0;
	if (m.result_len && copy_to_user(u64_to_user_ptr(m.result), result,
					 m.result_len))
		ret = -EFAULT;
	else if (copy_to_user(um, &m, sizeof(m)))
		ret = -EFAULT;
out:
	kvfree(args);
	kvfree(result);
	return ret;
}

static long lpc_ioc_request(struct lpc_session *s, struct lpc_msg __user *um)
{
	void *args = NULL, *result = NULL;
	struct lpc_msg m;
	int status = 0;
	u32 rlen = 0;
	int ret;

	ret = lpc_get_msg(&m, um, true);
	if (ret)
		return ret;
	if (m.args_len > lpc_max_args() || m.result_cap > lpc_max_args())
		return -EINVAL;

	args = kvmalloc(max_t(size_t, m.args_len, 1), GFP_KERNEL);
	/* Copied out only as far as the daemon's answer filled it. */
	result = kvmalloc(max_t(size_t, m.result_cap, 1), GFP_KERNEL);
	if (!args || !result) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(args, u64_to_user_ptr(m.args), m.args_len)) {
		ret = -EFAULT;
		goto out;
	}
	ret = lpc_call(s->dev, m.proc, args, m.args_len, result, m.result_cap,
		       &rlen, &status);
	if (ret)
		goto out;
	m.status = status;
	m.result_len = rlen;
	if (rlen && copy_to_user(u64_to_user_ptr(m.result), result, rlen))
		ret = -EFAULT;
	else if (copy_to_user(um, &m, sizeof(m)))
		ret = -EFAULT;
out:
	kvfree(args);
	kvfree(result);
	return ret;
}

static long lpc_ioc_lock(struct lpc_session *s, struct lpc_sync __user *us)
{
	struct lpc_lock *lk;
	struct lpc_sync sy;
	long ret;

	ret = lpc_get_sync(&sy, us);
	if (ret)
		return ret;
	lk = lpc_find_lock(s->dev, sy.name);
	if (!lk)
		return -ENOENT;
	if (sy.data_len < lk->size) {
		sy.data_len = lk->size;
		if (copy_to_user(us, &sy, sizeof(sy)))
			return -EFAULT;
		return -EMSGSIZE;
	}

	ret = wait_event_killable_timeout(lk->wait, lpc_lock_try(lk),
					  lpc_timeout_jiffies(sy.timeout_ms));
	if (ret < 0)
		return ret;
	if (!ret)
		return -ETIMEDOUT;

	sy.data_len = lk->size;
	if (copy_to_user(u64_to_user_ptr(sy.data), lk->data, lk->size) ||
	    copy_to_user(us, &sy, sizeof(sy))) {
		lpc_lock_release(lk);
		return -EFAULT;
	}
	set_bit(LPC_LOCK_USER, &lk->flags);
	return 0;
}

static long lpc_ioc_unlock(struct lpc_session *s, struct lpc_sync __user *us)
{
	struct lpc_lock *lk;
	struct lpc_sync sy;
	void *copy = NULL;
	int ret;

	ret = lpc_get_sync(&sy, us);
	if (ret)
		return ret;
	lk = lpc_find_lock(s->dev, sy.name);
	if (!lk)
		return -ENOENT;
	if (sy.data_len && sy.data_len != lk->size)
		return -EINVAL;
	if (sy.data_len) {
		/* copy first: a fault must not leave the data half written */
		copy = memdup_user(u64_to_user_ptr(sy.data), sy.data_len);
		if (IS_ERR(copy))
			return PTR_ERR(copy);
	}
	if (!test_and_clear_bit(LPC_LOCK_USER, &lk->flags)) {
		kfree(copy);
		return -ENOLCK;
	}
	if (copy)
		memcpy(lk->data, copy, lk->size);
	lpc_lock_release(lk);
	kfree(copy);
	return 0;
}

static long lpc_ioc_sem(struct lpc_session *s, struct lpc_sync __user *us,
			bool up)
{
	struct lpc_sem *sem;
	struct lpc_sync sy;
	long ret;

	ret = lpc_get_sync(&sy, us);
	if (ret)
		return ret;
	sem = lpc_find_sem(s->dev, sy.name);
	if (!sem)
		return -ENOENT;
	if (up)
		return lpc_sem_up(sem);
	ret = wait_event_killable_timeout(sem->wait, lpc_sem_try(sem),
					  lpc_timeout_jiffies(sy.timeout_ms));
	if (ret < 0)
		return ret;
	return ret ? 0 : -ETIMEDOUT;
}

static long lpc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct lpc_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case LPC_IOC_ATTACH:
		return lpc_ioc_attach(s, uarg);
	case LPC_IOC_REQUEST:
		return lpc_ioc_request(s, uarg);
	case LPC_IOC_POLL:
	case LPC_IOC_RESPONSE:
	case LPC_IOC_RESPONSE_POLL:
	case LPC_IOC_EXEC:
	case LPC_IOC_LOCK:
	case LPC_IOC_UNLOCK:
	case LPC_IOC_UP:
	case LPC_IOC_DOWN:
		break;
	default:
		return -ENOTTY;
	}

	if (!lpc_is_daemon(s))
		return -EPERM;
	switch (cmd) {
	case LPC_IOC_POLL:
		return lpc_ioc_poll(s, file, uarg);
	case LPC_IOC_RESPONSE:
		return lpc_ioc_response(s, uarg);
	case LPC_IOC_RESPONSE_POLL:
		return lpc_ioc_response_poll(s, file, uarg);
	case LPC_IOC_EXEC:
		return lpc_ioc_exec(s, uarg);
	case LPC_IOC_LOCK:
		return lpc_ioc_lock(s, uarg);
	case LPC_IOC_UNLOCK:
		return lpc_ioc_unlock(s, uarg);
	case LPC_IOC_UP:
		return lpc_ioc_sem(s, uarg, true);
	default:
		return lpc_ioc_sem(s, uarg, false);
	}
}

static __poll_t lpc_poll(struct file *file, poll_table *wait)
{
	struct lpc_session *s = file->private_data;
	struct lpc_dev *dev = s->dev;

	if (!lpc_is_daemon(s))
		return EPOLLERR;
	poll_wait(file, &dev->waitq, wait);
	return lpc_has_pending(dev) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int lpc_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct lpc_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->dev = container_of(misc, struct lpc_dev, misc);
	file->private_data = s;
	return nonseekable_open(inode, file);
}

static int lpc_release(struct inode *inode, struct file *file)
{
	struct lpc_session *s = file->private_data;

	if (lpc_is_daemon(s))
		lpc_detach(s);
	kfree(s);
	return 0;
}

/*
 * Operator's escape hatch, as in /sys/fs/fuse/connections/N/: "waiting" is
 * the number of callers waiting for the daemon (non-zero and not moving
 * means it hangs); writing 1 to "abort" fails them all with -ECONNABORTED.
 */
static struct lpc_dev *lpc_from_device(struct device *d)
{
	struct miscdevice *misc = dev_get_drvdata(d);

	return container_of(misc, struct lpc_dev, misc);
}

static ssize_t waiting_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&lpc_from_device(d)->waiting));
}
static DEVICE_ATTR_RO(waiting);

static ssize_t abort_store(struct device *d, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	bool yes;

	if (kstrtobool(buf, &yes))
		return -EINVAL;
	if (yes)
		lpc_abort_all(lpc_from_device(d), -ECONNABORTED);
	return count;
}
static DEVICE_ATTR_WO(abort);

static struct attribute *lpc_attrs[] = {
	&dev_attr_waiting.attr,
	&dev_attr_abort.attr,
	NULL,
};
ATTRIBUTE_GROUPS(lpc);

static const struct file_operations lpc_fops = {
	.owner = THIS_MODULE,
	.open = lpc_open,
	.release = lpc_release,
	.unlocked_ioctl = lpc_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = lpc_poll,
	.llseek = no_llseek,
};

struct lpc_dev *lpc_register(struct lpc_config *cfg)
{
	struct lpc_dev *dev;
	unsigned int i;
	int err;

	BUILD_BUG_ON(sizeof(struct lpc_attach) != 72);
	BUILD_BUG_ON(sizeof(struct lpc_msg) != 144);
	BUILD_BUG_ON(sizeof(struct lpc_sync) != 104);

	if (!cfg->name || strlen(cfg->name) >= LPC_NAME_MAX)
		return ERR_PTR(-EINVAL);
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev->cfg = cfg;
	snprintf(dev->devname, sizeof(dev->devname), "%s_lpc", cfg->name);
	spin_lock_init(&dev->lock);
	INIT_LIST_HEAD(&dev->pending);
	INIT_LIST_HEAD(&dev->frames);
	hash_init(dev->sent);
	hash_init(dev->exports);
	hash_init(dev->locks);
	hash_init(dev->sems);
	init_waitqueue_head(&dev->pollers);
	init_waitqueue_head(&dev->waitq);
	mutex_init(&dev->attach_mutex);
	INIT_WORK(&dev->attach_work, lpc_attach_work);

	err = -EINVAL;
	for (i = 0; i < cfg->n_exports; i++) {
		struct lpc_export *e = &cfg->exports[i];

		if (strlen(e->name) >= LPC_NAME_MAX || lpc_find_export(dev, e->name) ||
		    e->args_max > LPC_ARGS_MAX || e->result_max > LPC_ARGS_MAX)
			goto fail;
		hash_add(dev->exports, &e->node, lpc_name_hash(e->name));
	}
	for (i = 0; i < cfg->n_locks; i++) {
		struct lpc_lock *lk = &cfg->locks[i];

		if (strlen(lk->name) >= LPC_NAME_MAX || lpc_find_lock(dev, lk->name) ||
		    lk->size > LPC_ARGS_MAX)
			goto fail;
		lk->flags = 0;
		init_waitqueue_head(&lk->wait);
		hash_add(dev->locks, &lk->node, lpc_name_hash(lk->name));
	}
	for (i = 0; i < cfg->n_sems; i++) {
		struct lpc_sem *sem = &cfg->sems[i];

		if (strlen(sem->name) >= LPC_NAME_MAX || lpc_find_sem(dev, sem->name) ||
		    sem->initial < 0)
			goto fail;
		atomic_set(&sem->count, sem->initial);
		init_waitqueue_head(&sem->wait);
		hash_add(dev->sems, &sem->node, lpc_name_hash(sem->name));
	}

	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = dev->devname;
	dev->misc.fops = &lpc_fops;
	dev->misc.mode = 0600;
	dev->misc.groups = lpc_groups;
	err = misc_register(&dev->misc);
	if (err)
		goto fail;
	return dev;
fail:
	kfree(dev);
	return ERR_PTR(err);
}

/*
 * Called from module exit, when no file of the device is open any more (the
 * fops hold a module reference); the driver must have stopped its own
 * callers of lpc_call_user() first.
 */
void lpc_unregister(struct lpc_dev *dev)
{
	misc_deregister(&dev->misc);
	cancel_work_sync(&dev->attach_work);
	lpc_abort_all(dev, -ENODEV);
	kfree(dev);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * lpc_serve.c - the daemon's one-call path into a user half, linked into
 * every user-half library beside its lpc_user_dispatch().
 *
 * lpc_user_serve() runs the request a daemon thread polled, answers it and
 * polls the next one in one RESPONSE_POLL.  The TypeScript daemon thus
 * crosses into native code once per request rather than twice (dispatch,
 * then the ioctl), and no JavaScript runs between a procedure's end and its
 * answer.  Under emulation each crossing costs tens of microseconds of cold
 * FFI code, as much as the rest of the round trip (bench/kernel-report.md).
 * The daemon keeps every decision: which requests come here, and when a
 * thread stops serving this way (udaemon/worker.ts).
 */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <time.h>

#include "lpc_abi.h"

/* The largest errno: a status below its negation is no errno. */
#define LPC_MAX_ERRNO	4095

int lpc_user_dispatch(const char *proc, const void *args,
		      unsigned int args_len, void *result,
		      unsigned int result_cap, unsigned int *result_len,
		      unsigned long long request_id);

/*
 * struct lpc_serve - one daemon thread's serving state, in native memory
 * the daemon owns; udaemon/worker.ts mirrors the layout.
 * @msg:        address of the thread's struct lpc_msg: the polled request
 *              on entry, the next one on return.
 * @busy:       address of the thread's busy count in the daemon's control
 *              block (an int32 in shared memory), odd while a procedure
 *              runs, which the daemon's watchdog reads.
 * @fd:         the attached device.
 * @result_cap: capacity of the buffer @msg's result points to.
 * @timed:      in: non-zero to time the procedure into @elapsed_ns.
 * @status:     out: what the procedure returned.
 * @result_len: out: the result bytes it reported.
 * @elapsed_ns: out, if @timed: how long it ran.
 */
struct lpc_serve {
	uint64_t msg;
	uint64_t busy;
	int32_t fd;
	uint32_t result_cap;
	uint32_t timed;
	int32_t status;
	uint32_t result_len;
	uint32_t pad;
	uint64_t elapsed_ns;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * Returns 0 with the next request in @s->msg, or the errno of the
 * RESPONSE_POLL: ENOENT or ESTALE if the answer was refused (nothing was
 * polled), ETIMEDOUT or EINTR if it went out and no request came.
 */
__attribute__((visibility("default"))) int lpc_user_serve(struct lpc_serve *s)
{
	struct lpc_msg *m = (struct lpc_msg *)(uintptr_t)s->msg;
	int *busy = (int *)(uintptr_t)s->busy;
	unsigned int cap = m->result_cap < s->result_cap ? m->result_cap : s->result_cap;
	unsigned int len = 0;
	uint64_t t0 = s->timed ? now_ns() : 0;
	int status;

	__atomic_add_fetch(busy, 1, __ATOMIC_SEQ_CST);
	status = lpc_user_dispatch(m->proc, (const void *)(uintptr_t)m->args,
				   m->args_len, (void *)(uintptr_t)m->result,
				   cap, &len, m->id);
	__atomic_add_fetch(busy, 1, __ATOMIC_SEQ_CST);
	if (s->timed)
		s->elapsed_ns = now_ns() - t0;
	s->status = status;
	s->result_len = len;
	/* A procedure that breaks the contract answers EPROTO; the daemon says why. */
	if (status > 0 || status < -LPC_MAX_ERRNO || len > cap)
		status = -EPROTO;
	m->status = status;
	m->result_len = status < 0 ? 0 : len;
	return ioctl(s->fd, LPC_IOC_RESPONSE_POLL, m) < 0 ? errno : 0;
}

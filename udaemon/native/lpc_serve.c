// SPDX-License-Identifier: GPL-2.0-only
/*
 * lpc_serve.c - the daemon's native serving loop, linked into every
 * user-half library beside its lpc_user_dispatch().
 *
 * lpc_user_serve() runs the request a daemon thread polled, answers it and
 * polls the next one in one RESPONSE_POLL, and goes on doing so while the
 * next request is for the same procedure and the daemon would let this
 * thread serve it (the conditions of inlineEntry() in udaemon/worker.ts).
 * Under emulation each crossing between JavaScript and native code costs
 * tens of microseconds of cold FFI code, as much as the rest of the round
 * trip (bench/kernel-report.md): a busy procedure's requests then cost the
 * TypeScript daemon one crossing per run rather than one or two each.
 * The daemon keeps every decision: which procedure a run starts with, how
 * long a run may be, and what happens after it (metrics, logging).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "lpc_abi.h"
#include "lpc_serve.h"

/* The largest errno: a status below its negation is no errno. */
#define LPC_MAX_ERRNO	4095

int lpc_user_dispatch(const char *proc, const void *args,
		      unsigned int args_len, void *result,
		      unsigned int result_cap, unsigned int *result_len,
		      unsigned long long request_id);

#define WORD(addr)	((int *)(uintptr_t)(addr))

static int load(uint64_t addr)
{
	return __atomic_load_n(WORD(addr), __ATOMIC_SEQ_CST);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Runs the request in @m, answers it and polls the next: the RESPONSE_POLL's errno, or 0. */
static int serve_one(struct lpc_serve *s, struct lpc_msg *m, int timed,
		     uint64_t *first, uint64_t *end)
{
	uint32_t *id = (uint32_t *)(uintptr_t)s->id;
	unsigned int cap = m->result_cap < s->result_cap ? m->result_cap : s->result_cap;
	unsigned int len = 0;
	uint64_t t0 = timed ? now_ns() : 0;
	int status, rc;

	id[0] = (uint32_t)m->id;
	id[1] = (uint32_t)(m->id >> 32);
	/* Publishes the id to a watchdog that sees the odd count. */
	__atomic_add_fetch(WORD(s->busy), 1, __ATOMIC_SEQ_CST);
	status = lpc_user_dispatch(m->proc, (const void *)(uintptr_t)m->args,
				   m->args_len, (void *)(uintptr_t)m->result,
				   cap, &len, m->id);
	__atomic_add_fetch(WORD(s->busy), 1, __ATOMIC_SEQ_CST);
	if (timed) {
		*end = now_ns();
		if (!*first)
			*first = t0;
		s->elapsed_ns[s->samples++] = *end - t0;
	}
	s->status = status;
	s->result_len = len;
	s->capacity = cap;
	/* A procedure that breaks the contract answers EPROTO; the daemon says why. */
	if (status > 0 || status < -LPC_MAX_ERRNO || len > cap) {
		s->rejected = 1;
		status = -EPROTO;
	}
	m->status = status;
	m->result_len = status < 0 ? 0 : len;
	rc = ioctl(s->fd, LPC_IOC_RESPONSE_POLL, m) < 0 ? errno : 0;
	/* ENOENT, ESTALE: the answer was refused (its caller is gone). */
	if (status < 0 && rc != ENOENT && rc != ESTALE)
		s->failed++;
	return rc;
}

/* Whether the request just polled is to be timed: the daemon's countdown. */
static int count_down(struct lpc_serve *s)
{
	if (s->until_timed > 0) {
		s->until_timed--;
		return 0;
	}
	s->until_timed = s->time_every - 1;
	return 1;
}

/* Whether the request just polled into @m may be served in this run. */
static int may_go_on(const struct lpc_serve *s, const struct lpc_msg *m,
		     const char *name)
{
	if (strncmp(m->proc, name, LPC_NAME_MAX) || load(s->stop) || load(s->queued) > 0)
		return 0;
	/* A nested call of this procedure needs another thread polling. */
	return load(s->pollers) - load(s->inlined) > 0 || load(s->idle) > 0 || m->depth > 0;
}

/*
 * Returns 0 with the next request in @s->msg, or the errno of the last
 * RESPONSE_POLL: ENOENT or ESTALE if the answer was refused (nothing was
 * polled), ETIMEDOUT or EINTR if it went out and no request came.
 */
__attribute__((visibility("default"))) int lpc_user_serve(struct lpc_serve *s)
{
	struct lpc_msg *m = (struct lpc_msg *)(uintptr_t)s->msg;
	char name[LPC_NAME_MAX];
	uint64_t first = 0, end = 0;
	int timed = s->time_first != 0;
	int rc;

	memcpy(name, m->proc, LPC_NAME_MAX);
	s->served = 0;
	s->failed = 0;
	s->rejected = 0;
	s->samples = 0;
	for (;;) {
		int over;

		rc = serve_one(s, m, timed, &first, &end);
		s->served++;
		if (rc || s->rejected)
			return rc;
		/* The daemon's metrics see a run's calls within about @budget_ns. */
		over = timed && end - first >= s->budget_ns;
		s->next_timed = count_down(s);
		if (over || s->served >= s->max_run ||
		    (s->next_timed && s->samples == LPC_SERVE_SAMPLES) ||
		    !may_go_on(s, m, name))
			return 0;
		timed = s->next_timed;
	}
}

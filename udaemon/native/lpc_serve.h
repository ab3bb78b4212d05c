/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lpc_serve.h - the state a daemon thread hands to lpc_user_serve()
 * (lpc_serve.c).  udaemon/worker.ts mirrors the layout; the daemon's unit
 * tests compile this header to check the mirror.
 */
#ifndef LPC_SERVE_H
#define LPC_SERVE_H

#include <stdint.h>

/* Timing samples one call of lpc_user_serve() returns at most. */
#define LPC_SERVE_SAMPLES	16

/*
 * struct lpc_serve - one daemon thread's serving state, in native memory the
 * daemon owns.  The u64 fields up to @idle hold addresses; all but @msg
 * point into the daemon's shared memory (SharedArrayBuffers), which its
 * other threads change at any time.
 * @msg:         struct lpc_msg: the polled request on entry, the next one on
 *               return.
 * @busy:        int32, the thread's busy count, which the daemon's watchdog
 *               reads: odd while a procedure runs.
 * @id:          uint32[2], the request id the watchdog names (low, high).
 * @stop:        int32, non-zero once the daemon stops.
 * @queued:      int32, requests queued for the pool.
 * @pollers:     int32, the daemon's leaders, this thread among them.
 * @inlined:     int32, the leaders serving here, this thread among them.
 * @idle:        int32, pool threads idle (followers).
 * @budget_ns:   in: end the run at a timed request this long after the
 *               run's first timed one started (keeps the daemon's metrics
 *               fresh under a slow, steady load).
 * @fd:          the attached device.
 * @result_cap:  capacity of the buffer @msg's result points to.
 * @max_run:     in: serve at most this many requests per call.
 * @time_every:  in: time one request in this many.
 * @time_first:  in: non-zero to time the request polled on entry.
 * @until_timed: in/out: requests polled here to leave untimed before the
 *               next timed one (the daemon's countdown).
 * @next_timed:  out, with a request polled: non-zero if it is to be timed.
 * @served:      out: procedures run.
 * @failed:      out: answers the kernel took with an error status.
 * @rejected:    out: non-zero if the last procedure broke the contract
 *               (answered -EPROTO); @status and @result_len say how.
 * @status:      out: what the last procedure returned.
 * @result_len:  out: the result bytes it reported.
 * @capacity:    out: the capacity it had.
 * @samples:     out: timed procedures, their run times in @elapsed_ns.
 * @elapsed_ns:  out: how long each timed procedure ran.
 */
struct lpc_serve {
	uint64_t msg;
	uint64_t busy;
	uint64_t id;
	uint64_t stop;
	uint64_t queued;
	uint64_t pollers;
	uint64_t inlined;
	uint64_t idle;
	uint64_t budget_ns;
	int32_t fd;
	uint32_t result_cap;
	uint32_t max_run;
	uint32_t time_every;
	uint32_t time_first;
	uint32_t until_timed;
	uint32_t next_timed;
	uint32_t served;
	uint32_t failed;
	uint32_t rejected;
	int32_t status;
	uint32_t result_len;
	uint32_t capacity;
	uint32_t samples;
	uint64_t elapsed_ns[LPC_SERVE_SAMPLES];
};

int lpc_user_serve(struct lpc_serve *s);

#endif /* LPC_SERVE_H */

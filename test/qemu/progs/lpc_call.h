/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Calls as the test programs make them: an lpc_msg filled for one
 * procedure, and the self-test module's usual shape, two int64 in, one out.
 */
#ifndef LPC_CALL_H
#define LPC_CALL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lpc_abi.h"

struct pair {
	int64_t a;
	int64_t b;
};

static inline void fill_msg(struct lpc_msg *m, const char *proc, const void *args,
			    uint32_t len, void *result, uint32_t cap)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->proc, sizeof(m->proc), "%s", proc);
	m->args = (uintptr_t)args;
	m->args_len = len;
	m->result = (uintptr_t)result;
	m->result_cap = cap;
}

/* EXEC or REQUEST of a pair, returning an int64 in *out; the ioctl's result. */
static inline long call_pair(int fd, unsigned long cmd, const char *proc, int64_t a,
			     int64_t b, int64_t *out, struct lpc_msg *m)
{
	struct pair p = { a, b };

	*out = 0;
	fill_msg(m, proc, &p, sizeof(p), out, sizeof(*out));
	return ioctl(fd, cmd, m);
}

/* ATTACH as the daemon, with the plan hash given in hex; the ioctl's result. */
static inline int attach_hex(int fd, const char *hex)
{
	struct lpc_attach at;
	unsigned int i, b;

	memset(&at, 0, sizeof(at));
	at.abi_version = LPC_ABI_VERSION;
	for (i = 0; i < LPC_PLAN_HASH_LEN && sscanf(hex + 2 * i, "%2x", &b) == 1; i++)
		at.plan_hash[i] = b;
	return ioctl(fd, LPC_IOC_ATTACH, &at);
}

#endif

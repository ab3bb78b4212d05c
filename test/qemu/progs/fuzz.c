// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz - random ioctls on an LPC device: random command numbers (the ten
 * valid ones with garbage structures, their neighbours with wrong sizes or
 * directions, and anything at all), random sizes, bad pointers and random
 * procedure, lock and semaphore names.  The kernel must answer each with a
 * result or an errno, in bounded time, without a fault.
 *
 * usage: fuzz [-n CALLS] [-u] [-a PLAN-HASH-HEX] [-S SEED] DEVICE
 *   -u  drop to nobody (uid/gid 65534) after opening: an unprivileged
 *       process holding the device (and it also tries to open it itself);
 *   -a  first ATTACH as the daemon with this plan hash, so the daemon-only
 *       commands get past their permission check.
 * Prints "FUZZ calls N ok O errno NAME=N ..." and exits 0.  Every blocking
 * command gets a short timeout or is interrupted by an interval timer, so a
 * call that does not return is a kernel hang, not the fuzzer's wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "lpc_abi.h"

#define MAX_ERRNO 256

/* Names a daemon or module really has, mixed with random bytes. */
static const char *const names[] = {
	"nop", "mul", "add", "echo", "state", "kstate", "hello", "counter",
	"ready", "sum_via_kernel", "no_such", "", "call_user",
};

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned char *buf, *unmapped;
static size_t page;

/* A pointer: valid, NULL, kernel space, unmapped, misaligned or the buffer's end. */
static uint64_t rnd_ptr(void)
{
	switch (rnd() % 12) {
	case 0: return 0;
	case 1: return 0xffff888000000000ull + (rnd() & 0xfffff000);
	case 2: return (uintptr_t)unmapped;
	case 3: return rnd();
	case 4: return (uintptr_t)buf + 4 * page - (rnd() % 64);
	default: return (uintptr_t)buf + rnd() % page;
	}
}

static uint32_t rnd_len(void)
{
	switch (rnd() % 6) {
	case 0: return 0;
	case 1: return rnd();
	case 2: return LPC_ARGS_MAX + (rnd() % 3) - 1;
	default: return rnd() % 512;
	}
}

static void rnd_name(char *name)
{
	size_t i, n = rnd() % (LPC_NAME_MAX + 1);

	if (rnd() % 2) {
		snprintf(name, LPC_NAME_MAX, "%s", names[rnd() % (sizeof(names) / sizeof(names[0]))]);
		return;
	}
	/* random bytes, sometimes without a NUL in the field at all */
	for (i = 0; i < LPC_NAME_MAX; i++)
		name[i] = i < n ? (char)(rnd() | 1) : 0;
}

static uint32_t rnd_timeout(void)
{
	return 1 + rnd() % 20;
}

/* The daemon-only blocking calls must not wait long: short timeouts always. */
static void fill_msg(struct lpc_msg *m)
{
	unsigned char *p = (unsigned char *)m;
	size_t i;

	/* garbage in every field half the time, else only in the ones set below */
	int garbage = rnd() % 2;

	for (i = 0; i < sizeof(*m); i++)
		p[i] = garbage && rnd() % 4 == 0 ? rnd() : 0;
	m->id = rnd() % 3 ? rnd() % 64 : rnd();
	m->args = rnd_ptr();
	m->result = rnd_ptr();
	m->args_len = rnd_len();
	m->args_cap = rnd_len();
	m->result_cap = rnd_len();
	m->result_len = rnd_len();
	m->timeout_ms = rnd_timeout();
	rnd_name(m->proc);
}

static void fill_sync(struct lpc_sync *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t i;

	int garbage = rnd() % 2;

	for (i = 0; i < sizeof(*s); i++)
		p[i] = garbage && rnd() % 4 == 0 ? rnd() : 0;
	rnd_name(s->name);
	s->data = rnd_ptr();
	s->data_len = rnd() % 2 ? 8 : rnd_len();
	s->timeout_ms = rnd_timeout();
}

static const unsigned long cmds[] = {
	LPC_IOC_ATTACH, LPC_IOC_POLL, LPC_IOC_RESPONSE, LPC_IOC_EXEC,
	LPC_IOC_REQUEST, LPC_IOC_LOCK, LPC_IOC_UNLOCK, LPC_IOC_UP, LPC_IOC_DOWN,
	LPC_IOC_RESPONSE_POLL,
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

/* The numbers that take a struct lpc_sync: LOCK, UNLOCK, UP, DOWN. */
static int is_sync_nr(unsigned int nr)
{
	return nr >= _IOC_NR(LPC_IOC_LOCK) && nr <= _IOC_NR(LPC_IOC_DOWN);
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	long n = 100000, i, ok = 0, errs[MAX_ERRNO] = { 0 };
	int unpriv = 0, opt, fd, e;
	const char *hash = NULL;
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };

	rng = 0x9e3779b97f4a7c15ull;
	while ((opt = getopt(argc, argv, "n:ua:S:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'u')
			unpriv = 1;
		else if (opt == 'a')
			hash = optarg;
		else if (opt == 'S')
			rng ^= strtoull(optarg, NULL, 0) * 0x2545f4914f6cdd1dull;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	page = sysconf(_SC_PAGESIZE);
	/* four pages of random bytes, then an unmapped page */
	buf = mmap(NULL, 5 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	unmapped = buf + 4 * page;
	munmap(unmapped, page);
	for (i = 0; i < (long)(4 * page); i++)
		buf[i] = rnd();
	fd = open(argv[optind], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[optind]);
		return 1;
	}
	if (hash) {
		struct lpc_attach a = { .abi_version = LPC_ABI_VERSION };

		for (i = 0; i < LPC_PLAN_HASH_LEN; i++)
			if (sscanf(hash + 2 * i, "%2hhx", &a.plan_hash[i]) != 1)
				goto usage;
		if (ioctl(fd, LPC_IOC_ATTACH, &a) < 0) {
			perror("fuzz: ATTACH");
			return 1;
		}
	}
	if (unpriv) {
		if (setgid(65534) || setuid(65534)) {
			perror("fuzz: setuid");
			return 1;
		}
		e = open(argv[optind], O_RDWR | O_CLOEXEC);
		printf("FUZZ unprivileged open: %s\n", e < 0 ? strerror(errno) : "allowed");
		if (e >= 0)
			close(e);
	}
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < n; i++) {
		union {
			struct lpc_attach a;
			struct lpc_msg m;
			struct lpc_sync s;
			unsigned char raw[256];
		} u;
		unsigned long cmd = cmds[rnd() % N_CMDS];
		void *arg = &u;
		size_t k;

		switch (rnd() % 10) {
		case 0: /* any number at all */
			cmd = (unsigned long)rnd();
			break;
		case 1: /* our type byte, random number, size and direction */
			cmd = _IOC(rnd() % 4, LPC_IOC_MAGIC, rnd() % 16, rnd() % 300);
			break;
		case 2: /* a valid number with a wrong size */
			cmd = _IOC(_IOC_DIR(cmd), LPC_IOC_MAGIC, _IOC_NR(cmd), rnd() % 256);
			break;
		}
		if (_IOC_TYPE(cmd) == LPC_IOC_MAGIC && _IOC_NR(cmd) == 0 && hash)
			continue;	/* attached already: keep the session */
		if (_IOC_SIZE(cmd) == sizeof(struct lpc_sync) || is_sync_nr(_IOC_NR(cmd))) {
			fill_sync(&u.s);
		} else if (_IOC_SIZE(cmd) == sizeof(struct lpc_attach) || _IOC_NR(cmd) == 0) {
			for (k = 0; k < sizeof(u.raw); k++)
				u.raw[k] = rnd() % 3 ? 0 : rnd();
			u.a.abi_version = rnd() % 2 ? LPC_ABI_VERSION : rnd();
		} else {
			fill_msg(&u.m);
		}
		/*
		 * The kernel's "counter" takes the lock a daemon may hold: as
		 * the daemon, EXEC of it would wait for ourselves.
		 */
		if (hash && _IOC_NR(cmd) == 3 && !strncmp(u.m.proc, "counter", LPC_NAME_MAX))
			continue;
		if (rnd() % 16 == 0)
			arg = (void *)(uintptr_t)rnd_ptr();
		if (ioctl(fd, cmd, arg) < 0) {
			e = errno;
			errs[e < MAX_ERRNO ? e : 0]++;
		} else {
			ok++;
		}
	}
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	printf("FUZZ calls %ld ok %ld errno", n, ok);
	for (e = 0; e < MAX_ERRNO; e++)
		if (errs[e])
			printf(" %d=%ld", e, errs[e]);
	printf("\n");
	return 0;
usage:
	fprintf(stderr, "usage: fuzz [-n CALLS] [-u] [-a PLAN-HASH-HEX] [-S SEED] DEVICE\n");
	return 2;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * lpctest - checks the LPC core through the self-test module, as root in a
 * guest: permissions, ioctl input checking, timeouts, the daemon's life
 * cycle (attach, death, re-attach), nested calls, locks and semaphores.
 *
 * usage: lpctest <path of cdaemon>
 * Expects lpcselftest.ko freshly loaded with max_depth=3 (it counts the
 * daemons that attached).  Prints one line per check,
 * "ok <name>" or "not ok <name>: <why>", and "info <name>: <value>"; exits 1
 * if a check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lpc_call.h"

_Static_assert(sizeof(struct lpc_attach) == 72, "lpc_attach layout");
_Static_assert(sizeof(struct lpc_msg) == 144, "lpc_msg layout");
_Static_assert(sizeof(struct lpc_sync) == 104, "lpc_sync layout");

#define DEV "/dev/lpcselftest_lpc"
#define PARAMS "/sys/module/lpcselftest/parameters/"
#define SYSDEV "/sys/class/misc/lpcselftest_lpc/"
#define PLAN "split-driver lpc selftest plan"
#define BAD_PTR 8	/* an address no process maps */

static int failures;
static const char *cdaemon_path;

static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok %s\n", name);
	} else {
		failures++;
		printf("not ok %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

/* A call that must fail with errno @want. */
static void expect_err(const char *name, long ret, int want)
{
	int got = errno;

	check(ret == -1 && got == want, name, "returned %ld, errno %s; want %s",
	      ret, ret == -1 ? strerror(got) : "-", strerror(want));
}

static void expect_ok(const char *name, long ret)
{
	int got = errno;

	check(ret == 0, name, "returned %ld, errno %s", ret, strerror(got));
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void write_file(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(value, f) < 0 || fclose(f)) {
		printf("not ok write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static int read_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (!f || fscanf(f, "%d", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void set_param(const char *param, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", param);
	write_file(path, value);
}

static int dev_open(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("not ok open " DEV ": %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

static void plan_hash(__u8 *hash)
{
	memset(hash, 0, LPC_PLAN_HASH_LEN);
	memcpy(hash, PLAN, sizeof(PLAN) - 1);
}

static long attach(int fd, __u64 *generation)
{
	struct lpc_attach a = { .abi_version = LPC_ABI_VERSION };
	long ret;

	plan_hash(a.plan_hash);
	ret = ioctl(fd, LPC_IOC_ATTACH, &a);
	if (generation)
		*generation = a.generation;
	return ret;
}

/* EXEC of an export that takes no arguments, returning an int64 in *out. */
static long exec_noargs(int fd, const char *proc, int64_t *out,
			struct lpc_msg *m)
{
	*out = 0;
	fill_msg(m, proc, NULL, 0, out, sizeof(*out));
	return ioctl(fd, LPC_IOC_EXEC, m);
}

static long sync_op(int fd, unsigned long cmd, const char *name, void *data,
		    uint32_t len, uint32_t timeout_ms, struct lpc_sync *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->data = (uintptr_t)data;
	s->data_len = len;
	s->timeout_ms = timeout_ms;
	return ioctl(fd, cmd, s);
}

/* Runs fn in a child process; returns its exit status (0 = passed). */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int as_nobody(void)
{
	return setgid(65534) || setuid(65534) ? -1 : 0;
}

static int nobody_open(void *unused)
{
	(void)unused;
	if (as_nobody())
		return 2;
	return open(DEV, O_RDWR) < 0 && errno == EACCES ? 0 : 1;
}

static int nobody_attach(void *arg)
{
	int fd = *(int *)arg;

	if (as_nobody())
		return 2;
	return attach(fd, NULL) < 0 && errno == EPERM ? 0 : 1;
}

static void test_permissions(void)
{
	struct stat st;
	int fd = dev_open();

	check(stat(DEV, &st) == 0 && S_ISCHR(st.st_mode) &&
	      (st.st_mode & 07777) == 0600, "device is a char device, mode 0600",
	      "mode %o", st.st_mode);
	check(in_child(nobody_open, NULL) == 0, "nobody cannot open the device",
	      "open as nobody did not fail with EACCES");
	check(in_child(nobody_attach, &fd) == 0,
	      "nobody cannot attach even with an open fd",
	      "attach as nobody did not fail with EPERM");
	close(fd);
}

/* The first half of a struct lpc_msg, followed by an unmapped page. */
static void *truncated_struct(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p + page, page)) {
		printf("not ok mmap: %s\n", strerror(errno));
		exit(1);
	}
	return p + page - sizeof(struct lpc_msg) / 2;
}

static void test_bad_ioctls(void)
{
	struct lpc_attach a = { .abi_version = LPC_ABI_VERSION };
	struct lpc_msg m = { 0 };
	struct lpc_sync s;
	char big[LPC_NAME_MAX + 8];
	int64_t r;
	int fd = dev_open();

	expect_err("unknown ioctl number -> ENOTTY",
		   ioctl(fd, _IOWR(LPC_IOC_MAGIC, 0x30, struct lpc_msg), &m), ENOTTY);
	expect_err("foreign ioctl -> ENOTTY", ioctl(fd, 0x5401, &m), ENOTTY);
	expect_err("POLL before attach -> EPERM", ioctl(fd, LPC_IOC_POLL, &m), EPERM);
	expect_err("RESPONSE before attach -> EPERM",
		   ioctl(fd, LPC_IOC_RESPONSE, &m), EPERM);
	expect_err("RESPONSE_POLL before attach -> EPERM",
		   ioctl(fd, LPC_IOC_RESPONSE_POLL, &m), EPERM);
	expect_err("EXEC before attach -> EPERM",
		   call_pair(fd, LPC_IOC_EXEC, "add", 1, 2, &r, &m), EPERM);
	expect_err("LOCK before attach -> EPERM",
		   sync_op(fd, LPC_IOC_LOCK, "counter", &r, 8, 0, &s), EPERM);
	expect_err("UP before attach -> EPERM",
		   sync_op(fd, LPC_IOC_UP, "ready", NULL, 0, 0, &s), EPERM);

	a.abi_version = LPC_ABI_VERSION + 1;
	plan_hash(a.plan_hash);
	expect_err("attach with another ABI version -> EPROTONOSUPPORT",
		   ioctl(fd, LPC_IOC_ATTACH, &a), EPROTONOSUPPORT);
	a.abi_version = LPC_ABI_VERSION;
	a.plan_hash[0] ^= 1;
	expect_err("attach with another plan hash -> EPROTO",
		   ioctl(fd, LPC_IOC_ATTACH, &a), EPROTO);
	plan_hash(a.plan_hash);
	a.reserved[1] = 1;
	expect_err("attach with reserved field set -> EINVAL",
		   ioctl(fd, LPC_IOC_ATTACH, &a), EINVAL);
	expect_err("attach with bad pointer -> EFAULT",
		   ioctl(fd, LPC_IOC_ATTACH, (void *)BAD_PTR), EFAULT);

	fill_msg(&m, "echo", big, LPC_ARGS_MAX + 1, &r, sizeof(r));
	expect_err("REQUEST with oversized args -> EINVAL",
		   ioctl(fd, LPC_IOC_REQUEST, &m), EINVAL);
	fill_msg(&m, "echo", (void *)BAD_PTR, 8, &r, sizeof(r));
	expect_err("REQUEST with bad args pointer -> EFAULT",
		   ioctl(fd, LPC_IOC_REQUEST, &m), EFAULT);
	fill_msg(&m, "echo", NULL, 0, &r, sizeof(r));
	memset(m.proc, 'x', sizeof(m.proc));
	expect_err("REQUEST with unterminated name -> EINVAL",
		   ioctl(fd, LPC_IOC_REQUEST, &m), EINVAL);
	fill_msg(&m, "echo", NULL, 0, &r, sizeof(r));
	m.flags = 1;
	expect_err("REQUEST with flags set -> EINVAL",
		   ioctl(fd, LPC_IOC_REQUEST, &m), EINVAL);
	expect_err("REQUEST with NULL struct -> EFAULT",
		   ioctl(fd, LPC_IOC_REQUEST, NULL), EFAULT);
	expect_err("REQUEST with a struct cut short by an unmapped page -> EFAULT",
		   ioctl(fd, LPC_IOC_REQUEST, truncated_struct()), EFAULT);
	expect_err("REQUEST numbered with another struct size -> ENOTTY",
		   ioctl(fd, _IOWR(LPC_IOC_MAGIC, 0x04, struct lpc_sync), &m), ENOTTY);
	close(fd);
}

static void test_no_daemon(void)
{
	struct lpc_msg m;
	double t;
	int64_t r;
	int fd = dev_open();

	set_param("call_timeout_ms", "1000");
	t = now_ms();
	expect_err("call with no daemon fails with ETIMEDOUT",
		   call_pair(fd, LPC_IOC_REQUEST, "mul", 2, 3, &r, &m), ETIMEDOUT);
	t = now_ms() - t;
	check(t >= 900 && t < 5000, "call with no daemon gives up after the timeout",
	      "took %.0f ms, timeout 1000 ms", t);

	set_param("wait_for_daemon", "0");
	t = now_ms();
	expect_err("call with no daemon and wait_for_daemon=0 -> ENOTCONN",
		   call_pair(fd, LPC_IOC_REQUEST, "mul", 2, 3, &r, &m), ENOTCONN);
	t = now_ms() - t;
	check(t < 500, "ENOTCONN comes at once", "took %.0f ms", t);
	set_param("wait_for_daemon", "1");
	close(fd);
}

static void test_exec(int d)
{
	struct lpc_msg m;
	char args[4096];
	int64_t r;

	expect_ok("EXEC add", call_pair(d, LPC_IOC_EXEC, "add", 2, 40, &r, &m));
	check(r == 42 && m.status == 0 && m.result_len == sizeof(r),
	      "EXEC add returns the kernel's sum", "r=%lld status=%d len=%u",
	      (long long)r, m.status, m.result_len);
	expect_err("EXEC of a name not exported -> ENOENT",
		   call_pair(d, LPC_IOC_EXEC, "lpc_register", 1, 2, &r, &m), ENOENT);

	fill_msg(&m, "add", args, sizeof(struct pair) + 1, &r, sizeof(r));
	expect_err("EXEC with more args than the export takes -> EINVAL",
		   ioctl(d, LPC_IOC_EXEC, &m), EINVAL);
	fill_msg(&m, "add", args, 8, &r, sizeof(r));
	expect_ok("EXEC with truncated args runs", ioctl(d, LPC_IOC_EXEC, &m));
	check(m.status == -EINVAL && m.result_len == 0,
	      "EXEC with truncated args, the export refuses them",
	      "status %d", m.status);
	fill_msg(&m, "echo", args, LPC_ARGS_MAX + 1, args, sizeof(args));
	expect_err("EXEC with oversized args -> EINVAL",
		   ioctl(d, LPC_IOC_EXEC, &m), EINVAL);
	fill_msg(&m, "add", (void *)BAD_PTR, sizeof(struct pair), &r, sizeof(r));
	expect_err("EXEC with bad args pointer -> EFAULT",
		   ioctl(d, LPC_IOC_EXEC, &m), EFAULT);
	fill_msg(&m, "add", args, sizeof(struct pair), (void *)BAD_PTR, 8);
	memset(args, 0, sizeof(struct pair));
	expect_err("EXEC with bad result pointer -> EFAULT",
		   ioctl(d, LPC_IOC_EXEC, &m), EFAULT);
	fill_msg(&m, "add", args, sizeof(struct pair), &r, sizeof(r));
	memset(m.proc, 'a', sizeof(m.proc));
	expect_err("EXEC with unterminated name -> EINVAL",
		   ioctl(d, LPC_IOC_EXEC, &m), EINVAL);
	fill_msg(&m, "add", args, sizeof(struct pair), &r, sizeof(r));
	m.reserved[0] = 1;
	expect_err("EXEC with reserved field set -> EINVAL",
		   ioctl(d, LPC_IOC_EXEC, &m), EINVAL);
	expect_err("EXEC with bad struct pointer -> EFAULT",
		   ioctl(d, LPC_IOC_EXEC, (void *)BAD_PTR), EFAULT);

	memset(args, 'z', sizeof(args));
	fill_msg(&m, "echo", args, 100, args + 1000, 50);
	expect_ok("EXEC echo", ioctl(d, LPC_IOC_EXEC, &m));
	check(m.result_len == 50 && !memcmp(args + 1000, args, 50),
	      "EXEC result is cut to the caller's capacity", "len %u",
	      m.result_len);
}

static int request_echo(void *arg)
{
	char buf[100], out[100];
	struct lpc_msg m;
	int fd = dev_open();
	int want = *(int *)arg;

	memset(buf, 'e', sizeof(buf));
	memset(out, 0, sizeof(out));
	fill_msg(&m, "echo", buf, sizeof(buf), out, sizeof(out));
	if (ioctl(fd, LPC_IOC_REQUEST, &m) < 0)
		return errno == want ? 0 : 10;
	if (want)
		return 11;
	return m.status == 0 && m.result_len == 100 && !memcmp(buf, out, 100) ? 0 : 12;
}

/* Starts request_echo(want) in a child; returns its pid. */
static pid_t start_child(int (*fn)(void *), int want)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(&want));
	return pid;
}

static int child_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits (up to 5 s) until n callers wait for the daemon. */
static int wait_waiting(int n)
{
	int i;

	for (i = 0; i < 250 && read_int(SYSDEV "waiting") != n; i++)
		usleep(20000);
	return read_int(SYSDEV "waiting") == n;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* An echo of 100 bytes answered from args through result, as cdaemon's. */
static void echo_answer(struct lpc_msg *m, const char *args, char *result)
{
	memcpy(result, args, 100);
	m->result_len = 100;
	m->status = 0;
}

/*
 * A caller that gave up: @poll gets its request, it times out, and the
 * answer @answer then sends is refused.
 */
static void check_late_answer(int d, unsigned long poll, unsigned long answer,
			      const char *timed_out, const char *refused)
{
	char args[4096] = { 0 }, result[200] = { 0 };
	struct lpc_msg m;
	pid_t child;

	set_param("call_timeout_ms", "500");
	child = start_child(request_echo, ETIMEDOUT);
	fill_msg(&m, "", args, 0, result, 0);
	m.args_cap = sizeof(args);
	m.timeout_ms = 5000;
	expect_ok("poll for the late answer", ioctl(d, poll, &m));
	check(child_status(child) == 0, timed_out, "child did not see ETIMEDOUT");
	echo_answer(&m, args, result);
	m.timeout_ms = 100;
	expect_err(refused, ioctl(d, answer, &m), ENOENT);
	set_param("call_timeout_ms", "5000");
}

/* The test program itself is the daemon here, to misbehave on purpose. */
static void test_poll_response(int d, __u64 gen)
{
	char args[4096];
	struct lpc_msg m, r;
	__u64 id;
	pid_t child;
	int i;

	fill_msg(&m, "", NULL, 0, NULL, 0);
	m.timeout_ms = 100;
	expect_err("POLL with nothing queued times out", ioctl(d, LPC_IOC_POLL, &m),
		   ETIMEDOUT);

	set_param("call_timeout_ms", "5000");
	child = start_child(request_echo, 0);
	fill_msg(&m, "", args, 0, NULL, 0);
	m.args_cap = 10;
	expect_err("POLL with a too small buffer -> EMSGSIZE",
		   ioctl(d, LPC_IOC_POLL, &m), EMSGSIZE);
	check(m.args_len == 100, "EMSGSIZE reports the size needed", "args_len %u",
	      m.args_len);
	fill_msg(&m, "", args, 0, NULL, 0);
	m.args_cap = sizeof(args);
	expect_ok("POLL gets the queued request", ioctl(d, LPC_IOC_POLL, &m));
	check(!strcmp(m.proc, "echo") && m.args_len == 100 && m.result_cap == 100 &&
	      m.generation == gen && m.depth == 1 && args[0] == 'e',
	      "POLL reports name, args, capacity, generation, depth",
	      "proc %s len %u cap %u gen %llu depth %u", m.proc, m.args_len,
	      m.result_cap, (unsigned long long)m.generation, m.depth);
	id = m.id;

	fill_msg(&r, "", NULL, 0, args, 101);
	r.id = id;
	r.generation = gen;
	r.result_len = 101;
	expect_err("RESPONSE longer than the caller's capacity -> EINVAL",
		   ioctl(d, LPC_IOC_RESPONSE, &r), EINVAL);
	r.result_len = 100;
	r.generation = gen - 1;
	expect_err("RESPONSE with an old generation -> ESTALE",
		   ioctl(d, LPC_IOC_RESPONSE, &r), ESTALE);
	r.generation = gen;
	r.id = id + 1000;
	expect_err("RESPONSE to an unknown id -> ENOENT",
		   ioctl(d, LPC_IOC_RESPONSE, &r), ENOENT);
	r.id = id;
	r.status = 1;
	expect_err("RESPONSE with a positive status -> EINVAL",
		   ioctl(d, LPC_IOC_RESPONSE, &r), EINVAL);
	r.status = 0;
	expect_ok("RESPONSE answers", ioctl(d, LPC_IOC_RESPONSE, &r));
	check(child_status(child) == 0, "the caller gets the answer",
	      "child failed");
	expect_err("a second RESPONSE to the same id -> ENOENT",
		   ioctl(d, LPC_IOC_RESPONSE, &r), ENOENT);

	/* A bad result pointer fails both sides, not the kernel. */
	child = start_child(request_echo, EFAULT);
	fill_msg(&m, "", args, 0, NULL, 0);
	m.args_cap = sizeof(args);
	expect_ok("POLL", ioctl(d, LPC_IOC_POLL, &m));
	fill_msg(&r, "", NULL, 0, (void *)BAD_PTR, 0);
	r.id = m.id;
	r.generation = gen;
	r.result_len = 100;
	expect_err("RESPONSE with bad result pointer -> EFAULT",
		   ioctl(d, LPC_IOC_RESPONSE, &r), EFAULT);
	check(child_status(child) == 0, "the caller then fails with EFAULT",
	      "child did not see EFAULT");

	check_late_answer(d, LPC_IOC_POLL, LPC_IOC_RESPONSE,
			  "a caller not answered in time gets ETIMEDOUT",
			  "a late RESPONSE is refused with ENOENT");

	/* The operator's escape hatch: the daemon stays, its callers fail. */
	child = start_child(request_echo, ECONNABORTED);
	for (i = 0; i < 250 && read_int(SYSDEV "waiting") != 1; i++)
		usleep(20000);
	check(read_int(SYSDEV "waiting") == 1, "sysfs waiting counts a waiting caller",
	      "waiting %d", read_int(SYSDEV "waiting"));
	write_file(SYSDEV "abort", "1");
	check(child_status(child) == 0,
	      "writing sysfs abort fails waiting calls with ECONNABORTED",
	      "child did not see ECONNABORTED");
	check(read_int(SYSDEV "waiting") == 0, "sysfs waiting is back to 0",
	      "waiting %d", read_int(SYSDEV "waiting"));
	fill_msg(&m, "", NULL, 0, NULL, 0);
	m.timeout_ms = 100;
	expect_err("an aborted call is no longer queued", ioctl(d, LPC_IOC_POLL, &m),
		   ETIMEDOUT);
}

/* RESPONSE_POLL: RESPONSE and POLL in one call, on one struct. */
static void test_response_poll(int d, __u64 gen)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 0 }, { 0, 200000 } };
	char args[4096] = { 0 }, result[200] = { 0 };
	struct lpc_msg m, saved;
	pid_t first, second;
	double t;
	__u64 id;

	fill_msg(&m, "", args, 0, result, 0);
	m.args_cap = sizeof(args);
	m.timeout_ms = 100;
	expect_err("RESPONSE_POLL with id 0 only polls, nothing queued -> ETIMEDOUT",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), ETIMEDOUT);

	first = start_child(request_echo, 0);
	m.timeout_ms = 5000;
	expect_ok("RESPONSE_POLL with id 0 gets the queued request",
		  ioctl(d, LPC_IOC_RESPONSE_POLL, &m));
	check(!strcmp(m.proc, "echo") && m.args_len == 100 && m.result_cap == 100 &&
	      m.generation == gen && m.depth == 1 && args[0] == 'e' &&
	      m.args == (uintptr_t)args && m.args_cap == sizeof(args) &&
	      m.result == (uintptr_t)result && m.timeout_ms == 5000,
	      "RESPONSE_POLL reports the request and writes the inputs back",
	      "proc %s len %u cap %u depth %u args_cap %u timeout %u",
	      m.proc, m.args_len, m.result_cap, m.depth, m.args_cap,
	      m.timeout_ms);

	second = start_child(request_echo, 0);
	check(wait_waiting(2), "two callers wait, one sent and one queued",
	      "waiting %d", read_int(SYSDEV "waiting"));
	echo_answer(&m, args, result);
	saved = m;
	m.generation = gen - 1;
	expect_err("RESPONSE_POLL with an old generation -> ESTALE",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), ESTALE);
	m = saved;
	m.id += 1000;
	expect_err("RESPONSE_POLL to an unknown id -> ENOENT",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), ENOENT);
	m = saved;
	m.result_len = 101;
	expect_err("RESPONSE_POLL longer than the caller's capacity -> EINVAL",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), EINVAL);
	m = saved;
	m.status = 1;
	expect_err("RESPONSE_POLL with a positive status -> EINVAL",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), EINVAL);
	m = saved;
	m.reserved[1] = 1;
	expect_err("RESPONSE_POLL with reserved field set -> EINVAL",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), EINVAL);
	expect_err("RESPONSE_POLL with bad struct pointer -> EFAULT",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, (void *)BAD_PTR), EFAULT);
	m = saved;
	id = m.id;
	expect_ok("RESPONSE_POLL answers and polls", ioctl(d, LPC_IOC_RESPONSE_POLL, &m));
	check(child_status(first) == 0, "the caller gets the answer RESPONSE_POLL sent",
	      "child failed");
	check(m.id != id && !strcmp(m.proc, "echo") && m.args_len == 100,
	      "a refused answer polls nothing, the next request was still queued",
	      "id %llu after %llu, proc %s", (unsigned long long)m.id,
	      (unsigned long long)id, m.proc);
	saved = m;
	m.id = id;
	expect_err("a second RESPONSE_POLL answer to the same id -> ENOENT",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), ENOENT);

	/* The answer goes before the poll times out or is interrupted. */
	m = saved;
	echo_answer(&m, args, result);
	m.timeout_ms = 100;
	expect_err("RESPONSE_POLL answers, then its poll times out -> ETIMEDOUT",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), ETIMEDOUT);
	check(child_status(second) == 0, "the answer went before the poll timed out",
	      "child failed");
	first = start_child(request_echo, 0);
	m.id = 0;
	m.timeout_ms = 5000;
	expect_ok("RESPONSE_POLL", ioctl(d, LPC_IOC_RESPONSE_POLL, &m));
	echo_answer(&m, args, result);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	t = now_ms();
	expect_err("a signal after the answer ends RESPONSE_POLL with EINTR, even with SA_RESTART",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), EINTR);
	t = now_ms() - t;
	check(t < 2500, "an interrupted RESPONSE_POLL is not restarted",
	      "took %.0f ms, timeout 5000 ms", t);
	check(child_status(first) == 0, "the answer went before the signal",
	      "child failed");

	/* Too small a buffer: answered, then EMSGSIZE; the request stays queued. */
	first = start_child(request_echo, 0);
	m.id = 0;
	expect_ok("RESPONSE_POLL", ioctl(d, LPC_IOC_RESPONSE_POLL, &m));
	second = start_child(request_echo, EFAULT);
	check(wait_waiting(2), "two callers wait again", "waiting %d",
	      read_int(SYSDEV "waiting"));
	echo_answer(&m, args, result);
	m.args_cap = 10;
	expect_err("RESPONSE_POLL with a too small buffer answers, then -> EMSGSIZE",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), EMSGSIZE);
	check(m.args_len == 100 && m.result == (uintptr_t)result,
	      "RESPONSE_POLL's EMSGSIZE reports the size needed", "args_len %u",
	      m.args_len);
	check(child_status(first) == 0, "the answer went before EMSGSIZE",
	      "child failed");
	m.id = 0;
	m.args_cap = sizeof(args);
	expect_ok("the request stays queued after EMSGSIZE",
		  ioctl(d, LPC_IOC_RESPONSE_POLL, &m));

	/* A bad result pointer fails the answered call, and polls nothing. */
	m.result = BAD_PTR;
	m.result_len = 100;
	m.timeout_ms = 100;
	expect_err("RESPONSE_POLL with bad result pointer -> EFAULT",
		   ioctl(d, LPC_IOC_RESPONSE_POLL, &m), EFAULT);
	check(child_status(second) == 0, "its caller then fails with EFAULT",
	      "child did not see EFAULT");
	check_late_answer(d, LPC_IOC_RESPONSE_POLL, LPC_IOC_RESPONSE_POLL,
			  "a caller RESPONSE_POLL did not answer in time gets ETIMEDOUT",
			  "a late RESPONSE_POLL answer is refused with ENOENT");
}

static void test_lock_sem(int d)
{
	struct lpc_msg m;
	struct lpc_sync s;
	int64_t v = -1, k;
	int32_t small;

	expect_ok("LOCK counter", sync_op(d, LPC_IOC_LOCK, "counter", &v, 8, 0, &s));
	check(v == 0 && s.data_len == 8, "LOCK copies the guarded data out",
	      "v %lld len %u", (long long)v, s.data_len);
	expect_err("LOCK of a held lock times out",
		   sync_op(d, LPC_IOC_LOCK, "counter", &k, 8, 100, &s), ETIMEDOUT);
	v = 41;
	expect_err("UNLOCK with a wrong size -> EINVAL",
		   sync_op(d, LPC_IOC_UNLOCK, "counter", &v, 4, 0, &s), EINVAL);
	expect_err("UNLOCK with a bad pointer -> EFAULT",
		   sync_op(d, LPC_IOC_UNLOCK, "counter", (void *)BAD_PTR, 8, 0, &s),
		   EFAULT);
	expect_ok("UNLOCK writes back", sync_op(d, LPC_IOC_UNLOCK, "counter", &v, 8, 0, &s));
	expect_err("UNLOCK of a lock not held -> ENOLCK",
		   sync_op(d, LPC_IOC_UNLOCK, "counter", &v, 8, 0, &s), ENOLCK);
	expect_ok("EXEC counter", exec_noargs(d, "counter", &k, &m));
	check(k == 41, "the kernel sees the data written back under the lock",
	      "kernel sees %lld", (long long)k);
	expect_err("LOCK with a too small buffer -> EMSGSIZE",
		   sync_op(d, LPC_IOC_LOCK, "counter", &small, 4, 0, &s), EMSGSIZE);
	check(s.data_len == 8, "EMSGSIZE reports the guarded size", "%u", s.data_len);
	expect_err("LOCK of an unknown lock -> ENOENT",
		   sync_op(d, LPC_IOC_LOCK, "nope", &v, 8, 0, &s), ENOENT);
	expect_err("LOCK with bad data pointer -> EFAULT",
		   sync_op(d, LPC_IOC_LOCK, "counter", (void *)BAD_PTR, 8, 0, &s), EFAULT);
	expect_ok("LOCK after a failed LOCK (it was released)",
		  sync_op(d, LPC_IOC_LOCK, "counter", &v, 8, 100, &s));
	expect_ok("UNLOCK without writing back",
		  sync_op(d, LPC_IOC_UNLOCK, "counter", NULL, 0, 0, &s));

	expect_err("DOWN of a zero semaphore times out",
		   sync_op(d, LPC_IOC_DOWN, "ready", NULL, 0, 100, &s), ETIMEDOUT);
	expect_ok("UP", sync_op(d, LPC_IOC_UP, "ready", NULL, 0, 0, &s));
	expect_ok("DOWN after UP", sync_op(d, LPC_IOC_DOWN, "ready", NULL, 0, 100, &s));
	expect_ok("EXEC sem_up", exec_noargs(d, "sem_up", &k, &m));
	expect_ok("DOWN after the kernel's up",
		  sync_op(d, LPC_IOC_DOWN, "ready", NULL, 0, 100, &s));
	expect_ok("UP", sync_op(d, LPC_IOC_UP, "ready", NULL, 0, 0, &s));
	expect_ok("EXEC sem_down", exec_noargs(d, "sem_down", &k, &m));
	check(m.status == 0, "the kernel's down takes the user's up", "status %d",
	      m.status);
	expect_err("DOWN of an unknown semaphore -> ENOENT",
		   sync_op(d, LPC_IOC_DOWN, "nope", NULL, 0, 100, &s), ENOENT);

	/* The daemon dies holding the lock: the next one can take it. */
	expect_ok("LOCK before detaching", sync_op(d, LPC_IOC_LOCK, "counter", &v, 8, 0, &s));
}

/* Attaching runs the module's on_attach, which calls the daemon's "hello". */
static void test_on_attach(int d, __u64 gen)
{
	struct { int64_t attaches, greeting; } st = { 0 };
	int64_t seven = 7;
	struct lpc_msg m, r;
	int i, ok;

	fill_msg(&m, "", NULL, 0, NULL, 0);
	m.timeout_ms = 5000;
	expect_ok("POLL after attach", ioctl(d, LPC_IOC_POLL, &m));
	check(!strcmp(m.proc, "hello") && m.result_cap == 8 && m.depth == 1,
	      "attaching runs on_attach, which calls user space",
	      "proc %s cap %u depth %u", m.proc, m.result_cap, m.depth);
	fill_msg(&r, "", NULL, 0, &seven, 0);
	r.id = m.id;
	r.generation = gen;
	r.result_len = sizeof(seven);
	expect_ok("RESPONSE to hello", ioctl(d, LPC_IOC_RESPONSE, &r));
	for (i = 0, ok = 0; i < 100 && !ok; i++) {
		fill_msg(&m, "state", NULL, 0, &st, sizeof(st));
		ok = !ioctl(d, LPC_IOC_EXEC, &m) && st.attaches == 1 &&
		     st.greeting == 7;
		if (!ok)
			usleep(20000);
	}
	check(ok, "on_attach completes with the daemon's answer",
	      "attaches %lld greeting %lld", (long long)st.attaches,
	      (long long)st.greeting);
}

/* A POLL that waits for a request in a thread of its own. */
struct poller {
	pthread_t tid;
	int fd;
	int done;
	long ret;
	char args[4096];
	char result[200];
	struct lpc_msg m;
};

static void *poller_run(void *arg)
{
	struct poller *p = arg;

	fill_msg(&p->m, "", p->args, 0, p->result, 0);
	p->m.args_cap = sizeof(p->args);
	p->m.timeout_ms = 3000;
	p->ret = ioctl(p->fd, LPC_IOC_POLL, &p->m) < 0 ? -errno : 0;
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Joins @p and answers the echo it polled; 0 if it polled one. */
static long poller_answer(int d, struct poller *p)
{
	pthread_join(p->tid, NULL);
	if (p->ret)
		return p->ret;
	echo_answer(&p->m, p->args, p->result);
	return ioctl(d, LPC_IOC_RESPONSE, &p->m) < 0 ? -errno : 0;
}

/*
 * poll() sees a queued request.  A request wakes one POLL, the one that
 * went to sleep last; the other sleeps on and serves the next request.
 */
static void test_wakeups(int d)
{
	struct poller first = { .fd = d }, last = { .fd = d };
	struct pollfd pfd = { .fd = d, .events = POLLIN };
	char args[4096], result[200];
	struct lpc_msg m;
	pid_t child;

	set_param("call_timeout_ms", "5000");
	check(poll(&pfd, 1, 0) == 0, "poll() with nothing queued is not ready",
	      "revents %#x", pfd.revents);
	child = start_child(request_echo, 0);
	check(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN),
	      "poll() is ready once a request is queued", "revents %#x",
	      pfd.revents);
	fill_msg(&m, "", args, 0, result, 0);
	m.args_cap = sizeof(args);
	expect_ok("POLL the request poll() saw", ioctl(d, LPC_IOC_POLL, &m));
	echo_answer(&m, args, result);
	expect_ok("RESPONSE to it", ioctl(d, LPC_IOC_RESPONSE, &m));
	check(child_status(child) == 0, "its caller got the answer", "child failed");

	pthread_create(&first.tid, NULL, poller_run, &first);
	usleep(200000);
	pthread_create(&last.tid, NULL, poller_run, &last);
	usleep(200000);
	child = start_child(request_echo, 0);
	expect_ok("a request wakes the POLL that slept last",
		  poller_answer(d, &last));
	check(!__atomic_load_n(&first.done, __ATOMIC_ACQUIRE),
	      "the other POLL sleeps on", "it returned %ld", first.ret);
	check(child_status(child) == 0, "the first caller got its answer",
	      "child failed");
	child = start_child(request_echo, 0);
	expect_ok("the next request wakes the other POLL", poller_answer(d, &first));
	check(child_status(child) == 0, "the second caller got its answer",
	      "child failed");
}

static void test_self_daemon(void)
{
	struct lpc_sync s;
	__u64 gen, gen2;
	int64_t v;
	int d = dev_open(), d2 = dev_open();

	expect_ok("attach", attach(d, &gen));
	check(gen > 0, "attach reports a generation", "%llu", (unsigned long long)gen);
	expect_err("a second daemon cannot attach -> EBUSY", attach(d2, NULL), EBUSY);
	test_on_attach(d, gen);
	test_exec(d);
	test_poll_response(d, gen);
	test_response_poll(d, gen);
	test_wakeups(d);
	test_lock_sem(d);
	close(d);
	expect_ok("a new daemon attaches after the first closed", attach(d2, &gen2));
	check(gen2 > gen, "the generation increases", "%llu then %llu",
	      (unsigned long long)gen, (unsigned long long)gen2);
	expect_ok("the lock the dead daemon held was released",
		  sync_op(d2, LPC_IOC_LOCK, "counter", &v, 8, 500, &s));
	expect_ok("UNLOCK", sync_op(d2, LPC_IOC_UNLOCK, "counter", NULL, 0, 0, &s));
	close(d2);
}

static pid_t start_cdaemon(void)
{
	char hex[2 * LPC_PLAN_HASH_LEN + 1];
	__u8 hash[LPC_PLAN_HASH_LEN];
	pid_t pid;
	int i;

	plan_hash(hash);
	for (i = 0; i < LPC_PLAN_HASH_LEN; i++)
		sprintf(hex + 2 * i, "%02x", hash[i]);
	pid = fork();
	if (pid == 0) {
		execl(cdaemon_path, cdaemon_path, "-n", "6", "-p", hex, DEV,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int request_hang(void *unused)
{
	struct lpc_msg m;
	int64_t r;
	double t = now_ms();
	int fd = dev_open();

	(void)unused;
	if (call_pair(fd, LPC_IOC_REQUEST, "hang", 0, 0, &r, &m) == 0)
		return 1;
	if (errno != ECONNABORTED)
		return 2;
	return now_ms() - t < 10000 ? 0 : 3;
}

static int request_many(void *unused)
{
	struct lpc_msg m;
	int64_t r;
	int i, fd = dev_open();

	(void)unused;
	for (i = 0; i < 100; i++)
		if (call_pair(fd, LPC_IOC_REQUEST, "mul", i, 3, &r, &m) ||
		    r != 3 * i + 1000)
			return 1;
	return 0;
}

/*
 * Calls racing a tiny timeout, with big buffers so that some time out while
 * the daemon copies them: each is answered right or times out.
 */
static int request_racing(void *unused)
{
	static char in[32768], out[32768];
	struct lpc_msg m;
	int i, answered = 0, fd = dev_open();

	(void)unused;
	for (i = 0; i < 200; i++) {
		memset(in, 'a' + i % 26, sizeof(in));
		memset(out, 0, sizeof(out));
		fill_msg(&m, "echo", in, sizeof(in), out, sizeof(out));
		if (!ioctl(fd, LPC_IOC_REQUEST, &m)) {
			if (m.result_len != sizeof(out) || memcmp(in, out, sizeof(out)))
				return 1;
			answered++;
		} else if (errno != ETIMEDOUT) {
			return 2;
		}
	}
	printf("info racing calls answered: %d of 200\n", answered);
	return 0;
}

static void test_cdaemon(void)
{
	struct lpc_msg m;
	struct { int64_t attaches, greeting; } st = { 0 };
	pid_t daemon, hang, many[8];
	char buf[1000], out[1000];
	double t;
	int64_t r;
	int i, ok, fd = dev_open();

	set_param("call_timeout_ms", "10000");
	daemon = start_cdaemon();
	expect_ok("REQUEST hello (queued until the daemon attaches)",
		  call_pair(fd, LPC_IOC_REQUEST, "hello", 0, 0, &r, &m));
	check(r == 42, "the daemon answers", "r=%lld", (long long)r);
	expect_ok("REQUEST mul", call_pair(fd, LPC_IOC_REQUEST, "mul", 6, 7, &r, &m));
	check(r == 1042 && m.status == 0, "mul at depth 1", "r=%lld", (long long)r);
	expect_ok("REQUEST nested", call_pair(fd, LPC_IOC_REQUEST, "nested", 6, 7, &r, &m));
	check(r == 2042 && m.status == 0,
	      "nested call, user -> EXEC -> kernel -> user at depth 2",
	      "r=%lld status %d", (long long)r, m.status);
	expect_ok("REQUEST recurse", call_pair(fd, LPC_IOC_REQUEST, "recurse", 1, 1, &r, &m));
	check(m.status == -ELOOP, "nesting deeper than max_depth fails with ELOOP",
	      "status %d", m.status);
	expect_ok("REQUEST of an unknown procedure",
		  call_pair(fd, LPC_IOC_REQUEST, "nope", 0, 0, &r, &m));
	check(m.status == -ENOSYS, "the daemon's status reaches the caller",
	      "status %d", m.status);

	memset(buf, 'q', sizeof(buf));
	fill_msg(&m, "echo", buf, sizeof(buf), out, sizeof(out));
	expect_ok("REQUEST echo 1000 bytes", ioctl(fd, LPC_IOC_REQUEST, &m));
	check(m.result_len == sizeof(out) && !memcmp(buf, out, sizeof(out)),
	      "echo returns the bytes", "len %u", m.result_len);

	for (i = 0, ok = 0; i < 100 && !ok; i++) {
		fill_msg(&m, "kstate", NULL, 0, &st, sizeof(st));
		ok = !ioctl(fd, LPC_IOC_REQUEST, &m) && st.attaches == 2 &&
		     st.greeting == 42;
		if (!ok)
			usleep(20000);
	}
	check(ok, "on_attach ran the moved init through the daemon",
	      "attaches %lld greeting %lld", (long long)st.attaches,
	      (long long)st.greeting);

	t = now_ms();
	for (i = 0, ok = 1; i < 2000; i++) {
		fill_msg(&m, "noop", NULL, 0, NULL, 0);
		ok &= !ioctl(fd, LPC_IOC_REQUEST, &m) && m.status == 0;
	}
	t = now_ms() - t;
	check(ok, "2000 noop round trips", "one failed");
	printf("info noop round trip (TCG guest, us): %.1f\n", t * 1000 / 2000);

	for (i = 0; i < 4; i++)
		many[i] = start_child(request_many, 0);
	for (i = 0, ok = 1; i < 4; i++)
		ok &= child_status(many[i]) == 0;
	check(ok, "4 processes x 100 concurrent calls are all answered right",
	      "a child failed");

	set_param("call_timeout_ms", "1");
	for (i = 0; i < 8; i++)
		many[i] = start_child(request_racing, 0);
	for (i = 0, ok = 1; i < 8; i++)
		ok &= child_status(many[i]) == 0;
	check(ok, "calls racing a 1 ms timeout get a right answer or ETIMEDOUT",
	      "a child failed");
	set_param("call_timeout_ms", "10000");
	expect_ok("the daemon serves after the races",
		  call_pair(fd, LPC_IOC_REQUEST, "mul", 3, 3, &r, &m));
	check(r == 1009 && read_int(SYSDEV "waiting") == 0,
	      "no call is left waiting after the races", "r=%lld waiting %d",
	      (long long)r, read_int(SYSDEV "waiting"));

	set_param("call_timeout_ms", "20000");
	hang = start_child(request_hang, 0);
	usleep(500000);
	kill(daemon, SIGKILL);
	child_status(daemon);
	check(child_status(hang) == 0,
	      "SIGKILL of the daemon fails the waiting call with ECONNABORTED at once",
	      "caller did not get ECONNABORTED within 10 s");

	set_param("call_timeout_ms", "10000");
	daemon = start_cdaemon();
	expect_ok("a restarted daemon serves", call_pair(fd, LPC_IOC_REQUEST, "mul", 2, 2, &r, &m));
	check(r == 1004, "the restarted daemon answers", "r=%lld", (long long)r);
	for (i = 0, ok = 0; i < 100 && !ok; i++) {
		fill_msg(&m, "kstate", NULL, 0, &st, sizeof(st));
		ok = !ioctl(fd, LPC_IOC_REQUEST, &m) && st.attaches == 3;
		if (!ok)
			usleep(20000);
	}
	check(ok, "on_attach ran again for the new daemon", "attaches %lld",
	      (long long)st.attaches);
	close(fd);

	check(system("rmmod lpcselftest 2>/dev/null") != 0 &&
	      access("/sys/module/lpcselftest", F_OK) == 0,
	      "rmmod is refused while the daemon is attached", "module went away");
	kill(daemon, SIGKILL);
	child_status(daemon);
	check(system("rmmod lpcselftest") == 0 && access(DEV, F_OK) != 0,
	      "rmmod succeeds once the daemon is gone", "rmmod failed");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: lpctest <path of cdaemon>\n");
		return 2;
	}
	cdaemon_path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_permissions();
	test_bad_ioctls();
	test_no_daemon();
	test_self_daemon();
	test_cdaemon();
	printf("done, %d failed\n", failures);
	return failures ? 1 : 0;
}

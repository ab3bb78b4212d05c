// SPDX-License-Identifier: GPL-2.0-only
/*
 * killer - SIGKILLs a split driver's daemon at random moments while
 * applications call, and measures how long service takes to come back.
 *
 * usage: killer [-k KILLS] [-r MAX-DELAY-MS] [-p PROC] [-f FAULT [-x MS]]
 *               -s SUPERVISOR-PID DEVICE
 *        killer [...same options...] DEVICE -- DAEMON [ARGS...]
 * Options come before DEVICE, so that DAEMON's own options stay DAEMON's.
 *
 * Each round: a probe call (REQUEST_LPC of PROC with the pair (3, 4)) must
 * succeed, which shows a daemon is serving; then a random pause of up to
 * MAX-DELAY-MS; then SIGKILL of the daemon.  With -s the daemon is the
 * supervisor's attached child (the supervisor hands over to its standby or
 * starts a new daemon); otherwise the killer
 * starts DAEMON itself and starts it again as soon as it died.  Recovery is
 * the time from the SIGKILL to the next probe that succeeds.
 *
 * With -f, the fault is a call of the misbehaving procedure FAULT instead
 * (it segfaults, aborts or spins in the daemon); with -x as well, the daemon
 * is SIGKILLed MS after that call started (while it holds a lock, say).  The
 * fault call must fail with an errno; recovery counts from its start.
 *
 * Prints "KILLER kills K missed M probe-errors E fault-ok F recovery-ms
 * P50 P90 P99 MAX" (F: fault calls that wrongly succeeded) and one
 * "RECOVERY ms errno-of-fault-call" line per round.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lpc_call.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int probe(int fd, const char *proc)
{
	int64_t res;
	struct lpc_msg m;

	if (call_pair(fd, LPC_IOC_REQUEST, proc, 3, 4, &res, &m) < 0)
		return -errno;
	return m.status;
}

/*
 * The supervisor's oldest child, or 0: the attached daemon (a younger child
 * is its standby; children are listed oldest first).
 */
static pid_t child_of(pid_t sup)
{
	char path[64];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", sup, sup);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

static pid_t spawn(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

struct fault {
	int fd;
	const char *proc;
	int result;
};

static void *fault_call(void *arg)
{
	struct fault *f = arg;

	f->result = probe(f->fd, f->proc);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *proc = "nop", *device, *fault = NULL;
	int kills = 200, max_delay = 200, opt, fd, k, missed = 0, probe_errors = 0;
	int kill_after = -1, fault_ok = 0, *fault_err;
	pid_t sup = 0, daemon = 0;
	char **daemon_argv = NULL;
	double *rec;

	while ((opt = getopt(argc, argv, "+k:r:p:s:f:x:")) != -1) {
		if (opt == 'k')
			kills = atoi(optarg);
		else if (opt == 'r')
			max_delay = atoi(optarg);
		else if (opt == 'p')
			proc = optarg;
		else if (opt == 's')
			sup = atoi(optarg);
		else if (opt == 'f')
			fault = optarg;
		else if (opt == 'x')
			kill_after = atoi(optarg);
		else
			goto usage;
	}
	if (optind >= argc || kills < 1 || max_delay < 0)
		goto usage;
	device = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (!sup) {
		if (optind >= argc)
			goto usage;
		daemon_argv = argv + optind;
		daemon = spawn(daemon_argv);
	}
	fd = open(device, O_RDWR | O_CLOEXEC);
	rec = calloc(kills, sizeof(*rec));
	fault_err = calloc(kills, sizeof(*fault_err));
	if (fd < 0 || !rec || !fault_err) {
		perror(device);
		return 1;
	}
	srand(getpid());
	for (k = 0; k < kills; k++) {
		double t0;
		pid_t victim;
		int err;

		/* Service is up: a probe is served (calls wait for a daemon). */
		while ((err = probe(fd, proc)) != 0) {
			probe_errors++;
			if (!sup && waitpid(daemon, NULL, WNOHANG) == daemon)
				daemon = spawn(daemon_argv);
		}
		usleep((rand() % (max_delay + 1)) * 1000);
		victim = sup ? child_of(sup) : daemon;
		if (fault) {
			struct fault f = { fd, fault, 0 };
			pthread_t tid;

			t0 = now_ms();
			pthread_create(&tid, NULL, fault_call, &f);
			if (kill_after >= 0) {
				usleep(kill_after * 1000);
				kill(victim, SIGKILL);
			}
			pthread_join(tid, NULL);
			fault_err[k] = -f.result;
			fault_ok += f.result == 0;
			goto recover;
		}
		if (victim <= 0 || kill(victim, SIGKILL)) {
			missed++;
			k--;
			if (missed > kills)
				break;
			continue;
		}
		t0 = now_ms();
recover:
		if (!sup) {
			waitpid(daemon, NULL, 0);
			daemon = spawn(daemon_argv);
		}
		while (probe(fd, proc) != 0) {
			probe_errors++;
			/* a daemon that could not attach yet (EBUSY) exits: again */
			if (!sup && waitpid(daemon, NULL, WNOHANG) == daemon)
				daemon = spawn(daemon_argv);
		}
		rec[k] = now_ms() - t0;
		printf("RECOVERY %.1f %d\n", rec[k], fault_err[k]);
		fflush(stdout);
	}
	if (daemon > 0) {
		kill(daemon, SIGKILL);
		waitpid(daemon, NULL, 0);
	}
	qsort(rec, kills, sizeof(*rec), cmp);
	printf("KILLER kills %d missed %d probe-errors %d fault-ok %d recovery-ms %.1f %.1f %.1f %.1f\n",
	       kills, missed, probe_errors, fault_ok, rec[kills / 2], rec[kills * 9 / 10],
	       rec[kills * 99 / 100], rec[kills - 1]);
	return missed > kills;
usage:
	fprintf(stderr, "usage: killer [-k KILLS] [-r MAX-DELAY-MS] [-p PROC] [-f FAULT [-x MS]] (-s SUPERVISOR-PID DEVICE | DEVICE -- DAEMON [ARGS...])\n");
	return 2;
}

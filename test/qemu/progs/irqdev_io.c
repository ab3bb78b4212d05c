// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqdev_io - drives the emitted irqdev whose register dump and scratch test
 * run in user space, and attacks its register accessors.
 *
 * usage: irqdev_io regs DEVICE
 *   DUMP_REGS, SELFTEST, DUMP_REGS: prints "STEP regs: r0 ... r9",
 *   "STEP selftest: N" and "STEP regs2: r0 ... r9" (hex).
 * usage: irqdev_io hostile LPC-DEVICE PLAN-HASH-HEX
 *   attaches as the daemon (none may be attached) and EXECs the accessor
 *   exports with forged cookies and short arguments: prints
 *   "STEP <case>: <status>" with the EXEC status, or -errno of the ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lpc_call.h"
#include "irqdev.h"

struct io_args {
	__u32 handle;
	__u32 offset;
	__u64 val;
};

static int regs(const char *dev)
{
	struct irqdev_regs r;
	__u32 result = ~0u;
	int fd = open(dev, O_RDWR), i, pass;

	if (fd < 0) {
		perror(dev);
		return 1;
	}
	for (pass = 0; pass < 2; pass++) {
		memset(&r, 0, sizeof(r));
		if (ioctl(fd, IRQDEV_IOC_DUMP_REGS, &r) < 0) {
			perror("DUMP_REGS");
			return 1;
		}
		printf("STEP %s:", pass ? "regs2" : "regs");
		for (i = 0; i < IRQDEV_NUM_REGS; i++)
			printf(" %08x", r.regs[i]);
		printf("\n");
		if (pass)
			break;
		if (ioctl(fd, IRQDEV_IOC_SELFTEST, &result) < 0) {
			perror("SELFTEST");
			return 1;
		}
		printf("STEP selftest: %u\n", result);
	}
	close(fd);
	return 0;
}

static int exec(int fd, const char *proc, const void *args, __u32 len)
{
	__u64 res[2] = { 0, 0 };
	struct lpc_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.proc, sizeof(m.proc), "%s", proc);
	m.args = (uintptr_t)args;
	m.args_len = len;
	m.result = (uintptr_t)res;
	m.result_cap = sizeof(res);
	if (ioctl(fd, LPC_IOC_EXEC, &m) < 0)
		return -errno;
	return m.status < 0 ? m.status : (int)m.result_len;
}

static int hostile(const char *dev, const char *hex)
{
	static const struct {
		const char *name;
		__u32 handle, offset;
	} cases[] = {
		{ "handle0", 0, 0 },
		{ "handle1", 1, 0 },
		{ "handle2", 2, 0x10 },
		{ "handlemax", 0xffffffffu, 0 },
		{ "kernelptr", 0xffff8880u, 0x1000 },
	};
	struct io_args a;
	unsigned int i;
	int fd = open(dev, O_RDWR);

	if (fd < 0) {
		perror(dev);
		return 1;
	}
	if (attach_hex(fd, hex) < 0) {
		perror("ATTACH");
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.handle = cases[i].handle;
		a.offset = cases[i].offset;
		a.val = 0xdeadbeef;
		printf("STEP read_%s: %d\n", cases[i].name, exec(fd, "lpc_io_ioread32", &a, sizeof(a)));
		printf("STEP write_%s: %d\n", cases[i].name, exec(fd, "lpc_io_iowrite32", &a, sizeof(a)));
	}
	printf("STEP short: %d\n", exec(fd, "lpc_io_ioread32", &a, 4));
	printf("STEP port: %d\n", exec(fd, "lpc_io_inb", &a, sizeof(a)));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "regs"))
		return regs(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "hostile"))
		return hostile(argv[2], argv[3]);
	fprintf(stderr, "usage: irqdev_io regs DEVICE | hostile LPC-DEVICE PLAN-HASH-HEX\n");
	return 2;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqdev_io - drives the emitted irqdev whose register dump and scratch test
 * run in user space, and attacks its register accessors.
 *
 * usage: irqdev_io regs DEVICE
 *   DUMP_REGS, SELFTEST, DUMP_REGS, FW_IDENT: prints "STEP regs: r0 ... r9",
 *   "STEP selftest: N", "STEP regs2: r0 ... r9" (hex) and
 *   "STEP fwident: RET SIGNATURE FEATURES" (hex).
 * usage: irqdev_io hostile LPC-DEVICE PLAN-HASH-HEX
 *   attaches as the daemon (none may be attached) and EXECs the accessor
 *   exports with forged cookies and short arguments: prints
 *   "STEP <case>: <status>" with the EXEC status, or -errno of the ioctl.
 * usage: irqdev_io portcall LPC-DEVICE DEVICE PLAN-HASH-HEX
 *   attaches as the daemon, has a child ask DEVICE for FW_IDENT, and serves
 *   the irqdev_fw_ident call that brings: reads fw_cfg's signature through
 *   the port cookie it was lent, tries accesses outside the region, answers
 *   with the signature it read, then tries the cookie once more. Prints
 *   "STEP port_<case>: <status>", "STEP port_sig: SIG" and the child's
 *   "STEP portcall_ident: RET SIGNATURE FEATURES".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
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
	struct irqdev_fw fw;
	__u32 result = ~0u;
	int fd = open(dev, O_RDWR), i, pass, ret;

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
	memset(&fw, 0, sizeof(fw));
	ret = ioctl(fd, IRQDEV_IOC_FW_IDENT, &fw) < 0 ? -errno : 0;
	printf("STEP fwident: %d %08x %08x\n", ret, fw.signature, fw.features);
	close(fd);
	return 0;
}

/* EXEC while serving request @id (0: none); the result's first word in *val. */
static int exec(int fd, __u64 id, const char *proc, const void *args, __u32 len,
		__u64 *val)
{
	__u64 res[2] = { 0, 0 };
	struct lpc_msg m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	snprintf(m.proc, sizeof(m.proc), "%s", proc);
	m.args = (uintptr_t)args;
	m.args_len = len;
	m.result = (uintptr_t)res;
	m.result_cap = sizeof(res);
	if (ioctl(fd, LPC_IOC_EXEC, &m) < 0)
		return -errno;
	if (val)
		*val = res[0];
	return m.status < 0 ? m.status : (int)m.result_len;
}

/* Opens the LPC device and attaches as its daemon: the fd, or -1. */
static int attach(const char *dev, const char *hex)
{
	int fd = open(dev, O_RDWR);

	if (fd < 0) {
		perror(dev);
		return -1;
	}
	if (attach_hex(fd, hex) < 0) {
		perror("ATTACH");
		close(fd);
		return -1;
	}
	return fd;
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
	int fd = attach(dev, hex);

	if (fd < 0)
		return 1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.handle = cases[i].handle;
		a.offset = cases[i].offset;
		a.val = 0xdeadbeef;
		printf("STEP read_%s: %d\n", cases[i].name, exec(fd, 0, "lpc_io_ioread32", &a, sizeof(a), NULL));
		printf("STEP write_%s: %d\n", cases[i].name, exec(fd, 0, "lpc_io_iowrite32", &a, sizeof(a), NULL));
	}
	printf("STEP short: %d\n", exec(fd, 0, "lpc_io_ioread32", &a, 4, NULL));
	printf("STEP port: %d\n", exec(fd, 0, "lpc_io_inb", &a, sizeof(a), NULL));
	close(fd);
	return 0;
}

/* The arguments and result of irqdev_fw_ident on the wire (its lpc_args_/lpc_res_ structs). */
struct ident_args {
	__u32 fw_features;
	__u32 pad;
	__u64 fw_port;
	__u32 fw_sig;
};

struct ident_res {
	__s32 ret;
	__u32 fw_features;
	__u32 fw_sig;
};

/* An accessor on (handle, offset) while serving request @id. */
static int io(int fd, __u64 id, const char *proc, __u32 handle, __u32 offset,
	      __u64 v, __u64 *val)
{
	struct io_args a = { handle, offset, v };

	return exec(fd, id, proc, &a, sizeof(a), val);
}

static int portcall(const char *lpc, const char *dev, const char *hex)
{
	static const struct {
		const char *name, *proc;
		__u32 offset;
	} outside[] = {
		{ "past_end", "lpc_io_ioread8", 12 },
		{ "straddle", "lpc_io_ioread32", 10 },
		{ "misaligned16", "lpc_io_iowrite16", 1 },
		{ "misaligned32", "lpc_io_ioread32", 2 },
		{ "far", "lpc_io_ioread8", 0x10000 },
		{ "max", "lpc_io_ioread8", 0xffffffffu },
	};
	struct ident_args args;
	struct ident_res res;
	struct lpc_msg m, r;
	__u32 handle, base, sig = 0;
	__u64 v;
	int fd = attach(lpc, hex), status, i;
	pid_t child;

	if (fd < 0)
		return 1;
	child = fork();
	if (child == 0) {
		int dfd = open(dev, O_RDWR);
		struct irqdev_fw fw = { 0, 0 };
		int ret = dfd < 0 || ioctl(dfd, IRQDEV_IOC_FW_IDENT, &fw) < 0 ? -errno : 0;

		printf("STEP portcall_ident: %d %08x %08x\n", ret, fw.signature, fw.features);
		exit(0);
	}
	memset(&m, 0, sizeof(m));
	m.args = (uintptr_t)&args;
	m.args_cap = sizeof(args);
	m.timeout_ms = 60000;
	if (ioctl(fd, LPC_IOC_POLL, &m) < 0 || strcmp(m.proc, "irqdev_fw_ident")) {
		perror("POLL");
		return 1;
	}
	handle = (__u32)(args.fw_port >> 32);
	base = (__u32)args.fw_port;
	printf("STEP port_cookie: %d %u\n", handle != 0, base);
	/* What irqdev_fw_ident does: select the signature, read four bytes. */
	printf("STEP port_select: %d\n", io(fd, m.id, "lpc_io_iowrite16", handle, base, 0, NULL));
	for (i = 0; i < 4; i++) {
		status = io(fd, m.id, "lpc_io_ioread8", handle, base + 1, 0, &v);
		if (status < 0)
			printf("STEP port_read%d: %d\n", i, status);
		sig |= (__u32)(v & 0xff) << (8 * i);
	}
	printf("STEP port_sig: %08x\n", sig);
	for (i = 0; i < (int)(sizeof(outside) / sizeof(outside[0])); i++)
		printf("STEP port_%s: %d\n", outside[i].name,
		       io(fd, m.id, outside[i].proc, handle, outside[i].offset, 0, NULL));
	printf("STEP port_otherhandle: %d\n", io(fd, m.id, "lpc_io_ioread8", handle + 1, 1, 0, NULL));
	/* The signature it read; features it leaves as they were. */
	res.ret = 0;
	res.fw_sig = sig;
	res.fw_features = args.fw_features;
	memset(&r, 0, sizeof(r));
	r.id = m.id;
	r.generation = m.generation;
	r.result = (uintptr_t)&res;
	r.result_len = sizeof(res);
	if (ioctl(fd, LPC_IOC_RESPONSE, &r) < 0)
		perror("RESPONSE");
	waitpid(child, NULL, 0);
	/* The call is over: the region is no longer lent. */
	printf("STEP port_after: %d\n", io(fd, 0, "lpc_io_ioread8", handle, base + 1, 0, NULL));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "regs"))
		return regs(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "hostile"))
		return hostile(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "portcall"))
		return portcall(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: irqdev_io regs DEVICE | hostile LPC-DEVICE PLAN-HASH-HEX | portcall LPC-DEVICE DEVICE PLAN-HASH-HEX\n");
	return 2;
}

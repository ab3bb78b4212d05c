/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * The ioctl ABI between a split driver's kernel half and its
 * user-space daemon.  This header is the single source of truth: the kernel
 * core, the C daemons and the TypeScript daemon are all derived from it.
 *
 * Conventions (kept regular so other languages can mirror it mechanically):
 *  - little-endian x86-64 layout, every field naturally aligned, explicit
 *    padding, every struct a multiple of 8 bytes (sizes asserted below);
 *  - user pointers travel as __u64, lengths as __u32;
 *  - "reserved", "pad" and "flags" fields must be zero (-EINVAL otherwise);
 *  - names are NUL-terminated within LPC_NAME_MAX bytes (-EINVAL otherwise);
 *  - errors are returned as the ioctl's -1/errno; a remote procedure's own
 *    result code travels in a "status" field (0 or a negative errno).
 *
 * Session: a daemon opens /dev/<name>_lpc (mode 0600) and issues
 * LPC_IOC_ATTACH (a ninth ioctl, kept separate from POLL so that attaching
 * is explicit and can be checked once).  Only the file that attached may use
 * POLL, RESPONSE, RESPONSE_POLL, EXEC, LOCK, UNLOCK, UP and DOWN; its
 * threads share it.  RESPONSE_POLL is no new operation: it is RESPONSE
 * followed by POLL in one system call, for a thread that answers a request
 * and goes on serving (as FUSE's and ublk's COMMIT_AND_FETCH).
 * REQUEST may be issued on any open file of the device.  Closing the attached
 * file (also on SIGKILL) detaches: calls waiting for the daemon fail with
 * ECONNABORTED, locks it holds are released, and the generation increases.
 */
#ifndef _LPC_ABI_H
#define _LPC_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define LPC_ABI_VERSION		2

/* Bytes in a procedure, lock or semaphore name, including the NUL. */
#define LPC_NAME_MAX		64
/* Bytes in a plan hash (SHA-256 of the plan the halves were emitted from). */
#define LPC_PLAN_HASH_LEN	32
/* Hard upper bound of an argument or result buffer, in bytes. */
#define LPC_ARGS_MAX		65536

/*
 * struct lpc_attach - LPC_IOC_ATTACH: become the device's daemon.
 * Needs CAP_SYS_ADMIN (EPERM); one daemon at a time (EBUSY).
 * @abi_version: in, LPC_ABI_VERSION (EPROTONOSUPPORT if different).
 * @flags:       in, must be 0.
 * @plan_hash:   in, hash of the plan the daemon was emitted from (EPROTO if
 *               it differs from the module's).
 * @generation:  out, this session's generation; POLL reports it and
 *               RESPONSE must echo it (ESTALE otherwise).
 * @max_args:    out, largest argument or result buffer accepted, in bytes.
 * @max_depth:   out, deepest kernel->user->kernel nesting accepted.
 * @reserved:    must be 0.
 */
struct lpc_attach {
	__u32 abi_version;
	__u32 flags;
	__u8  plan_hash[LPC_PLAN_HASH_LEN];
	__u64 generation;
	__u32 max_args;
	__u32 max_depth;
	__u64 reserved[2];
};

/*
 * struct lpc_msg - one procedure call, used by POLL, RESPONSE, EXEC, REQUEST.
 * RESPONSE_POLL reads it as RESPONSE does (an @id of 0 answers nothing),
 * then writes it as POLL does.  POLL and RESPONSE_POLL write the inputs
 * @args, @args_cap, @result and @timeout_ms back unchanged and zero the
 * other fields they do not report, so a thread can reuse one struct.
 * @id:         POLL: out, request id.  RESPONSE: in, id being answered
 *              (ENOENT if unknown, already answered or given up by its
 *              caller).  EXEC: in, id of the request the calling worker is
 *              serving, or 0; it sets the nesting depth.  REQUEST: ignored.
 * @generation: POLL: out.  RESPONSE: in, must equal the session's (ESTALE).
 *              EXEC, REQUEST: ignored.
 * @args:       user pointer to the argument bytes.  POLL: buffer to receive
 *              them.  EXEC, REQUEST: arguments to send.  RESPONSE: ignored.
 * @result:     user pointer to the result bytes.  RESPONSE: the result.
 *              EXEC, REQUEST: buffer to receive it.  POLL: ignored.
 * @args_len:   POLL: out, argument bytes written (if args_cap was too small,
 *              the size needed, with EMSGSIZE; the request stays queued).
 *              EXEC, REQUEST: in, argument bytes.
 * @result_len: RESPONSE: in, result bytes (at most the request's result_cap).
 *              EXEC, REQUEST: out, result bytes written.
 * @result_cap: POLL: out, most result bytes the caller accepts.
 *              EXEC, REQUEST: in, capacity of @result.
 * @args_cap:   POLL: in, capacity of @args.  Others: ignored.
 * @status:     RESPONSE: in, the procedure's return code, 0 or -errno.
 *              EXEC, REQUEST: out, the procedure's return code.
 * @timeout_ms: POLL: in, 0 waits until a request or a signal, otherwise
 *              ETIMEDOUT after this many ms.  Others: ignored.
 * @flags:      must be 0.
 * @depth:      POLL: out, nesting depth of the request (1 = called from the
 *              kernel directly).  Others: ignored.
 * @proc:       procedure name.  POLL: out.  EXEC, REQUEST: in.
 *              RESPONSE: ignored.
 * @reserved:   must be 0.
 */
struct lpc_msg {
	__u64 id;
	__u64 generation;
	__u64 args;
	__u64 result;
	__u32 args_len;
	__u32 result_len;
	__u32 result_cap;
	__u32 args_cap;
	__s32 status;
	__u32 timeout_ms;
	__u32 flags;
	__u32 depth;
	char  proc[LPC_NAME_MAX];
	__u64 reserved[2];
};

/*
 * struct lpc_sync - a kernel lock or semaphore: LOCK, UNLOCK, UP, DOWN.
 * @name:       lock or semaphore name (ENOENT if the module has none such).
 * @data:       user pointer.  LOCK: buffer receiving a copy of the guarded
 *              data.  UNLOCK: the data to write back.  UP, DOWN: ignored.
 * @data_len:   LOCK: in, capacity of @data (EMSGSIZE, with the size needed,
 *              if too small); out, bytes copied.  UNLOCK: in, 0 to release
 *              without writing back, otherwise exactly the guarded size.
 * @timeout_ms: LOCK, DOWN: in, 0 waits until acquired or a signal,
 *              otherwise ETIMEDOUT after this many ms.
 * @flags:      must be 0.
 * @pad:        must be 0.
 * @reserved:   must be 0.
 * UNLOCK of a lock the daemon does not hold fails with ENOLCK.
 */
struct lpc_sync {
	char  name[LPC_NAME_MAX];
	__u64 data;
	__u32 data_len;
	__u32 timeout_ms;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/* ioctl type byte: unused in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define LPC_IOC_MAGIC		0xB8

#define LPC_IOC_ATTACH		_IOWR(LPC_IOC_MAGIC, 0x00, struct lpc_attach)
#define LPC_IOC_POLL		_IOWR(LPC_IOC_MAGIC, 0x01, struct lpc_msg)
#define LPC_IOC_RESPONSE	_IOW(LPC_IOC_MAGIC,  0x02, struct lpc_msg)
#define LPC_IOC_EXEC		_IOWR(LPC_IOC_MAGIC, 0x03, struct lpc_msg)
#define LPC_IOC_REQUEST		_IOWR(LPC_IOC_MAGIC, 0x04, struct lpc_msg)
#define LPC_IOC_LOCK		_IOWR(LPC_IOC_MAGIC, 0x05, struct lpc_sync)
#define LPC_IOC_UNLOCK		_IOW(LPC_IOC_MAGIC,  0x06, struct lpc_sync)
#define LPC_IOC_UP		_IOW(LPC_IOC_MAGIC,  0x07, struct lpc_sync)
#define LPC_IOC_DOWN		_IOW(LPC_IOC_MAGIC,  0x08, struct lpc_sync)
#define LPC_IOC_RESPONSE_POLL	_IOWR(LPC_IOC_MAGIC, 0x09, struct lpc_msg)

/*
 * RESPONSE_POLL's errors: EINVAL, ESTALE and ENOENT refuse the answer and
 * poll nothing.  ETIMEDOUT, EAGAIN, EMSGSIZE and EINTR are POLL's, after the
 * answer was delivered; EINTR (a signal) is never restarted, since that
 * would send the answer again.  EFAULT is a bad pointer, found before or
 * after the answer was taken (a bad @result fails the answered call).
 */

/*
 * Transport errors of a kernel-to-user call (REQUEST's errno, or the value
 * lpc_call_user() returns in the kernel):
 *  ETIMEDOUT    no answer within the module's call_timeout_ms;
 *  ECONNABORTED the daemon detached (died) before answering;
 *  ENOTCONN     no daemon attached and the module fails such calls at once;
 *  ELOOP        nesting deeper than max_depth;
 *  EINTR        the caller got a fatal signal.
 */

/*
 * Layout is ABI: sizeof(struct lpc_attach) == 72, sizeof(struct lpc_msg) ==
 * 144, sizeof(struct lpc_sync) == 104 (the kernel core asserts these with
 * BUILD_BUG_ON).  Any change is a new LPC_ABI_VERSION.
 */

#endif /* _LPC_ABI_H */

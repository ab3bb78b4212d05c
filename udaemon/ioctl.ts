/**
 * The kernel half's device through koffi: libc ioctl() with a pointer to a
 * native, non-moving struct, errno from koffi, and small native buffers whose
 * addresses can travel in the ABI's __u64 pointer fields.
 *
 * ioctl is looked up in the process's global symbol scope (dlopen(NULL)),
 * the same resolution the user half's C library gets, so one interposed
 * ioctl (a test's fake device) serves both.
 */
import koffi from './koffi.js';
import { ATTACH, ATTACH_SIZE, ERRNO, IOC, LPC_ABI_VERSION, LPC_NAME_MAX, LPC_PLAN_HASH_LEN, MSG, MSG_SIZE, SYNC, SYNC_SIZE } from './abi.js';

const libc = koffi.load(null);
// Declared non-variadic, the pointer passed as its address: on x86-64 the
// variadic and fixed calling conventions agree for integer and pointer
// arguments, and koffi converts a number faster than a pointer object.
const ioctlFn = libc.func('ioctl', 'int', ['int', 'unsigned long', 'uintptr_t']) as (fd: number, request: number, arg: number) => number;
const exitFn = libc.func('void _exit(int status)');
// memmove(p, p, 0) returns p: the address koffi passes for a typed array.
const memmoveFn = libc.func('uintptr_t memmove(void *dest, void *src, size_t n)') as (dest: Int32Array | Uint32Array, src: Int32Array | Uint32Array, n: number) => number;

/** The address of a typed array's memory, for native code: fixed for one over a SharedArrayBuffer. */
export function addressOf(a: Int32Array | Uint32Array): number {
  return memmoveFn(a, a, 0);
}

/** An ioctl failure with the errno the kernel returned. */
export class IoctlError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
  ) {
    super(`${op}: errno ${errno}`);
    this.name = 'IoctlError';
  }
}

/**
 * Native memory that never moves: the address goes into __u64 fields and
 * the bytes are read and written through a Uint8Array/DataView over it.
 */
export class NativeBuffer {
  readonly ptr: unknown;
  readonly address: bigint;
  /** The address as a number (exact: user addresses are below 2^47). */
  readonly at: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(readonly size: number) {
    this.ptr = koffi.alloc('uint8_t', Math.max(size, 1));
    this.address = koffi.address(this.ptr);
    this.at = Number(this.address);
    const ab = koffi.view(this.ptr, Math.max(size, 1));
    this.bytes = new Uint8Array(ab, 0, size);
    this.view = new DataView(ab);
  }

  zero(from = 0, to = this.size): void {
    this.bytes.fill(0, from, to);
  }
}

/** Calls ioctl; returns its value or throws IoctlError with errno. */
export function ioctl(fd: number, request: number, arg: NativeBuffer, op: string): number {
  const r = ioctlFn(fd, request, arg.at);
  if (r < 0) throw new IoctlError(op, koffi.errno());
  return r;
}

/** Ends the process at once, without joining threads: a worker may be stuck in C. */
export function hardExit(code: number): never {
  exitFn(code);
  throw new Error('unreachable');
}

export function putName(b: NativeBuffer, offset: number, name: string): void {
  const enc = new TextEncoder().encode(name);
  if (enc.length >= LPC_NAME_MAX) throw new Error(`name "${name}" is longer than ${LPC_NAME_MAX - 1} bytes`);
  b.bytes.fill(0, offset, offset + LPC_NAME_MAX);
  b.bytes.set(enc, offset);
}

export function getName(b: Uint8Array, offset: number): string {
  const raw = b.subarray(offset, offset + LPC_NAME_MAX);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(raw.subarray(0, end < 0 ? raw.length : end));
}

export interface AttachInfo {
  generation: bigint;
  maxArgs: number;
  maxDepth: number;
}

/** LPC_IOC_ATTACH: become the device's daemon. */
export function attach(fd: number, planHash: Uint8Array): AttachInfo {
  if (planHash.length !== LPC_PLAN_HASH_LEN) throw new Error(`plan hash must be ${LPC_PLAN_HASH_LEN} bytes`);
  const a = new NativeBuffer(ATTACH_SIZE);
  a.view.setUint32(ATTACH.abi_version, LPC_ABI_VERSION, true);
  a.bytes.set(planHash, ATTACH.plan_hash);
  ioctl(fd, IOC.ATTACH, a, 'ATTACH');
  return {
    generation: a.view.getBigUint64(ATTACH.generation, true),
    maxArgs: a.view.getUint32(ATTACH.max_args, true),
    maxDepth: a.view.getUint32(ATTACH.max_depth, true),
  };
}

/**
 * One thread's kernel calls: an lpc_msg/lpc_sync header and argument and
 * result buffers, reused call after call (a thread makes one call at a time).
 */
export class Channel {
  readonly msg = new NativeBuffer(MSG_SIZE);
  readonly sync = new NativeBuffer(SYNC_SIZE);
  readonly args: NativeBuffer;
  readonly result: NativeBuffer;
  /**
   * POLL's lpc_msg: the last polled request's header (its arguments are in
   * this.args), answered in place by RESPONSE_POLL, which writes the next
   * request's header over it and leaves the inputs (buffers, timeout) as
   * they are.
   */
  readonly polled = new NativeBuffer(MSG_SIZE);
  /** The polled request's NUL-padded procedure name, a view into this.polled. */
  readonly polledName: Uint8Array;
  /** RESPONSE's lpc_msg, for an answer that does not poll (the thread goes on to other work). */
  private readonly answer = new NativeBuffer(MSG_SIZE);

  constructor(
    readonly fd: number,
    capacity: number,
    pollTimeoutMs = 0,
  ) {
    this.args = new NativeBuffer(capacity);
    this.result = new NativeBuffer(capacity);
    const v = this.polled.view;
    v.setBigUint64(MSG.args, this.args.address, true);
    v.setUint32(MSG.args_cap, this.args.size, true);
    v.setBigUint64(MSG.result, this.result.address, true);
    v.setUint32(MSG.timeout_ms, pollTimeoutMs, true);
    this.polledName = this.polled.bytes.subarray(MSG.proc, MSG.proc + LPC_NAME_MAX);
    this.answer.view.setBigUint64(MSG.result, this.result.address, true);
  }

  /**
   * LPC_IOC_RESPONSE_POLL: answers the request in this.polled with status
   * and resultLen bytes of this.result (or nothing if answer is false), then
   * polls into this.polled and this.args. Returns 0 with a request, else
   * the errno of an answer refused (ENOENT: its caller gave up; ESTALE: an
   * older session's request; nothing was polled) or of a poll without a
   * request (ETIMEDOUT, EINTR; the answer was delivered). Throws on any
   * other error.
   */
  respondPoll(answer: boolean, status: number, resultLen: number): number {
    const v = this.polled.view;
    if (answer) {
      v.setUint32(MSG.result_len, resultLen, true);
      v.setInt32(MSG.status, status, true);
    } else {
      v.setBigUint64(MSG.id, 0n, true);
    }
    if (ioctlFn(this.fd, IOC.RESPONSE_POLL, this.polled.at) === 0) return 0;
    const errno = koffi.errno();
    if (errno === ERRNO.ETIMEDOUT || errno === ERRNO.EINTR || errno === ERRNO.ENOENT || errno === ERRNO.ESTALE) return errno;
    throw new IoctlError('RESPONSE_POLL', errno);
  }

  /** LPC_IOC_RESPONSE to the request in this.polled, with resultLen bytes of this.result. */
  respond(status: number, resultLen: number): void {
    const a = this.answer.view;
    const p = this.polled.view;
    a.setBigUint64(MSG.id, p.getBigUint64(MSG.id, true), true);
    a.setBigUint64(MSG.generation, p.getBigUint64(MSG.generation, true), true);
    a.setUint32(MSG.result_len, resultLen, true);
    a.setInt32(MSG.status, status, true);
    ioctl(this.fd, IOC.RESPONSE, this.answer, 'RESPONSE');
  }

  /**
   * LPC_IOC_EXEC (or REQUEST) of proc with args; the result lands in
   * this.result. parentId is the request being served (sets the depth).
   */
  call(request: 'EXEC' | 'REQUEST', proc: string, args: Uint8Array, resultCap: number, parentId = 0n): { status: number; result: Uint8Array } {
    if (args.length > this.args.size) throw new IoctlError(request, ERRNO.EMSGSIZE);
    const m = this.msg;
    m.zero();
    this.args.bytes.set(args);
    m.view.setBigUint64(MSG.id, parentId, true);
    m.view.setBigUint64(MSG.args, this.args.address, true);
    m.view.setUint32(MSG.args_len, args.length, true);
    m.view.setBigUint64(MSG.result, this.result.address, true);
    m.view.setUint32(MSG.result_cap, Math.min(resultCap, this.result.size), true);
    putName(m, MSG.proc, proc);
    ioctl(this.fd, IOC[request], m, request);
    const len = m.view.getUint32(MSG.result_len, true);
    return { status: m.view.getInt32(MSG.status, true), result: this.result.bytes.slice(0, len) };
  }

  private syncOp(op: 'LOCK' | 'UNLOCK' | 'UP' | 'DOWN', name: string, data: Uint8Array | null, dataCap: number, timeoutMs: number): number {
    const s = this.sync;
    s.zero();
    putName(s, SYNC.name, name);
    if (data) this.args.bytes.set(data);
    s.view.setBigUint64(SYNC.data, this.args.address, true);
    s.view.setUint32(SYNC.data_len, dataCap, true);
    s.view.setUint32(SYNC.timeout_ms, timeoutMs, true);
    ioctl(this.fd, IOC[op], s, op);
    return s.view.getUint32(SYNC.data_len, true);
  }

  /** LPC_IOC_LOCK: takes the kernel lock; returns a copy of the data it guards. */
  lock(name: string, timeoutMs = 0): Uint8Array {
    const n = this.syncOp('LOCK', name, null, this.args.size, timeoutMs);
    return this.args.bytes.slice(0, n);
  }

  /** LPC_IOC_UNLOCK: writes data back (unless null) and releases. */
  unlock(name: string, data: Uint8Array | null): void {
    if (data && data.length > this.args.size) throw new IoctlError('UNLOCK', ERRNO.EMSGSIZE);
    this.syncOp('UNLOCK', name, data, data ? data.length : 0, 0);
  }

  up(name: string): void {
    this.syncOp('UP', name, null, 0, 0);
  }

  down(name: string, timeoutMs = 0): void {
    this.syncOp('DOWN', name, null, 0, timeoutMs);
  }
}

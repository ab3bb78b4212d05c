/**
 * TypeScript mirror of kmod/lpc_abi.h, the one source of truth for the LPC
 * ioctl ABI. Layouts are declared with koffi.struct (C alignment rules) and
 * field offsets are taken from koffi, never written by hand;
 * test/udaemon/abi.test.ts compiles the C header and checks every size,
 * offset and ioctl number against this file.
 */
import koffi from './koffi.js';

export const LPC_ABI_VERSION = 2;
export const LPC_NAME_MAX = 64;
export const LPC_PLAN_HASH_LEN = 32;
export const LPC_ARGS_MAX = 65536;
export const LPC_IOC_MAGIC = 0xb8;

export const lpcAttach = koffi.struct('lpc_attach', {
  abi_version: 'uint32_t',
  flags: 'uint32_t',
  plan_hash: koffi.array('uint8_t', LPC_PLAN_HASH_LEN),
  generation: 'uint64_t',
  max_args: 'uint32_t',
  max_depth: 'uint32_t',
  reserved: koffi.array('uint64_t', 2),
});

export const lpcMsg = koffi.struct('lpc_msg', {
  id: 'uint64_t',
  generation: 'uint64_t',
  args: 'uint64_t',
  result: 'uint64_t',
  args_len: 'uint32_t',
  result_len: 'uint32_t',
  result_cap: 'uint32_t',
  args_cap: 'uint32_t',
  status: 'int32_t',
  timeout_ms: 'uint32_t',
  flags: 'uint32_t',
  depth: 'uint32_t',
  proc: koffi.array('char', LPC_NAME_MAX),
  reserved: koffi.array('uint64_t', 2),
});

export const lpcSync = koffi.struct('lpc_sync', {
  name: koffi.array('char', LPC_NAME_MAX),
  data: 'uint64_t',
  data_len: 'uint32_t',
  timeout_ms: 'uint32_t',
  flags: 'uint32_t',
  pad: 'uint32_t',
  reserved: koffi.array('uint64_t', 2),
});

/**
 * Not part of the kernel ABI: the daemon's state for the native serving loop
 * of a user half (udaemon/native/lpc_serve.h), checked by the same test.
 */
export const LPC_SERVE_SAMPLES = 16;
export const lpcServe = koffi.struct('lpc_serve', {
  msg: 'uint64_t',
  busy: 'uint64_t',
  id: 'uint64_t',
  stop: 'uint64_t',
  queued: 'uint64_t',
  pollers: 'uint64_t',
  inlined: 'uint64_t',
  idle: 'uint64_t',
  budget_ns: 'uint64_t',
  fd: 'int32_t',
  result_cap: 'uint32_t',
  max_run: 'uint32_t',
  time_every: 'uint32_t',
  time_first: 'uint32_t',
  until_timed: 'uint32_t',
  next_timed: 'uint32_t',
  served: 'uint32_t',
  failed: 'uint32_t',
  rejected: 'uint32_t',
  status: 'int32_t',
  result_len: 'uint32_t',
  capacity: 'uint32_t',
  samples: 'uint32_t',
  elapsed_ns: koffi.array('uint64_t', LPC_SERVE_SAMPLES),
});

type FieldsOf<T> = { readonly [K in keyof T]: number };
type CType = ReturnType<typeof koffi.struct>;
function offsets<const N extends string>(type: CType, names: readonly N[]): FieldsOf<Record<N, number>> {
  return Object.fromEntries(names.map((n) => [n, koffi.offsetof(type, n)])) as FieldsOf<Record<N, number>>;
}

export const ATTACH_SIZE = koffi.sizeof(lpcAttach);
export const MSG_SIZE = koffi.sizeof(lpcMsg);
export const SYNC_SIZE = koffi.sizeof(lpcSync);

export const ATTACH = offsets(lpcAttach, ['abi_version', 'flags', 'plan_hash', 'generation', 'max_args', 'max_depth', 'reserved'] as const);
export const MSG = offsets(lpcMsg, [
  'id', 'generation', 'args', 'result', 'args_len', 'result_len', 'result_cap', 'args_cap',
  'status', 'timeout_ms', 'flags', 'depth', 'proc', 'reserved',
] as const);
export const SYNC = offsets(lpcSync, ['name', 'data', 'data_len', 'timeout_ms', 'flags', 'pad', 'reserved'] as const);
export const SERVE_SIZE = koffi.sizeof(lpcServe);
export const SERVE = offsets(lpcServe, [
  'msg', 'busy', 'id', 'stop', 'queued', 'pollers', 'inlined', 'idle', 'budget_ns', 'fd', 'result_cap', 'max_run',
  'time_every', 'time_first', 'until_timed', 'next_timed', 'served', 'failed', 'rejected', 'status', 'result_len',
  'capacity', 'samples', 'elapsed_ns',
] as const);

// asm-generic/ioctl.h, which x86-64 uses.
const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = 8;
const IOC_SIZESHIFT = 16;
const IOC_DIRSHIFT = 30;
const IOC_WRITE = 1;
const IOC_READ = 2;

/** _IOC(dir, type, nr, size) as an unsigned 32-bit number. */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << IOC_DIRSHIFT) | (type << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT) | (size << IOC_SIZESHIFT)) >>> 0;
}
const iow = (nr: number, size: number) => ioc(IOC_WRITE, LPC_IOC_MAGIC, nr, size);
const iowr = (nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, LPC_IOC_MAGIC, nr, size);

export const IOC = {
  ATTACH: iowr(0x00, ATTACH_SIZE),
  POLL: iowr(0x01, MSG_SIZE),
  RESPONSE: iow(0x02, MSG_SIZE),
  EXEC: iowr(0x03, MSG_SIZE),
  REQUEST: iowr(0x04, MSG_SIZE),
  LOCK: iowr(0x05, SYNC_SIZE),
  UNLOCK: iow(0x06, SYNC_SIZE),
  UP: iow(0x07, SYNC_SIZE),
  DOWN: iow(0x08, SYNC_SIZE),
  RESPONSE_POLL: iowr(0x09, MSG_SIZE),
} as const;

/** Linux errno values the runtime produces or reacts to by name. */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, EAGAIN: 11, ENOMEM: 12, EFAULT: 14, EBUSY: 16,
  EINVAL: 22, ENOTTY: 25, ERANGE: 34, ENOSYS: 38, ENOLCK: 37, ELOOP: 40, EPROTO: 71,
  EMSGSIZE: 90, EPROTONOSUPPORT: 93, ECONNABORTED: 103, ENOTCONN: 107, ETIMEDOUT: 110, ESTALE: 116,
} as const;

/** Largest errno the kernel accepts as a RESPONSE status (include/linux/err.h). */
export const MAX_ERRNO = 4095;

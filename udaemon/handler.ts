/**
 * Procedures written in TypeScript/JavaScript: the manifest names a module
 * whose default export (or export named after the procedure) is a Handler.
 */
import type { Field, Procedure } from './manifest.js';

/** The kernel calls a handler may make while serving its request. */
export interface KernelCalls {
  /** EXEC_LPC: runs an exported kernel function; nested calls carry this request's id. */
  exec(name: string, args?: Uint8Array, resultCap?: number): { status: number; result: Uint8Array };
  /** LOCK_LPC: takes a shared lock; returns a copy of the data it guards. */
  lock(name: string, timeoutMs?: number): Uint8Array;
  /** UNLOCK_LPC: writes the data back (null: unchanged) and releases. */
  unlock(name: string, data: Uint8Array | null): void;
  up(name: string): void;
  down(name: string, timeoutMs?: number): void;
}

export interface HandlerCall {
  proc: string;
  id: bigint;
  depth: number;
  /** The raw argument bytes (fixed part, then variable-length buffers). */
  args: Uint8Array;
  /** The manifest's params, decoded: scalars as number (bigint for 8 bytes), the rest as bytes or string. */
  params: Record<string, number | bigint | string | Uint8Array>;
  resultCap: number;
  kernel: KernelCalls;
}

/**
 * What a handler returns: nothing (status 0, no result), a number or bigint
 * (the procedure's return value, stored as the manifest's `returns`), result
 * bytes, or an explicit status (0 or -errno) with optional bytes. An
 * IoctlError thrown by a kernel call becomes status -errno; any other
 * exception is a crash of the user half.
 */
export type HandlerResult = void | number | bigint | Uint8Array | { status?: number; result?: Uint8Array };
export type Handler = (call: HandlerCall) => HandlerResult | Promise<HandlerResult>;

function isSigned(type: string): boolean {
  return /^(s\d+|__s\d+|int\d*_t|int|long|short|signed|char|ssize_t|long long)$/.test(type.trim());
}

function readScalar(v: DataView, f: Field): number | bigint {
  const signed = isSigned(f.type);
  switch (f.size) {
    case 1: return signed ? v.getInt8(f.offset) : v.getUint8(f.offset);
    case 2: return signed ? v.getInt16(f.offset, true) : v.getUint16(f.offset, true);
    case 4: return signed ? v.getInt32(f.offset, true) : v.getUint32(f.offset, true);
    case 8: return signed ? v.getBigInt64(f.offset, true) : v.getBigUint64(f.offset, true);
    default: throw new Error(`parameter ${f.name}: a scalar of ${f.size} bytes`);
  }
}

export function decodeParams(p: Procedure, args: Uint8Array): HandlerCall['params'] {
  const v = new DataView(args.buffer, args.byteOffset, args.byteLength);
  const out: HandlerCall['params'] = {};
  for (const f of p.params) {
    let bytes = args.subarray(f.offset, f.offset + f.size);
    if (f.lengthOffset !== undefined) {
      // Variable-length data: the fixed part holds its offset (at offset) and length.
      const at = Number(readScalar(v, { ...f, type: 'u' }));
      bytes = args.subarray(at, at + v.getUint32(f.lengthOffset, true));
    }
    if (f.marshal === undefined || f.marshal === 'scalar') out[f.name] = readScalar(v, f);
    else if (f.marshal === 'string') {
      const end = bytes.indexOf(0);
      out[f.name] = new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
    } else out[f.name] = bytes;
  }
  return out;
}

/** Stores a returned number at the manifest's `returns` field of result. */
export function encodeReturn(p: Procedure, value: number | bigint, result: Uint8Array): number {
  const f = p.returns;
  if (!f) throw new Error(`procedure ${p.name} returned a value but the manifest declares no "returns"`);
  const v = new DataView(result.buffer, result.byteOffset, result.byteLength);
  const n = BigInt.asUintN(64, BigInt(value));
  switch (f.size) {
    case 1: v.setUint8(f.offset, Number(n & 0xffn)); break;
    case 2: v.setUint16(f.offset, Number(n & 0xffffn), true); break;
    case 4: v.setUint32(f.offset, Number(n & 0xffffffffn), true); break;
    case 8: v.setBigUint64(f.offset, n, true); break;
    default: throw new Error(`procedure ${p.name}: a return value of ${f.size} bytes`);
  }
  return Math.max(p.resultSize, f.offset + f.size);
}

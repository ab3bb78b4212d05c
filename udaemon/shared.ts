/**
 * What the daemon's threads share besides the queue: the layout of a request
 * in a queue slot, and a control block (stop flag, what each pool worker is
 * running and since when, for the watchdog).
 */
import { LPC_NAME_MAX } from './abi.js';
import { getName } from './ioctl.js';

const R_ID = 0;
const R_GEN = 8;
const R_T0 = 16;
const R_ARGS_LEN = 24;
const R_RESULT_CAP = 28;
const R_DEPTH = 32;
const R_PROC = 40;
/** Bytes of a request's header in its slot; the arguments follow. */
export const REQUEST_HEADER = R_PROC + LPC_NAME_MAX;

export interface Request {
  id: bigint;
  generation: bigint;
  /** process.hrtime.bigint() when the leader received it. */
  t0: bigint;
  resultCap: number;
  depth: number;
  proc: string;
  args: Uint8Array;
}

/** Writes a request into a queue slot; returns the bytes used. */
export function encodeRequest(slot: Uint8Array, r: Omit<Request, 'args'>, args: Uint8Array): number {
  const v = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
  v.setBigUint64(R_ID, r.id, true);
  v.setBigUint64(R_GEN, r.generation, true);
  v.setBigUint64(R_T0, r.t0, true);
  v.setUint32(R_ARGS_LEN, args.length, true);
  v.setUint32(R_RESULT_CAP, r.resultCap, true);
  v.setUint32(R_DEPTH, r.depth, true);
  const name = new TextEncoder().encode(r.proc);
  slot.fill(0, R_PROC, R_PROC + LPC_NAME_MAX);
  slot.set(name.subarray(0, LPC_NAME_MAX - 1), R_PROC);
  slot.set(args, REQUEST_HEADER);
  return REQUEST_HEADER + args.length;
}

/** Reads a request out of a queue slot (the arguments are copied). */
export function decodeRequest(slot: Uint8Array): Request {
  const v = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
  const argsLen = v.getUint32(R_ARGS_LEN, true);
  return {
    id: v.getBigUint64(R_ID, true),
    generation: v.getBigUint64(R_GEN, true),
    t0: v.getBigUint64(R_T0, true),
    resultCap: v.getUint32(R_RESULT_CAP, true),
    depth: v.getUint32(R_DEPTH, true),
    proc: getName(slot, R_PROC),
    args: slot.slice(REQUEST_HEADER, REQUEST_HEADER + argsLen),
  };
}

const STOP = 0;
const STARTED = 1;
const WORKERS_AT = 2;
const PER_WORKER = 2; // busy-since (hrtime ns, 0 when idle), request id

/** Stop flag and per-worker state, shared by the daemon's threads. */
export class Control {
  readonly words: BigInt64Array;
  readonly names: Uint8Array;

  constructor(
    readonly workers: number,
    readonly sab: SharedArrayBuffer = new SharedArrayBuffer((WORKERS_AT + workers * PER_WORKER) * 8 + workers * LPC_NAME_MAX),
  ) {
    this.words = new BigInt64Array(sab, 0, WORKERS_AT + workers * PER_WORKER);
    this.names = new Uint8Array(sab, (WORKERS_AT + workers * PER_WORKER) * 8);
  }

  get stopping(): boolean {
    return Atomics.load(this.words, STOP) !== 0n;
  }

  stop(): void {
    Atomics.store(this.words, STOP, 1n);
    Atomics.notify(this.words, STARTED);
  }

  /** The device is attached: the leader may poll. */
  start(): void {
    Atomics.store(this.words, STARTED, 1n);
    Atomics.notify(this.words, STARTED);
  }

  /** Waits for start(); false if stop() came first. */
  waitStarted(): boolean {
    while (Atomics.load(this.words, STARTED) === 0n) {
      if (this.stopping) return false;
      Atomics.wait(this.words, STARTED, 0n, 100);
    }
    return !this.stopping;
  }

  busy(worker: number, id: bigint, proc: string): void {
    const at = worker * LPC_NAME_MAX;
    this.names.fill(0, at, at + LPC_NAME_MAX);
    this.names.set(new TextEncoder().encode(proc).subarray(0, LPC_NAME_MAX - 1), at);
    Atomics.store(this.words, WORKERS_AT + worker * PER_WORKER + 1, id);
    Atomics.store(this.words, WORKERS_AT + worker * PER_WORKER, process.hrtime.bigint());
  }

  idle(worker: number): void {
    Atomics.store(this.words, WORKERS_AT + worker * PER_WORKER, 0n);
  }

  /** What a worker runs: null when idle. */
  state(worker: number): { since: bigint; id: bigint; proc: string } | null {
    const since = Atomics.load(this.words, WORKERS_AT + worker * PER_WORKER);
    if (since === 0n) return null;
    return { since, id: Atomics.load(this.words, WORKERS_AT + worker * PER_WORKER + 1), proc: getName(this.names, worker * LPC_NAME_MAX) };
  }
}

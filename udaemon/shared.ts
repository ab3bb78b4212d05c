/**
 * What the daemon's threads share besides the queue: the layout of a request
 * in a queue slot, and a control block (stop flag, what each pool worker is
 * running, for the watchdog).
 */
import { LPC_NAME_MAX, MSG, MSG_SIZE } from './abi.js';
import { getName, type Channel } from './ioctl.js';

const R_T0 = 0;
const R_MSG = 8;
/** Bytes of a request's header in its slot (when it was polled, its lpc_msg); the arguments follow. */
export const REQUEST_HEADER = R_MSG + MSG_SIZE;

/** Copies the request ch polled into a queue slot, with when it was polled (µs, or -1 if untimed); returns the bytes used. */
export function encodeRequest(slot: Uint8Array, ch: Channel, t0: number): number {
  const len = ch.polled.view.getUint32(MSG.args_len, true);
  new DataView(slot.buffer, slot.byteOffset, 8).setFloat64(R_T0, t0, true);
  slot.set(ch.polled.bytes, R_MSG);
  slot.set(ch.args.bytes.subarray(0, len), REQUEST_HEADER);
  return REQUEST_HEADER + len;
}

/** Puts a queued request into ch as if ch had polled it; returns when it was polled (see encodeRequest). */
export function decodeRequest(slot: Uint8Array, ch: Channel): number {
  // The header, but ch's own inputs: its buffers and timeout.
  const v = ch.polled.view;
  const args = v.getBigUint64(MSG.args, true);
  const result = v.getBigUint64(MSG.result, true);
  const cap = v.getUint32(MSG.args_cap, true);
  const timeout = v.getUint32(MSG.timeout_ms, true);
  ch.polled.bytes.set(slot.subarray(R_MSG, REQUEST_HEADER));
  v.setBigUint64(MSG.args, args, true);
  v.setBigUint64(MSG.result, result, true);
  v.setUint32(MSG.args_cap, cap, true);
  v.setUint32(MSG.timeout_ms, timeout, true);
  ch.args.bytes.set(slot.subarray(REQUEST_HEADER));
  return new DataView(slot.buffer, slot.byteOffset, 8).getFloat64(R_T0, true);
}

const STOP = 0;
const STARTED = 1;
const FLAGS = 2; // Int32 words: STOP, STARTED (0 not yet, 1 started, NEVER stopped first)
const NEVER = -1;
// Per worker, after the flags: a busy count (odd while it runs a procedure) as an Int32, the
// request id as two Uint32 (low, high), then the procedure's name.
const BUSY_AT = 8;
const ID_AT = (workers: number) => BUSY_AT + workers * 4;
const NAMES_AT = (workers: number) => ID_AT(workers) + workers * 8;

/**
 * Stop flag and per-worker state, shared by the daemon's threads. A worker
 * reads no clock per call: the watchdog times a call by how long it sees
 * the same busy count (under emulation a clock read can cost as much as a
 * koffi call).
 */
export class Control {
  private readonly flags: Int32Array;
  private readonly busyCounts: Int32Array;
  private readonly ids: Uint32Array;
  readonly names: Uint8Array;

  constructor(
    readonly workers: number,
    readonly sab: SharedArrayBuffer = new SharedArrayBuffer(NAMES_AT(workers) + workers * LPC_NAME_MAX),
  ) {
    this.flags = new Int32Array(sab, 0, FLAGS);
    this.busyCounts = new Int32Array(sab, BUSY_AT, workers);
    this.ids = new Uint32Array(sab, ID_AT(workers), 2 * workers);
    this.names = new Uint8Array(sab, NAMES_AT(workers), workers * LPC_NAME_MAX);
  }

  get stopping(): boolean {
    return Atomics.load(this.flags, STOP) !== 0;
  }

  stop(): void {
    Atomics.store(this.flags, STOP, 1);
    // A daemon stopped before it started never starts: wakes waitStarted() for good.
    Atomics.compareExchange(this.flags, STARTED, 0, NEVER);
    Atomics.notify(this.flags, STARTED);
  }

  /** The device is attached: the leader may poll. */
  start(): void {
    Atomics.compareExchange(this.flags, STARTED, 0, 1);
    Atomics.notify(this.flags, STARTED);
  }

  /**
   * Waits for start(); false if stop() came first. Sleeps without a timeout:
   * a standby's threads wait so for as long as it stands by, and each
   * wake-up costs the daemon that serves beside it.
   */
  waitStarted(): boolean {
    Atomics.wait(this.flags, STARTED, 0);
    return Atomics.load(this.flags, STARTED) === 1 && !this.stopping;
  }

  /**
   * A worker starts a procedure: request id idLow + idHigh * 2^32. name: the
   * procedure's NUL-padded name, LPC_NAME_MAX bytes (no encoding on the hot
   * path), or null if it is the one this worker ran last.
   */
  busy(worker: number, idLow: number, idHigh: number, name: Uint8Array | null): void {
    if (name) this.name(worker, name);
    this.ids[2 * worker] = idLow;
    this.ids[2 * worker + 1] = idHigh;
    // Publishes the writes above to a reader that sees the odd count.
    Atomics.add(this.busyCounts, worker, 1);
  }

  /** The procedure a worker runs, for native code that moves its busy count and id itself (lpc_serve.c). */
  name(worker: number, name: Uint8Array): void {
    this.names.set(name, worker * LPC_NAME_MAX);
  }

  /** The words native code serving for a worker reads or moves: its busy count and request id, and the stop flag. */
  nativeWords(worker: number): { busy: Int32Array; id: Uint32Array; stop: Int32Array } {
    return { busy: this.busyCounts.subarray(worker, worker + 1), id: this.ids.subarray(2 * worker, 2 * worker + 2), stop: this.flags.subarray(STOP, STOP + 1) };
  }

  idle(worker: number): void {
    Atomics.add(this.busyCounts, worker, 1);
  }

  /** The worker's busy count: odd while it runs a procedure, a new value for each call. */
  busyCount(worker: number): number {
    return Atomics.load(this.busyCounts, worker);
  }

  /** What a worker runs: null when idle. */
  state(worker: number): { id: bigint; proc: string } | null {
    if ((this.busyCount(worker) & 1) === 0) return null;
    const id = (BigInt(this.ids[2 * worker + 1]) << 32n) | BigInt(this.ids[2 * worker]);
    return { id, proc: getName(this.names, worker * LPC_NAME_MAX) };
  }
}

/** Threads waiting in POLL at once (fewer if the pool is smaller). */
export const LEADERS = 2;

const POLLERS = 0; // leaders: threads in POLL (or about to be), and those serving inline
const IDLE = 1; // threads neither polling nor serving: ready to poll or take a queued request
const SIGNAL = 2; // bumped when no thread is left polling, on a push, and on stop
const INLINE = 3; // leaders serving inline: polling only between procedures

/**
 * Leader/Followers with two leaders: up to two pool threads wait in POLL.
 * The thread whose POLL returns serves the request itself, so no thread
 * handoff lies between POLL and RESPONSE, while the other leader goes on
 * polling (for a nested call or another caller). A follower is woken only
 * when no leader is left; a thread that has answered goes back to POLL when
 * fewer than two are there. So a lone caller's round trip wakes no thread
 * of the daemon but the one the kernel wakes. With no follower idle, the
 * last leader queues top-level requests for the first thread that frees up
 * (a burst); a nested one it serves itself, since the threads it would wait
 * for may be the ones waiting on it.
 *
 * A leader serving inline (procedure, answer and next poll in one native
 * call, lpc_serve.c) keeps its place but counts as no poller: it polls only
 * between procedures. The others then keep a poller for nested calls as if
 * it were serving (a follower takes its place), and at worst more threads
 * poll than needed. A wake-up lost to a race costs a follower one
 * pollTimeoutMs: followers look again after each.
 */
export class Baton {
  readonly words: Int32Array;

  constructor(
    readonly leaders: number,
    readonly sab: SharedArrayBuffer = new SharedArrayBuffer(4 * 4),
  ) {
    this.words = new Int32Array(sab);
  }

  /** The generation a waiter reads before its checks, so no wake is lost. */
  get signal(): number {
    return Atomics.load(this.words, SIGNAL);
  }

  /** Becomes a leader if fewer than `leaders` threads poll. */
  tryLead(): boolean {
    for (;;) {
      const n = Atomics.load(this.words, POLLERS);
      if (n - Atomics.load(this.words, INLINE) >= this.leaders) return false;
      if (Atomics.compareExchange(this.words, POLLERS, n, n + 1) === n) return true;
    }
  }

  /** The words native code serving inline reads (lpc_serve.c). */
  nativeWords(): { pollers: Int32Array; inlined: Int32Array; idle: Int32Array } {
    const w = (i: number) => this.words.subarray(i, i + 1);
    return { pollers: w(POLLERS), inlined: w(INLINE), idle: w(IDLE) };
  }

  /** Leaders that poll: those serving inline do not count. */
  get polling(): number {
    return Atomics.load(this.words, POLLERS) - Atomics.load(this.words, INLINE);
  }

  /** Stops leading; the last polling leader to stop wakes a follower to take its place. */
  release(): void {
    if (Atomics.sub(this.words, POLLERS, 1) - 1 <= Atomics.load(this.words, INLINE)) this.wake(1);
  }

  /** A leader starts (+1) or stops (-1) serving inline; the last polling one to start wakes a follower, as release() does. */
  inline(delta: 1 | -1): void {
    const serving = Atomics.add(this.words, INLINE, delta) + delta;
    if (delta > 0 && Atomics.load(this.words, POLLERS) <= serving) this.wake(1);
  }

  get followers(): number {
    return Atomics.load(this.words, IDLE);
  }

  /** A thread becomes a follower (+1) or stops being one (-1). */
  follower(delta: 1 | -1): void {
    Atomics.add(this.words, IDLE, delta);
  }

  /** Wakes n followers. */
  wake(n = 1): void {
    Atomics.add(this.words, SIGNAL, 1);
    Atomics.notify(this.words, SIGNAL, n);
  }

  /** Sleeps until the signal moves past seen (or timeoutMs). */
  wait(seen: number, timeoutMs: number): void {
    Atomics.wait(this.words, SIGNAL, seen, timeoutMs);
  }
}

/**
 * A pool thread, leader or follower in turn (Leader/Followers, see Baton):
 * a leader blocks in POLL_LPC (a synchronous ioctl, so it blocks only
 * itself, never libuv's pool) and serves the request it gets itself, so
 * that nothing stands between POLL and RESPONSE but the procedure. Serving: find the
 * procedure by name, run it (the user half's C library through koffi, or a
 * JS handler), answer. A thread that goes on leading answers and polls in
 * one RESPONSE_POLL ioctl; one that does not answers with RESPONSE_LPC.
 * A leader serves C procedures inline (lpc_serve.c, where the library has
 * it): one koffi call runs a procedure, answers and polls, and goes on with
 * the next request for the same procedure while the pool lets it: one
 * system call per request, one crossing into native code per run.
 * Kernel calls made while serving (EXEC, LOCK, ...) are synchronous ioctls
 * on this thread. POLL times out now and then so that a stop is seen; then
 * the threads drain the queue.
 *
 * The path of a C procedure allocates no string and no promise: the name
 * is matched as the bytes POLL wrote and passed to the library as they are.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import koffi from './koffi.js';
import { ERRNO, LPC_NAME_MAX, LPC_SERVE_SAMPLES, MAX_ERRNO, MSG, SERVE, SERVE_SIZE } from './abi.js';
import { decodeParams, encodeReturn, type Handler, type HandlerCall, type HandlerResult, type KernelCalls } from './handler.js';
import { addressOf, Channel, getName, IoctlError, NativeBuffer } from './ioctl.js';
import { loadManifest, type Procedure } from './manifest.js';
import { MetricsBatch, SharedMetrics } from './metrics.js';
import { SlotQueue } from './queue.js';
import { Baton, Control, decodeRequest, encodeRequest, LEADERS } from './shared.js';

export interface WorkerData {
  fd: number;
  index: number;
  workers: number;
  maxArgs: number;
  pollTimeoutMs: number;
  /** How often the daemon reports metrics. */
  metricsMs: number;
  manifest: string;
  queue: SharedArrayBuffer;
  control: SharedArrayBuffer;
  baton: SharedArrayBuffer;
  metrics: SharedArrayBuffer;
}

/** A procedure, with its name as POLL writes it (NUL-padded), as 32-bit words. */
type Entry = { proc: Procedure; handler?: Handler; words: Uint32Array };

const d = workerData as WorkerData;
const queue = new SlotQueue(d.queue);
const control = new Control(d.workers, d.control);
const baton = new Baton(Math.min(LEADERS, d.workers), d.baton);
const metrics = new MetricsBatch(new SharedMetrics(d.metrics));
const ch = new Channel(d.fd, d.maxArgs, d.pollTimeoutMs);
const manifest = loadManifest(d.manifest);
const polled = ch.polled.view;
const polledWords = new Uint32Array(ch.polledName.buffer, ch.polledName.byteOffset, LPC_NAME_MAX / 4);

/** The procedure table, by name. */
const table = new Map<string, Entry>();
for (const proc of manifest.procedures) {
  let handler: Handler | undefined;
  if (proc.handler) {
    const mod = (await import(pathToFileURL(proc.handler).href)) as Record<string, unknown>;
    const fn = mod[proc.name] ?? mod.default;
    if (typeof fn !== 'function') throw new Error(`${proc.handler}: exports no function "${proc.name}" and no default function`);
    handler = fn as Handler;
  }
  const padded = new Uint8Array(LPC_NAME_MAX);
  padded.set(new TextEncoder().encode(proc.name).subarray(0, LPC_NAME_MAX));
  table.set(proc.name, { proc, handler, words: new Uint32Array(padded.buffer) });
}
const entries = [...table.values()];

// One library handle per thread (dlopen shares the one copy in the process).
type Dispatch = (proc: number, args: number, argsLen: number, result: number, resultCap: number, resultLen: number, requestId: number | bigint) => number;
let cDispatch: Dispatch | undefined;
let cServe: ((state: number) => number) | undefined;
const resultLen = new NativeBuffer(4);
if (manifest.library && manifest.procedures.some((p) => !p.handler)) {
  const lib = koffi.load(manifest.library);
  // int lpc_user_dispatch(const char *proc, const void *args, unsigned int args_len, void *result,
  //                       unsigned int result_cap, unsigned int *result_len, unsigned long long request_id),
  // its pointers passed as addresses (the same registers on x86-64, and cheaper for koffi). The
  // name goes as the bytes POLL wrote: no string conversion per call.
  cDispatch = lib.func('lpc_user_dispatch', 'int', ['uintptr_t', 'uintptr_t', 'unsigned int', 'uintptr_t', 'unsigned int', 'uintptr_t', 'unsigned long long']) as Dispatch;
  try {
    // int lpc_user_serve(struct lpc_serve *s), the state's address passed as a number.
    cServe = lib.func('lpc_user_serve', 'int', ['uintptr_t']) as (state: number) => number;
  } catch (err) {
    // A library built without lpc_serve.c: two crossings per request.
    if (!/cannot find function/i.test(String(err))) throw err;
  }
}

/**
 * Every TIME_EVERY-th call is timed, this thread's first among them: the
 * histogram is a sample, the counters are exact. Under emulation a clock
 * read is a system call into an emulated timer, as costly as the rest of
 * the daemon's work on a call.
 */
const TIME_EVERY = 16;
/** struct lpc_serve (udaemon/native/lpc_serve.h): this thread's serving state, its addresses set once. */
const serveState = new NativeBuffer(SERVE_SIZE);
const serveView = serveState.view;
{
  const own = control.nativeWords(d.index);
  const words = { busy: own.busy, id: own.id, stop: own.stop, queued: queue.items.word, ...baton.nativeWords() };
  for (const [field, w] of Object.entries(words)) serveView.setBigUint64(SERVE[field as keyof typeof words], BigInt(addressOf(w)), true);
  serveView.setBigUint64(SERVE.msg, ch.polled.address, true);
  serveView.setInt32(SERVE.fd, d.fd, true);
  serveView.setUint32(SERVE.result_cap, ch.result.size, true);
  serveView.setUint32(SERVE.time_every, TIME_EVERY, true);
  // Runs as long as the samples allow, and the daemon's metrics see them within a metrics period.
  serveView.setUint32(SERVE.max_run, TIME_EVERY * LPC_SERVE_SAMPLES, true);
  serveView.setBigUint64(SERVE.budget_ns, BigInt(d.metricsMs) * 1_000_000n, true);
}
const nameAt = ch.polled.at + MSG.proc;

/** The entry of the procedure named in ch.polled, if the manifest has one. */
let lastEntry: Entry | undefined;
/** The entry this worker last told Control it runs, whose name Control has. */
let busyEntry: Entry | undefined;
function findEntry(): Entry | undefined {
  if (lastEntry && sameName(lastEntry.words)) return lastEntry;
  for (const e of entries) if (sameName(e.words)) return (lastEntry = e);
  // Bytes after the NUL need not be zero: compare as a string.
  return table.get(polledProc());
}

function sameName(words: Uint32Array): boolean {
  for (let i = 0; i < words.length; i++) if (words[i] !== polledWords[i]) return false;
  return true;
}

const polledProc = () => getName(ch.polledName, 0);

function kernelFor(reqId: bigint): KernelCalls {
  return {
    exec: (name, args = new Uint8Array(0), resultCap = d.maxArgs) => ch.call('EXEC', name, args, resultCap, reqId),
    lock: (name, timeoutMs) => ch.lock(name, timeoutMs),
    unlock: (name, data) => ch.unlock(name, data),
    up: (name) => ch.up(name),
    down: (name, timeoutMs) => ch.down(name, timeoutMs),
  };
}

// The outcome of the request being served (the one in ch.polled), without an object per call.
let status = 0;
let outLen = 0;
let cap = 0;
/** When the request was polled (nowUs()), or -1 if it is not timed. */
let t0 = -1;
/** Its latency in µs, or -1. */
let latencyUs = -1;

let untilTimed = 0;
/** The process's monotonic clock in µs: a queued request is timed by two threads, whose performance.now() origins differ. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
function startClock(): number {
  if (untilTimed > 0) {
    untilTimed--;
    return -1;
  }
  untilTimed = TIME_EVERY - 1;
  return nowUs();
}

function finishJs(e: Entry, r: HandlerResult): void {
  const out = ch.result.bytes.subarray(0, cap);
  status = 0;
  outLen = 0;
  if (r === undefined || r === null) return;
  if (typeof r === 'number' || typeof r === 'bigint') {
    out.fill(0, 0, Math.min(cap, e.proc.resultSize));
    if (cap < e.proc.resultSize) status = -ERRNO.EMSGSIZE;
    else outLen = encodeReturn(e.proc, r, out);
    return;
  }
  const bytes = r instanceof Uint8Array ? r : (r.result ?? new Uint8Array(0));
  if (bytes.length > cap) {
    status = -ERRNO.EMSGSIZE;
    return;
  }
  out.set(bytes);
  status = r instanceof Uint8Array ? 0 : (r.status ?? 0);
  outLen = bytes.length;
}

async function runJs(e: Entry, argsLen: number, reqId: bigint): Promise<void> {
  status = -ERRNO.EINVAL;
  outLen = 0;
  if (argsLen < e.proc.argsSize) return;
  // A copy: the handler's kernel calls reuse ch.args.
  const args = ch.args.bytes.slice(0, argsLen);
  const call: HandlerCall = {
    proc: e.proc.name,
    id: reqId,
    depth: polled.getUint32(MSG.depth, true),
    args,
    params: decodeParams(e.proc, args),
    resultCap: cap,
    kernel: kernelFor(reqId),
  };
  try {
    let r = e.handler!(call);
    if (r instanceof Promise) r = await r;
    finishJs(e, r);
  } catch (err) {
    // A failed kernel call is the procedure's error, as in the C stubs.
    if (!(err instanceof IoctlError)) throw err;
    status = -err.errno;
    outLen = 0;
  }
}

/**
 * Runs the request in ch.polled/ch.args, polled at t0: sets status and
 * outLen. Returns a promise only for a JS handler.
 */
function serve(): Promise<void> | undefined {
  const idLow = polled.getUint32(MSG.id, true);
  const idHigh = polled.getUint32(MSG.id + 4, true);
  const argsLen = polled.getUint32(MSG.args_len, true);
  cap = Math.min(polled.getUint32(MSG.result_cap, true), ch.result.size);
  const e = findEntry();
  control.busy(d.index, idLow, idHigh, e && e === busyEntry ? null : ch.polledName);
  busyEntry = e;
  if (!e) {
    status = -ERRNO.ENOENT;
    outLen = 0;
  } else if (e.handler) {
    return runJs(e, argsLen, polled.getBigUint64(MSG.id, true));
  } else {
    resultLen.view.setUint32(0, 0, true);
    // The id as a number while that is exact (below 2^53), a bigint beyond.
    const reqId = idHigh < 0x200000 ? idLow + idHigh * 2 ** 32 : polled.getBigUint64(MSG.id, true);
    status = cDispatch!(nameAt, ch.args.at, argsLen, ch.result.at, cap, resultLen.at, reqId);
    outLen = resultLen.view.getUint32(0, true);
  }
  return undefined;
}

/** Whether a procedure's outcome may go to the kernel; if not, says why (the caller answers EPROTO). lpc_serve.c checks the same. */
function validOutcome(proc: string, st: number, len: number, capacity: number): boolean {
  if (Number.isInteger(st) && st <= 0 && st >= -MAX_ERRNO && len <= capacity) return true;
  rejected(proc, st, len, capacity);
  return false;
}

function rejected(proc: string, st: number, len: number, capacity: number): void {
  console.error(`udaemon: procedure ${proc} returned status ${st} with ${len} result bytes (capacity ${capacity}); answering -EPROTO`);
}

/** Checks the outcome before it goes to the kernel; the procedure is over. */
function finish(): void {
  if (!validOutcome(polledProc(), status, outLen, cap)) status = -ERRNO.EPROTO;
  if (status < 0) outLen = 0;
  control.idle(d.index);
  latencyUs = t0 < 0 ? -1 : nowUs() - t0;
}

/** Counts an answer: taken by the kernel, or refused (ENOENT: the caller gave up; ESTALE: an older session's request). */
function counted(refused: boolean): void {
  if (refused) metrics.recordError();
  else metrics.record(latencyUs, status < 0);
}

/** Answers the request in ch.polled without polling. */
function respond(): void {
  try {
    ch.respond(status, outLen);
    counted(false);
  } catch (err) {
    if (!(err instanceof IoctlError) || (err.errno !== ERRNO.ENOENT && err.errno !== ERRNO.ESTALE)) throw err;
    counted(true);
  }
}

/**
 * Leads: answers the served request in ch.polled if `answer`, and polls
 * until a request arrives that this thread serves itself: returns true, its
 * t0 set, or false once stopping. The last leader keeps polling (queueing
 * top-level requests) while no follower is idle. `waiting`: a request is in
 * ch.polled already (polled inline), to be served or queued like one polled here.
 */
function lead(answer: boolean, waiting: boolean): boolean {
  for (;;) {
    if (waiting) waiting = false;
    else {
      if (control.stopping) {
        if (answer) respond();
        return false;
      }
      const r = ch.respondPoll(answer, status, outLen);
      if (answer) counted(r === ERRNO.ENOENT || r === ERRNO.ESTALE);
      answer = false;
      if (r !== 0) {
        if (r === ERRNO.ETIMEDOUT) metrics.flush(); // idle
        continue;
      }
      t0 = startClock();
    }
    if (baton.polling > 1 || baton.followers > 0 || polled.getUint32(MSG.depth, true) > 0) return true;
    if (!queue.push((slot) => encodeRequest(slot, ch, t0), 0)) return true; // full: serve it here
  }
}

/**
 * Leads and serves, answering each request with the next poll, until a stop,
 * queued work or another leader ends the run (the last request answered), or
 * a JS handler's promise, returned unanswered. A plain function rather than
 * a loop in the module's async body, so that V8 optimizes it.
 */
function leadRun(answer: boolean): Promise<void> | undefined {
  let waiting = false;
  for (;;) {
    const got = lead(answer, waiting);
    answer = waiting = false;
    if (got && cServe) {
      const inline = serveInline();
      if (inline !== INLINE.NONE) {
        waiting = inline === INLINE.POLLED;
        continue;
      }
    }
    baton.release();
    if (!got) {
      baton.wake(d.workers); // so that the others see the stop
      return undefined;
    }
    const p = serve();
    if (p) return p;
    finish();
    if (!goOnLeading()) return undefined;
    answer = true;
  }
}

/** What serveInline() left: nothing served (the request in ch.polled waits), or a request polled, or none. */
const INLINE = { NONE: 0, POLLED: 1, IDLE: 2 } as const;

/**
 * The entry of the request in ch.polled if it may be served inline: a C
 * procedure, nothing queued, no stop, and a poller left for nested calls
 * (as lead() decides, this thread counting as serving inline).
 */
function inlineEntry(): Entry | undefined {
  const e = findEntry();
  if (!e || e.handler || queue.length > 0 || control.stopping) return undefined;
  return baton.polling > 0 || baton.followers > 0 || polled.getUint32(MSG.depth, true) > 0 ? e : undefined;
}

/**
 * Serves the request in ch.polled, and those that follow, inline while
 * they may be (inlineEntry): runs of them in one call of lpc_user_serve()
 * each, which runs a procedure, answers it and polls the next, moving this
 * worker's busy count for the watchdog around each procedure, and goes on
 * while the next request is for the same procedure and inlineEntry()'s
 * conditions hold. It keeps this worker's timing countdown meanwhile, and
 * returns at the latest when its timing samples are full or a metrics
 * period has passed. Keeps this thread's place as a leader throughout,
 * counted as serving inline.
 */
function serveInline(): number {
  baton.inline(1);
  let served = 0;
  let r = 0;
  for (let e = inlineEntry(); e; e = r === 0 ? inlineEntry() : undefined) {
    if (e !== busyEntry) control.name(d.index, ch.polledName);
    busyEntry = e;
    serveView.setUint32(SERVE.time_first, t0 >= 0 ? 1 : 0, true);
    serveView.setUint32(SERVE.until_timed, untilTimed, true);
    r = cServe!(serveState.at);
    untilTimed = serveView.getUint32(SERVE.until_timed, true);
    const n = serveView.getUint32(SERVE.served, true);
    served += n;
    // The request polled last was counted down in C.
    if (r === 0) t0 = serveView.getUint32(SERVE.next_timed, true) ? nowUs() : -1;
    if (serveView.getUint32(SERVE.rejected, true)) {
      rejected(e.proc.name, serveView.getInt32(SERVE.status, true), serveView.getUint32(SERVE.result_len, true), serveView.getUint32(SERVE.capacity, true));
    }
    const samples = serveView.getUint32(SERVE.samples, true);
    for (let i = 0; i < samples; i++) metrics.sample(Number(serveView.getBigUint64(SERVE.elapsed_ns + 8 * i, true)) / 1000);
    // A refused answer (the caller gone) is the last of a run.
    const refused = r === ERRNO.ENOENT || r === ERRNO.ESTALE;
    const answered = refused ? n - 1 : n;
    metrics.count(answered, serveView.getUint32(SERVE.failed, true), answered);
    if (refused) metrics.recordError();
  }
  baton.inline(-1);
  if (served === 0) return INLINE.NONE;
  if (r === 0) return INLINE.POLLED;
  if (r === ERRNO.ETIMEDOUT) metrics.flush(); // idle
  else if (r !== ERRNO.EINTR && r !== ERRNO.ENOENT && r !== ERRNO.ESTALE) throw new IoctlError('RESPONSE_POLL', r);
  return INLINE.IDLE;
}

/** Whether to go on leading after a request is served; if not, answers it. */
function goOnLeading(): boolean {
  // Queued work or a stop comes first.
  if (queue.length > 0 || control.stopping || !baton.tryLead()) {
    respond();
    return false;
  }
  return true;
}

parentPort!.postMessage({ type: 'ready' });
control.waitStarted();
baton.follower(1);
for (;;) {
  const seen = baton.signal;
  // Queued requests first: they have waited longest.
  if (queue.length > 0) {
    const queued = queue.pop((slot) => decodeRequest(slot, ch), 0);
    if (queued !== undefined) {
      baton.follower(-1);
      t0 = queued;
      const p = serve();
      if (p) await p;
      finish();
      respond();
      baton.follower(1);
      continue;
    }
  }
  if (!control.stopping && baton.tryLead()) {
    baton.follower(-1);
    let answer = false;
    for (;;) {
      const p = leadRun(answer);
      if (!p) break;
      await p;
      finish();
      if (!goOnLeading()) break;
      answer = true;
    }
    baton.follower(1);
    continue;
  }
  if (control.stopping) break; // the queue is drained: the daemon is stopping
  metrics.flush();
  baton.wait(seen, d.pollTimeoutMs);
}
metrics.flush();

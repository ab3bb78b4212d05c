/**
 * A pool thread, leader or follower in turn (Leader/Followers, see Baton):
 * a leader blocks in POLL_LPC (a synchronous ioctl, so it blocks only
 * itself, never libuv's pool) and serves the request it gets itself, so
 * that nothing stands between POLL and RESPONSE but the procedure. Serving: find the
 * procedure by name, run it (the user half's C library through koffi, or a
 * JS handler), answer with RESPONSE_LPC. Kernel calls made while serving
 * (EXEC, LOCK, ...) are synchronous ioctls on this thread. POLL times out
 * now and then so that a stop is seen; then the threads drain the queue.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import koffi from './koffi.js';
import { ERRNO, MAX_ERRNO, MSG } from './abi.js';
import { decodeParams, encodeReturn, type Handler, type HandlerCall, type HandlerResult, type KernelCalls } from './handler.js';
import { Channel, IoctlError, NativeBuffer } from './ioctl.js';
import { loadManifest, type Procedure } from './manifest.js';
import { SharedMetrics } from './metrics.js';
import { SlotQueue } from './queue.js';
import { Baton, Control, decodeRequest, encodeRequest, LEADERS } from './shared.js';

export interface WorkerData {
  fd: number;
  index: number;
  workers: number;
  maxArgs: number;
  pollTimeoutMs: number;
  manifest: string;
  queue: SharedArrayBuffer;
  control: SharedArrayBuffer;
  baton: SharedArrayBuffer;
  metrics: SharedArrayBuffer;
}

type Entry = { proc: Procedure; handler?: Handler };

const d = workerData as WorkerData;
const queue = new SlotQueue(d.queue);
const control = new Control(d.workers, d.control);
const baton = new Baton(Math.min(LEADERS, d.workers), d.baton);
const metrics = new SharedMetrics(d.metrics);
const ch = new Channel(d.fd, d.maxArgs);
const manifest = loadManifest(d.manifest);
const polled = ch.polled.view;
const nameBuf = Buffer.from(ch.polledName.buffer, ch.polledName.byteOffset, ch.polledName.length);

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
  table.set(proc.name, { proc, handler });
}

// One library handle per thread (dlopen shares the one copy in the process).
let cDispatch: ((...a: unknown[]) => number) | undefined;
const resultLen = new NativeBuffer(4);
if (manifest.library && manifest.procedures.some((p) => !p.handler)) {
  const lib = koffi.load(manifest.library);
  // The name goes as the bytes POLL wrote (NUL-padded): no string conversion per call.
  cDispatch = lib.func(
    'int lpc_user_dispatch(const uint8_t *proc, const void *args, unsigned int args_len, void *result, unsigned int result_cap, void *result_len, unsigned long long request_id)',
  );
}

/** The request being served is always the one in ch.polled and ch.args. */
const id = () => polled.getBigUint64(MSG.id, true);

function kernelFor(reqId: bigint): KernelCalls {
  return {
    exec: (name, args = new Uint8Array(0), resultCap = d.maxArgs) => ch.call('EXEC', name, args, resultCap, reqId),
    lock: (name, timeoutMs) => ch.lock(name, timeoutMs),
    unlock: (name, data) => ch.unlock(name, data),
    up: (name) => ch.up(name),
    down: (name, timeoutMs) => ch.down(name, timeoutMs),
  };
}

// Set by each serve: the outcome, without an object per call.
let status = 0;
let outLen = 0;

function finishJs(e: Entry, r: HandlerResult, cap: number): void {
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

async function runJs(e: Entry, name: string, argsLen: number, cap: number): Promise<void> {
  status = -ERRNO.EINVAL;
  outLen = 0;
  if (argsLen < e.proc.argsSize) return;
  const reqId = id();
  // A copy: the handler's kernel calls reuse ch.args.
  const args = ch.args.bytes.slice(0, argsLen);
  const call: HandlerCall = {
    proc: name,
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
    finishJs(e, r, cap);
  } catch (err) {
    // A failed kernel call is the procedure's error, as in the C stubs.
    if (!(err instanceof IoctlError)) throw err;
    status = -err.errno;
    outLen = 0;
  }
}

/** Serves the request in ch.polled/ch.args and answers it; t0 is when it was polled. */
async function serve(t0: bigint, queued: boolean): Promise<void> {
  const reqId = id();
  const generation = polled.getBigUint64(MSG.generation, true);
  const argsLen = polled.getUint32(MSG.args_len, true);
  const cap = Math.min(polled.getUint32(MSG.result_cap, true), ch.result.size);
  // The watchdog times the procedure, not the wait in the queue.
  control.busy(d.index, reqId, ch.polledName, queued ? process.hrtime.bigint() : t0);
  const end = nameBuf.indexOf(0);
  const name = nameBuf.toString('utf8', 0, end < 0 ? nameBuf.length : end);
  const e = table.get(name);
  if (!e) {
    status = -ERRNO.ENOENT;
    outLen = 0;
  } else if (e.handler) {
    await runJs(e, name, argsLen, cap);
  } else {
    resultLen.view.setUint32(0, 0, true);
    status = cDispatch!(ch.polledName, ch.args.ptr, argsLen, ch.result.ptr, cap, resultLen.ptr, reqId);
    outLen = resultLen.view.getUint32(0, true);
  }
  if (!Number.isInteger(status) || status > 0 || status < -MAX_ERRNO || outLen > cap) {
    console.error(`udaemon: procedure ${name} returned status ${status} with ${outLen} result bytes (capacity ${cap}); answering -EPROTO`);
    status = -ERRNO.EPROTO;
  }
  if (status < 0) outLen = 0;
  try {
    ch.respond(reqId, generation, status, outLen);
    metrics.record(process.hrtime.bigint() - t0, status < 0);
  } catch (err) {
    // ENOENT: the caller gave up (timeout, signal); ESTALE: an older session's request.
    if (!(err instanceof IoctlError) || (err.errno !== ERRNO.ENOENT && err.errno !== ERRNO.ESTALE)) throw err;
    metrics.recordError();
  }
  control.idle(d.index);
}

/**
 * Polls until a request arrives that this thread serves itself: returns its
 * t0, or null once stopping. The last leader keeps polling (queueing
 * top-level requests) while no follower is idle.
 */
function lead(): bigint | null {
  for (;;) {
    if (control.stopping) return null;
    if (!ch.poll(d.pollTimeoutMs)) continue;
    const t0 = process.hrtime.bigint();
    if (baton.polling > 1 || baton.followers > 0 || polled.getUint32(MSG.depth, true) > 0) return t0;
    if (!queue.push((slot) => encodeRequest(slot, ch, t0), 0)) return t0; // full: serve it here
  }
}

parentPort!.postMessage({ type: 'ready' });
control.waitStarted();
baton.follower(1);
for (;;) {
  const seen = baton.signal;
  // Queued requests first: they have waited longest.
  if (queue.length > 0) {
    const t0 = queue.pop((slot) => decodeRequest(slot, ch), 0);
    if (t0 !== undefined) {
      baton.follower(-1);
      await serve(t0, true);
      baton.follower(1);
      continue;
    }
  }
  if (!control.stopping && baton.tryLead()) {
    baton.follower(-1);
    const t0 = lead();
    baton.release();
    if (t0 === null) baton.wake(d.workers); // so that the others see the stop
    else await serve(t0, false);
    baton.follower(1);
    continue;
  }
  if (control.stopping) break; // the queue is drained: the daemon is stopping
  baton.wait(seen, d.pollTimeoutMs);
}

/**
 * A pool worker: waits on the queue's semaphore, takes a request, finds the
 * procedure by name, runs it (the user half's C library through koffi, or a
 * JS handler) and answers with RESPONSE_LPC. Kernel calls made while serving
 * (EXEC, LOCK, ...) are synchronous ioctls on this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import koffi from 'koffi';
import { ERRNO, MAX_ERRNO } from './abi.js';
import { decodeParams, encodeReturn, type Handler, type HandlerCall, type HandlerResult, type KernelCalls } from './handler.js';
import { Channel, IoctlError, NativeBuffer } from './ioctl.js';
import { loadManifest, type Procedure } from './manifest.js';
import { SharedMetrics } from './metrics.js';
import { SlotQueue } from './queue.js';
import { Control, decodeRequest, type Request } from './shared.js';

export interface WorkerData {
  fd: number;
  index: number;
  workers: number;
  maxArgs: number;
  manifest: string;
  queue: SharedArrayBuffer;
  control: SharedArrayBuffer;
  metrics: SharedArrayBuffer;
}

type Entry = { proc: Procedure; handler?: Handler };
type Outcome = { status: number; len: number };

const d = workerData as WorkerData;
const queue = new SlotQueue(d.queue);
const control = new Control(d.workers, d.control);
const metrics = new SharedMetrics(d.metrics);
const ch = new Channel(d.fd, d.maxArgs);
const manifest = loadManifest(d.manifest);

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
const reqArgs = new NativeBuffer(d.maxArgs);
const resultLen = new NativeBuffer(4);
if (manifest.library && manifest.procedures.some((p) => !p.handler)) {
  const lib = koffi.load(manifest.library);
  cDispatch = lib.func(
    'int lpc_user_dispatch(const char *proc, const void *args, unsigned int args_len, void *result, unsigned int result_cap, void *result_len, unsigned long long request_id)',
  );
}

function kernelFor(req: Request): KernelCalls {
  return {
    exec: (name, args = new Uint8Array(0), resultCap = d.maxArgs) => ch.call('EXEC', name, args, resultCap, req.id),
    lock: (name, timeoutMs) => ch.lock(name, timeoutMs),
    unlock: (name, data) => ch.unlock(name, data),
    up: (name) => ch.up(name),
    down: (name, timeoutMs) => ch.down(name, timeoutMs),
  };
}

function runC(req: Request, cap: number): Outcome {
  reqArgs.bytes.set(req.args);
  resultLen.view.setUint32(0, 0, true);
  const status = cDispatch!(req.proc, reqArgs.ptr, req.args.length, ch.result.ptr, cap, resultLen.ptr, req.id);
  return { status, len: resultLen.view.getUint32(0, true) };
}

function finishJs(e: Entry, r: HandlerResult, cap: number): Outcome {
  const out = ch.result.bytes.subarray(0, cap);
  if (r === undefined || r === null) return { status: 0, len: 0 };
  if (typeof r === 'number' || typeof r === 'bigint') {
    out.fill(0, 0, Math.min(cap, e.proc.resultSize));
    if (cap < e.proc.resultSize) return { status: -ERRNO.EMSGSIZE, len: 0 };
    return { status: 0, len: encodeReturn(e.proc, r, out) };
  }
  const bytes = r instanceof Uint8Array ? r : (r.result ?? new Uint8Array(0));
  const status = r instanceof Uint8Array ? 0 : (r.status ?? 0);
  if (bytes.length > cap) return { status: -ERRNO.EMSGSIZE, len: 0 };
  out.set(bytes);
  return { status, len: bytes.length };
}

async function runJs(e: Entry, req: Request, cap: number): Promise<Outcome> {
  if (req.args.length < e.proc.argsSize) return { status: -ERRNO.EINVAL, len: 0 };
  const call: HandlerCall = {
    proc: req.proc,
    id: req.id,
    depth: req.depth,
    args: req.args,
    params: decodeParams(e.proc, req.args),
    resultCap: cap,
    kernel: kernelFor(req),
  };
  try {
    let r = e.handler!(call);
    if (r instanceof Promise) r = await r;
    return finishJs(e, r, cap);
  } catch (err) {
    // A failed kernel call is the procedure's error, as in the C stubs.
    if (err instanceof IoctlError) return { status: -err.errno, len: 0 };
    throw err;
  }
}

async function serve(req: Request): Promise<Outcome> {
  const e = table.get(req.proc);
  if (!e) return { status: -ERRNO.ENOENT, len: 0 };
  const cap = Math.min(req.resultCap, ch.result.size);
  const o = e.handler ? await runJs(e, req, cap) : runC(req, cap);
  if (!Number.isInteger(o.status) || o.status > 0 || o.status < -MAX_ERRNO || o.len > cap) {
    console.error(`udaemon: procedure ${req.proc} returned status ${o.status} with ${o.len} result bytes (capacity ${cap}); answering -EPROTO`);
    return { status: -ERRNO.EPROTO, len: 0 };
  }
  return o.status < 0 ? { status: o.status, len: 0 } : o;
}

parentPort!.postMessage({ type: 'ready' });
for (;;) {
  const req = queue.pop(decodeRequest);
  if (!req) break; // closed and drained: the daemon is stopping
  control.busy(d.index, req.id, req.proc);
  const o = await serve(req);
  try {
    ch.respond(req.id, req.generation, o.status, o.len);
    metrics.record(process.hrtime.bigint() - req.t0, o.status < 0);
  } catch (err) {
    // ENOENT: the caller gave up (timeout, signal); ESTALE: an older session's request.
    if (!(err instanceof IoctlError) || (err.errno !== ERRNO.ENOENT && err.errno !== ERRNO.ESTALE)) throw err;
    metrics.recordError();
  }
  control.idle(d.index);
}

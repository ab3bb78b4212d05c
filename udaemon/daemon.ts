/**
 * The daemon process (the supervisor's child): reads the manifest, opens the
 * kernel half's device, starts the worker pool (one of whose threads is
 * always the leader, in POLL) and then waits, prepared, for the supervisor's
 * word to attach with the plan hash. The supervisor keeps one such standby
 * beside the attached daemon, so that after a crash service returns in the
 * time of one message and one ioctl, not of a Node start (seconds under
 * emulation). Once attached it reports metrics to the supervisor, drains on
 * SIGTERM, and exits on any crash of the user half so that the supervisor
 * replaces it.
 *
 * Run as `node daemon.js '<DaemonOptions as JSON>'` with an IPC channel.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import koffi from './koffi.js';
import { ERRNO, LPC_ARGS_MAX } from './abi.js';
import { attach, hardExit, IoctlError } from './ioctl.js';
import { loadManifest, type Manifest } from './manifest.js';
import { SharedMetrics } from './metrics.js';
import { SlotQueue } from './queue.js';
import { Baton, Control, LEADERS, REQUEST_HEADER } from './shared.js';
import { EXIT, type DaemonMessage, type DaemonOptions, type SupervisorMessage } from './options.js';
import type { WorkerData } from './worker.js';

function log(msg: string): void {
  writeSync(2, `udaemon[${process.pid}]: ${msg}\n`);
}

function send(m: DaemonMessage): void {
  if (process.send && process.connected) process.send(m);
}

function die(code: number, msg: string): never {
  log(msg);
  hardExit(code);
}

const opts = JSON.parse(process.argv[2] ?? '{}') as DaemonOptions;
let manifest: Manifest;
try {
  manifest = loadManifest(opts.manifest);
} catch (e) {
  die(EXIT.CONFIG, (e as Error).message);
}

let fd: number;
try {
  fd = openSync(manifest.device, constants.O_RDWR);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  die(err.code === 'ENOENT' ? EXIT.RETRY : EXIT.CONFIG, `cannot open ${manifest.device}: ${err.message}`);
}

// Buffers fit the ABI's bound, which the module's max_args cannot exceed.
const maxArgs = LPC_ARGS_MAX;
const queue = SlotQueue.create(queueCapacity(opts.workers), REQUEST_HEADER + maxArgs);
const control = new Control(opts.workers);
const baton = new Baton(Math.min(LEADERS, opts.workers));
const metrics = new SharedMetrics();
let stopping = false;
let attached = false;
// Started once attached; a standby has neither.
let metricsTimer: NodeJS.Timeout | undefined;
let watchdog: NodeJS.Timeout | undefined;

function thread(file: string, data: WorkerData, name: string): Worker {
  const w = new Worker(new URL(file, import.meta.url), { workerData: data, name });
  w.on('error', (e) => die(EXIT.CRASH, `${name} crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  w.on('exit', (code) => {
    if (!stopping || code !== 0) die(EXIT.CRASH, `${name} exited (code ${code})`);
  });
  return w;
}

const pool: Worker[] = [];
for (let i = 0; i < opts.workers; i++) {
  pool.push(
    thread(
      './worker.js',
      { fd, index: i, workers: opts.workers, maxArgs, pollTimeoutMs: opts.pollMs, metricsMs: opts.metricsMs, manifest: manifest.file, queue: queue.sab, control: control.sab, baton: baton.sab, metrics: metrics.sab },
      `worker ${i}`,
    ),
  );
}

function shutdown(why: string): void {
  if (stopping) return;
  stopping = true;
  if (attached) log(`${why}: draining ${queue.length} queued and ${pool.filter((_, i) => control.state(i)).length} running calls`);
  else log(`${why}: stopping the standby`);
  control.stop();
  const exited = (w: Worker) => new Promise<void>((resolve) => w.once('exit', () => resolve()));
  void Promise.all(pool.map(exited)).then(() => {
    clearInterval(watchdog);
    clearInterval(metricsTimer);
    if (attached) send({ type: 'metrics', snapshot: metrics.snapshot() });
    closeSync(fd); // detaches: the kernel fails calls still queued for us
    if (attached) log(`detached from ${manifest.device}`);
    process.disconnect?.();
    process.exit(EXIT.OK);
  });
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
// Without its supervisor a daemon would not be replaced, and would keep the
// next supervisor's daemons out (EBUSY): it drains and stops instead.
process.on('disconnect', () => shutdown('supervisor gone'));
if (!process.connected) shutdown('supervisor gone'); // gone while this module loaded

// Prepared only once every thread is up: the kernel may call in at once (on_attach).
await Promise.all(pool.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve()))));
// Resolved now, so that only ioctls lie between the word and service.
const userInit = manifest.library && manifest.procedures.some((p) => !p.handler)
  ? koffi.load(manifest.library).func('int lpc_user_init(int fd)')
  : undefined;
await supervisorsWord();

let info: ReturnType<typeof attach>;
try {
  info = attach(fd, manifest.planHash);
} catch (e) {
  if (!(e instanceof IoctlError)) throw e;
  const why: Record<number, [number, string]> = {
    [ERRNO.EPROTO]: [EXIT.CONFIG, 'the module was built from a different plan (plan hash mismatch)'],
    [ERRNO.EPROTONOSUPPORT]: [EXIT.CONFIG, 'the module speaks another LPC ABI version'],
    [ERRNO.EPERM]: [EXIT.CONFIG, 'attaching needs CAP_SYS_ADMIN'],
    [ERRNO.EBUSY]: [EXIT.RETRY, 'another daemon is attached'],
  };
  const [code, text] = why[e.errno] ?? [EXIT.RETRY, `errno ${e.errno}`];
  die(code, `cannot attach to ${manifest.device}: ${text}`);
}
attached = true;

// The library's kernel stubs issue their ioctls on the attached fd.
if (userInit) {
  const r = userInit(fd) as number;
  if (r !== 0) die(EXIT.CRASH, `lpc_user_init in ${manifest.library} failed: ${r}`);
}

control.start();
log(`attached to ${manifest.device} (driver ${manifest.driver}, generation ${info.generation}, ${opts.workers} workers, max depth ${info.maxDepth})`);
send({ type: 'attached', generation: String(info.generation), pid: process.pid });

// Sent when it changed, so a crash loses at most one period of counts.
let lastSent = -1;
metricsTimer = setInterval(() => {
  const s = metrics.snapshot();
  if (s.served + s.errors === lastSent) return;
  lastSent = s.served + s.errors;
  send({ type: 'metrics', snapshot: s });
}, opts.metricsMs);

// The watchdog runs on this thread, which never blocks: workers may be stuck in C.
// A call is timed from the tick that first sees it (by its busy count), so one
// is stopped after watchdogMs and at most two ticks more.
const watchTick = Math.max(10, Math.min(250, Math.floor(opts.watchdogMs / 4)));
const seenCount = new Array<number>(opts.workers).fill(-1);
const seenAt = new Array<number>(opts.workers).fill(0);
watchdog = setInterval(() => {
  const now = performance.now();
  for (let i = 0; i < opts.workers; i++) {
    const count = control.busyCount(i);
    if ((count & 1) === 0) continue;
    if (count !== seenCount[i]) {
      seenCount[i] = count;
      seenAt[i] = now;
    } else if (now - seenAt[i] > opts.watchdogMs) {
      const s = control.state(i);
      if (!s) continue; // it returned just now
      send({ type: 'metrics', snapshot: metrics.snapshot() });
      die(EXIT.WATCHDOG, `watchdog: procedure ${s.proc} (request ${s.id}) has run for more than ${opts.watchdogMs} ms on worker ${i}; exiting so the daemon restarts`);
    }
  }
}, watchTick);

/** Says 'ready' and waits for 'attach'. */
function supervisorsWord(): Promise<void> {
  return new Promise((resolve) => {
    const onWord = (m: SupervisorMessage) => {
      if (m.type !== 'attach' || stopping) return;
      process.off('message', onWord);
      resolve();
    };
    process.on('message', onWord);
    send({ type: 'ready' });
  });
}

/** A power of two with room for every worker's request and as many waiting. */
function queueCapacity(workers: number): number {
  let c = 1;
  while (c < 2 * workers) c *= 2;
  return c;
}

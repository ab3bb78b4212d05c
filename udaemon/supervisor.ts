/**
 * The supervisor: runs the daemon as a child process and, beside it, a
 * standby: a second child with the manifest loaded, the device open and
 * every worker thread up, but not attached (the kernel takes one daemon at a
 * time). When the attached daemon dies (segfault or abort in the user half's
 * C, an uncaught exception, the watchdog, a SIGKILL), its process's end
 * detaches it and the kernel fails the calls it was serving; the supervisor
 * then tells the standby to attach, which costs a message and an ioctl
 * instead of a Node start (seconds under emulation), and starts the next
 * standby. If the standby is still preparing, it attaches as soon as it is
 * ready. Backoff limits how often children start: each child that dies soon
 * (attached for less than stableMs, or never attached) doubles the delay
 * before the next one starts, so a crash loop is no busy loop, while taking
 * over from a prepared standby is never delayed.
 * It logs what happened, prints a metrics line now and then and can keep a
 * JSON metrics file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { EXIT, type DaemonMessage, type DaemonOptions, type SupervisorMessage } from './options.js';
import { addSnapshots, emptySnapshot, percentile, type MetricsSnapshot } from './metrics.js';

export interface SupervisorOptions extends DaemonOptions {
  /** Delay before starting a child after a failure; doubles per consecutive failure up to backoffMaxMs. */
  backoffMs: number;
  backoffMaxMs: number;
  /** A daemon attached this long resets the backoff. */
  stableMs: number;
  /** Period of the metrics line and file, ms (0: only at exit). */
  reportMs: number;
  /** Where to keep the metrics as JSON (rewritten each period and at exit). */
  metricsFile?: string;
  /** Where log lines go (default stderr). */
  log?: (line: string) => void;
}

export interface MetricsReport {
  served: number;
  errors: number;
  /** Of the served calls, those a native serving loop ran (lpc_serve.c): 0 with a library built without it. */
  servedInline: number;
  restarts: number;
  generation: string | null;
  pid: number | null;
  /** Over the timed calls: every 16th of each worker (see worker.ts). */
  latencyUs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  uptimeMs: number;
}

/**
 * V8's memory reducer runs full collections in each isolate some seconds
 * after a process starts (and again when its allocation slows down), to
 * give back a few MB: in a standby that runs beside the daemon serving,
 * and in each daemon thread. Measured in the guest, they fell inside timed
 * rounds of bench:kernel, each tens of ms of CPU under emulation; the
 * daemon's heaps stay small without them.
 */
const DAEMON_V8_FLAGS = ['--no-memory-reducer'];

/** One daemon child: the standby until it is told to attach, then the active daemon. */
interface Child {
  proc: ChildProcess;
  /** Prepared: waiting for the word to attach. */
  ready: boolean;
  attachedAt?: number;
  /** Its latest metrics (counted into the totals when it exits). */
  snapshot: MetricsSnapshot;
}

/** Runs until SIGTERM/SIGINT (resolves 0) or a configuration error (resolves 1). */
export function supervise(o: SupervisorOptions): Promise<number> {
  const log = o.log ?? ((l: string) => writeSync(2, `${l}\n`));
  const say = (m: string) => log(`supervisor[${process.pid}]: ${m}`);
  const started = Date.now();
  let done = emptySnapshot(); // from daemons that have exited
  let restarts = 0;
  let failures = 0;
  let generation: string | null = null;
  let active: Child | null = null; // told to attach
  let standby: Child | null = null; // preparing or prepared
  let startTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let exitCode = 0;

  const totals = (): MetricsSnapshot => addSnapshots(done, active?.snapshot ?? emptySnapshot());
  const report = (): MetricsReport => {
    const t = totals();
    return {
      served: t.served,
      errors: t.errors,
      servedInline: t.inline,
      restarts,
      generation,
      pid: active?.proc.pid ?? null,
      latencyUs: { p50: percentile(t, 50), p90: percentile(t, 90), p99: percentile(t, 99), max: t.served ? t.maxUs : null },
      uptimeMs: Date.now() - started,
    };
  };
  const writeMetrics = () => {
    const r = report();
    const us = (v: number | null) => (v === null ? '-' : `${v}us`);
    say(`metrics: served ${r.served}, errors ${r.errors}, restarts ${r.restarts}, latency p50 ${us(r.latencyUs.p50)} p90 ${us(r.latencyUs.p90)} p99 ${us(r.latencyUs.p99)} max ${us(r.latencyUs.max)}`);
    if (o.metricsFile) {
      const tmp = `${o.metricsFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(r, null, 2) + '\n');
      renameSync(tmp, o.metricsFile);
    }
  };
  const reporter = o.reportMs > 0 ? setInterval(writeMetrics, o.reportMs) : undefined;

  return new Promise<number>((resolve) => {
    const finish = () => {
      if (reporter) clearInterval(reporter);
      writeMetrics();
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(exitCode);
    };
    const backoff = () => (failures === 0 ? 0 : Math.min(o.backoffMaxMs, o.backoffMs * 2 ** (failures - 1)));
    const settled = (c: Child | null) => c?.attachedAt !== undefined && Date.now() - c.attachedAt >= o.stableMs;

    const attach = (c: Child) => {
      standby = null;
      active = c;
      serveAtFullPriority(c.proc.pid!);
      // A child that died before the word arrives is handled by its exit.
      c.proc.send({ type: 'attach' } satisfies SupervisorMessage, () => {});
      prepare();
    };

    /** Starts the next standby, after the backoff, unless one is there or due. */
    const prepare = () => {
      if (stopping || standby || startTimer) return;
      startTimer = setTimeout(start, backoff());
    };

    const start = () => {
      startTimer = undefined;
      const daemonOpts: DaemonOptions = { manifest: o.manifest, workers: o.workers, watchdogMs: o.watchdogMs, pollMs: o.pollMs, metricsMs: o.metricsMs };
      const c: Child = {
        proc: fork(new URL('./daemon.js', import.meta.url), [JSON.stringify(daemonOpts)], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          execArgv: [...process.execArgv, ...DAEMON_V8_FLAGS],
        }),
        ready: false,
        snapshot: emptySnapshot(),
      };
      standby = c;
      // Preparing costs seconds of CPU that the attached daemon's calls need more.
      if (active && process.geteuid?.() === 0) setNice(c.proc.pid!, STANDBY_NICE);
      say(`started daemon pid ${c.proc.pid}${active ? ' as the standby' : ''}`);
      c.proc.on('message', (m: DaemonMessage) => {
        if (m.type === 'metrics') c.snapshot = m.snapshot;
        else if (m.type === 'ready') {
          c.ready = true;
          if (stopping) return;
          if (active) say(`standby pid ${c.proc.pid} ready`);
          else attach(c);
        } else if (m.type === 'attached') {
          c.attachedAt = Date.now();
          generation = m.generation;
          say(`daemon pid ${m.pid} attached, generation ${m.generation}`);
        }
      });
      c.proc.on('exit', (code, signal) => exited(c, code, signal));
    };

    const exited = (c: Child, code: number | null, signal: NodeJS.Signals | null) => {
      done = addSnapshots(done, c.snapshot);
      const wasActive = c === active;
      if (wasActive) active = null;
      else standby = null;
      const who = `${wasActive ? 'daemon' : 'standby'} pid ${c.proc.pid}`;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}${describe(code)}`;
      if (stopping) {
        say(`${who} ${how}; stopped`);
        if (!active && !standby) finish();
        return;
      }
      if (code === EXIT.CONFIG) {
        say(`${who} ${how}: not restarting`);
        exitCode = 1;
        stop();
        return;
      }
      failures = settled(wasActive ? c : active) ? 1 : failures + 1;
      if (!wasActive) {
        say(`${who} ${how}; next standby in ${backoff()} ms`);
        prepare();
        return;
      }
      restarts++;
      const next = standby as Child | null;
      if (next?.ready) {
        attach(next);
        say(`${who} ${how}; restart ${restarts}: standby pid ${next.proc.pid} attaches, next standby in ${backoff()} ms`);
      } else if (next) {
        serveAtFullPriority(next.proc.pid!); // nothing serves until it is prepared
        say(`${who} ${how}; restart ${restarts}: standby pid ${next.proc.pid} attaches once prepared`);
      } else {
        say(`${who} ${how}; restart ${restarts} in ${backoff()} ms`);
        prepare();
      }
    };

    const stop = (why?: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      if (why) say(`${why}: stopping the daemon`);
      clearTimeout(startTimer);
      const children = [active, standby].filter((c): c is Child => c !== null);
      if (children.length === 0) {
        finish();
        return;
      }
      for (const c of children) {
        c.proc.kill('SIGTERM');
        // A drain cannot outlast the watchdog; past that, the child is stuck.
        setTimeout(() => c.proc.exitCode === null && c.proc.signalCode === null && c.proc.kill('SIGKILL'), o.watchdogMs + 2000).unref();
      }
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    prepare();
  });
}

/**
 * A standby prepares at this nice value: under load its start would starve
 * the attached daemon (under emulation, past the watchdog). Set right after
 * the fork, before the child starts its other threads, which inherit it;
 * only as root, who can lower it again when the standby takes over.
 */
const STANDBY_NICE = 10;

function setNice(tid: number, nice: number): boolean {
  try {
    os.setPriority(tid, nice);
    return true;
  } catch {
    return false; // gone already, or no CAP_SYS_NICE to lower it
  }
}

/** Back to the supervisor's own priority, every thread of the promoted child. */
function serveAtFullPriority(pid: number): void {
  const nice = os.getPriority();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    tids = [String(pid)];
  }
  for (const tid of tids) setNice(Number(tid), nice);
}

function describe(code: number | null): string {
  switch (code) {
    case EXIT.CRASH: return ' (the user half crashed)';
    case EXIT.RETRY: return ' (could not attach yet)';
    case EXIT.CONFIG: return ' (configuration error)';
    case EXIT.WATCHDOG: return ' (watchdog: a procedure did not return)';
    default: return '';
  }
}

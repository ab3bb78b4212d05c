/**
 * The supervisor: runs the daemon as a child process and restarts it, with
 * exponential backoff, whenever it dies (segfault or abort in the user half's
 * C, an uncaught exception, the watchdog). Only the child dies; the kernel
 * fails the calls it was serving and the restarted child attaches again.
 * It logs what happened, prints a metrics line now and then and can keep a
 * JSON metrics file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync, writeSync } from 'node:fs';
import { EXIT, type DaemonMessage, type DaemonOptions } from './options.js';
import { addSnapshots, emptySnapshot, percentile, type MetricsSnapshot } from './metrics.js';

export interface SupervisorOptions extends DaemonOptions {
  /** First restart delay; doubles per consecutive failure up to backoffMaxMs. */
  backoffMs: number;
  backoffMaxMs: number;
  /** A child that ran this long resets the backoff. */
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
  restarts: number;
  generation: string | null;
  pid: number | null;
  latencyUs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  uptimeMs: number;
}

/** Runs until SIGTERM/SIGINT (resolves 0) or a configuration error (resolves 1). */
export function supervise(o: SupervisorOptions): Promise<number> {
  const log = o.log ?? ((l: string) => writeSync(2, `${l}\n`));
  const say = (m: string) => log(`supervisor[${process.pid}]: ${m}`);
  const started = Date.now();
  let done = emptySnapshot(); // from daemons that have exited
  let current = emptySnapshot();
  let restarts = 0;
  let failures = 0;
  let generation: string | null = null;
  let child: ChildProcess | null = null;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;

  const totals = (): MetricsSnapshot => addSnapshots(done, current);
  const report = (): MetricsReport => {
    const t = totals();
    return {
      served: t.served,
      errors: t.errors,
      restarts,
      generation,
      pid: child?.pid ?? null,
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
    const finish = (code: number) => {
      if (reporter) clearInterval(reporter);
      writeMetrics();
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(code);
    };

    const start = () => {
      const daemonOpts: DaemonOptions = { manifest: o.manifest, workers: o.workers, watchdogMs: o.watchdogMs, pollMs: o.pollMs, metricsMs: o.metricsMs };
      const began = Date.now();
      const c = fork(new URL('./daemon.js', import.meta.url), [JSON.stringify(daemonOpts)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child = c;
      say(`started daemon pid ${c.pid}`);
      c.on('message', (m: DaemonMessage) => {
        if (m.type === 'metrics') current = m.snapshot;
        else if (m.type === 'attached') {
          generation = m.generation;
          say(`daemon pid ${m.pid} attached, generation ${m.generation}`);
        }
      });
      c.on('exit', (code, signal) => {
        child = null;
        done = addSnapshots(done, current);
        current = emptySnapshot();
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}${describe(code)}`;
        if (stopping) {
          say(`daemon pid ${c.pid} ${how}; stopped`);
          finish(0);
          return;
        }
        if (code === EXIT.CONFIG) {
          say(`daemon pid ${c.pid} ${how}: not restarting`);
          finish(1);
          return;
        }
        failures = Date.now() - began >= o.stableMs ? 1 : failures + 1;
        const delay = Math.min(o.backoffMaxMs, o.backoffMs * 2 ** (failures - 1));
        restarts++;
        say(`daemon pid ${c.pid} ${how}; restart ${restarts} in ${delay} ms`);
        restartTimer = setTimeout(start, delay);
      });
    };

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      say(`${signal}: stopping the daemon`);
      if (restartTimer) clearTimeout(restartTimer);
      if (!child) {
        finish(0);
        return;
      }
      child.kill('SIGTERM');
      // A drain cannot outlast the watchdog; past that, the child is stuck.
      const c = child;
      setTimeout(() => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'), o.watchdogMs + 2000).unref();
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    start();
  });
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

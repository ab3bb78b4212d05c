import type { CommandModule } from 'yargs';
import { InputError } from '../../errors.js';
import { findManifest, loadManifest } from '../../../udaemon/manifest.js';
import { supervise } from '../../../udaemon/supervisor.js';

interface Args {
  dir: string;
  workers: number;
  'watchdog-ms': number;
  'poll-ms': number;
  'backoff-ms': number;
  'backoff-max-ms': number;
  'report-s': number;
  metrics?: string;
}

const positive = (name: string, v: number, min = 1) => {
  if (!Number.isInteger(v) || v < min) throw new InputError(`--${name} must be an integer >= ${min}, not ${v}`);
  return v;
};

export const udaemonCommand: CommandModule<object, Args> = {
  command: 'udaemon <dir>',
  describe: 'Serve a split driver\'s user half: a supervisor that runs the daemon and a prepared standby, which attaches at once when the daemon crashes (SIGTERM drains and stops both)',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'emit output (DIR/udaemon/manifest.json), a udaemon directory, or a manifest.json' })
      .option('workers', { type: 'number', default: 4, describe: 'worker threads; nested calls need one each' })
      .option('watchdog-ms', { type: 'number', default: 10000, describe: 'a procedure running longer is taken as hung: the daemon restarts' })
      .option('poll-ms', { type: 'number', default: 200, describe: 'how often the leader\'s POLL wakes to notice a stop' })
      .option('backoff-ms', { type: 'number', default: 200, describe: 'delay before starting a new daemon or standby after a crash (doubles per consecutive crash; a prepared standby takes over without delay)' })
      .option('backoff-max-ms', { type: 'number', default: 10000, describe: 'longest delay before starting a new daemon' })
      .option('report-s', { type: 'number', default: 60, describe: 'seconds between metrics lines on stderr (0: only at exit)' })
      .option('metrics', { type: 'string', describe: 'keep the metrics (served, errors, restarts, latency percentiles of one call in 16) in this JSON file' }) as never,
  handler: async (args) => {
    const manifest = findManifest(args.dir);
    loadManifest(manifest); // bad input fails here, once, instead of in a restart loop
    const backoffMs = positive('backoff-ms', args['backoff-ms']);
    const code = await supervise({
      manifest,
      workers: positive('workers', args.workers),
      watchdogMs: positive('watchdog-ms', args['watchdog-ms']),
      pollMs: positive('poll-ms', args['poll-ms']),
      metricsMs: 100,
      backoffMs,
      backoffMaxMs: Math.max(backoffMs, positive('backoff-max-ms', args['backoff-max-ms'])),
      stableMs: 10000,
      reportMs: positive('report-s', args['report-s'], 0) * 1000,
      metricsFile: args.metrics,
    });
    process.exit(code);
  },
};

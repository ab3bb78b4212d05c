/** What the supervisor and its daemon child agree on: options, exit codes, messages. */
import type { MetricsSnapshot } from './metrics.js';

export interface DaemonOptions {
  manifest: string;
  /** Pool size: also the deepest nesting the daemon can serve at once. */
  workers: number;
  /** A procedure running longer than this is taken as hung: the daemon exits. */
  watchdogMs: number;
  /** How often the leader's POLL returns to look for a stop request. */
  pollMs: number;
  /** How often metrics go to the supervisor. */
  metricsMs: number;
}

/** Exit codes the supervisor acts on. */
export const EXIT = {
  OK: 0,
  /** A thread of the user half crashed (uncaught exception, unexpected exit). */
  CRASH: 70,
  /** Could not attach now (no device yet, another daemon attached): retry. */
  RETRY: 75,
  /** Can never work as configured (plan or ABI mismatch, bad manifest): do not retry. */
  CONFIG: 78,
  /** The watchdog found a procedure that does not return. */
  WATCHDOG: 124,
} as const;

/** Child to supervisor. */
export type DaemonMessage =
  | { type: 'metrics'; snapshot: MetricsSnapshot }
  /** Prepared (manifest, device open, every worker up): waiting for the word to attach. */
  | { type: 'ready' }
  | { type: 'attached'; generation: string; pid: number };

/** Supervisor to child: the word a prepared standby waits for. */
export type SupervisorMessage = { type: 'attach' };

import chalk from 'chalk';
import { formatDiagnostic, type Diagnostic } from '../errors.js';

export function fail(message: string, code: number): never {
  process.stderr.write(`split-driver: ${chalk.red('error')}: ${message}\n`);
  process.exit(code);
}

export function warn(d: Diagnostic): void {
  process.stderr.write(`split-driver: ${chalk.yellow('warning')}: ${formatDiagnostic(d)}\n`);
}

/** Progress for long work, on stderr and only where a person watches it. */
export function progress(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 200) return;
    last = now;
    process.stderr.write(`\r${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

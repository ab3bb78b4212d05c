/** Compiler-style lines, `file:line: error: message [rule]`, and a summary. */
import { Chalk } from 'chalk';
import type { Breach } from '../check.js';

export function formatText(breaches: Breach[], opts: { color?: boolean } = {}): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const lines = breaches.map((b) => `${c.bold(`${b.file}:${b.line}:`)} ${c.red('error:')} ${b.message} ${c.dim(`[${b.rule}]`)}`);
  lines.push(
    breaches.length === 0
      ? c.green('split-driver check: no breach: every critical section stays on one side')
      : c.red(`split-driver check: ${breaches.length} breach${breaches.length === 1 ? '' : 'es'}`),
  );
  return lines.join('\n') + '\n';
}

/**
 * `split-driver profile`: runs a program under Callgrind with the options the
 * analysis reads (function costs, call counts) and nothing that only bloats
 * the file (per-instruction costs, jumps).
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';

export const CALLGRIND_OPTIONS = [
  '--tool=callgrind',
  '--dump-line=yes',
  '--dump-instr=no',
  '--collect-jumps=no',
  '--compress-strings=yes',
  '--compress-pos=yes',
  // One file for all threads: the analysis sums them anyway.
  '--separate-threads=no',
  // Recursion stays one function (`f`, not `f` and `f'2`), so profile names match the source.
  '--separate-recs=1',
];

/** Returns the path of the profile written. */
export async function profileCommand(cmd: string[], opts: { out?: string }): Promise<string> {
  if (cmd.length === 0) throw new InputError('no program to profile');
  // Valgrind's own default name, callgrind.out.<pid>; %p is expanded by valgrind.
  const pattern = resolve(opts.out ?? 'callgrind.out.%p');
  const args = [...CALLGRIND_OPTIONS, `--callgrind-out-file=${pattern}`, ...cmd];
  const { code, signal, pid } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; pid: number }>(
    (done, reject) => {
      const child = spawn('valgrind', args, { stdio: 'inherit' });
      child.on('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'ENOENT'
            ? new InputError('valgrind is not installed (or not on PATH): install it, e.g. apt-get install valgrind')
            : new InputError(`cannot run valgrind: ${err.message}`),
        );
      });
      child.on('exit', (c, s) => done({ code: c, signal: s, pid: child.pid ?? 0 }));
    },
  );
  // valgrind execs the tool in the same process, so its pid is the one %p names.
  const out = pattern.replaceAll('%p', String(pid));
  const written = await stat(out).then((s) => s.isFile() && s.size > 0, () => false);
  if (signal !== null || code !== 0) {
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
    throw new InputError(
      `valgrind ${how} running '${cmd.join(' ')}'${written ? ` (a partial profile is in ${out})` : ''}`,
    );
  }
  if (!written) throw new InputError(`valgrind finished but wrote no profile at ${out}`);
  return out;
}

/** Building kernel code in tests: commands, their diagnostics, checkpatch. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { kernelSourceFiles } from './kernel-source.js';

const run = promisify(execFile);

/** Runs a command: its exit code and its stdout and stderr together; never throws on a failure exit. */
export async function sh(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/** Compiler and sparse diagnostics in a build log. */
export function diagnostics(log: string): string[] {
  return log.split('\n').filter((l) => /\b(warning|error|note):|\.[ch]:\d+:\d+:/.test(l));
}

/** checkpatch.pl, extracted from the kernel source package at test time (with the data files it reads). */
export async function checkpatch(): Promise<string> {
  const src = await kernelSourceFiles(['scripts/checkpatch.pl', 'scripts/spelling.txt', 'scripts/const_structs.checkpatch']);
  return path.join(src, 'scripts/checkpatch.pl');
}

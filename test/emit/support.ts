/** Shared by the emit tests: running tools, building an emitted split driver, checkpatch. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { kernelSourceFiles } from '../support/kernel-source.js';
import { guestKernel } from '../qemu/harness.js';

const run = promisify(execFile);

/** Runs a command: its exit code and its stdout and stderr together. */
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

/** `make W=1 C=1` in DIR/kmod against the installed kernel's headers (KDIR=, as the README says). */
export function buildKmod(dir: string): Promise<{ code: number; out: string }> {
  return sh('make', [`KDIR=${guestKernel().build}`, 'W=1', 'C=1'], path.join(dir, 'kmod'));
}

export function buildUdaemon(dir: string): Promise<{ code: number; out: string }> {
  return sh('make', [], path.join(dir, 'udaemon'));
}

/** checkpatch.pl, extracted from the kernel source package at test time. */
export async function checkpatch(): Promise<string> {
  const src = await kernelSourceFiles(['scripts/checkpatch.pl', 'scripts/spelling.txt', 'scripts/const_structs.checkpatch']);
  return path.join(src, 'scripts/checkpatch.pl');
}

/** Moved to user space in the chardev tests: numbers, strings, structs in and out, buffers, EXEC, shared data. */
export const CHARDEV_USER = [
  'sample_factorial',
  'sample_selftest_checksum',
  'sample_selftest_factorial',
  'sample_config_update',
  'sample_mode_parse',
  'sample_config_validate',
  'sample_format_config',
  'sample_config_defaults',
].join(',');

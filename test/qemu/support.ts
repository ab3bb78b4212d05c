/** Shared by the QEMU tests: building the self-test module and the C test programs for the guest. */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';
import { guestKernel } from './harness.js';

export const progs = path.join(repoRoot, 'test/qemu/progs');

/** Builds the LPC self-test module (kmod/test) for the guest kernel from a copy of kmod/ under tmp. */
export function buildSelftestModule(tmp: string): string {
  const k = guestKernel();
  const src = path.join(tmp, 'kmod');
  cpSync(path.join(repoRoot, 'kmod'), src, { recursive: true });
  execFileSync('make', ['-C', k.build, `M=${path.join(src, 'test')}`, 'modules'], { stdio: 'pipe' });
  return path.join(src, 'test', 'lpcselftest.ko');
}

/** Compiles one C test program (or, with -shared, a library) against kmod/lpc_abi.h. */
export function cc(out: string, src: string, ...flags: string[]): string {
  execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-I', path.join(repoRoot, 'kmod'), ...flags, '-o', out, src]);
  return out;
}

/** The self-test's user half, with the daemon's native serving loop (udaemon/native/lpc_serve.c) as emit links it in. */
export function selftestLibrary(out: string): string {
  return cc(out, path.join(progs, 'selftest_user.c'), path.join(repoRoot, 'udaemon/native/lpc_serve.c'), '-shared', '-fPIC');
}

/** The self-test's user half as a directory `split-driver udaemon` serves (files for runInGuest, under ud/). */
export function selftestUserFiles(tmp: string): Record<string, string> {
  return {
    'ud/selftest_user.so': selftestLibrary(path.join(tmp, 'selftest_user.so')),
    'ud/manifest.json': path.join(progs, 'selftest_user.json'),
    'ud/selftest_handlers.mjs': path.join(progs, 'selftest_handlers.mjs'),
  };
}

/** Plan hash of the self-test module as hex (its plan_hash string, NUL-padded to 32 bytes). */
export const SELFTEST_PLAN_HEX = Buffer.from('split-driver lpc selftest plan').toString('hex').padEnd(64, '0');

/** Lines "STEP name: value" of a guest's output, by name. */
export function stepLines(output: string): Map<string, string> {
  const steps = new Map<string, string>();
  for (const m of output.matchAll(/^STEP ([\w]+): (.*)$/gm)) steps.set(m[1], m[2].trim());
  return steps;
}

/** Two s64 little-endian, as hex: the (a, b) pair the self-test procedures take. */
export function pairHex(a: bigint, b: bigint): string {
  const buf = Buffer.alloc(16);
  buf.writeBigInt64LE(a, 0);
  buf.writeBigInt64LE(b, 8);
  return buf.toString('hex');
}

/** One s64 little-endian, as hex: how udaemon_call prints an 8-byte result. */
export function i64Hex(v: bigint): string {
  const buf = Buffer.alloc(8);
  buf.writeBigInt64LE(v, 0);
  return buf.toString('hex');
}

/** What a guest needs of an emitted split driver in DIR: the module, the daemon's manifest and the user half's library. */
export function emittedFiles(dir: string, module: string): Record<string, string> {
  return {
    [`${module}.ko`]: path.join(dir, `kmod/${module}.ko`),
    'manifest.json': path.join(dir, 'udaemon/manifest.json'),
    [`lib${module}_user.so`]: path.join(dir, `udaemon/lib${module}_user.so`),
  };
}

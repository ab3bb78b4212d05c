/**
 * The udaemon tests' stand-in for the kernel half: builds fakelpc.so (a
 * preloaded fake of the LPC ioctls whose callers are a Unix socket's
 * clients), the user half's test library and a manifest in a temporary
 * directory, and runs `split-driver udaemon` on them as a user does.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { repoRoot } from '../support/cli.js';

const fixtures = path.join(repoRoot, 'test/udaemon/fixtures');
const LPC_SERVE_C = path.join(repoRoot, 'udaemon/native/lpc_serve.c');
export const main = path.join(repoRoot, 'dist/src/cli/main.js');
if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);

export const PLAN = 'ab'.repeat(32);

export const pair = (a: bigint, b: bigint) => {
  const buf = Buffer.alloc(16);
  buf.writeBigInt64LE(a, 0);
  buf.writeBigInt64LE(b, 8);
  return buf.toString('hex');
};

export interface Running {
  proc: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

export type Answer = { status: number; result: Buffer } | { failed: string };

export const i64 = (a: Answer) => ('status' in a && a.result.length === 8 ? a.result.readBigInt64LE(0) : a);

export interface FakeKernel {
  /** The directory with fakelpc.so, the library, handlers.mjs and manifest.json. */
  tmp: string;
  /** `split-driver udaemon dir` with 3 workers and a 100 ms backoff, plus args; killed after each test. */
  startDaemon(args?: string[], dir?: string): Running;
  /** One kernel-side caller: sends proc(args) and waits for the daemon's answer (the daemon started on dir). */
  call(proc: string, argsHex: string, resultCap?: number, dir?: string): Promise<Answer>;
  /** The environment that makes a daemon talk to the fake kernel. */
  env(socket?: string): NodeJS.ProcessEnv;
}

/** Registers the hooks that build the fake kernel in a fresh directory and stop daemons after each test. */
export function useFakeKernel(): FakeKernel {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'udaemon-test-'));
  const gcc = (out: string, ...args: string[]) =>
    execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-shared', '-fPIC', '-I', path.join(repoRoot, 'kmod'), '-o', out, ...args]);

  const writeManifest = () => {
    const p = (name: string, handler?: string) => ({
      name,
      argsSize: 16,
      resultSize: 8,
      params: [
        { name: 'a', type: 's64', offset: 0, size: 8, marshal: 'scalar' },
        { name: 'b', type: 's64', offset: 8, size: 8, marshal: 'scalar' },
      ],
      returns: { type: 's64', offset: 0, size: 8 },
      ...(handler ? { handler } : {}),
    });
    const manifest = {
      version: 1,
      driver: 'fake',
      device: path.join(tmp, 'fake_lpc'),
      planHash: PLAN,
      library: 'libtest_user.so',
      procedures: [
        p('mul'), p('sum_via_kernel'), p('nested'), p('slow'), p('crash'), p('abort'), p('hang'), p('bad_status'),
        p('js_sum_via_kernel', 'handlers.mjs'), p('js_throw', 'handlers.mjs'), p('js_missing_export', 'handlers.mjs'),
      ],
      locks: [],
      semaphores: [],
      exports: ['add', 'call_user'],
    };
    writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
  };

  const env = (socket = path.join(tmp, 'callers.sock')): NodeJS.ProcessEnv => ({
    ...process.env,
    LD_PRELOAD: path.join(tmp, 'fakelpc.so'),
    FAKE_LPC_DEVICE: path.join(tmp, 'fake_lpc'),
    FAKE_LPC_SOCKET: socket,
    FAKE_LPC_PLAN: PLAN,
  });

  let running: Running | null = null;
  beforeAll(() => {
    gcc(path.join(tmp, 'fakelpc.so'), path.join(fixtures, 'fakelpc.c'), '-ldl', '-lpthread');
    gcc(path.join(tmp, 'libtest_user.so'), path.join(fixtures, 'testlib.c'), LPC_SERVE_C);
    // The same user half without the one-call path, as a library built before it existed.
    gcc(path.join(tmp, 'libtest_user_twocall.so'), path.join(fixtures, 'testlib.c'));
    copyFileSync(path.join(fixtures, 'handlers.mjs'), path.join(tmp, 'handlers.mjs'));
    writeFileSync(path.join(tmp, 'fake_lpc'), '');
    writeManifest();
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => {
    running?.proc.kill('SIGKILL');
    running = null;
  });

  const startDaemon = (args: string[] = [], dir = tmp): Running => {
    const proc = spawn(process.execPath, [main, 'udaemon', dir, '--workers', '3', '--backoff-ms', '100', '--report-s', '0', ...args], {
      env: env(path.join(dir, 'callers.sock')),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    running = { proc, log: () => log, exited };
    return running;
  };

  const call = (proc: string, argsHex: string, resultCap = 8, dir = tmp): Promise<Answer> =>
    new Promise((resolve) => {
      const s = net.connect(path.join(dir, 'callers.sock'));
      let data = '';
      s.on('connect', () => s.write(`${proc} ${argsHex || '-'} ${resultCap}\n`));
      s.on('data', (b) => (data += b.toString()));
      s.on('error', (e) => resolve({ failed: e.message }));
      s.on('close', () => {
        const m = /^(-?\d+) ([0-9a-f]+|-)\n$/.exec(data);
        if (m) resolve({ status: Number(m[1]), result: Buffer.from(m[2] === '-' ? '' : m[2], 'hex') });
        else resolve({ failed: data.trim() || 'connection closed without an answer' });
      });
    });

  return { tmp, startDaemon, call, env };
}

/** Waits until re matches the log count times. */
export async function waitFor(r: Running, re: RegExp, count = 1, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while ((r.log().match(new RegExp(re.source, 'g')) ?? []).length < count) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re} x${count}; log:\n${r.log()}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

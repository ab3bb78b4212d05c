/**
 * The daemon and its supervisor, run as a user runs them (`split-driver
 * udaemon DIR`), against fakelpc.so: a preloaded stand-in for the kernel half
 * that speaks the LPC ioctls and lets the test be the kernel's callers. The
 * runtime's own code paths run unchanged (koffi ioctl, leader, queue, pool,
 * C library through koffi, JS handlers, supervisor); the real kernel is the
 * QEMU test's job.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../support/cli.js';

const fixtures = path.join(repoRoot, 'test/udaemon/fixtures');
const main = path.join(repoRoot, 'dist/src/cli/main.js');
if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'udaemon-test-'));
const PLAN = 'ab'.repeat(32);
const ENOENT = 2;
const EINVAL = 22;

function gcc(out: string, ...args: string[]): void {
  execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-shared', '-fPIC', '-I', path.join(repoRoot, 'kmod'), '-o', out, ...args]);
}

const pair = (a: bigint, b: bigint) => {
  const buf = Buffer.alloc(16);
  buf.writeBigInt64LE(a, 0);
  buf.writeBigInt64LE(b, 8);
  return buf.toString('hex');
};

function writeManifest(dir: string, extra: object = {}): void {
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
    device: path.join(dir, 'fake_lpc'),
    planHash: PLAN,
    library: 'libtest_user.so',
    procedures: [
      p('mul'), p('sum_via_kernel'), p('nested'), p('slow'), p('crash'), p('abort'), p('hang'),
      p('js_sum_via_kernel', 'handlers.mjs'), p('js_throw', 'handlers.mjs'), p('js_missing_export', 'handlers.mjs'),
    ],
    locks: [],
    semaphores: [],
    exports: ['add', 'call_user'],
    ...extra,
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

beforeAll(() => {
  gcc(path.join(tmp, 'fakelpc.so'), path.join(fixtures, 'fakelpc.c'), '-ldl', '-lpthread');
  gcc(path.join(tmp, 'libtest_user.so'), path.join(fixtures, 'testlib.c'));
  copyFileSync(path.join(fixtures, 'handlers.mjs'), path.join(tmp, 'handlers.mjs'));
  writeFileSync(path.join(tmp, 'fake_lpc'), '');
  writeManifest(tmp);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Running {
  proc: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}
let running: Running | null = null;
afterEach(() => {
  running?.proc.kill('SIGKILL');
  running = null;
});

function startDaemon(args: string[] = []): Running {
  const proc = spawn(process.execPath, [main, 'udaemon', tmp, '--workers', '3', '--backoff-ms', '100', '--report-s', '0', ...args], {
    env: {
      ...process.env,
      LD_PRELOAD: path.join(tmp, 'fakelpc.so'),
      FAKE_LPC_DEVICE: path.join(tmp, 'fake_lpc'),
      FAKE_LPC_SOCKET: path.join(tmp, 'callers.sock'),
      FAKE_LPC_PLAN: PLAN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  running = { proc, log: () => log, exited };
  return running;
}

async function waitFor(r: Running, re: RegExp, count = 1, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while ((r.log().match(new RegExp(re.source, 'g')) ?? []).length < count) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re} x${count}; log:\n${r.log()}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

type Answer = { status: number; result: Buffer } | { failed: string };

/** One kernel-side caller: sends proc(args) and waits for the daemon's answer. */
function call(proc: string, argsHex: string, resultCap = 8): Promise<Answer> {
  return new Promise((resolve) => {
    const s = net.connect(path.join(tmp, 'callers.sock'));
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
}

const i64 = (a: Answer) => ('status' in a && a.result.length === 8 ? a.result.readBigInt64LE(0) : a);

describe('split-driver udaemon (fake kernel)', () => {
  it('dispatches by name to C and TypeScript procedures, with calls back into the kernel', async () => {
    const d = startDaemon();
    await waitFor(d, /attached, generation 1/);

    expect(await call('mul', pair(6n, 7n))).toEqual({ status: 0, result: Buffer.from(pair(42n, 0n).slice(0, 16), 'hex') });
    // user -> kernel (EXEC add) -> user combines
    expect(i64(await call('sum_via_kernel', pair(20n, 3n)))).toBe(2301n);
    // kernel -> user -> kernel -> user (mul on another worker) -> ...
    expect(i64(await call('nested', pair(5n, 9n)))).toBe(52n);
    expect(i64(await call('js_sum_via_kernel', pair(-4n, 1n)))).toBe(-298n);
    // names outside the table, and a C procedure's own validation
    expect(await call('no_such_procedure', pair(1n, 1n))).toEqual({ status: -ENOENT, result: Buffer.alloc(0) });
    expect(await call('mul', '0102')).toEqual({ status: -EINVAL, result: Buffer.alloc(0) });
    // a kernel call that fails inside a JS handler is the procedure's -errno
    expect(await call('js_missing_export', pair(0n, 0n))).toEqual({ status: -ENOENT, result: Buffer.alloc(0) });

    // many concurrent callers, more than there are workers
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => call('mul', pair(BigInt(i), 3n))));
    expect(many.map(i64)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i * 3)));
  }, 60_000);

  it('restarts the daemon with backoff after a segfault, an abort, an uncaught exception and a hung procedure', async () => {
    const metrics = path.join(tmp, 'metrics.json');
    const d = startDaemon(['--watchdog-ms', '1000', '--metrics', metrics]);
    await waitFor(d, /attached, generation 1/);
    expect(i64(await call('mul', pair(2n, 2n)))).toBe(4n);

    const crashes: [string, RegExp][] = [
      ['crash', /killed by SIGSEGV; restart 1 in 100 ms/],
      ['abort', /killed by SIGABRT; restart 2 in 200 ms/],
      ['js_throw', /worker \d crashed: Error: a bug in a TypeScript procedure[\s\S]*exited with code 70 \(the user half crashed\); restart 3 in 400 ms/],
      ['hang', /watchdog: procedure hang \(request \d+\) has run for more than 1000 ms[\s\S]*exited with code 124 \(watchdog: a procedure did not return\); restart 4 in 800 ms/],
    ];
    for (const [i, [proc, logged]] of crashes.entries()) {
      // Counts reach the supervisor every 100 ms; a crash loses at most that.
      await new Promise((r) => setTimeout(r, 300));
      // The caller of the crashing procedure gets no answer, only the failure.
      expect(await call(proc, pair(1n, 1n))).toHaveProperty('failed');
      await waitFor(d, logged);
      await waitFor(d, /daemon pid \d+ attached/, i + 2);
      expect(i64(await call('mul', pair(BigInt(i), 10n)))).toBe(BigInt(i * 10));
    }

    d.proc.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    const m = JSON.parse(readFileSync(metrics, 'utf8'));
    expect(m).toMatchObject({ served: 5, errors: 0, restarts: 4 });
    expect(m.latencyUs.p50).toBeGreaterThan(0);
    expect(d.log()).toMatch(/metrics: served 5, errors 0, restarts 4, latency p50 \d+us/);
  }, 90_000);

  it('drains the calls in flight on SIGTERM and detaches', async () => {
    const d = startDaemon();
    await waitFor(d, /attached, generation 1/);
    const slow = [call('slow', pair(800n, 11n)), call('slow', pair(600n, 22n))];
    await new Promise((r) => setTimeout(r, 200));
    d.proc.kill('SIGTERM');
    expect((await Promise.all(slow)).map(i64)).toEqual([11n, 22n]);
    expect(await d.exited).toBe(0);
    expect(d.log()).toMatch(/SIGTERM: draining 0 queued and 2 running calls/);
    expect(d.log()).toMatch(/detached from /);
    expect(d.log()).toMatch(/daemon pid \d+ exited with code 0; stopped/);
  }, 30_000);

  it('refuses a module built from another plan without restarting', async () => {
    const dir = mkdtempSync(path.join(tmp, 'other-'));
    for (const f of ['libtest_user.so', 'handlers.mjs']) copyFileSync(path.join(tmp, f), path.join(dir, f));
    const m = JSON.parse(readFileSync(path.join(tmp, 'manifest.json'), 'utf8'));
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, planHash: 'cd'.repeat(32) }));
    const proc = spawn(process.execPath, [main, 'udaemon', dir, '--report-s', '0'], {
      env: { ...process.env, LD_PRELOAD: path.join(tmp, 'fakelpc.so'), FAKE_LPC_DEVICE: m.device, FAKE_LPC_SOCKET: path.join(dir, 's.sock'), FAKE_LPC_PLAN: PLAN },
    });
    let log = '';
    proc.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const code = await new Promise((r) => proc.on('exit', r));
    expect(code).toBe(1);
    expect(log).toMatch(/cannot attach to .*fake_lpc: the module was built from a different plan/);
    expect(log).toMatch(/configuration error\): not restarting/);
  }, 30_000);

  it('reports a bad manifest as file:line and exits 2', () => {
    const dir = mkdtempSync(path.join(tmp, 'bad-'));
    writeFileSync(path.join(dir, 'manifest.json'), '{\n  "version": 1,\n  "driver": "x",\n  "device": "/dev/x_lpc",\n  "planHash": "12"\n}\n');
    const r = runCli(['udaemon', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`split-driver: error: ${path.join(dir, 'manifest.json')}:5: planHash must be 64 hex digits\n`);
  });
});

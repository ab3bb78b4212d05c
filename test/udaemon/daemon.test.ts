/**
 * The daemon and its supervisor, run as a user runs them (`split-driver
 * udaemon DIR`), against fakelpc.so: a preloaded stand-in for the kernel half
 * that speaks the LPC ioctls and lets the test be the kernel's callers. The
 * runtime's own code paths run unchanged (koffi ioctl, leader, queue, pool,
 * C library through koffi, JS handlers, supervisor); the real kernel is the
 * QEMU test's job.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { i64, main, pair, useFakeKernel, waitFor } from './fake-kernel.js';

const { tmp, startDaemon, call, env } = useFakeKernel();
const ENOENT = 2;
const EINVAL = 22;
const EPROTO = 71;

describe('split-driver udaemon (fake kernel)', () => {
  it('dispatches by name to C and TypeScript procedures, with calls back into the kernel', async () => {
    const metrics = path.join(tmp, 'dispatch.json');
    const d = startDaemon(['--metrics', metrics]);
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
    // a C procedure that breaks the contract (a positive status) is answered -EPROTO, and the log says why
    expect(await call('bad_status', pair(0n, 0n))).toEqual({ status: -EPROTO, result: Buffer.alloc(0) });
    await waitFor(d, /procedure bad_status returned status 7 with 0 result bytes \(capacity 8\); answering -EPROTO/);

    // many concurrent callers, more than there are workers
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => call('mul', pair(BigInt(i), 3n))));
    expect(many.map(i64)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i * 3)));
    // one caller after another: the leader serves them in its native loop
    for (let i = 0; i < 40; i++) expect(i64(await call('mul', pair(BigInt(i), 7n)))).toBe(BigInt(i * 7));

    d.proc.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    const m = JSON.parse(readFileSync(metrics, 'utf8'));
    expect(m).toMatchObject({ served: 89, errors: 4 });
    // The library has lpc_user_serve: C procedures polled by a leader are served by it.
    expect(m.servedInline).toBeGreaterThanOrEqual(40);
    expect(m.servedInline).toBeLessThanOrEqual(m.served);
  }, 60_000);

  it('serves C procedures with two calls per request when the library has no lpc_user_serve', async () => {
    // The same user half built without lpc_serve.c, as a library built before it existed.
    const dir = mkdtempSync(path.join(tmp, 'twocall-'));
    copyFileSync(path.join(tmp, 'libtest_user_twocall.so'), path.join(dir, 'libtest_user.so'));
    copyFileSync(path.join(tmp, 'handlers.mjs'), path.join(dir, 'handlers.mjs'));
    copyFileSync(path.join(tmp, 'manifest.json'), path.join(dir, 'manifest.json'));
    const metrics = path.join(dir, 'metrics.json');
    const d = startDaemon(['--metrics', metrics], dir);
    await waitFor(d, /attached, generation 1/);
    expect(i64(await call('mul', pair(6n, 7n), 8, dir))).toBe(42n);
    expect(i64(await call('nested', pair(5n, 9n), 8, dir))).toBe(52n);
    expect(await call('bad_status', pair(0n, 0n), 8, dir)).toEqual({ status: -EPROTO, result: Buffer.alloc(0) });
    await waitFor(d, /procedure bad_status returned status 7 with 0 result bytes \(capacity 8\); answering -EPROTO/);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => call('mul', pair(BigInt(i), 5n), 8, dir)));
    expect(many.map(i64)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i * 5)));
    d.proc.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(JSON.parse(readFileSync(metrics, 'utf8'))).toMatchObject({ served: 24, errors: 1, servedInline: 0 });
  }, 60_000);

  it('replaces the daemon with its standby after a segfault, an abort, an uncaught exception and a hung procedure', async () => {
    const metrics = path.join(tmp, 'metrics.json');
    const d = startDaemon(['--watchdog-ms', '1000', '--metrics', metrics]);
    await waitFor(d, /attached, generation 1/);
    expect(i64(await call('mul', pair(2n, 2n)))).toBe(4n);

    // Each crash hands over to the prepared standby at once; the next standby starts after the backoff.
    const crashes: [string, RegExp][] = [
      ['crash', /killed by SIGSEGV; restart 1: standby pid \d+ attaches, next standby in 100 ms/],
      ['abort', /killed by SIGABRT; restart 2: standby pid \d+ attaches, next standby in 200 ms/],
      ['js_throw', /worker \d crashed: Error: a bug in a TypeScript procedure[\s\S]*exited with code 70 \(the user half crashed\); restart 3: standby pid \d+ attaches, next standby in 400 ms/],
      ['hang', /watchdog: procedure hang \(request \d+\) has run for more than 1000 ms[\s\S]*exited with code 124 \(watchdog: a procedure did not return\); restart 4: standby pid \d+ attaches, next standby in 800 ms/],
    ];
    for (const [i, [proc, logged]] of crashes.entries()) {
      await waitFor(d, /standby pid \d+ ready/, i + 1);
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
      env: env(path.join(dir, 's.sock')),
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

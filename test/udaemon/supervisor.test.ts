/**
 * The supervisor's standby (udaemon/supervisor.ts), against the fake kernel:
 * a second daemon child is kept prepared and takes over when the attached
 * one dies; standbys that die are replaced with backoff; SIGTERM, or the
 * supervisor's own death, stops both.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { i64, pair, useFakeKernel, waitFor, type Running } from './fake-kernel.js';

const { tmp, startDaemon, call } = useFakeKernel();

const pidOf = (d: Running, re: RegExp, nth = 0): number => {
  const all = [...d.log().matchAll(new RegExp(re.source, 'g'))];
  if (!all[nth]) throw new Error(`no ${nth + 1}th ${re} in:\n${d.log()}`);
  return Number(all[nth][1]);
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (alive(pid)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`pid ${pid} still runs`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The daemon attached and its standby prepared: their pids. */
async function running(d: Running): Promise<{ daemon: number; standby: number }> {
  await waitFor(d, /standby pid \d+ ready/);
  return { daemon: pidOf(d, /daemon pid (\d+) attached/), standby: pidOf(d, /standby pid (\d+) ready/) };
}

describe('supervisor with a standby (fake kernel)', () => {
  it('hands over to the prepared standby when the attached daemon is SIGKILLed', async () => {
    const metrics = path.join(tmp, 'handover.json');
    const d = startDaemon(['--metrics', metrics]);
    const first = await running(d);
    expect(first.standby).not.toBe(first.daemon);
    expect(i64(await call('mul', pair(6n, 7n)))).toBe(42n);
    const countsSent = () => new Promise((r) => setTimeout(r, 300)); // a SIGKILL loses up to 100 ms of counts

    await countsSent();
    process.kill(first.daemon, 'SIGKILL');
    await waitFor(d, new RegExp(`daemon pid ${first.daemon} was killed by SIGKILL; restart 1: standby pid ${first.standby} attaches, next standby in 100 ms`));
    await waitFor(d, new RegExp(`daemon pid ${first.standby} attached`));
    expect(i64(await call('mul', pair(5n, 3n)))).toBe(15n);
    // and a new standby is prepared beside it, for the next crash
    await waitFor(d, /standby pid \d+ ready/, 2);
    const second = pidOf(d, /standby pid (\d+) ready/, 1);
    expect([first.daemon, first.standby]).not.toContain(second);

    await countsSent();
    process.kill(first.standby, 'SIGKILL');
    await waitFor(d, new RegExp(`restart 2: standby pid ${second} attaches`));
    await waitFor(d, new RegExp(`daemon pid ${second} attached`));
    expect(i64(await call('mul', pair(2n, 9n)))).toBe(18n);

    d.proc.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(JSON.parse(readFileSync(metrics, 'utf8'))).toMatchObject({ served: 3, restarts: 2 });
  }, 60_000);

  it('prepares the standby at a lower priority (as root, who can raise it back) and serves at full priority once it takes over', async () => {
    const d = startDaemon();
    const first = await running(d);
    const nice = os.getPriority();
    expect(os.getPriority(first.daemon)).toBe(nice);
    // Only root may raise a priority again, so only root lowers it.
    expect(os.getPriority(first.standby)).toBe(process.geteuid?.() === 0 ? nice + 10 : nice);
    process.kill(first.daemon, 'SIGKILL');
    await waitFor(d, new RegExp(`daemon pid ${first.standby} attached`));
    // every thread of it, the workers too
    const tids = readdirSync(`/proc/${first.standby}/task`).map(Number);
    expect(tids.length).toBeGreaterThan(3);
    expect(tids.map((t) => os.getPriority(t))).toEqual(tids.map(() => nice));
  }, 60_000);

  it('replaces a standby that dies, with backoff, and leaves the attached daemon alone', async () => {
    const metrics = path.join(tmp, 'standby.json');
    const d = startDaemon(['--metrics', metrics]);
    const { daemon } = await running(d);
    for (const [i, delay] of [100, 200, 400].entries()) {
      const standby = pidOf(d, /standby pid (\d+) ready/, i);
      process.kill(standby, 'SIGKILL');
      await waitFor(d, new RegExp(`standby pid ${standby} was killed by SIGKILL; next standby in ${delay} ms`));
      await waitFor(d, /standby pid \d+ ready/, i + 2);
    }
    expect(i64(await call('mul', pair(4n, 4n)))).toBe(16n);
    expect(pidOf(d, /daemon pid (\d+) attached/, 0)).toBe(daemon);
    expect(d.log().match(/attached, generation/g)).toHaveLength(1);

    d.proc.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(JSON.parse(readFileSync(metrics, 'utf8'))).toMatchObject({ served: 1, restarts: 0, pid: null });
  }, 60_000);

  it('starts children ever more slowly when each dies while preparing', async () => {
    // A procedure module that throws on import: every child crashes before it is ready.
    const dir = mkdtempSync(path.join(tmp, 'broken-'));
    for (const f of ['libtest_user.so', 'handlers.mjs']) copyFileSync(path.join(tmp, f), path.join(dir, f));
    writeFileSync(path.join(dir, 'broken.mjs'), "throw new Error('broken procedure module');\n");
    const m = JSON.parse(readFileSync(path.join(tmp, 'manifest.json'), 'utf8'));
    m.procedures[0].handler = 'broken.mjs';
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    const d = startDaemon([], dir);
    await waitFor(d, /next standby in 800 ms/, 1, 40_000);
    const delays = [...d.log().matchAll(/exited with code 70 \(the user half crashed\); next standby in (\d+) ms/g)].map((x) => Number(x[1]));
    expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(d.log()).toContain('broken procedure module');
    expect(d.log()).not.toMatch(/attached, generation/);
    d.proc.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 60_000);

  it('stops the attached daemon and its standby on SIGTERM', async () => {
    const d = startDaemon();
    const { daemon, standby } = await running(d);
    d.proc.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.log()).toMatch(new RegExp(`daemon pid ${daemon} exited with code 0; stopped`));
    expect(d.log()).toMatch(new RegExp(`standby pid ${standby} exited with code 0; stopped`));
    expect(d.log()).toMatch(/SIGTERM: stopping the standby/);
    expect(alive(daemon) || alive(standby)).toBe(false);
  }, 30_000);

  it('leaves no daemon behind when the supervisor itself is killed', async () => {
    const d = startDaemon();
    const { daemon, standby } = await running(d);
    d.proc.kill('SIGKILL');
    await gone(daemon);
    await gone(standby);
  }, 30_000);
});

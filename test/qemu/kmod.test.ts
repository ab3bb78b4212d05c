/**
 * The LPC core (kmod/) for real: built against the installed kernel headers
 * with W=1 and sparse, checked with checkpatch, then loaded in a QEMU guest
 * (one boot) where test/qemu/progs/lpctest drives the self-test module and
 * the C daemon through every ioctl, the daemon's death and restart, and rmmod.
 */
import { cpSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpatch, sh } from '../support/kbuild.js';
import { guestKernel, runInGuest, type GuestResult } from './harness.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'split-driver-kmod-'));
const kmod = path.join(work, 'kmod');

let build: { code: number; out: string };

beforeAll(async () => {
  // Build a copy, so that no build products land in the checkout.
  cpSync(path.join(repo, 'kmod'), kmod, { recursive: true });
  build = await sh('make', ['-C', guestKernel().build, `M=${path.join(kmod, 'test')}`, 'W=1', 'C=1', 'modules'], work);
}, 120_000);

describe('kmod builds clean', () => {
  it('builds with W=1 and sparse (C=1) without a diagnostic', () => {
    expect(build.out).toMatch(/CHECK .*lpc_core\.c/); // sparse really ran
    const diagnostics = build.out
      .split('\n')
      .filter((l) => /\b(warning|error|note):|\.[ch]:\d+:\d+:/.test(l));
    expect(diagnostics).toEqual([]);
    expect(build.code).toBe(0);
  });

  it('is clean under checkpatch --strict', async () => {
    const cp = await checkpatch();
    const files = [
      ...readdirSync(path.join(repo, 'kmod'))
        .filter((f) => /\.[ch]$/.test(f))
        .map((f) => `kmod/${f}`),
      'kmod/test/lpc_selftest.c',
    ];
    expect(files).toContain('kmod/lpc_core.c');
    for (const f of files) {
      const r = await sh('perl', [cp, '--no-tree', '--strict', '-f', f], repo);
      expect(r.out, f).toMatch(/total: 0 errors, 0 warnings, 0 checks/);
    }
  }, 120_000);
});

describe('the LPC core in a guest kernel', () => {
  let guest: GuestResult;
  const results = new Map<string, string>();

  beforeAll(async () => {
    expect(build.code).toBe(0);
    const progs = path.join(repo, 'test/qemu/progs');
    const cflags = ['-O2', '-Wall', '-Wextra', '-Werror', `-I${path.join(repo, 'kmod')}`];
    for (const [prog, extra] of [['cdaemon', ['-pthread']], ['lpctest', ['-pthread']]] as const) {
      const r = await sh('gcc', [...cflags, ...extra, path.join(progs, `${prog}.c`), '-o', path.join(work, prog)], work);
      expect(r.out, prog).toBe('');
    }
    guest = await runInGuest({
      script: [
        'insmod ./lpcselftest.ko max_depth=3 || exit 10',
        'timeout 240 ./lpctest ./cdaemon',
      ].join('\n'),
      timeoutMs: 300_000,
      files: {
        'lpcselftest.ko': path.join(kmod, 'test/lpcselftest.ko'),
        cdaemon: path.join(work, 'cdaemon'),
        lpctest: path.join(work, 'lpctest'),
      },
    });
    // Informational, for people tuning the harness: boot time and the round trip under TCG.
    const rt = /^info noop round trip.*$/m.exec(guest.output)?.[0] ?? 'no round trip measured';
    console.log(`guest: boot ${guest.bootMs} ms, total ${guest.totalMs} ms; ${rt}`);
    for (const line of guest.output.split('\n')) {
      const m = /^(ok|not ok) ([^:]+?)(?:: (.*))?$/.exec(line);
      if (m) results.set(m[2], m[1] === 'ok' ? 'ok' : `FAILED: ${m[3] ?? ''}`);
    }
  }, 320_000);

  /** The named checks of lpctest ran in the guest and passed. */
  function expectPassed(names: string[]): void {
    const verdicts = Object.fromEntries(names.map((n) => [n, results.get(n) ?? 'did not run']));
    expect(verdicts).toEqual(Object.fromEntries(names.map((n) => [n, 'ok'])));
  }

  it('boots, runs every check, and the kernel logs no oops, BUG, WARNING or hung task', () => {
    expect(guest.timedOut).toBe(false);
    expect(guest.kernelFaults).toEqual([]);
    expect(guest.output).toMatch(/^done, 0 failed$/m);
    expect([...results].filter(([, v]) => v !== 'ok')).toEqual([]);
    expect(guest.exitCode).toBe(0);
  });

  it('device is root-only and only an administrator may attach', () => {
    expectPassed([
      'device is a char device, mode 0600',
      'nobody cannot open the device',
      'nobody cannot attach even with an open fd',
      'a second daemon cannot attach -> EBUSY',
      'POLL before attach -> EPERM',
      'RESPONSE_POLL before attach -> EPERM',
      'EXEC before attach -> EPERM',
      'LOCK before attach -> EPERM',
      'attach with another plan hash -> EPROTO',
      'attach with another ABI version -> EPROTONOSUPPORT',
    ]);
  });

  it('bad ioctls get an errno: unknown command, sizes, pointers, names', () => {
    expectPassed([
      'unknown ioctl number -> ENOTTY',
      'foreign ioctl -> ENOTTY',
      'REQUEST with oversized args -> EINVAL',
      'REQUEST with bad args pointer -> EFAULT',
      'REQUEST with unterminated name -> EINVAL',
      'REQUEST with NULL struct -> EFAULT',
      'REQUEST with a struct cut short by an unmapped page -> EFAULT',
      'REQUEST numbered with another struct size -> ENOTTY',
      'EXEC of a name not exported -> ENOENT',
      'EXEC with more args than the export takes -> EINVAL',
      'EXEC with truncated args, the export refuses them',
      'EXEC with bad args pointer -> EFAULT',
      'EXEC with bad result pointer -> EFAULT',
      'EXEC with reserved field set -> EINVAL',
      'POLL with a too small buffer -> EMSGSIZE',
      'RESPONSE longer than the caller\'s capacity -> EINVAL',
      'RESPONSE with an old generation -> ESTALE',
      'RESPONSE to an unknown id -> ENOENT',
      'RESPONSE with bad result pointer -> EFAULT',
      'UNLOCK with a bad pointer -> EFAULT',
    ]);
  });

  it('RESPONSE_POLL answers and polls in one call, refusing a bad answer before polling', () => {
    expectPassed([
      'RESPONSE_POLL with id 0 only polls, nothing queued -> ETIMEDOUT',
      'RESPONSE_POLL with id 0 gets the queued request',
      'RESPONSE_POLL reports the request and writes the inputs back',
      'RESPONSE_POLL with an old generation -> ESTALE',
      'RESPONSE_POLL to an unknown id -> ENOENT',
      'RESPONSE_POLL longer than the caller\'s capacity -> EINVAL',
      'RESPONSE_POLL with a positive status -> EINVAL',
      'RESPONSE_POLL with reserved field set -> EINVAL',
      'RESPONSE_POLL with bad struct pointer -> EFAULT',
      'RESPONSE_POLL answers and polls',
      'the caller gets the answer RESPONSE_POLL sent',
      'a refused answer polls nothing, the next request was still queued',
      'a second RESPONSE_POLL answer to the same id -> ENOENT',
      'RESPONSE_POLL answers, then its poll times out -> ETIMEDOUT',
      'the answer went before the poll timed out',
      'a signal after the answer ends RESPONSE_POLL with EINTR, even with SA_RESTART',
      'an interrupted RESPONSE_POLL is not restarted',
      'the answer went before the signal',
      'RESPONSE_POLL with a too small buffer answers, then -> EMSGSIZE',
      'RESPONSE_POLL\'s EMSGSIZE reports the size needed',
      'the answer went before EMSGSIZE',
      'the request stays queued after EMSGSIZE',
      'RESPONSE_POLL with bad result pointer -> EFAULT',
      'its caller then fails with EFAULT',
      'a caller RESPONSE_POLL did not answer in time gets ETIMEDOUT',
      'a late RESPONSE_POLL answer is refused with ENOENT',
    ]);
  });

  it('poll() sees a queued request; a request wakes one POLL, the one that slept last', () => {
    expectPassed([
      'poll() with nothing queued is not ready',
      'poll() is ready once a request is queued',
      'its caller got the answer',
      'a request wakes the POLL that slept last',
      'the other POLL sleeps on',
      'the first caller got its answer',
      'the next request wakes the other POLL',
      'the second caller got its answer',
    ]);
  });

  it('a call with no daemon fails after the timeout, or at once if configured', () => {
    expectPassed([
      'call with no daemon fails with ETIMEDOUT',
      'call with no daemon gives up after the timeout',
      'call with no daemon and wait_for_daemon=0 -> ENOTCONN',
      'a caller not answered in time gets ETIMEDOUT',
      'a late RESPONSE is refused with ENOENT',
    ]);
  });

  it('sysfs shows the waiting callers, and abort fails them while the daemon stays', () => {
    expectPassed([
      'sysfs waiting counts a waiting caller',
      'writing sysfs abort fails waiting calls with ECONNABORTED',
      'sysfs waiting is back to 0',
      'an aborted call is no longer queued',
    ]);
  });

  it('the C daemon (answering with RESPONSE_POLL) serves round trips, nested calls, and refuses too deep nesting', () => {
    expectPassed([
      'the daemon answers',
      'mul at depth 1',
      'nested call, user -> EXEC -> kernel -> user at depth 2',
      'nesting deeper than max_depth fails with ELOOP',
      'echo returns the bytes',
      '2000 noop round trips',
      '4 processes x 100 concurrent calls are all answered right',
      'calls racing a 1 ms timeout get a right answer or ETIMEDOUT',
      'no call is left waiting after the races',
      'attaching runs on_attach, which calls user space',
      'on_attach ran the moved init through the daemon',
    ]);
  });

  it('daemon death fails waiting calls, releases its lock, and a new daemon serves', () => {
    expectPassed([
      'SIGKILL of the daemon fails the waiting call with ECONNABORTED at once',
      'a restarted daemon serves',
      'on_attach ran again for the new daemon',
      'a new daemon attaches after the first closed',
      'the generation increases',
      'the lock the dead daemon held was released',
    ]);
  });

  it('LOCK/UNLOCK and UP/DOWN work across the boundary', () => {
    expectPassed([
      'LOCK copies the guarded data out',
      'LOCK of a held lock times out',
      'the kernel sees the data written back under the lock',
      'UNLOCK of a lock not held -> ENOLCK',
      'DOWN of a zero semaphore times out',
      'DOWN after UP',
      'DOWN after the kernel\'s up',
      'the kernel\'s down takes the user\'s up',
    ]);
  });

  it('rmmod is refused while a daemon is attached and is clean after', () => {
    expectPassed(['rmmod is refused while the daemon is attached', 'rmmod succeeds once the daemon is gone']);
  });
});

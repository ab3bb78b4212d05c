/**
 * Shared data guarded on both sides, in a real kernel (one QEMU boot): the
 * tallydev sample emitted with its correction ioctl (tally_adjust) moved to
 * user space. The write path stays in the kernel; both update the global
 * `tally`. Application threads race writes (kernel path) against
 * corrections (daemon path, LOCK_LPC/UNLOCK_LPC): no update may be lost.
 * Then the daemon is killed mid-race, and a daemon dies holding the lock:
 * the kernel path goes on, and the lock ends free.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, repoRoot } from '../support/cli.js';
import { buildKmod, buildUdaemon, diagnostics } from '../emit/support.js';
import { runInGuest, type GuestResult } from './harness.js';
import { cc, emittedFiles, progs, stepLines } from './support.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'split-driver-emit-tallydev-'));
const THREADS = 4;
const ITERS = 1000;
/* Long enough that the daemon is killed while the race runs. */
const ITERS_KILLED = 6000;
const ADJUST_BY = 3;
/* Corrections applied in the second race before its daemon is killed. */
const KILL_AFTER = 100;

const SCRIPT = (cli: string, hash: string) => `
insmod ./tallydev.ko call_timeout_ms=5000 || exit 10
node ${cli} udaemon ./manifest.json --workers 4 --report-s 0 > daemon.log 2>&1 &
sup=$!
i=0
while [ ! -e /dev/tally ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /dev/tally ] || { echo NO-DRIVER-DEVICE; cat daemon.log; exit 11; }
t0=$(date +%s%N)
./tally_race race race /dev/tally ${THREADS} ${ITERS} || echo RACE-FAILED
echo "STEP race_ms: $((($(date +%s%N) - t0) / 1000000))"
adjusted() { ./tally_race get /dev/tally | awk '{ print $3 }'; }
a0=$(adjusted)
./tally_race race killed /dev/tally ${THREADS} ${ITERS_KILLED} > killed.out &
race=$!
# Kill the daemon once the race is well under way.
i=0
while [ $(($(adjusted) - a0)) -lt ${KILL_AFTER} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
# The attached daemon, not its standby.
child=$(sed -n 's/.*daemon pid \\([0-9]*\\) attached.*/\\1/p' daemon.log | tail -n 1)
echo "STEP adjusted_at_kill: $(($(adjusted) - a0))"
kill -9 $child && echo "STEP killed_daemon: 1"
wait $race || echo KILLED-RACE-FAILED
cat killed.out
kill $sup
wait $sup
echo "STEP restarted: $(grep -c 'killed by SIGKILL; restart 1' daemon.log)"
# Read before a daemon holds the lock: GET takes it too.
echo "STEP before_hold_write: $(./tally_race get /dev/tally)"
./tally_race hold /dev/tallydev_lpc ${hash} > hold.out &
holder=$!
i=0
while ! grep -q hold_locked hold.out && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
cat hold.out
./tally_race write /dev/tally 100 > write.out &
writer=$!
sleep 2
echo "STEP write_while_held: $(cat write.out)"
kill -9 $holder
wait $writer
echo "STEP write_after_kill: $(cat write.out)"
echo "STEP after_hold_write: $(./tally_race get /dev/tally)"
echo "STEP lock_free: $(./tally_race lockfree /dev/tallydev_lpc ${hash})"
rmmod tallydev && echo UNLOADED
echo DAEMON-LOG
tail -n 20 daemon.log
`;

describe('emitted tallydev: a global shared by a kernel path and a moved one, in a guest kernel', () => {
  let guest: GuestResult;
  let steps: Map<string, string>;
  let kernelC: string;
  const n = (k: string): number => Number(steps.get(k));

  beforeAll(async () => {
    const out = path.join(work, 'out');
    const emit = runCli(['emit', 'fixtures/tallydev', '--user', 'tally_adjust', '--out', out]);
    expect(emit.status, emit.stderr).toBe(0);
    const [k, u] = await Promise.all([buildKmod(out), buildUdaemon(out)]);
    expect(diagnostics(k.out)).toEqual([]);
    expect(k.code).toBe(0);
    expect(u.code).toBe(0);
    kernelC = readFileSync(path.join(out, 'kmod/tallydev_main.c'), 'utf8');
    const manifest = JSON.parse(readFileSync(path.join(out, 'udaemon/manifest.json'), 'utf8'));
    const prog = cc(path.join(work, 'tally_race'), path.join(progs, 'tally_race.c'), '-I', path.join(repoRoot, 'fixtures/tallydev'), '-pthread');
    guest = await runInGuest({
      script: SCRIPT(path.join(repoRoot, 'dist/src/cli/main.js'), manifest.planHash),
      files: { ...emittedFiles(out, 'tallydev'), tally_race: prog },
      timeoutMs: 900_000,
    });
    steps = stepLines(guest.output);
  }, 1_200_000);

  it('guards the kernel path: the write path takes the lock, the call to the daemon gives it back', () => {
    expect(kernelC).toMatch(/static ssize_t tally_write\([^)]*\)\n\{\n\tssize_t lpc_ret;\n\n\tif \(lpc_guard_take\(&lpc_guard_tally\)\)/);
    expect(kernelC).toMatch(/lpc_guards_drop\(&lpc_held\);\n\tlpc_ret = lpc_call_user\(lpc_dev_get\(\), "tally_adjust"/);
  });

  it('boots, runs the script and stays healthy', () => {
    expect(guest.timedOut).toBe(false);
    expect(guest.kernelFaults).toEqual([]);
    expect(guest.exitCode, guest.output).toBe(0);
    expect(guest.output).not.toMatch(/RACE-FAILED/);
    expect(guest.output).toContain('UNLOADED');
  });

  it('loses no update when writes and moved corrections race', () => {
    const calls = THREADS * ITERS;
    expect(n('race_writes_ok')).toBe(calls);
    expect(n('race_adjust_ok')).toBe(calls / 4);
    expect(n('race_adjust_failed')).toBe(0);
    expect(n('race_writes')).toBe(calls);
    expect(n('race_adjusted')).toBe(calls / 4);
    expect(n('race_bytes')).toBe(n('race_written') + ADJUST_BY * (calls / 4));
  });

  it('keeps the kernel path going when the daemon is killed mid-race, still losing nothing', () => {
    expect(steps.get('killed_daemon')).toBe('1');
    expect(steps.get('restarted')).toBe('1');
    // Killed mid-race; every write still went through.
    expect(n('adjusted_at_kill')).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(n('adjusted_at_kill')).toBeLessThan((THREADS * ITERS_KILLED) / 4);
    expect(n('killed_write_failed')).toBe(0);
    expect(n('killed_writes_ok')).toBe(THREADS * ITERS_KILLED);
    expect(n('killed_writes')).toBe(THREADS * ITERS_KILLED);
    // A correction whose answer was lost may have applied: the tally counts those it applied.
    expect(n('killed_adjusted')).toBeGreaterThanOrEqual(n('killed_adjust_ok'));
    expect(n('killed_bytes')).toBe(n('killed_written') + ADJUST_BY * n('killed_adjusted'));
  });

  it('a write waits while a daemon holds the lock, and goes on when that daemon dies without writing back', () => {
    expect(steps.get('hold_locked')).toBe('0');
    expect(steps.get('write_while_held')).toBe('');
    expect(steps.get('write_after_kill')).toBe('100');
    const [b0, w0, a0] = steps.get('before_hold_write')!.split(' ').map(Number);
    expect(steps.get('after_hold_write')).toBe(`${b0 + 100} ${w0 + 1} ${a0}`);
    expect(steps.get('lock_free')).toBe('0');
  });
});

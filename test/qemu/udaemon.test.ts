/**
 * The TypeScript daemon in a real kernel: the LPC self-test module
 * (kmod/test/lpc_selftest.c) served by `split-driver udaemon` with the user
 * half in test/qemu/progs/selftest_user.c (and TypeScript handlers), inside a
 * QEMU guest. Kernel callers are REQUEST_LPC calls from a C program.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { runInGuest, type GuestResult } from './harness.js';
import { buildSelftestModule, cc, progs, SELFTEST_PLAN_HEX, i64Hex, pairHex, selftestLibrary } from './support.js';
const main = path.join(repoRoot, 'dist/src/cli/main.js');
if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'udaemon-qemu-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


const DEV = '/dev/lpcselftest_lpc';

/** The guest's job: every step prints one "STEP name: output" line. */
function script(): string {
  const call = (name: string, proc: string, args: string, cap: number, count = 1) =>
    `echo "STEP ${name}: $(./udaemon_call ${DEV} ${proc} ${args || '-'} ${cap} ${count} | tr '\\n' ' ')"`;
  return `
set -u
wait_log() { # pattern count
  n=0
  while [ "$(grep -c "$1" ud.log)" -lt "$2" ]; do
    n=$((n + 1)); if [ $n -gt 900 ]; then echo "STEP timeout: waiting for $1"; cat ud.log; exit 1; fi
    sleep 0.2
  done
}
chmod +x udaemon_call
mkdir -p ud && cp manifest.json selftest_user.so selftest_handlers.mjs ud/
insmod ./lpcselftest.ko || exit 1
node ${main} udaemon /tmp/ud --workers 4 --watchdog-ms 60000 --report-s 0 --metrics /tmp/metrics.json > ud.log 2>&1 &
SUP=$!
wait_log 'attached, generation' 1
${call('kstate', 'kstate', '', 8)}
${call('sum', 'sum_via_kernel', pairHex(20n, 3n), 8)}
${call('nested', 'nested', pairHex(6n, 7n), 8)}
${call('js_sum', 'js_sum_via_kernel', pairHex(-4n, 1n), 8)}
${call('bump5', 'bump_counter', pairHex(5n, 0n), 8)}
${call('js_bump7', 'js_bump_counter', pairHex(7n, 0n), 8)}
${call('kcounter', 'kcounter', '', 8)}
${call('sem', 'sem_cycle', '', 8)}
${call('unknown', 'no_such_procedure', '', 8)}
${call('warmup', 'nop', '', 0, 300)}
${call('warmup_js', 'js_nop', '', 0, 300)}
${call('rt_c', 'nop', '', 0, 300)}
${call('rt_js', 'js_nop', '', 0, 300)}
${call('rt_exec', 'sum_via_kernel', pairHex(1n, 2n), 8, 300)}
./udaemon_call ${DEV} hang - 0 > hang.out 2>&1 &
HANG=$!
sleep 2
CHILD=$(sed -n 's/.*daemon pid \\([0-9]*\\) attached.*/\\1/p' ud.log | tail -n 1)
kill -9 "$CHILD"
wait $HANG
echo "STEP hang: $(cat hang.out)"
wait_log 'attached, generation' 2
${call('after_restart', 'sum_via_kernel', pairHex(40n, 2n), 8)}
${call('kstate2', 'kstate', '', 8)}
${call('kcounter2', 'kcounter', '', 8)}
kill -TERM $SUP
wait $SUP
echo "STEP supervisor_exit: $?"
chmod +x cdaemon
./cdaemon -n 4 -p ${SELFTEST_PLAN_HEX} ${DEV} > cd.log 2>&1 &
CD=$!
sleep 1
${call('rt_cdaemon', 'noop', '', 0, 300)}
kill -9 $CD
echo "STEP metrics: $(tr -d '\\n ' < metrics.json)"
echo "LOG-BEGIN"; cat ud.log; echo "LOG-END"
rmmod lpcselftest
echo "STEP rmmod: $?"
`;
}

let guest: GuestResult;
const steps = new Map<string, string>();

beforeAll(async () => {
  const files: Record<string, string> = {
    'lpcselftest.ko': buildSelftestModule(tmp),
    'udaemon_call': cc(path.join(tmp, 'udaemon_call'), path.join(progs, 'udaemon_call.c')),
    'selftest_user.so': selftestLibrary(path.join(tmp, 'selftest_user.so')),
    'manifest.json': path.join(progs, 'selftest_user.json'),
    'selftest_handlers.mjs': path.join(progs, 'selftest_handlers.mjs'),
  };
  // The C daemon is the floor the TypeScript daemon's round trip is compared with.
  files.cdaemon = cc(path.join(tmp, 'cdaemon'), path.join(progs, 'cdaemon.c'), '-pthread');
  guest = await runInGuest({ script: script(), files, timeoutMs: 600_000 });
  if (process.env.SPLIT_DRIVER_GUEST_LOG) process.stderr.write(guest.output);
  for (const m of guest.output.matchAll(/^STEP ([\w]+): (.*)$/gm)) steps.set(m[1], m[2].trim());
  const rt = ['rt_c', 'rt_js', 'rt_exec', 'rt_cdaemon'].map((k) => `${k} ${/avg-us ([\d.]+)/.exec(steps.get(k) ?? '')?.[1] ?? '-'} us`);
  process.stderr.write(`udaemon guest round trips (TCG, compare only as ratios): ${rt.join(', ')}; boot ${guest.bootMs} ms, total ${guest.totalMs} ms\n`);
}, 660_000);

const ok = (v: bigint) => `status 0 result ${i64Hex(v)}`;

describe('split-driver udaemon in a real kernel (QEMU)', () => {
  it('runs the guest script to the end with no kernel fault', () => {
    expect(guest.timedOut, guest.console.slice(-3000)).toBe(false);
    expect(guest.exitCode, guest.output).toBe(0);
    expect(guest.kernelFaults).toEqual([]);
    expect(steps.get('rmmod')).toBe('0');
  });

  it('serves the module\'s on-attach call, and calls that go back into the kernel and return', () => {
    // attaches = 1, greeting from the user half's hello = 4242
    expect(steps.get('kstate')).toBe(ok((1n << 32n) | 4242n));
    expect(steps.get('sum')).toBe(ok(2301n));
    // kernel -> user (nested) -> kernel (call_user) -> user (mul) -> back: 42 + 7
    expect(steps.get('nested')).toBe(ok(49n));
    expect(steps.get('js_sum')).toBe(ok(-298n));
    expect(steps.get('unknown')).toBe('status -2 result -');
  });

  it('carries lock data both ways and the semaphore both ways', () => {
    expect(steps.get('bump5')).toBe(ok(5n));
    expect(steps.get('js_bump7')).toBe(ok(12n));
    // the kernel reads, under the same lock, what user space wrote back
    expect(steps.get('kcounter')).toBe(ok(12n));
    expect(steps.get('sem')).toBe(ok(111n));
  });

  it('fails a waiting call with ECONNABORTED when the daemon is SIGKILLed, hands over to the standby, and serves again', () => {
    expect(steps.get('hang')).toBe('error ECONNABORTED');
    expect(guest.output).toMatch(/daemon pid \d+ was killed by SIGKILL; restart 1: standby pid \d+ attaches/);
    expect(steps.get('after_restart')).toBe(ok(4201n));
    // the module ran its on-attach call again, against the new daemon
    expect(steps.get('kstate2')).toBe(ok((2n << 32n) | 4242n));
    expect(steps.get('kcounter2')).toBe(ok(12n));
  });

  it('drains and stops on SIGTERM and reports its metrics', () => {
    expect(steps.get('supervisor_exit')).toBe('0');
    expect(guest.output).toMatch(/detached from \/dev\/lpcselftest_lpc/);
    const m = JSON.parse(steps.get('metrics') ?? '{}');
    expect(m.restarts).toBe(1);
    // 300 x 5 timed calls plus the single ones (some of the first daemon's last period may be lost)
    expect(m.served).toBeGreaterThanOrEqual(1500);
    expect(m.latencyUs.p99).toBeGreaterThan(0);
  });
});

/**
 * End to end in a real kernel, one QEMU boot: the emitted chardev sample
 * (split-driver emit fixtures/chardev, served by split-driver udaemon) and
 * the LPC self-test module (kmod/test/lpc_selftest.c with its user half
 * progs/selftest_user.c, also served by split-driver udaemon) side by side.
 *
 * The emitted sample carries the seed's eleven-step call and eight
 * application threads writing at once.  What it cannot express (an LPC lock
 * whose data user space changes and the kernel reads back, a semaphore used
 * from both sides, calls nested eight levels deep, the pool's concurrency)
 * runs on the self-test module, whose kernel callers are REQUEST_LPC calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../support/cli.js';
import { buildKmod, buildUdaemon, CHARDEV_USER } from '../emit/support.js';
import { runInGuest, type GuestResult } from './harness.js';
import { buildSelftestModule, cc, progs, selftestUserFiles, stepLines, i64Hex, pairHex } from './support.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'split-driver-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CALL_TIMEOUT_MS = 8000;
const DEADLINE_MS = CALL_TIMEOUT_MS + 5000;
const NAP_MS = 1000;


function script(cli: string): string {
  const DEV = '/dev/lpcselftest_lpc';
  const call = (name: string, proc: string, args: string) =>
    `echo "STEP ${name}: $(./udaemon_call ${DEV} ${proc} ${args || '-'} 8 | tr '\\n' ' ')"`;
  const deep = Array.from({ length: 9 }, (_, i) => call(`deep${i + 1}`, 'deep', pairHex(BigInt(i + 1), 100n))).join('\n');
  return `
set -u
chmod +x appload udaemon_call
insmod ./sampledrv.ko call_timeout_ms=${CALL_TIMEOUT_MS} || exit 10
insmod ./lpcselftest.ko call_timeout_ms=${CALL_TIMEOUT_MS} || exit 11
node ${cli} udaemon ./manifest.json --workers 4 --report-s 0 > sd.log 2>&1 &
SD=$!
node ${cli} udaemon /tmp/ud --workers 8 --watchdog-ms 60000 --report-s 0 > st.log 2>&1 &
ST=$!
i=0
while [ ! -e /dev/sampledrv ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /dev/sampledrv ] || { echo NO-DRIVER-DEVICE; cat sd.log; exit 12; }

# The eleven-step call: write() -> kernel half -> user procedure (daemon) ->
# EXEC_LPC kernel procedure -> answer -> write() returns.
printf '!selftest' > /dev/sampledrv
echo "STEP eleven_write: $?"
echo "STEP eleven_read: $(cat /dev/sampledrv)"
printf '!fact 12' > /dev/sampledrv
echo "STEP fact_write: $?"
echo "STEP fact_read: $(cat /dev/sampledrv)"
echo "STEP chardev_8: $(./appload -t 8 -s 20 -D ${DEADLINE_MS} write /dev/sampledrv)"

# The self-test module.
n=0
until ./udaemon_call ${DEV} nop - 0 | grep -q '^status 0'; do
	n=$((n + 1)); [ $n -gt 30 ] && { echo "STEP timeout: no self-test daemon"; cat st.log; exit 13; }
done
${call('kcounter0', 'kcounter', '')}
${call('bump', 'bump_counter', pairHex(5n, 0n))}
${call('kcounter1', 'kcounter', '')}
${call('js_bump', 'js_bump_counter', pairHex(7n, 0n))}
${call('kcounter2', 'kcounter', '')}
${call('sem', 'sem_cycle', '')}
${call('nested', 'nested', pairHex(6n, 7n))}
${deep}
t0=$(date +%s%N)
naps=
for i in 1 2 3 4 5 6 7 8; do ./udaemon_call ${DEV} nap ${pairHex(BigInt(NAP_MS), 0n)} 8 > nap$i.out & naps="$naps $!"; done
wait $naps
echo "STEP nap_ms: $(( ($(date +%s%N) - t0) / 1000000 ))"
echo "STEP nap_results: $(cat nap*.out | sort | uniq -c | tr -s ' ' | tr '\\n' ' ')"
echo "STEP selftest_8: $(./appload -t 8 -s 20 -D ${DEADLINE_MS} request ${DEV} sum_via_kernel)"
kill -TERM $SD $ST
wait $SD; echo "STEP sd_exit: $?"
wait $ST; echo "STEP st_exit: $?"
rmmod sampledrv; echo "STEP rmmod_sampledrv: $?"
rmmod lpcselftest; echo "STEP rmmod_lpcselftest: $?"
echo LOG-BEGIN; tail -n 20 sd.log st.log; echo LOG-END
`;
}

let guest: GuestResult;
let steps = new Map<string, string>();

beforeAll(async () => {
  const out = path.join(tmp, 'out');
  const emit = runCli(['emit', 'fixtures/chardev', '--user', CHARDEV_USER, '--out', out]);
  expect(emit.status, emit.stderr).toBe(0);
  const [k, u] = await Promise.all([buildKmod(out), buildUdaemon(out)]);
  expect(k.code, k.out).toBe(0);
  expect(u.code, u.out).toBe(0);
  guest = await runInGuest({
    script: script(path.join(repoRoot, 'dist/src/cli/main.js')),
    files: {
      'sampledrv.ko': path.join(out, 'kmod/sampledrv.ko'),
      'manifest.json': path.join(out, 'udaemon/manifest.json'),
      'libsampledrv_user.so': path.join(out, 'udaemon/libsampledrv_user.so'),
      'lpcselftest.ko': buildSelftestModule(tmp),
      ...selftestUserFiles(tmp),
      appload: cc(path.join(tmp, 'appload'), path.join(progs, 'appload.c'), '-pthread'),
      udaemon_call: cc(path.join(tmp, 'udaemon_call'), path.join(progs, 'udaemon_call.c')),
    },
    timeoutMs: 500_000,
  });
  if (process.env.SPLIT_DRIVER_GUEST_LOG) process.stderr.write(guest.output);
  steps = stepLines(guest.output);
}, 600_000);

const ok = (v: bigint) => `status 0 result ${i64Hex(v)}`;

/** appload's summary: every call right, none late, no errno. */
function allRight(line: string | undefined, minCalls: number): void {
  const m = /APPLOAD calls (\d+) ok (\d+) wrong (\d+) late (\d+) max-ms \d+ errno(.*)/.exec(line ?? '');
  expect(m, line).not.toBeNull();
  const [calls, right, wrong, late] = [1, 2, 3, 4].map((i) => Number(m![i]));
  expect(calls).toBeGreaterThanOrEqual(minCalls);
  expect({ right, wrong, late, errnos: m![5].trim() }).toEqual({ right: calls, wrong: 0, late: 0, errnos: '' });
}

describe('split drivers end to end in a real kernel (QEMU)', () => {
  it('runs to the end with no kernel fault, and both daemons stop and both modules unload', () => {
    expect(guest.timedOut, guest.console.slice(-3000)).toBe(false);
    expect(guest.exitCode, guest.output).toBe(0);
    expect(guest.kernelFaults).toEqual([]);
    for (const s of ['sd_exit', 'st_exit', 'rmmod_sampledrv', 'rmmod_lpcselftest']) expect(steps.get(s), s).toBe('0');
  });

  it('returns the right result to write() through kernel -> daemon -> EXEC_LPC -> kernel -> back (eleven steps)', () => {
    expect(steps.get('eleven_write')).toBe('0');
    expect(steps.get('eleven_read')).toBe('selftest: 0 failed');
    expect(steps.get('fact_write')).toBe('0');
    expect(steps.get('fact_read')).toBe('12! = 479001600');
  });

  it('serves eight application threads writing to the emitted driver at once', () => {
    allRight(steps.get('chardev_8'), 16);
  });

  it('carries LPC lock data changed in user space to the kernel (LOCK_LPC/UNLOCK_LPC), from C and TypeScript', () => {
    expect(steps.get('kcounter0')).toBe(ok(0n));
    expect(steps.get('bump')).toBe(ok(5n));
    expect(steps.get('kcounter1')).toBe(ok(5n));
    expect(steps.get('js_bump')).toBe(ok(12n));
    expect(steps.get('kcounter2')).toBe(ok(12n));
  });

  it('passes a semaphore across the boundary both ways (UP_LPC/DOWN_LPC)', () => {
    expect(steps.get('sem')).toBe(ok(111n));
  });

  it('nests calls kernel -> user -> kernel ... eight levels deep and refuses the ninth with ELOOP', () => {
    expect(steps.get('nested')).toBe(ok(49n));
    for (let d = 1; d <= 8; d++) expect(steps.get(`deep${d}`), `depth ${d}`).toBe(ok(100n + BigInt(d)));
    expect(steps.get('deep9')).toBe('status -40 result -');
  });

  it('serves eight REQUEST_LPC callers at once from the pool', () => {
    // Eight 1 s procedures: served one at a time they cannot take less than 8 s,
    // whatever else loads the machine; overlapping, they take about 1 s.
    expect(steps.get('nap_results')).toBe(`8 ${ok(BigInt(NAP_MS))}`);
    expect(Number(steps.get('nap_ms'))).toBeLessThan(8 * NAP_MS);
    allRight(steps.get('selftest_8'), 16);
  });
});

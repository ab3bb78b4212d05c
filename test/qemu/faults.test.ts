/**
 * The fault campaign, in one QEMU boot of the distribution's kernel with the
 * LPC self-test module (kmod/test/lpc_selftest.c):
 *
 *  A. eight application threads call (REQUEST_LPC "nested": user -> EXEC ->
 *     kernel -> user) while `killer` SIGKILLs the C daemon at random moments
 *     300 times and starts it again, and `fuzz` throws 50,000 random ioctls as
 *     root and 50,000 as nobody; then 30,000 more as the attached daemon.
 *  B. the real supervisor (`split-driver udaemon`, user half
 *     progs/selftest_user.c) serves eight application threads while its
 *     attached daemon is SIGKILLed at random moments 200 times
 *     (SPLIT_DRIVER_TS_KILLS) and 5 times more once its standby was
 *     prepared, and while user procedures segfault, abort,
 *     spin forever (its watchdog), die holding the kernel lock, or are
 *     killed holding it.
 *
 * A Node daemon takes seconds to start under TCG; the supervisor keeps a
 * prepared standby that attaches when the daemon dies and then prepares the
 * next one. Phase B's kills come 0-3 s after service is back, so
 * some find the next standby prepared and some find it still starting: the
 * report gives the recovery of each kind.  Afterwards: no kernel fault, no late or wrong call,
 * no lock held, no growth of slab memory or of the module's reference count,
 * and a report (faults injected, kernel faults, calls lost, recovery
 * percentiles) written under os.tmpdir().
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { runInGuest, type GuestResult } from './harness.js';
import { buildSelftestModule, cc, progs, SELFTEST_PLAN_HEX, selftestUserFiles, stepLines, pairHex } from './support.js';

const main = path.join(repoRoot, 'dist/src/cli/main.js');
if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);

const C_KILLS = 300;
const TS_KILLS = Number(process.env.SPLIT_DRIVER_TS_KILLS ?? 200);
const TS_MAX_DELAY_MS = 3000;
/** Kills that each wait until the standby is prepared: the common case when crashes are rare. */
const TS_READY_KILLS = 5;
/** Generous bounds for the guest: a kill cycle takes a few seconds, on a busy host over ten. */
const GUEST_TIMEOUT_MS = 900_000 + (TS_KILLS + TS_READY_KILLS) * 15_000;
const FUZZ = { root: 50_000, nobody: 50_000, daemon: 30_000 };
/** The module's call timeout; every application call must return within it plus TCG slack. */
const CALL_TIMEOUT_MS = 4000;
const DEADLINE_MS = CALL_TIMEOUT_MS + 5000;
const FAULTS = ['crash_segv', 'crash_abort', 'spin_forever', 'lock_and_crash'];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'split-driver-faults-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


function script(): string {
  const DEV = '/dev/lpcselftest_lpc';
  const show = (name: string, file: string) => `echo "BEGIN ${name}"; cat ${file}; echo "END ${name}"`;
  return `
set -u
chmod +x appload killer fuzz cdaemon udaemon_call
DEV=${DEV}
P=/sys/module/lpcselftest/parameters
HASH=${SELFTEST_PLAN_HEX}
# Slab in use after dropping reclaimable caches: total kB, bytes in kmalloc
# caches, and vmalloc areas in use (freed ones linger as "unpurged vm_area"
# until a lazy purge: vmap_area growth alone is not a leak).
slab() {
	sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1
	cat /proc/slabinfo > slabinfo.$1
	echo "$(awk '/^Slab:/ {print $2}' /proc/meminfo) $(awk '/^kmalloc/ {s += $2 * $4} END {print s}' /proc/slabinfo) $(grep -vc unpurged /proc/vmallocinfo)"
}
insmod ./lpcselftest.ko call_timeout_ms=${CALL_TIMEOUT_MS} || exit 1
# One daemon life first, so caches a first attach fills are in the baseline.
./cdaemon -n 2 -p $HASH $DEV > /dev/null & CD=$!
./udaemon_call $DEV mul ${pairHex(3n, 4n)} 8 > /dev/null
kill -9 $CD; wait $CD
echo "STEP refcnt_before: $(cat /sys/module/lpcselftest/refcnt)"
echo "STEP slab_before: $(slab before)"

# A: the C daemon, killed ${C_KILLS} times, under load and fuzzing.  Each of
# the eight "nested" callers holds a daemon thread while its inner call needs
# another: with fewer threads than callers + 1 the pool starves until the
# call timeout, so the daemon gets 12.
./appload -t 8 -s 3600 -D ${DEADLINE_MS} -K 2000 request $DEV nested > appA.out &
APP=$!
./fuzz -n ${FUZZ.root} -S 1 $DEV > fuzz_root.out 2>&1 &
F1=$!
./fuzz -n ${FUZZ.nobody} -S 2 -u $DEV > fuzz_nobody.out 2>&1 &
F2=$!
timeout 600 ./killer -k ${C_KILLS} -r 40 -p mul $DEV -- ./cdaemon -n 12 -p $HASH $DEV > killA.out
echo "STEP killer_c: $?"
# A daemon for the callers still running.
./cdaemon -n 12 -p $HASH $DEV > /dev/null & CD=$!
wait $F1; echo "STEP fuzz_root_rc: $?"
wait $F2; echo "STEP fuzz_nobody_rc: $?"
kill -TERM $APP; wait $APP
kill -9 $CD; wait $CD
${show('appA', 'appA.out')}
${show('killA', 'killA.out')}
${show('fuzz_root', 'fuzz_root.out')}
${show('fuzz_nobody', 'fuzz_nobody.out')}
# The fuzzer as the daemon: calls to itself wait only briefly.
echo 20 > $P/call_timeout_ms
timeout 300 ./fuzz -n ${FUZZ.daemon} -S 3 -a $HASH $DEV > fuzz_daemon.out 2>&1
echo "STEP fuzz_daemon_rc: $?"
echo ${CALL_TIMEOUT_MS} > $P/call_timeout_ms
${show('fuzz_daemon', 'fuzz_daemon.out')}
echo "STEP slab_mid: $(slab mid)"

# B: the supervisor and the TypeScript daemon.
node ${main} udaemon /tmp/ud --workers 4 --watchdog-ms 2000 --backoff-ms 50 --backoff-max-ms 400 --report-s 0 --metrics /tmp/metrics.json > ud.log 2>&1 &
SUP=$!
n=0
until ./udaemon_call $DEV sum_via_kernel ${pairHex(1n, 2n)} 8 | grep -q '^status 0'; do
	n=$((n + 1)); [ $n -gt 30 ] && { echo "STEP timeout: no daemon"; cat ud.log; exit 1; }
done
./appload -t 8 -s 3600 -D ${DEADLINE_MS} request $DEV sum_via_kernel > appB.out &
APP=$!
timeout ${Math.round(GUEST_TIMEOUT_MS / 1000 - 600)} ./killer -s $SUP -k ${TS_KILLS} -r ${TS_MAX_DELAY_MS} -p sum_via_kernel $DEV > killB.out
echo "STEP killer_ts: $?"
${show('killB', 'killB.out')}
# Then kills that come only once the standby is prepared (the last of the
# supervisor's lines about its children says so).
standby_ready() { grep -E 'standby pid [0-9]+ ready|; restart [0-9]|started daemon' ud.log | tail -n 1 | grep -q ready; }
: > killR.out
for i in $(seq ${TS_READY_KILLS}); do
	n=0
	until standby_ready; do
		n=$((n + 1)); [ $n -gt 1500 ] && { echo "STEP timeout: no standby"; tail ud.log; exit 1; }
		sleep 0.2
	done
	./killer -s $SUP -k 1 -r 1000 -p sum_via_kernel $DEV | grep '^RECOVERY' >> killR.out
done
${show('killR', 'killR.out')}
for f in ${FAULTS.join(' ')}; do
	timeout 300 ./killer -s $SUP -k 1 -r 0 -p sum_via_kernel -f $f $DEV > fault.out
	echo "STEP fault_$f: $? $(grep -E '^(RECOVERY|KILLER)' fault.out | tr '\\n' ' ')"
done
timeout 300 ./killer -s $SUP -k 1 -r 0 -p sum_via_kernel -f lock_and_hang -x 1000 $DEV > fault.out
echo "STEP fault_kill_holding_lock: $? $(grep -E '^(RECOVERY|KILLER)' fault.out | tr '\\n' ' ')"
# The lock is free: the kernel takes it, then the user half takes it and writes.
echo "STEP kcounter: $(./udaemon_call $DEV kcounter - 8)"
echo "STEP bump: $(./udaemon_call $DEV bump_counter ${pairHex(5n, 0n)} 8)"
echo "STEP kcounter_after_bump: $(./udaemon_call $DEV kcounter - 8)"
kill -TERM $APP; wait $APP
${show('appB', 'appB.out')}
echo "STEP waiting: $(cat /sys/class/misc/lpcselftest_lpc/waiting)"
kill -TERM $SUP; wait $SUP
echo "STEP supervisor_exit: $?"
echo "STEP metrics: $(tr -d '\\n ' < metrics.json)"
echo "STEP restarts_logged: $(grep -c '; restart [0-9]' ud.log)"
# How each restart went, in order: R a prepared standby attached, P the standby
# was still starting, C no standby (a new daemon started after the backoff).
echo "STEP restart_kinds: $(awk '/; restart [0-9]+/ { printf "%s", /attaches once prepared/ ? "P" : /attaches,/ ? "R" : "C" }' ud.log)"
echo "STEP attach_busy: $(grep -c 'another daemon is attached' ud.log)"
echo "STEP refcnt_after: $(cat /sys/module/lpcselftest/refcnt)"
echo "STEP slab_after: $(slab after)"
# The caches whose objects in use grew most (bytes), over phase A and overall.
growth() { awk 'NR == FNR { if (FNR > 2) b[$1] = $2 * $4; next } FNR > 2 && $2 * $4 > b[$1] { print $2 * $4 - b[$1], $1 }' slabinfo.before slabinfo.$1 | sort -rn | head -n 6 | tr '\n' ','; }
echo "STEP slab_growth_mid: $(growth mid)"
echo "STEP slab_growth_after: $(growth after)"
rmmod lpcselftest
echo "STEP rmmod: $?"
echo LOG-BEGIN; tail -n 40 ud.log; echo LOG-END
`;
}

let guest: GuestResult;
let steps = new Map<string, string>();
const blocks = new Map<string, string>();

interface AppLoad { calls: number; ok: number; wrong: number; late: number; maxMs: number; errnos: Record<string, number> }
interface Killer { kills: number; missed: number; probeErrors: number; faultOk: number; recovery: number[]; faultErrnos: number[] }

function appload(text: string | undefined): AppLoad {
  const m = /APPLOAD calls (\d+) ok (\d+) wrong (\d+) late (\d+) max-ms (\d+) errno(.*)/.exec(text ?? '');
  if (!m) throw new Error(`no appload summary in: ${text}`);
  const errnos = Object.fromEntries([...m[6].matchAll(/(\w+)=(\d+)/g)].map((e) => [e[1], Number(e[2])]));
  return { calls: +m[1], ok: +m[2], wrong: +m[3], late: +m[4], maxMs: +m[5], errnos };
}

function killer(text: string | undefined): Killer {
  const m = /KILLER kills (\d+) missed (\d+) probe-errors (\d+) fault-ok (\d+)/.exec(text ?? '');
  if (!m) throw new Error(`no killer summary in: ${text}`);
  const rec = [...(text ?? '').matchAll(/^RECOVERY ([\d.]+) (\d+)$/gm)];
  return { kills: +m[1], missed: +m[2], probeErrors: +m[3], faultOk: +m[4], recovery: rec.map((r) => +r[1]), faultErrnos: rec.map((r) => +r[2]) };
}

function fuzz(text: string | undefined): { calls: number; ok: number; errnos: string } {
  const m = /FUZZ calls (\d+) ok (\d+) errno(.*)/.exec(text ?? '');
  if (!m) throw new Error(`no fuzz summary in: ${text}`);
  return { calls: +m[1], ok: +m[2], errnos: m[3].trim() };
}

/** Recovery of the kills that waited for a prepared standby. */
const readyKills = () => [...(blocks.get('killR') ?? '').matchAll(/^RECOVERY ([\d.]+) \d+$/gm)].map((r) => +r[1]);

/** One fault's killer run, from its STEP line ("rc RECOVERY ... KILLER ..."). */
const faultRun = (f: string) => killer((steps.get(`fault_${f}`) ?? '').replace(/ (?=RECOVERY|KILLER)/g, '\n'));

const errnoName = (e: number) => Object.entries(os.constants.errno).find(([, v]) => v === e)?.[0] ?? `errno ${e}`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] : NaN;
};

function report(): string {
  const A = killer(blocks.get('killA'));
  const B = killer(blocks.get('killB'));
  const appA = appload(blocks.get('appA'));
  const appB = appload(blocks.get('appB'));
  const faults = [...FAULTS, 'kill_holding_lock'].map((f) => {
    const k = faultRun(f);
    return `| ${f} | ${k.faultErrnos.map((e) => (e ? errnoName(e) : 'success')).join(', ')} | ${k.recovery[0]?.toFixed(0)} |`;
  });
  const f1 = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(1));
  const line = (name: string, rec: number[]) =>
    `| ${name} | ${rec.length} | ${f1(pct(rec, 50))} | ${f1(pct(rec, 90))} | ${f1(pct(rec, 99))} | ${f1(rec.length ? Math.max(...rec) : NaN)} |`;
  // The supervisor's restarts are in kill order: random kills, kills of a prepared standby, faults.
  const kinds = (steps.get('restart_kinds') ?? '').slice(0, B.kills);
  const byKind = (kind: string) => B.recovery.filter((_, i) => kinds[i] === kind);
  const ready = readyKills();
  const app = (name: string, a: AppLoad) =>
    `| ${name} | ${a.calls} | ${a.ok} | ${a.calls - a.ok} | ${a.wrong} | ${a.late} | ${a.maxMs} | ${Object.entries(a.errnos).map(([k, v]) => `${k} ${v}`).join(', ') || '-'} |`;
  const [sb, kb, vb] = (steps.get('slab_before') ?? '').split(' ').map(Number);
  const [sm, km, vm] = (steps.get('slab_mid') ?? '').split(' ').map(Number);
  const [sa, ka, va] = (steps.get('slab_after') ?? '').split(' ').map(Number);
  const kB = (d: number) => `${d >= 0 ? '+' : ''}${d} kB`;
  const fz = (['root', 'nobody', 'daemon'] as const).map((w) => {
    const f = fuzz(blocks.get(`fuzz_${w}`));
    return `| ${w} | ${f.calls} | ${f.ok} | ${f.errnos.replace(/(\d+)=(\d+)/g, (_, e, n) => `${errnoName(Number(e))} ${n}`)} |`;
  });
  return `# Fault campaign

Run ${new Date().toISOString()} on ${os.hostname()} (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'}), guest kernel under QEMU TCG (software emulation: times are ~20x a real machine's).

## Faults injected

| Daemon | SIGKILLs at random moments | recovery p50 ms | p90 | p99 | max |
| --- | ---: | ---: | ---: | ---: | ---: |
${line('C daemon (restarted by the killer at once)', A.recovery)}
${line('split-driver udaemon (its supervisor hands over)', B.recovery)}
${line('udaemon, its standby was prepared', byKind('R'))}
${line('udaemon, its standby was still starting', byKind('P'))}
${line('udaemon, no standby yet (new daemon after the backoff)', byKind('C'))}
${line('udaemon killed once its standby was prepared', ready)}

Recovery: from the SIGKILL (or the start of the faulting call) to the first call served again.
The udaemon's first ${TS_KILLS} kills come 0-${TS_MAX_DELAY_MS} ms after service is back, while the next
standby may still be starting; its attach then waits for that standby to be prepared.
The last ${TS_READY_KILLS} come 0-1000 ms after the next standby was prepared, as crashes that are rare would.

| Misbehaving user procedure (udaemon) | the faulting call got | recovery ms |
| --- | --- | ---: |
${faults.join('\n')}

## Application calls (8 threads each)

| Phase | calls | right result | lost (errno) | wrong result | over ${DEADLINE_MS} ms | slowest ms | errnos |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${app('A: C daemon killed ' + A.kills + ' times', appA)}
${app('B: udaemon killed ' + (B.kills + ready.length) + ' times + 5 faults', appB)}

## ioctl fuzzing

| As | calls | succeeded | failed with |
| --- | ---: | ---: | --- |
${fz.join('\n')}

## Kernel health

- Kernel faults (oops, BUG, WARNING, hung task, ...): ${guest.kernelFaults.length === 0 ? 'none' : guest.kernelFaults.join('; ')}
- Slab after dropping caches: ${sb} kB before, ${sm} kB after phase A (${kB(sm - sb)}), ${sa} kB after phase B (${kB(sa - sb)}); kmalloc caches ${kb} -> ${km} -> ${ka} bytes (${kB(Math.round((km - kb) / 1024))}, ${kB(Math.round((ka - kb) / 1024))})
- vmalloc areas in use: ${vb} before, ${vm} after phase A, ${va} after phase B
- Caches that grew most (bytes in use) over phase A: ${steps.get('slab_growth_mid')}; overall: ${steps.get('slab_growth_after')}
- Module reference count: ${steps.get('refcnt_before')} before, ${steps.get('refcnt_after')} after; callers waiting at the end: ${steps.get('waiting')}
- Lock after the kill while holding it: kernel read ${steps.get('kcounter')}; user bump ${steps.get('bump')}
- Supervisor restarts logged: ${steps.get('restarts_logged')} (standby prepared ${[...kinds].filter((k) => k === 'R').length}, still starting ${[...kinds].filter((k) => k === 'P').length}, none ${[...kinds].filter((k) => k === 'C').length} of the ${B.kills} kills); attaches refused as busy: ${steps.get('attach_busy')}; rmmod status ${steps.get('rmmod')}
- Guest boot ${guest.bootMs} ms, whole run ${guest.totalMs} ms
`;
}

beforeAll(async () => {
  const files: Record<string, string> = {
    'lpcselftest.ko': buildSelftestModule(tmp),
    ...selftestUserFiles(tmp),
    appload: cc(path.join(tmp, 'appload'), path.join(progs, 'appload.c'), '-pthread'),
    killer: cc(path.join(tmp, 'killer'), path.join(progs, 'killer.c'), '-pthread'),
    fuzz: cc(path.join(tmp, 'fuzz'), path.join(progs, 'fuzz.c')),
    cdaemon: cc(path.join(tmp, 'cdaemon'), path.join(progs, 'cdaemon.c'), '-pthread'),
    udaemon_call: cc(path.join(tmp, 'udaemon_call'), path.join(progs, 'udaemon_call.c')),
  };
  guest = await runInGuest({ script: script(), files, timeoutMs: GUEST_TIMEOUT_MS });
  if (process.env.SPLIT_DRIVER_GUEST_LOG) process.stderr.write(guest.output);
  steps = stepLines(guest.output);
  for (const m of guest.output.matchAll(/^BEGIN (\w+)\n([\s\S]*?)^END \1$/gm)) blocks.set(m[1], m[2]);
  const file = path.join(os.tmpdir(), 'split-driver-fault-campaign.md');
  try {
    writeFileSync(file, report());
    process.stderr.write(`fault campaign report: ${file}\n`);
  } catch (e) {
    process.stderr.write(`no fault campaign report: ${(e as Error).message}\n${guest.output.slice(-4000)}\n`);
  }
}, GUEST_TIMEOUT_MS + 60_000);

describe('fault campaign in a real kernel (QEMU)', () => {
  it('runs to the end with no oops, BUG, WARNING or hung task', () => {
    expect(guest.timedOut, guest.console.slice(-3000)).toBe(false);
    expect(guest.exitCode, guest.output.slice(-3000)).toBe(0);
    expect(guest.kernelFaults).toEqual([]);
    expect(steps.get('rmmod')).toBe('0');
  });

  it('survives 300 SIGKILLs of the C daemon: every call returns in time, right or with an errno', () => {
    expect(steps.get('killer_c')).toBe('0');
    const k = killer(blocks.get('killA'));
    expect(k.kills).toBe(C_KILLS);
    expect(k.recovery).toHaveLength(C_KILLS);
    const a = appload(blocks.get('appA'));
    expect(a.wrong).toBe(0);
    expect(a.late).toBe(0);
    expect(a.ok).toBeGreaterThan(C_KILLS);
    // Only transport errors: the daemon died (ECONNABORTED) or was not back yet (ETIMEDOUT).
    expect(Object.keys(a.errnos).filter((e) => !['ECONNABORTED', 'ETIMEDOUT'].includes(e))).toEqual([]);
  });

  it(`lets the supervisor restore service after ${TS_KILLS} SIGKILLs of the Node daemon`, () => {
    expect(steps.get('killer_ts')).toBe('0');
    const k = killer(blocks.get('killB'));
    expect(k.kills).toBe(TS_KILLS);
    const a = appload(blocks.get('appB'));
    expect(a.wrong).toBe(0);
    expect(a.late).toBe(0);
    expect(a.ok).toBeGreaterThan(0);
    expect(Object.keys(a.errnos).filter((e) => !['ECONNABORTED', 'ETIMEDOUT'].includes(e))).toEqual([]);
    const m = JSON.parse(steps.get('metrics') ?? '{}');
    // each kill and each fault is one restart
    expect(m.restarts).toBeGreaterThanOrEqual(TS_KILLS + TS_READY_KILLS + FAULTS.length + 1);
    // A prepared standby took over from each daemon killed after it was prepared,
    expect(readyKills()).toHaveLength(TS_READY_KILLS);
    expect((steps.get('restart_kinds') ?? '').slice(TS_KILLS, TS_KILLS + TS_READY_KILLS)).toBe('R'.repeat(TS_READY_KILLS));
    // and the kernel had let the dead daemon go before the supervisor heard of its death.
    expect(steps.get('attach_busy')).toBe('0');
  });

  it('fails a call whose procedure segfaults, aborts, spins or dies holding the lock, and serves the next', () => {
    for (const f of [...FAULTS, 'kill_holding_lock']) {
      const line = steps.get(`fault_${f}`) ?? '';
      expect(line, f).toMatch(/^0 /);
      const k = faultRun(f);
      expect(k.faultOk, f).toBe(0);
      // spin_forever may end by the call timeout before the watchdog's restart
      expect([103, 110], f).toContain(k.faultErrnos[0]);
    }
  });

  it('leaves no lock held and no caller waiting', () => {
    expect(steps.get('kcounter')).toMatch(/^status 0 result /);
    expect(steps.get('bump')).toMatch(/^status 0 result /);
    const v = (s: string | undefined) => Buffer.from(/result ([0-9a-f]+)/.exec(s ?? '')?.[1] ?? '', 'hex').readBigInt64LE(0);
    expect(v(steps.get('kcounter_after_bump'))).toBe(v(steps.get('kcounter')) + 5n);
    expect(steps.get('waiting')).toBe('0');
  });

  it('answers 130,000 random ioctls as root, nobody and the daemon with results or errnos', () => {
    expect(steps.get('fuzz_root_rc')).toBe('0');
    expect(steps.get('fuzz_nobody_rc')).toBe('0');
    expect(steps.get('fuzz_daemon_rc')).toBe('0');
    for (const w of ['root', 'nobody', 'daemon'] as const) expect(fuzz(blocks.get(`fuzz_${w}`)).calls).toBe(FUZZ[w]);
    expect(blocks.get('fuzz_nobody')).toContain('FUZZ unprivileged open: Permission denied');
  });

  it('does not grow kernel memory or the module reference count', () => {
    expect(steps.get('refcnt_before')).toBe('0');
    expect(steps.get('refcnt_after')).toBe('0');
    const [before, kBefore] = (steps.get('slab_before') ?? '').split(' ').map(Number);
    const [mid, kMid] = (steps.get('slab_mid') ?? '').split(' ').map(Number);
    const [after, kAfter] = (steps.get('slab_after') ?? '').split(' ').map(Number);
    // A leaked request per call (~100k calls in phase A), or a session or
    // buffer per kill (300), would be megabytes; what remains is allocator noise.
    expect(mid - before).toBeLessThan(1024);
    expect(kMid - kBefore).toBeLessThan(256 * 1024);
    expect(after - before).toBeLessThan(2048);
    expect(kAfter - kBefore).toBeLessThan(512 * 1024);
    // kvmalloc'ed argument buffers of up to 64 KiB: a leak would stay in vmalloc
    const vmalloc = ['slab_before', 'slab_mid'].map((k) => Number((steps.get(k) ?? '').split(' ')[2]));
    expect(vmalloc[1] - vmalloc[0]).toBeLessThan(32);
  });
});

/**
 * The sample drivers under fixtures/: each builds as a kernel module (W=1,
 * sparse and checkpatch clean), loads and runs in a real kernel, and runs in
 * user space over the shim, where Callgrind sees exactly the calls its
 * workload makes (the counts below follow from fixtures/harness/workload-*.c).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Profile } from '../src/callgrind/model.js';
import { readProfile } from '../src/callgrind/parse.js';
import { CALLGRIND_OPTIONS } from '../src/callgrind/run.js';
import { checkpatch, diagnostics, sh } from './support/kbuild.js';
import { guestKernel, runInGuest } from './qemu/harness.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(repo, 'fixtures');

const SAMPLES = [
  { dir: 'chardev', module: 'sampledrv', sources: ['sampledrv.c', 'sampledrv.h'] },
  { dir: 'irqdev', module: 'irqdev', sources: ['irqdev.c', 'irqdev.h'] },
  { dir: 'tallydev', module: 'tallydev', sources: ['tallydev.c', 'tallydev.h'] },
];


/** Call counts per caller -> callee edge, by function name. */
function edges(profile: Profile): (caller: string, callee: string) => number {
  const name = new Map(profile.functions.map((f) => [f.key, f.name]));
  const counts = new Map<string, number>();
  for (const c of profile.calls) {
    const k = `${name.get(c.caller)}>${name.get(c.callee)}`;
    counts.set(k, (counts.get(k) ?? 0) + Number(c.count));
  }
  return (caller, callee) => counts.get(`${caller}>${callee}`) ?? 0;
}

/** Calls to callee from any caller. */
function callsTo(profile: Profile, callee: string): number {
  const keys = new Set(profile.functions.filter((f) => f.name === callee).map((f) => f.key));
  return profile.calls.filter((c) => keys.has(c.callee)).reduce((n, c) => n + Number(c.count), 0);
}

/*
 * What workload-chardev.c does: 219 commands (1 selftest, 8 set, 6 stats,
 * 100 null, 100 fact, 2 dump, 1 reset, 1 unknown), 2002 data writes (the
 * known-answer write, 2000 in the loop, 1 oversized), 130 reads (2 at the
 * start, 20 in the loop, 4 after loop stats, 100 after fact, 2 after dump, 2
 * after the final stats).
 */
const CHARDEV: [string, string, number][] = [
  ['dev_write', 'sample_write', 2002 + 219],
  ['sample_write', 'sample_accumulate', 2002],
  ['sample_write', 'sample_dispatch', 219],
  ['sample_accumulate', 'sample_checksum', 2001],
  ['sample_accumulate', 'sample_stats_account', 2001],
  // Writes 1001..2000 of the loop run in Fletcher mode.
  ['sample_checksum', 'sample_fletcher', 1000 + 2],
  ['sample_selftest_checksum', 'sample_checksum', 6],
  ['sample_dispatch', 'sample_cmd_set', 8],
  // Six settings parse; "mode bogus" and "colour 1" do not.
  ['sample_cmd_set', 'sample_config_validate', 6],
  ['sample_dispatch', 'sample_cmd_null', 100],
  ['sample_cmd_null', 'sample_null', 100],
  ['sample_cmd_selftest', 'sample_null', 1],
  ['sample_dispatch', 'sample_cmd_fact', 100],
  ['sample_cmd_fact', 'sample_factorial', 100],
  ['sample_selftest_factorial', 'sample_factorial', 5],
  ['sample_dispatch', 'sample_cmd_stats', 6],
  ['sample_dispatch', 'sample_cmd_dump', 2],
  ['sample_cmd_dump', 'sample_config_get', 2],
  ['sample_cmd_dump', 'sample_config_put', 2],
  ['sample_dispatch', 'sample_cmd_reset', 1],
  ['sample_cmd_reset', 'sample_stats_clear', 1],
  ['sample_write', 'sample_count_error', 4],
  ['dev_read', 'sample_read', 130],
  ['harness_open', 'sample_open', 1],
  ['main', 'sample_init', 1],
  ['main', 'sample_exit', 1],
];

/*
 * What workload-irqdev.c does: 8000 ticks of one sample each; 1000
 * interrupts at 4 samples each, then 2000 at 2 samples each, 8 of them also
 * errors; 500 reads (2 per chunk, then 3); 9 ioctls, the last reading the
 * simulated fw_cfg's signature and features through port I/O (two outw,
 * one insb of four bytes, four inb).
 */
const IRQDEV: [string, string, number][] = [
  ['kshim_run_timers', 'irqdev_timer_fn', 8000],
  ['irqdev_timer_fn', 'irqdev_sim_tick', 8000],
  ['irqdev_timer_fn', 'generic_handle_irq_safe', 3000],
  ['handle_simple_irq', 'irqdev_interrupt', 3000],
  ['irqdev_interrupt', 'irqdev_rx', 3000],
  ['irqdev_rx', 'irqdev_ring_push', 3000],
  ['irqdev_interrupt', 'schedule_work', 8],
  ['kshim_run_work', 'irqdev_reset_work', 8],
  ['irqdev_reset_work', 'irqdev_reset', 8],
  ['irqdev_ioctl', 'irqdev_reset', 1],
  ['dev_read', 'irqdev_read', 500],
  ['irqdev_read', 'irqdev_ring_pop', 500],
  ['dev_ioctl', 'irqdev_ioctl', 9],
  ['irqdev_ioctl', 'irqdev_fw_ident', 1],
  ['irqdev_fw_ident', 'outw', 2],
  ['irqdev_fw_ident', 'insb', 1],
  ['irqdev_fw_ident', 'inb', 4],
  ['irqdev_ioctl', 'irqdev_selftest', 2],
  ['irqdev_ioctl', 'irqdev_set_config', 2],
  ['irqdev_set_config', 'irqdev_validate_config', 2],
  ['irqdev_test_config', 'irqdev_validate_config', 14],
  ['irqdev_ioctl', 'irqdev_dump_regs', 1],
  ['irqdev_ioctl', 'irqdev_get_stats', 1],
  ['irqdev_probe', 'irqdev_hw_reset', 1],
  ['irqdev_reset', 'irqdev_hw_reset', 9],
  ['platform_try_bind', 'irqdev_probe', 1],
  ['platform_unbind', 'irqdev_remove', 1],
];

/*
 * What workload-tallydev.c does: 3000 writes; 32 corrections (30 applied,
 * one refused as out of range before any, one too large), 2 reads of the
 * tally, one unknown ioctl.
 */
const TALLYDEV: [string, string, number][] = [
  ['harness_workload', 'tally_write', 3000],
  ['tally_write', 'tally_account', 3000],
  ['dev_ioctl', 'tally_ioctl', 32 + 2 + 1],
  ['tally_ioctl', 'tally_adjust', 32],
  ['tally_ioctl', 'tally_get', 2],
  ['main', 'tally_init', 1],
  ['main', 'tally_exit', 1],
];

const EXPECTED: Record<string, [string, string, number][]> = { chardev: CHARDEV, irqdev: IRQDEV, tallydev: TALLYDEV };

function assertCounts(profile: Profile, expected: [string, string, number][]): void {
  const edge = edges(profile);
  for (const [caller, callee, n] of expected) {
    expect({ edge: `${caller} -> ${callee}`, calls: edge(caller, callee) }).toEqual({
      edge: `${caller} -> ${callee}`,
      calls: n,
    });
  }
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'split-driver-fixtures-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe.each(SAMPLES)('fixtures/$dir as a kernel module', ({ dir, module }) => {
  const kdir = () => process.env.KDIR ?? guestKernel().build;
  let copy: string;
  beforeAll(() => {
    // Kbuild writes beside the sources: build a copy so the tree stays clean.
    copy = path.join(work, `kmod-${dir}`);
    cpSync(path.join(fixtures, dir), copy, { recursive: true });
  });

  it('builds with W=1 without a warning', async () => {
    const r = await sh('make', [`KDIR=${kdir()}`, 'W=1'], copy);
    expect(diagnostics(r.out)).toEqual([]);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(copy, `${module}.ko`))).toBe(true);
  }, 120_000);

  it('is clean under sparse', async () => {
    // C=2 checks every source, built or not.
    const r = await sh('make', [`KDIR=${kdir()}`, 'C=2'], copy);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`CHECK   ${copy}/${module}.c`);
    expect(diagnostics(r.out)).toEqual([]);
  }, 120_000);
});

describe('fixtures/ source style', () => {
  it('passes checkpatch without errors or warnings', async () => {
    const files = SAMPLES.flatMap((s) => s.sources.map((f) => path.join(fixtures, s.dir, f)));
    const r = await sh('perl', [await checkpatch(), '--no-tree', '--strict', '-f', ...files], fixtures);
    const totals = r.out.split('\n').filter((l) => l.startsWith('total:'));
    expect(totals).toHaveLength(files.length);
    for (const t of totals) expect(t).toMatch(/^total: 0 errors, 0 warnings, 0 checks,/);
    expect(r.code).toBe(0);
  }, 120_000);
});

describe('fixtures/ in user space over the shim', () => {
  let bin: string;
  beforeAll(async () => {
    bin = path.join(work, 'harness');
    const r = await sh('make', ['-C', path.join(fixtures, 'harness'), `O=${bin}`], repo);
    expect(diagnostics(r.out)).toEqual([]);
    expect(r.code).toBe(0);
  }, 120_000);

  it.each(SAMPLES)('the $dir harness runs its workload and exits 0', async ({ dir }) => {
    const r = await sh(path.join(bin, dir), [], bin);
    expect(r.out).toContain('harness: workload done');
    expect(r.code).toBe(0);
  });

  it.each(SAMPLES)('Callgrind sees the $dir workload call for call', async ({ dir, sources }) => {
    const out = path.join(bin, `${dir}.callgrind`);
    const r = await sh('valgrind', [...CALLGRIND_OPTIONS, `--callgrind-out-file=${out}`, `./${dir}`], bin);
    expect(r.code).toBe(0);
    const profile = await readProfile([out]);
    assertCounts(profile, EXPECTED[dir]);
    // Source files are named relative to the repository, as in the committed profile.
    const driverFile = profile.functions.find((f) => f.name === EXPECTED[dir][1][1])?.file;
    expect(driverFile).toBe(`fixtures/${dir}/${sources[0]}`);
  }, 120_000);

  it.each(SAMPLES)('the committed $dir profile is current and names no local path', async ({ dir }) => {
    const file = path.join(fixtures, dir, 'callgrind.out');
    assertCounts(await readProfile([file]), EXPECTED[dir]);
    const text = readFileSync(file, 'utf8');
    for (const local of [repo, os.tmpdir(), os.homedir()]) expect(text).not.toContain(`${local}/`);
  });
});

describe('the harness refuses a driver that breaks the kernel rules', () => {
  /** Builds the harness from a copy of fixtures/ with one edit, runs sample, returns its result. */
  async function runBroken(sample: string, file: string, from: string, to: string) {
    const tree = mkdtempSync(path.join(work, 'broken-'));
    cpSync(fixtures, tree, { recursive: true });
    const src = path.join(tree, file);
    const text = readFileSync(src, 'utf8');
    expect(text).toContain(from);
    writeFileSync(src, text.replace(from, to));
    const bin = path.join(tree, 'bin');
    const b = await sh('make', ['-C', path.join(tree, 'harness'), `O=${bin}`, `${bin}/${sample}`], tree);
    expect(b.code).toBe(0);
    return sh(path.join(bin, sample), [], bin);
  }

  it('a lock taken and never released', async () => {
    const r = await runBroken(
      'chardev',
      'chardev/sampledrv.c',
      'static void sample_config_put(struct sample_dev *dev)\n{\n\tmutex_unlock(&dev->config_lock);\n}',
      'static void sample_config_put(struct sample_dev *dev)\n{\n}',
    );
    expect(r.out).toContain('kshim: mutex_lock of a held mutex');
    expect(r.code).not.toBe(0);
  }, 60_000);

  it('sleeping under a spinlock in the interrupt handler', async () => {
    const r = await runBroken(
      'irqdev',
      'irqdev/irqdev.c',
      '\tif (cnt)\n\t\tirqdev_ring_push(priv, sum / cnt);',
      '\tmutex_lock(&priv->cfg_lock);\n\tmutex_unlock(&priv->cfg_lock);\n\tif (cnt)\n\t\tirqdev_ring_push(priv, sum / cnt);',
    );
    expect(r.out).toContain('kshim: mutex_lock in atomic context');
    expect(r.code).not.toBe(0);
  }, 60_000);
});

describe('fixtures/ in a real kernel (QEMU)', () => {
  it('every module loads, serves its device and unloads without a kernel fault', async () => {
    const kdir = process.env.KDIR ?? guestKernel().build;
    const files: Record<string, string> = {};
    for (const s of SAMPLES) {
      const copy = path.join(work, `vm-${s.dir}`);
      cpSync(path.join(fixtures, s.dir), copy, { recursive: true });
      const r = await sh('make', [`KDIR=${kdir}`], copy);
      expect(r.code).toBe(0);
      files[`${s.module}.ko`] = path.join(copy, `${s.module}.ko`);
    }
    const script = `set -e
insmod sampledrv.ko
printf '!fact 20' > /dev/sampledrv
echo "fact: $(cat /dev/sampledrv)"
printf '!selftest' > /dev/sampledrv
echo "selftest: $(cat /dev/sampledrv)"
printf '123456789' > /dev/sampledrv
echo "sum: $(cat /dev/sampledrv)"
rmmod sampledrv
insmod irqdev.ko
sleep 1
echo "words: $(dd if=/dev/irqdev bs=64 count=1 2>/dev/null | od -An -tu4 | wc -w)"
echo "irqs: $(awk '/irqdev/ { n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i; print n }' /proc/interrupts)"
rmmod irqdev
insmod tallydev.ko
printf '0123456789' > /dev/tally && echo "tally: wrote"
rmmod tallydev
test ! -e /dev/irqdev && test ! -e /dev/tally && echo unloaded
`;
    const g = await runInGuest({ script, files, timeoutMs: 240_000 });
    expect(g.kernelFaults).toEqual([]);
    expect(g.output).toContain('fact: 20! = 2432902008176640000');
    expect(g.output).toContain('selftest: selftest: 0 failed');
    // seed 1 (the module parameter's default) plus the digits' sum 0x1dd.
    expect(g.output).toContain('sum: 1 000001de');
    // A second of 4 ms samples, 4 per interrupt: a full read and dozens of interrupts.
    expect(g.output).toMatch(/words: 16\n/);
    const irqs = Number(/irqs: (\d+)/.exec(g.output)?.[1] ?? 0);
    expect(irqs).toBeGreaterThan(20);
    expect(g.output).toContain('tally: wrote');
    // set -e: every insmod and rmmod succeeded.
    expect(g.output).toContain('unloaded');
    expect(g.exitCode).toBe(0);
  }, 300_000);
});

/**
 * `split-driver emit` on the sample drivers: the kernel half builds against
 * the installed headers with W=1 and sparse without a diagnostic and is clean
 * under checkpatch; the user half's library builds and exports exactly the
 * contract's three functions; bad splits are refused with file:line.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, repoRoot } from '../support/cli.js';
import { buildKmod, buildUdaemon, CHARDEV_USER, checkpatch, diagnostics, sh } from './support.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'split-driver-emit-'));

/** Plans follow the fixtures' profiles and configs, which change: each case names what its forced moves imply. */
const CASES: { name: string; args: string[]; module: string; procedures: string[]; exports: string[]; locks: string[] }[] = [
  { name: 'chardev, computed plan', args: ['fixtures/chardev'], module: 'sampledrv', procedures: [], exports: [], locks: [] },
  {
    name: 'chardev, configuration and benchmarks moved',
    args: ['fixtures/chardev', '--user', CHARDEV_USER],
    module: 'sampledrv',
    procedures: ['sample_config_defaults', 'sample_config_update', 'sample_config_validate', 'sample_factorial', 'sample_format_config', 'sample_selftest_checksum', 'sample_selftest_factorial'],
    exports: ['sample_checksum'],
    locks: ['default_seed'],
  },
  { name: 'irqdev, computed plan', args: ['fixtures/irqdev'], module: 'irqdev', procedures: [], exports: [], locks: [] },
  {
    name: 'irqdev, register dump, scratch test and fw_cfg identification (port I/O) moved',
    args: ['fixtures/irqdev', '--user', 'irqdev_dump_regs,irqdev_test_scratch,irqdev_fw_ident'],
    module: 'irqdev',
    procedures: ['irqdev_dump_regs', 'irqdev_test_scratch', 'irqdev_fw_ident'],
    exports: ['lpc_io_ioread32', 'lpc_io_iowrite32', 'lpc_io_ioread8', 'lpc_io_iowrite16'],
    locks: [],
  },
  { name: 'tallydev, computed plan', args: ['fixtures/tallydev'], module: 'tallydev', procedures: [], exports: [], locks: [] },
  {
    name: 'tallydev, correction moved: shared data guarded on both sides',
    args: ['fixtures/tallydev', '--user', 'tally_adjust'],
    module: 'tallydev',
    procedures: ['tally_adjust'],
    exports: [],
    locks: ['tally'],
  },
  { name: 'opaque handles', args: ['test/emit/hdrv', '--user', 'hd_probe_sum'], module: 'hdrv', procedures: ['hd_probe_sum'], exports: ['hd_read'], locks: [] },
];

describe.each(CASES)('$name', (c) => {
  const out = path.join(work, c.name.replace(/\W+/g, '-'));
  let emit: ReturnType<typeof runCli>;
  let kbuild: { code: number; out: string };
  let ubuild: { code: number; out: string };

  beforeAll(async () => {
    emit = runCli(['emit', ...c.args, '--out', out]);
    if (emit.status !== 0) return;
    [kbuild, ubuild] = await Promise.all([buildKmod(out), buildUdaemon(out)]);
  }, 180_000);

  it('emits the planned crossings', () => {
    expect(emit.stderr).not.toMatch(/error/);
    expect(emit.status).toBe(0);
    const m = JSON.parse(readFileSync(path.join(out, 'udaemon/manifest.json'), 'utf8'));
    expect(m.driver).toBe(c.module);
    expect(m.device).toBe(`/dev/${c.module}_lpc`);
    expect(m.planHash).toMatch(/^[0-9a-f]{64}$/);
    const procs: string[] = m.procedures.map((p: { name: string }) => p.name);
    expect(procs).toEqual(expect.arrayContaining(c.procedures));
    expect(m.exports).toEqual(expect.arrayContaining(c.exports));
    expect(m.locks.map((l: { name: string }) => l.name)).toEqual(expect.arrayContaining(c.locks));
    // Each procedure: a stub in the kernel half, the function itself and its wrapper in the user half.
    const kernel = readdirSync(path.join(out, 'kmod')).filter((f) => f.endsWith('.c')).map((f) => readFileSync(path.join(out, 'kmod', f), 'utf8')).join('\n');
    const user = readdirSync(path.join(out, 'udaemon')).filter((f) => f.endsWith('.c')).map((f) => readFileSync(path.join(out, 'udaemon', f), 'utf8')).join('\n');
    for (const p of procs) {
      expect(kernel).toMatch(new RegExp(`lpc_call_user\\(lpc_dev_get\\(\\), "${p}"`));
      expect(user).toContain(`int lpc_proc_${p}(`);
    }
    for (const e of m.exports) {
      // Register accessors: one checked EXEC entry each; the user half reaches them through kcompat.h.
      const io = /^lpc_io_(\w+)$/.exec(e);
      if (io) {
        expect(kernel).toContain(`int lpc_exec_io_${io[1]}(`);
        expect(readFileSync(path.join(out, 'udaemon/kcompat.h'), 'utf8')).toContain(`"${e}"`);
        continue;
      }
      expect(kernel).toContain(`int lpc_exec_${e}(`);
      expect(user).toMatch(new RegExp(`lpc_exec\\("${e}"`));
    }
  });

  it('builds the kernel half with W=1 and sparse, without a diagnostic', () => {
    expect(kbuild.out).toMatch(/CHECK .*lpc_core\.c/);
    expect(diagnostics(kbuild.out)).toEqual([]);
    expect(kbuild.code).toBe(0);
    expect(readdirSync(path.join(out, 'kmod'))).toContain(`${c.module}.ko`);
  });

  it('is clean under checkpatch, and copies the LPC core and the driver\'s headers unchanged', async () => {
    const cp = await checkpatch();
    const kmod = path.join(out, 'kmod');
    // The core and the driver's own headers are copied byte for byte.
    const copied = new Map<string, string>([
      ['lpc_core.c', path.join(repoRoot, 'kmod/lpc_core.c')],
      ['lpc_core.h', path.join(repoRoot, 'kmod/lpc_core.h')],
      ['lpc_abi.h', path.join(repoRoot, 'kmod/lpc_abi.h')],
    ]);
    const srcDir = path.join(repoRoot, c.args[0]);
    for (const h of readdirSync(srcDir).filter((f) => f.endsWith('.h'))) copied.set(h, path.join(srcDir, h));
    for (const [f, src] of copied) expect(readFileSync(path.join(kmod, f), 'utf8'), f).toBe(readFileSync(src, 'utf8'));
    // The whole kernel half, copied files included, is what a maintainer would review.
    const files = readdirSync(kmod).filter((f) => /\.[ch]$/.test(f) && !f.endsWith('.mod.c'));
    expect(files).toContain(`${c.module}_lpc.h`);
    for (const f of files) {
      const r = await sh('perl', [cp, '--no-tree', '-f', f], kmod);
      expect(r.out, f).toMatch(/total: 0 errors, 0 warnings/);
    }
  }, 120_000);

  it('builds the user half, which exports exactly lpc_user_init, lpc_user_dispatch and lpc_user_serve', async () => {
    expect(diagnostics(ubuild.out)).toEqual([]);
    expect(ubuild.code).toBe(0);
    const nm = await sh('nm', ['-D', '--defined-only', `lib${c.module}_user.so`], path.join(out, 'udaemon'));
    const text = nm.out.split('\n').filter((l) => / T /.test(l)).map((l) => l.split(' ')[2]).sort();
    expect(text).toEqual(['lpc_user_dispatch', 'lpc_user_init', 'lpc_user_serve']);
  });
});

describe('the plan emit works from', () => {
  it('emits the same halves from a plan file as from the sources', async () => {
    const { loadAnalysis } = await import('../../src/input/load.js');
    const { applyOverrides, loadConfig } = await import('../../src/partition/config.js');
    const { indexAll, planForEmit } = await import('../../src/emit/index.js');
    const { model, graph } = await loadAnalysis(['fixtures/chardev']);
    const plan = planForEmit(model, graph, applyOverrides(loadConfig({ inputs: ['fixtures/chardev'] }), { user: [CHARDEV_USER] }), indexAll(model));
    const planFile = path.join(work, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const a = path.join(work, 'from-plan');
    const b = path.join(work, 'from-source');
    expect(runCli(['emit', 'fixtures/chardev', '--plan', planFile, '--out', a]).status).toBe(0);
    expect(runCli(['emit', 'fixtures/chardev', '--user', CHARDEV_USER, '--out', b]).status).toBe(0);
    for (const f of ['kmod/sampledrv_main.c', 'udaemon/sampledrv.c', 'udaemon/manifest.json']) {
      expect(readFileSync(path.join(a, f), 'utf8'), f).toBe(readFileSync(path.join(b, f), 'utf8'));
    }
    expect(JSON.parse(readFileSync(path.join(a, 'udaemon/manifest.json'), 'utf8')).planHash).toBe(plan.planHash);
  });
});

describe('refusals', () => {
  it('names file:line and the annotation when a forced move cannot be marshalled', () => {
    const r = runCli(['emit', 'fixtures/chardev', '--user', 'sample_open', '--out', path.join(work, 'refused')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^split-driver: error: fixtures\/chardev\/sampledrv\.c:459: sample_open cannot cross/m);
    expect(r.stderr).toContain('"sample_open.inode": {"opaque": true}');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses moved register code when the region\'s length is only known at run time, naming where it is mapped', () => {
    const r = runCli(['emit', 'test/emit/iodrv', '--user', 'iod_read_id', '--out', path.join(work, 'refused-io')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^split-driver: error: test\/emit\/iodrv\/iodrv\.c:17: iod_read_id cannot cross/m);
    expect(r.stderr).toMatch(/devm_platform_ioremap_resource\(\), whose length is only known at run time \(test\/emit\/iodrv\/iodrv\.c:39\)/);
    expect(r.stderr).toContain('--kernel iod_read_id');
  });

  it('refuses moved port I/O on ports the driver never requests, naming the annotation that gives their count', () => {
    const r = runCli(['emit', 'test/emit/iodrv', '--user', 'iod_port_status', '--out', path.join(work, 'refused-port')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^split-driver: error: test\/emit\/iodrv\/iodrv\.c:22: iod_port_status cannot cross .* reaches ports through priv->port, but no request_region\(\) in the driver gives the number of ports at port/m);
    expect(r.stderr).toContain('annotate "iod_priv.port": {"ports": <count>} in split-driver.json');
  });

  it('moves that port I/O once the annotation gives the region\'s length, lending exactly that many ports', () => {
    const dir = path.join(work, 'iodrv-annotated');
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(repoRoot, 'test/emit/iodrv/iodrv.c'), path.join(dir, 'iodrv.c'));
    writeFileSync(path.join(dir, 'split-driver.json'), JSON.stringify({ annotations: { 'iod_priv.port': { ports: 8 } } }));
    const out = path.join(work, 'iodrv-annotated-out');
    const r = runCli(['emit', dir, '--user', 'iod_port_status', '--out', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(out, 'kmod/iodrv_main.c'), 'utf8')).toMatch(/lpc_ioport_get\(&lpc_io_priv_port,\s+priv->port, 8\);/);
    expect(JSON.parse(readFileSync(path.join(out, 'udaemon/manifest.json'), 'utf8')).exports).toEqual(['lpc_io_ioread8']);
  });

  it('refuses moved port I/O on a fixed port, naming the call', () => {
    const r = runCli(['emit', 'test/emit/iodrv', '--user', 'iod_post_code', '--out', path.join(work, 'refused-fixed-port')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^split-driver: error: test\/emit\/iodrv\/iodrv\.c:29: iod_post_code moves to user space but calls inb on a fixed port \(0x80\)/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a moved function calling a kernel service user space lacks', () => {
    const r = runCli(['emit', 'fixtures/chardev', '--user', 'sample_cmd_reset', '--out', path.join(work, 'refused2')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/sampledrv\.c:\d+: .*sample_cmd_reset/);
  });
});

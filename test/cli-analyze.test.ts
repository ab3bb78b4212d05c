import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './support/cli.js';

const sample = path.join(repoRoot, 'fixtures/chardev');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-cli-'));

function expectCleanError(r: { status: number | null; stderr: string; stdout: string }, pattern: RegExp) {
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^split-driver: error: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stdout).toBe('');
}

describe('split-driver analyze', () => {
  it('reports the sample driver joined with its profile', () => {
    const r = runCli(['analyze', '--json', path.join(sample, 'sampledrv.c'), path.join(sample, 'callgrind.out')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.events).toContain('Ir');
    const byName = new Map<string, any>(doc.functions.map((f: any) => [f.name, f]));
    const write = byName.get('sample_write');
    expect(write).toBeDefined();
    expect(write.file).toBe(path.join(sample, 'sampledrv.c'));
    expect(write.lines).toBeGreaterThan(3);
    // The profile ran the write path; its inclusive cost covers its own.
    expect(write.inclusive.Ir).toBeGreaterThan(0);
    expect(write.inclusive.Ir).toBeGreaterThanOrEqual(write.self.Ir);
    for (const f of doc.functions) {
      for (const k of ['name', 'file', 'line', 'lines', 'self', 'inclusive']) expect(f).toHaveProperty(k);
    }
    // Every call edge joins two functions of the document.
    for (const c of doc.calls) {
      expect(doc.functions.some((f: any) => f.id === c.caller)).toBe(true);
      expect(doc.functions.some((f: any) => f.id === c.callee)).toBe(true);
    }
    expect(doc.calls.some((c: any) => c.caller === 'sample_write' || c.caller.endsWith(':sample_write'))).toBe(true);
  });

  it('reads the headers a named source includes from beside it, as the compiler does', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'hdr-'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(
      path.join(dir, 'drv.c'),
      '#include <linux/module.h>\n#include "drv.h"\n#include "missing.h"\nint drv_op(struct drv_priv *p)\n{\n\treturn drv_reg(p) + 1;\n}\n',
    );
    fs.writeFileSync(path.join(dir, 'drv.h'), '#include "sub/regs.h"\nstruct drv_priv { int reg; };\nstatic inline int drv_reg(struct drv_priv *p)\n{\n\treturn drv_mask(p->reg);\n}\n');
    fs.writeFileSync(path.join(dir, 'sub/regs.h'), 'static inline int drv_mask(int v)\n{\n\treturn v & 0xff;\n}\n');
    fs.writeFileSync(path.join(dir, 'unrelated.h'), 'static inline int not_included(void)\n{\n\treturn 0;\n}\n');
    const r = runCli(['analyze', '--json', path.join(dir, 'drv.c')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    const file = (name: string) => doc.functions.find((f: any) => f.name === name)?.file;
    expect(file('drv_reg')).toBe(path.join(dir, 'drv.h'));
    expect(file('drv_mask')).toBe(path.join(dir, 'sub/regs.h'));
    expect(file('not_included')).toBeUndefined();
    const edge = (a: string, b: string) => doc.calls.some((c: any) => c.caller.endsWith(a) && c.callee.endsWith(b));
    expect(edge('drv_op', 'drv_reg')).toBe(true);
    expect(edge('drv_reg', 'drv_mask')).toBe(true);
  });

  it('with --for-emit, writes a plan emit follows: what cannot cross stays in the kernel, with the reason', () => {
    const inputs = [path.join(sample, 'sampledrv.c'), path.join(sample, 'callgrind.out')];
    const plain = path.join(tmp, 'plain.json');
    const forEmit = path.join(tmp, 'for-emit.json');
    expect(runCli(['analyze', ...inputs, '--plan', plain]).status).toBe(0);
    const a = runCli(['analyze', ...inputs, '--for-emit', '--plan', forEmit, '--json']);
    expect(a.status).toBe(0);
    // The graph's plan moves a command handler whose driver struct cannot cross; emit refuses that plan and says what to do.
    const refused = runCli(['emit', inputs[0], '--plan', plain, '--out', path.join(tmp, 'emit-plain')]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^split-driver: error: .*sampledrv\.c:\d+: sample_\w+ cannot cross the kernel\/user boundary: .*`analyze --for-emit --plan /m);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const plan = JSON.parse(fs.readFileSync(forEmit, 'utf8'));
    const kept = plan.functions.filter((f: any) => f.reasons.some((r: any) => r.kind === 'cannot-cross'));
    expect(kept.length).toBeGreaterThan(0);
    for (const f of kept) {
      expect(f.side).toBe('kernel');
      const r = f.reasons.find((x: any) => x.kind === 'cannot-cross');
      expect(r.file).toBe(path.join(sample, 'sampledrv.c'));
      expect(r.line).toBeGreaterThan(0);
      expect(r.why.length).toBeGreaterThan(10);
    }
    // Moved by the graph's plan, kept by the emit-ready one.
    const plainPlan = JSON.parse(fs.readFileSync(plain, 'utf8'));
    for (const f of kept) expect(plainPlan.functions.find((g: any) => g.id === f.id).side).toBe('user');
    const e = runCli(['emit', inputs[0], '--plan', forEmit, '--out', path.join(tmp, 'emit-ready')]);
    expect(e.stderr).not.toMatch(/error/);
    expect(e.status).toBe(0);
    const procs = JSON.parse(fs.readFileSync(path.join(tmp, 'emit-ready/udaemon/manifest.json'), 'utf8')).procedures.map((p: any) => p.name);
    const moved = plan.functions.filter((f: any) => f.side === 'user').map((f: any) => f.name);
    for (const p of procs) expect(moved).toContain(p);
  });

  it('recognises a profile by its content, whatever its name', () => {
    const renamed = path.join(tmp, 'profile.c');
    fs.copyFileSync(path.join(sample, 'callgrind.out'), renamed);
    const r = runCli(['analyze', '--json', path.join(sample, 'sampledrv.c'), renamed]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).events).toContain('Ir');
  });

  it('prints a table sorted by inclusive cost, with a summary', () => {
    const r = runCli(['analyze', path.join(sample, 'sampledrv.c'), path.join(sample, 'callgrind.out'), '--top', '0']);
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n\n')[0].split('\n');
    expect(rows[0]).toMatch(/^function\s+file:line\s+lines\s+self Ir\s+incl Ir/);
    const incl = rows.slice(1).filter((l) => /\.c:\d+/.test(l)).map((l) => BigInt(l.trim().split(/\s+/)[4]));
    expect(incl.length).toBeGreaterThan(5);
    for (let i = 1; i < incl.length; i++) expect(incl[i - 1] >= incl[i]).toBe(true);
    expect(r.stdout).toMatch(/\d+ functions, \d+ lines in 2 file/); // sampledrv.c and the sampledrv.h it includes
    // The split follows, with a reason for every function.
    expect(r.stdout).toMatch(/^Split\n  kernel: \d+ functions, \d+ lines/m);
    expect(r.stdout).toMatch(/^Moved to user space\n  sample_\w+ \(.*sampledrv\.c:\d+, \d+ lines\): /m);
    expect(r.stdout).toMatch(/^  sample_read \(.*\): data-path entry file_operations\.read/m);
  });

  it('refuses an event the profile does not have', () => {
    const r = runCli(['analyze', path.join(sample, 'sampledrv.c'), path.join(sample, 'callgrind.out'), '--event', 'Bogus']);
    expectCleanError(r, /--event Bogus: the profile has Ir/);
  });

  it('names a missing file', () => {
    expectCleanError(runCli(['analyze', path.join(tmp, 'nope.c')]), /nope\.c: no such file or directory/);
  });

  it('names a binary file', () => {
    const bin = path.join(tmp, 'blob');
    fs.writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
    expectCleanError(runCli(['analyze', bin]), /blob: binary file/);
  });

  it('names the line of a truncated profile', () => {
    const text = fs.readFileSync(path.join(sample, 'callgrind.out'), 'utf8').split('\n');
    const calls = text.findIndex((l) => l.startsWith('calls='));
    expect(calls).toBeGreaterThan(0);
    const cut = path.join(tmp, 'cut.callgrind');
    fs.writeFileSync(cut, text.slice(0, calls + 1).join('\n') + '\n');
    expectCleanError(runCli(['analyze', path.join(sample, 'sampledrv.c'), cut]), new RegExp(`cut\\.callgrind:${calls + 1}: `));
  });

  it('treats a mistyped command as a usage error', () => {
    const r = runCli(['analyse-this']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/split-driver: error: /);
  });
});

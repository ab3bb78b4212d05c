/**
 * The reader on whole runs split over files, other producers, compressed
 * input, and on everything that is not a sound profile.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Profile } from '../../src/callgrind/model.js';
import { readProfile } from '../../src/callgrind/parse.js';
import { InputError, type Diagnostic } from '../../src/errors.js';
import { corpusDir } from '../support/shared.js';

const dir = corpusDir('callgrind');
const at = (name: string): string => join(dir, name);
const tmp = mkdtempSync(join(tmpdir(), 'split-driver-callgrind-'));

/** Functions, calls and cycles as comparable text (bigints do not serialise). */
const shape = (p: Profile): string =>
  JSON.stringify({ f: p.functions, c: p.calls, y: p.cycles }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
const selfSum = (p: Profile): bigint[] => p.events.map((_, i) => p.functions.reduce((a, f) => a + f.self[i], 0n));

/** The `totals:` or `summary:` lines a file states, read from the text, not by the reader. */
function stated(path: string, key: 'totals' | 'summary'): bigint[][] {
  return [...readFileSync(path, 'latin1').matchAll(new RegExp(`^${key}:\\s*(.*)$`, 'gm'))].map((m) =>
    m[1].trim().split(/\s+/).map((x) => BigInt(x)),
  );
}
const add = (rows: bigint[][]): bigint[] => rows.reduce((a, r) => a.map((v, i) => v + r[i]));

async function inputError(paths: string[]): Promise<InputError> {
  const err = await readProfile(paths).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

function write(name: string, text: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('one run in several files', () => {
  it('sums dump parts into the whole run', async () => {
    const parts = ['edge_multi_dumps.callgrind', 'edge_multi_dumps.callgrind.1', 'edge_multi_dumps.callgrind.2'].map(at);
    const p = await readProfile(parts);
    const total = add(parts.flatMap((f) => stated(f, 'totals')));
    expect(p.totals).toEqual(total);
    expect(selfSum(p)).toEqual(total);
    expect(p.parts).toBe(3);
    // The same deterministic program profiled in one piece: every function and call agrees.
    const whole = await readProfile([at('edge_default.callgrind')]);
    expect(stated(at('edge_default.callgrind'), 'totals')).toEqual([total]);
    expect(shape(p)).toBe(shape(whole));
  });

  it('warns when a dump part of the run was not given', async () => {
    const warnings: Diagnostic[] = [];
    await readProfile([at('edge_multi_dumps.callgrind')], { onWarning: (d) => warnings.push(d) });
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/edge_multi_dumps\.callgrind\.1, edge_multi_dumps\.callgrind\.2/);
  });

  it('reads the per-thread files of an empty --separate-threads base file', async () => {
    const threads = ['edge_separate_threads.callgrind-01', 'edge_separate_threads.callgrind-02'].map(at);
    const viaBase = await readProfile([at('edge_separate_threads.callgrind')]);
    expect(viaBase.sources).toEqual(threads);
    expect(viaBase.totals).toEqual(add(threads.flatMap((f) => stated(f, 'totals'))));
    const explicit = await readProfile(threads);
    expect(shape(viaBase)).toBe(shape(explicit));
    expect(shape(viaBase)).toBe(shape(await readProfile([at('edge_default.callgrind')])));
  });
});

describe('encodings of the same profile', () => {
  it('decodes compressed and uncompressed names and positions, with or without jumps, to the same costs', async () => {
    const ref = shape(await readProfile([at('edge_instr_jumps_nocompress.callgrind')]));
    expect(shape(await readProfile([at('edge_instr_jumps.callgrind')]))).toBe(ref);
    expect(shape(await readProfile([at('edge_instr_only.callgrind')]))).toBe(ref);
    expect(shape(await readProfile([at('edge_default.callgrind')]))).toBe(ref);
    const ls = shape(await readProfile([at('ls_default.callgrind')]));
    expect(shape(await readProfile([at('ls_nocompress.callgrind')]))).toBe(ls);
    expect(shape(await readProfile([at('ls_instr_jumps.callgrind')]))).toBe(ls);
  });

  it('reads a gzip-compressed profile', async () => {
    const gz = await readProfile([at('ls_default.callgrind.gz')]);
    expect(shape(gz)).toBe(shape(await readProfile([at('ls_default.callgrind')])));
  });

  it('keeps recursion within the program total and reports the cycle', async () => {
    const p = await readProfile([at('edge_default.callgrind')]);
    const fib2 = p.functions.find((f) => f.name === "fib'2")!;
    expect(fib2.selfRecursive).toBe(true);
    expect(fib2.inclusive[0] <= p.totals[0]).toBe(true);
    // is_even and is_odd call each other (Callgrind names the recursion levels `'2`).
    const cycle = p.cycles!.find((c) => c.members.some((m) => m.includes('|is_even')))!;
    expect(cycle.members.map((m) => m.split('|')[2])).toEqual(["is_even'2", "is_odd'2"]);
    expect(p.functions.find((f) => f.name === "is_odd'2")!.cycle).toBe(cycle.id);
    expect(cycle.inclusive[0] <= p.totals[0]).toBe(true);
    // Two static helper functions in two files stay two functions.
    expect(p.functions.filter((f) => f.name === 'helper').map((f) => f.file).sort()).toEqual([
      '/opt/corpus/src/edge_a.c',
      '/opt/corpus/src/edge_b.c',
    ]);
  });

  it('counts inlined header code to the function it is inlined in', async () => {
    const p = await readProfile([at('edge_default.callgrind')]);
    const worker = p.functions.find((f) => f.name === 'worker' && f.file.endsWith('edge_main.c'))!;
    const inl = worker.inlined!.find((x) => x.file.endsWith('edge_inline.h'))!;
    expect(inl.self[0] > 0n).toBe(true);
    expect(worker.self[0] > inl.self[0]).toBe(true);
  });
});

describe('other producers', () => {
  it('reads pyprof2calltree output: totals from its summary, above the self costs it records', async () => {
    const path = at('pyprof2calltree_py_work.callgrind');
    const p = await readProfile([path]);
    const [summary] = stated(path, 'summary');
    expect(p.events).toEqual(['ns']);
    expect(p.totals).toEqual(summary);
    const s = selfSum(p)[0];
    expect(s > 0n && s <= summary[0]).toBe(true);
    expect(p.functions.some((f) => f.name === "<method 'items' of 'dict' objects>" && f.file === '~')).toBe(true);
    expect(p.calls.length).toBeGreaterThan(0);
  });

  it('reads Cachegrind output: nine events, no calls, self costs adding up to its closing summary', async () => {
    const path = at('cachegrind_edge.cachegrind.out');
    const p = await readProfile([path]);
    const [summary] = stated(path, 'summary');
    expect(p.events).toHaveLength(9);
    expect(p.calls).toEqual([]);
    expect(p.totals).toEqual(summary);
    expect(selfSum(p)).toEqual(summary);
    expect(p.command).toBe('./edge_prog');
  });
});

describe('bad input', () => {
  const real = readFileSync(at('ls_default.callgrind'));

  it('rejects a profile cut mid-line, naming the file and line', async () => {
    const path = write('cut-mid.callgrind', real.subarray(0, Math.floor(real.length / 2)));
    const err = await inputError([path]);
    expect(err.file).toBe(path);
    expect(err.line).toBeGreaterThan(100);
    expect(err.message).toMatch(/truncated/);
  });

  it('rejects a profile cut at a line end', async () => {
    const cut = real.subarray(0, real.indexOf('\n', Math.floor(real.length * 0.7)) + 1);
    const path = write('cut-line.callgrind', cut);
    const err = await inputError([path]);
    expect(err.message).toMatch(/truncated/);
    expect(err.line).toBe(cut.toString('latin1').split('\n').length - 1);
  });

  it('rejects a calls= line without its cost line', async () => {
    const path = write('calls.callgrind', 'events: Ir\nfl=a.c\nfn=main\n1 3\ncfn=f\ncalls=1 5\nfn=f\n5 2\n');
    const err = await inputError([path]);
    expect(err.line).toBe(7);
    expect(err.message).toMatch(/calls= line 6/);
    const atEnd = await inputError([write('calls-end.callgrind', 'events: Ir\nfn=main\ncfn=f\ncalls=1 5\n')]);
    expect(atEnd.message).toMatch(/truncated/);
  });

  it('rejects costs before any function, non-numeric costs and more costs than events', async () => {
    const before = await inputError([write('nofn.callgrind', 'events: Ir\nfl=a.c\n3 4\n')]);
    expect(before.line).toBe(3);
    expect(before.message).toMatch(/before any fn=/);
    const nan = await inputError([write('nan.callgrind', 'events: Ir Dr\nfn=main\n3 4\n4 5 x7\n')]);
    expect(nan.line).toBe(4);
    expect(nan.message).toMatch(/non-numeric cost 'x7'/);
    const more = await inputError([write('more.callgrind', 'events: Ir\nfn=main\n3 4 5\n')]);
    expect(more.line).toBe(3);
  });

  it('rejects binary files, files that are no profile, directories and missing files', async () => {
    const elf = await inputError([write('prog', readFileSync(process.execPath).subarray(0, 200_000))]);
    expect(elf.message).toMatch(/binary/);
    const readme = await inputError([at('README.md')]);
    expect(readme.message).toMatch(/not a Callgrind profile/);
    expect(readme.line).toBeGreaterThan(0);
    const d = await inputError([tmp]);
    expect(d.message).toMatch(/directory/);
    const missing = await inputError([join(tmp, 'no-such.callgrind')]);
    expect(missing.file).toBe(join(tmp, 'no-such.callgrind'));
    expect(missing.message).toMatch(/ENOENT/);
    const xz = await inputError([write('p.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]))]);
    expect(xz.message).toMatch(/xz/);
  });

  it('rejects files of different events as one run', async () => {
    const a = write('ev1.callgrind', 'events: Ir\nfn=main\n1 1\n');
    const b = write('ev2.callgrind', 'events: Dr\nfn=main\n1 1\n');
    expect((await inputError([a, b])).message).toMatch(/differ/);
  });

  it('warns about unknown lines and keeps the result', async () => {
    const warnings: Diagnostic[] = [];
    const path = write('odd.callgrind', 'events: Ir\nfrob: 3\nfn=main\nxyz=(4) q\n1 7\n~~~\n');
    const p = await readProfile([path], { onWarning: (d) => warnings.push(d) });
    expect(p.functions.map((f) => [f.name, f.self])).toEqual([['main', [7n]]]);
    expect(warnings.map((w) => w.line)).toEqual([2, 4, 6]);
  });

  it('treats an empty base file without thread files as an error, even with a copy beside it', async () => {
    copyFileSync(at('s13_empty.callgrind'.replace(/^/, 'synthetic/')), join(tmp, 'alone.callgrind'));
    const err = await inputError([join(tmp, 'alone.callgrind')]);
    expect(err.message).toMatch(/empty/);
  });
});

/**
 * The hand-written corpus profiles, one trap each, against their
 * `*.expected.json` (costs per function, edges, cycles, warnings).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, type Diagnostic } from '../../src/errors.js';
import { readProfile } from '../../src/callgrind/parse.js';
import { corpusDir } from '../support/shared.js';

const dir = join(corpusDir('callgrind'), 'synthetic');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.slice(0, -'.expected.json'.length))
  .sort();

type Costs = string[];
interface Expected {
  events: string[];
  parts: number;
  totals_lines: Costs[];
  summary_lines: Costs[];
  warnings: string[];
  functions: Record<string, { self: Costs; inclusive: Costs | null; self_recursive: boolean; in_multi_function_cycle: boolean }>;
  cycles: { members: string[]; inclusive: Costs }[];
  edges: { caller: string; callee: string; calls: string; inclusive: Costs }[];
  sum_self: Costs;
}

/** JSON.parse with every number kept as its decimal text: costs go past 2^53. */
function parseExact(text: string): Expected {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (/[-\d]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[\d.eE+-]/.test(text[j])) j++;
      out += `"${text.slice(i, j)}"`;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out) as Expected;
}

const str = (c: bigint[]): string[] => c.map(String);
const sum = (rows: Costs[], n: number): string[] =>
  str(rows.reduce((a, r) => a.map((v, i) => v + BigInt(r[i] ?? 0)), new Array<bigint>(n).fill(0n)));

describe.each(cases)('%s', (name) => {
  it('matches its expected costs, edges, cycles and warnings', async () => {
    const want = parseExact(readFileSync(join(dir, `${name}.expected.json`), 'utf8'));
    const warnings: Diagnostic[] = [];
    const p = await readProfile([join(dir, `${name}.callgrind`)], { onWarning: (d) => warnings.push(d) });

    expect(p.events).toEqual(want.events);
    expect(String(p.parts)).toBe(String(want.parts));
    expect(p.functions.map((f) => f.key).sort()).toEqual(Object.keys(want.functions).sort());
    for (const f of p.functions) {
      const w = want.functions[f.key];
      expect(str(f.self), `${f.key} self`).toEqual(w.self);
      if (w.inclusive !== null) expect(str(f.inclusive), `${f.key} inclusive`).toEqual(w.inclusive);
      expect(f.selfRecursive ?? false, `${f.key} self-recursive`).toBe(w.self_recursive);
      expect(f.cycle !== undefined, `${f.key} in a cycle`).toBe(w.in_multi_function_cycle);
    }
    expect(
      (p.cycles ?? []).map((c) => ({ members: c.members, inclusive: str(c.inclusive) })),
    ).toEqual(want.cycles.map((c) => ({ members: [...c.members].sort(), inclusive: c.inclusive })));
    for (const c of p.cycles ?? []) {
      for (const m of c.members) expect(p.functions.find((f) => f.key === m)!.cycle).toBe(c.id);
    }
    const edges = (e: { caller: string; callee: string; calls: string; inclusive: Costs }[]) =>
      e.map((x) => JSON.stringify(x)).sort();
    expect(edges(p.calls.map((c) => ({ caller: c.caller, callee: c.callee, calls: String(c.count), inclusive: str(c.inclusive) })))).toEqual(
      edges(want.edges),
    );

    const n = want.events.length;
    const selfSum = str(p.events.map((_, i) => p.functions.reduce((a, f) => a + f.self[i], 0n)));
    expect(selfSum).toEqual(want.sum_self);
    // totals: the totals: lines of all parts, else their summary: lines, else the self costs.
    const totals = want.totals_lines.length > 0 ? sum(want.totals_lines, n)
      : want.summary_lines.length > 0 ? sum(want.summary_lines, n) : want.sum_self;
    expect(str(p.totals)).toEqual(totals);

    for (const w of want.warnings) {
      expect(warnings.some((d) => d.message.includes(w)), `warning '${w}'`).toBe(true);
    }
    expect(warnings.length).toBe(want.warnings.length);
    for (const d of warnings) expect(d.line, d.message).toBeGreaterThan(0);
  });
});

it('s13_empty: an empty profile is an InputError that says so', async () => {
  const path = join(dir, 's13_empty.callgrind');
  const err = await readProfile([path]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).file).toBe(path);
  expect((err as InputError).message).toMatch(/empty/);
});

/**
 * Every real profile of the corpus against callgrind_annotate's output for
 * it: self cost per `file:function` exactly, inclusive cost wherever
 * callgrind_annotate's own figure is sound (outside recursion).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Profile } from '../../src/callgrind/model.js';
import { readProfile, selfByFileFunction } from '../../src/callgrind/parse.js';
import { readAnnotate } from '../support/annotate.js';
import { corpusDir } from '../support/shared.js';

const dir = corpusDir('callgrind');
const profiles = readdirSync(dir)
  .filter((f) => existsSync(join(dir, `${f}.annotate-self.txt`)))
  .sort();

const str = (c: bigint[]): string[] => c.map(String);

/**
 * callgrind_annotate adds the cost line after `calls=0` (a call still active
 * when the dump was taken) to the caller's self cost; this reader does not,
 * as that cost is the callee's. Put it back to compare.
 */
function activeCallCosts(p: Profile): Map<string, bigint[]> {
  const byKey = new Map(p.functions.map((f) => [f.key, f]));
  const out = new Map<string, bigint[]>();
  for (const c of p.calls) {
    if (c.count !== 0n) continue;
    const f = byKey.get(c.caller)!;
    const k = `${f.file}:${f.name}`;
    const cur = out.get(k) ?? p.events.map(() => 0n);
    c.inclusive.forEach((v, i) => (cur[i] += v));
    out.set(k, cur);
  }
  return out;
}

describe.each(profiles)('%s against callgrind_annotate', (name) => {
  const path = join(dir, name);

  it('has the self cost of every file:function, every event', async () => {
    const p = await readProfile([path]);
    const oracle = readAnnotate(`${path}.annotate-self.txt`);
    expect(p.events).toEqual(oracle.events);
    const mine = selfByFileFunction(p);
    for (const [k, extra] of activeCallCosts(p)) {
      const cur = mine.get(k)!;
      extra.forEach((v, i) => (cur[i] += v));
    }
    expect(oracle.costs.size).toBeGreaterThan(0);
    for (const [key, cost] of oracle.costs) {
      expect(str(mine.get(key) ?? []), key).toEqual(str(cost));
    }
    // Nothing of ours with a cost is missing from the oracle.
    for (const [key, cost] of mine) {
      if (cost.some((c) => c !== 0n)) expect(oracle.costs.has(key), key).toBe(true);
    }
  });

  it('has the call costs and inclusive costs callgrind_annotate has, and none above the total', async () => {
    const p = await readProfile([path]);
    const oracle = readAnnotate(`${path}.annotate-inclusive.txt`);
    const total = p.totals;
    const byKey = new Map(p.functions.map((f) => [f.key, f]));
    const label = (key: string): string => {
      const f = byKey.get(key)!;
      return `${f.file}:${f.name}`;
    };
    // callgrind_annotate's inclusive cost of a called function is the sum of the
    // calls to it (ignoring calls=0), keyed by file:function, objects merged.
    const incoming = new Map<string, bigint[]>();
    for (const c of p.calls) {
      if (c.count === 0n) continue;
      const k = label(c.callee);
      const cur = incoming.get(k) ?? p.events.map(() => 0n);
      c.inclusive.forEach((v, i) => (cur[i] += v));
      incoming.set(k, cur);
    }
    const groups = new Map<string, typeof p.functions>();
    for (const f of p.functions) {
      f.inclusive.forEach((c, i) => expect(c <= total[i], `${f.key} within the total`).toBe(true));
      const k = `${f.file}:${f.name}`;
      groups.set(k, [...(groups.get(k) ?? []), f]);
    }
    let calledCompared = 0;
    let inclusiveCompared = 0;
    for (const [key, want] of oracle.costs) {
      const calls = incoming.get(key);
      if (calls) {
        expect(str(calls), `calls to ${key}`).toEqual(str(want));
        calledCompared++;
      }
      const fns = groups.get(key);
      // Sound only outside recursion, for a function whose code is all in its own
      // file (inlined parts have entries of their own). clone: the new thread's
      // cost is recorded under it, while the call to it only sees the parent's side.
      if (!fns || fns.some((f) => f.cycle !== undefined || f.selfRecursive || f.inlined || f.name === 'clone')) continue;
      const sum = p.events.map((_, i) => fns.reduce((a, f) => a + f.inclusive[i], 0n));
      expect(str(sum), key).toEqual(str(want));
      inclusiveCompared++;
    }
    expect(calledCompared).toBeGreaterThan(0);
    expect(inclusiveCompared).toBeGreaterThan(0);
  });
});

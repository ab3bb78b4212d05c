/**
 * The CI check: a critical section is never split between the halves, and
 * nothing that must run in the kernel sits in user space.
 */
import { InputError } from '../errors.js';
import type { CallGraph } from '../graph/model.js';
import { defaultConfig, type Config } from '../partition/config.js';
import { indexGraph } from '../partition/indexed.js';
import type { Plan, Side } from '../partition/plan.js';
import { describeReason } from '../partition/describe.js';
import { computeRoots } from '../partition/roots.js';

export type Rule = 'atomic-user' | 'lock-call-side' | 'lock-split' | 'critical-user' | 'closure-user';

export const RULES: Record<Rule, { title: string; description: string }> = {
  'atomic-user': {
    title: 'Spinlock or interrupts-off region reaches user space',
    description: 'A function that takes a spinlock, rwlock or disables interrupts, or anything called while such a lock is held, is on the user side. User space cannot run in atomic context.',
  },
  'lock-call-side': {
    title: 'Call under a lock crosses the boundary',
    description: 'A function called while a (sleeping) lock is held is on the other side from the lock holder: the critical section would be split between kernel and user space.',
  },
  'lock-split': {
    title: 'Lock taken and released on different sides',
    description: 'A lock is taken in one function and released in another, and the two are on different sides.',
  },
  'critical-user': {
    title: 'Critical root in user space',
    description: 'A function that must stay in the kernel (interrupt or atomic context, user memory, DMA, hardware on a hot path, hot by the profile, data-path entry, or forced) is on the user side.',
  },
  'closure-user': {
    title: 'Function reached from a critical root in user space',
    description: 'A function called from kernel code that a critical root reaches is on the user side; everything a critical root reaches stays in the kernel.',
  },
};

export interface Breach {
  file: string;
  line: number;
  rule: Rule;
  lock?: string;
  holder?: string;
  misplaced: string;
  message: string;
}

/** The settings a plan was made with, to recompute what must stay in the kernel. */
function configOf(plan: Plan): Config {
  const c = defaultConfig();
  const pc = plan.config;
  const origins: Config['origins'] = {};
  for (const n of pc.kernel) origins[`kernel:${n}`] = { file: 'the plan' };
  for (const n of pc.user) origins[`user:${n}`] = { file: 'the plan' };
  return { ...c, ...pc, thresholds: { ...c.thresholds, ...pc.thresholds }, origins };
}

export interface CheckOptions {
  /** The plan file, for the error when the plan does not match the sources. */
  planFile?: string;
}

export function checkPlan(graph: CallGraph, plan: Plan, opts: CheckOptions = {}): Breach[] {
  const side = new Map<string, Side>();
  for (const f of plan.functions) side.set(f.id, f.side);
  graph.forEachNode((id, a) => {
    if (!side.has(id)) {
      throw new InputError(`the plan does not place ${id} (${a.fn.file}:${a.fn.startLine}); it was made from other sources: run analyze again`, opts.planFile);
    }
  });
  for (const f of plan.functions) {
    if (!graph.hasNode(f.id)) throw new InputError(`the plan places ${f.id}, which the sources do not define; it was made from other sources: run analyze again`, opts.planFile);
  }

  const config = configOf(plan);
  const g = indexGraph(graph, config.staticCallEstimate);
  const attrs = g.nodeAttrs;
  const roots = computeRoots(graph, g, config);
  const user = new Uint8Array(g.n);
  for (let i = 0; i < g.n; i++) user[i] = side.get(g.ids[i]) === 'user' ? 1 : 0;
  const sideName = (i: number): Side => (user[i] ? 'user' : 'kernel');
  const where = (i: number): { file: string; line: number } => ({ file: attrs[i].fn.file, line: attrs[i].fn.startLine });
  const siteOf = (u: number, v: number): { file: string; line: number } => {
    const key = graph.edge(g.ids[u], g.ids[v]);
    const s = key !== undefined ? graph.getEdgeAttribute(key, 'sites')[0] : undefined;
    return s ? { file: s.file, line: s.line } : where(u);
  };

  const breaches: Breach[] = [];
  const seen = new Set<string>();
  const report = (b: Breach): void => {
    const k = `${b.rule}|${b.lock ?? ''}|${b.holder ?? ''}|${b.misplaced}`;
    if (seen.has(k)) return;
    seen.add(k);
    breaches.push(b);
  };

  // Lock regions: the holder's side must hold everything called under the lock.
  for (let i = 0; i < g.n; i++) {
    for (const r of attrs[i].holds) {
      const holder = g.ids[i];
      const taken = `${r.primitive} at ${r.file}:${r.acquireLine}`;
      if (r.atomic && user[i]) {
        report({
          file: r.file,
          line: r.acquireLine,
          rule: 'atomic-user',
          lock: r.lock,
          holder,
          misplaced: holder,
          message: `${holder} takes ${r.lockText} (${taken}) but is on the user side; a spinlock or interrupts-off region must stay in the kernel`,
        });
      }
      // Everything reachable from the calls made under the lock runs under it.
      const parent = new Map<number, number>();
      const line = new Map<number, number>();
      const queue: number[] = [];
      for (const c of r.calls) {
        const j = g.index.get(c.callee);
        if (j === undefined || parent.has(j) || j === i) continue;
        parent.set(j, i);
        line.set(j, c.line);
        queue.push(j);
      }
      for (let h = 0; h < queue.length; h++) {
        const u = queue[h];
        for (let k = g.outStart[u]; k < g.outStart[u + 1]; k++) {
          const v = g.edgeDst[g.outEdges[k]];
          if (parent.has(v) || v === i) continue;
          parent.set(v, u);
          queue.push(v);
        }
      }
      for (const j of queue) {
        const p = parent.get(j)!;
        const loc = p === i ? { file: r.file, line: line.get(j)! } : siteOf(p, j);
        const via = p === i ? '' : ` (via ${g.ids[p]})`;
        if (r.atomic && user[j]) {
          report({
            file: loc.file,
            line: loc.line,
            rule: 'atomic-user',
            lock: r.lock,
            holder,
            misplaced: g.ids[j],
            message: `${g.ids[j]} is called${via} while ${holder} holds ${r.lockText} (${taken}) but is on the user side; a spinlock or interrupts-off region must stay in the kernel`,
          });
        } else if (!r.atomic && user[j] !== user[i]) {
          report({
            file: loc.file,
            line: loc.line,
            rule: 'lock-call-side',
            lock: r.lock,
            holder,
            misplaced: g.ids[j],
            message: `${g.ids[j]} is called${via} while ${holder} holds ${r.lockText} (${taken}); it is on the ${sideName(j)} side and ${holder} on the ${sideName(i)} side`,
          });
        }
      }
    }
  }

  // A lock taken in one function and released in another: all on one side.
  const byLock = new Map<string, { acq: number[]; rel: number[] }>();
  for (let i = 0; i < g.n; i++) {
    for (const [list, key] of [
      [attrs[i].fn.acquires, 'acq'],
      [attrs[i].fn.releases, 'rel'],
    ] as const) {
      for (const l of list) {
        let e = byLock.get(l);
        if (!e) byLock.set(l, (e = { acq: [], rel: [] }));
        e[key].push(i);
      }
    }
  }
  for (const [lock, { acq, rel }] of byLock) {
    for (const a of acq) {
      for (const b of rel) {
        if (user[a] === user[b]) continue;
        const misplaced = user[b] ? b : a;
        report({
          ...where(misplaced),
          rule: 'lock-split',
          lock,
          holder: g.ids[a],
          misplaced: g.ids[misplaced],
          message: `${lock} is taken in ${g.ids[a]} (${sideName(a)} side) and released in ${g.ids[b]} (${sideName(b)} side); both must be on one side`,
        });
      }
    }
  }

  // Critical roots, and what they reach through kernel code, on the user side.
  for (const i of roots.roots) {
    if (!user[i]) continue;
    const why = (roots.reasons.get(i) ?? []).filter((r) => !(r.kind === 'forced' && r.side === 'user') && r.kind !== 'reachable-from');
    report({
      ...where(i),
      rule: 'critical-user',
      misplaced: g.ids[i],
      message: `${g.ids[i]} must stay in the kernel but is on the user side: ${why.map(describeReason).join('; ')}`,
    });
  }
  for (let e = 0; e < g.edgeSrc.length; e++) {
    const u = g.edgeSrc[e];
    const v = g.edgeDst[e];
    if (!user[v] || user[u] || !roots.pinned[u] || !roots.pinned[v] || roots.roots.has(v)) continue;
    const r = (roots.reasons.get(v) ?? []).find((x) => x.kind === 'reachable-from');
    const root = r?.kind === 'reachable-from' ? r.root : g.ids[u];
    report({
      ...siteOf(u, v),
      rule: 'closure-user',
      holder: g.ids[u],
      misplaced: g.ids[v],
      message: `${g.ids[v]} is called by ${g.ids[u]}, which critical root ${root} reaches, but is on the user side; everything a critical root reaches stays in the kernel`,
    });
  }

  breaches.sort((x, y) => (x.file < y.file ? -1 : x.file > y.file ? 1 : x.line - y.line || (x.rule < y.rule ? -1 : x.rule > y.rule ? 1 : x.misplaced < y.misplaced ? -1 : 1)));
  return breaches;
}


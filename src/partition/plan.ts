/**
 * The partition plan: which side each function goes to and why, what the
 * boundary costs, the shared data and its locks. Format: docs/plan-format.md.
 */
import { createHash } from 'node:crypto';
import { betweenness as betweennessCentrality } from 'graphology-metrics/centrality/index.js';
import { InputError } from '../errors.js';
import type { CallGraph } from '../graph/model.js';
import type { Config } from './config.js';
import { estimatedCalls, closure, indexGraph } from './indexed.js';
import { FREE, KERNEL, USER, solvePlacement, type PlacementProblem } from './mincut.js';
import { computeRoots, type Reason } from './roots.js';
import { findShared, type SharedItem } from './shared.js';
import { HARDWARE_KINDS, isUserNative } from './tables.js';

export const PLAN_VERSION = 1;
/** Above this many functions betweenness centrality (O(V*E)) is skipped; the plan says so. */
export const BETWEENNESS_LIMIT = 2000;

export type Side = 'kernel' | 'user';

export interface PlanFunction {
  id: string;
  name: string;
  file: string;
  line: number;
  lines: number;
  side: Side;
  /** Must stay in the kernel whatever the cost (a root or reachable from one). */
  pinned: boolean;
  reasons: Reason[];
  /** For user-side functions: kernel functions they call, each call a crossing. */
  kernelCalls: { api: string; calls: number; assumed: number }[];
  /** For user-side functions: shared items (SharedItem.id) they depend on. */
  shared: string[];
  metrics: { weightedDegree: number; betweenness: number | null };
}

export interface CutEdge {
  caller: string;
  callee: string;
  direction: 'kernel->user' | 'user->kernel';
  /** Measured calls in the profiled run (0 without a profile). */
  calls: number;
  /** Calls the optimiser assumed (measured, else call sites times staticCallEstimate). */
  assumed: number;
  sites: { file: string; line: number }[];
}

export interface Plan {
  version: typeof PLAN_VERSION;
  /** sha256 of the sorted `id<TAB>side` lines: the kernel and user halves built from one plan share it. */
  planHash: string;
  /** The settings it was made with (annotations and origins stay in the config file). */
  config: Omit<Config, 'annotations' | 'origins'>;
  profiled: boolean;
  summary: {
    kernel: { functions: number; lines: number };
    user: { functions: number; lines: number };
    /** The objective the cut minimised, in line units. */
    cost: { kernelLines: number; crossingCost: number; total: number };
    /** For the profiled run: measured calls that now cross the boundary and what they cost. */
    predicted: { crossings: number; overheadUnits: number; overheadUs: number };
  };
  functions: PlanFunction[];
  cutEdges: CutEdge[];
  shared: SharedItem[];
  locks: { name: string; guards: string }[];
  metrics: {
    /** Share of the call weight (measured calls, or assumed ones without a profile) on cut edges. */
    crossingShare: number;
    betweenness: { computed: boolean; note: string };
  };
  notes: string[];
}

export function computePlanHash(functions: { id: string; side: Side }[]): string {
  const lines = functions.map((f) => `${f.id}\t${f.side}\n`).sort();
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/** Constraints found outside the graph: functions emit cannot carry across the boundary, by id. */
export interface PartitionOptions {
  uncrossable?: ReadonlyMap<string, { why: string; file: string; line: number }>;
}

export function partition(graph: CallGraph, config: Config, opts: PartitionOptions = {}): Plan {
  const g = indexGraph(graph, config.staticCallEstimate);
  const attrs = g.nodeAttrs;
  const roots = computeRoots(graph, g, config, opts.uncrossable);
  const { reasons, pinned, forcedUser } = roots;
  const addReason = (i: number, r: Reason): void => {
    const l = reasons.get(i);
    if (l) l.push(r);
    else reasons.set(i, [r]);
  };

  // Calls into the kernel API, each a crossing once the caller is in user space.
  const kernelCalls = new Float64Array(g.n);
  const kernelCallsList: PlanFunction['kernelCalls'][] = [];
  for (let i = 0; i < g.n; i++) {
    const list: PlanFunction['kernelCalls'] = [];
    const names = new Set<string>();
    for (const e of attrs[i].external) {
      names.add(e.name);
      if (isUserNative(e.name)) continue;
      list.push({ api: e.name, calls: Number(e.calls), assumed: estimatedCalls(e.calls, e.sites, g.profiled, config.staticCallEstimate) });
    }
    // Accessors reached through a driver macro may not appear as a call.
    const viaMacro = new Map<string, number>();
    for (const s of attrs[i].access) if (HARDWARE_KINDS.has(s.kind) && !names.has(s.api)) viaMacro.set(s.api, (viaMacro.get(s.api) ?? 0) + 1);
    for (const [api, sites] of viaMacro) list.push({ api, calls: 0, assumed: sites * config.staticCallEstimate });
    for (const k of list) kernelCalls[i] += k.assumed;
    kernelCallsList.push(list);
  }

  const fixed = new Uint8Array(g.n);
  for (let i = 0; i < g.n; i++) fixed[i] = forcedUser.has(i) ? USER : pinned[i] ? KERNEL : FREE;

  // Same-side constraints: a sleeping lock's holder with everything called
  // while it is held; a lock taken in one function and released in another.
  // Flattened pairs; pairs of two fixed functions constrain nothing and are skipped.
  const sameSide: number[] = [];
  const pair = (a: number, b: number): void => {
    if (fixed[a] === FREE || fixed[b] === FREE) sameSide.push(a, b);
  };
  const groupReason = new Map<number, { lock: string; with: string }>();
  const underLock: number[] = [];
  const startHolder = new Map<number, { lock: string; holder: number }>();
  for (let i = 0; i < g.n; i++) {
    for (const r of attrs[i].holds) {
      if (r.atomic) continue; // atomic regions are pinned to the kernel already
      for (const c of r.calls) {
        const j = g.index.get(c.callee);
        if (j === undefined || j === i) continue;
        pair(i, j);
        // The holder is tied to its callees too; name a fixed one, which decides its side.
        const prev = groupReason.get(i);
        if (prev === undefined || (fixed[j] !== FREE && fixed[g.index.get(prev.with)!] === FREE)) groupReason.set(i, { lock: r.lock, with: g.ids[j] });
        if (!startHolder.has(j)) startHolder.set(j, { lock: r.lock, holder: i });
        underLock.push(j);
      }
    }
  }
  const under = closure(g, underLock);
  for (const u of under.order) {
    const origin = startHolder.get(under.root[u])!;
    if (!groupReason.has(u)) groupReason.set(u, { lock: origin.lock, with: g.ids[origin.holder] });
    for (let k = g.outStart[u]; k < g.outStart[u + 1]; k++) {
      const v = g.edgeDst[g.outEdges[k]];
      if (v !== u) pair(u, v);
    }
  }
  const crossLock = new Map<string, number[]>();
  for (let i = 0; i < g.n; i++) {
    for (const l of new Set([...attrs[i].fn.acquires, ...attrs[i].fn.releases])) {
      const list = crossLock.get(l);
      if (list) list.push(i);
      else crossLock.set(l, [i]);
    }
  }
  for (const [lock, fs] of crossLock) {
    for (let k = 1; k < fs.length; k++) pair(fs[0], fs[k]);
    if (fs.length > 1) for (const i of fs) groupReason.set(i, { lock, with: g.ids[fs[i === fs[0] ? 1 : 0]] });
  }

  // Which fixed function, if any, decides the side of each same-side group:
  // the lock-group reason names it, since the local costs do not explain the placement.
  const groupOf = new Int32Array(g.n).map((_, i) => i);
  const find = (x: number): number => {
    while (groupOf[x] !== x) x = groupOf[x] = groupOf[groupOf[x]];
    return x;
  };
  for (let k = 0; k < sameSide.length; k += 2) groupOf[find(sameSide[k])] = find(sameSide[k + 1]);
  const groupFixed = new Map<number, number>();
  for (let i = 0; i < g.n; i++) if (fixed[i] !== FREE && !groupFixed.has(find(i))) groupFixed.set(find(i), i);

  const problem: PlacementProblem = {
    n: g.n,
    lines: attrs.map((a) => a.lines),
    kernelCalls,
    edgeSrc: g.edgeSrc,
    edgeDst: g.edgeDst,
    edgeCalls: g.edgeWeight,
    lpcCost: config.lpcCost,
    fixed,
    sameSide,
  };
  const placement = solvePlacement(problem);
  const kernel = placement.kernel;
  const notes: string[] = [];
  for (const [a, b] of placement.droppedPairs) {
    notes.push(`${g.ids[a]} and ${g.ids[b]} should share a side (lock), but one is forced to user space and the other must stay in the kernel; check reports it`);
  }

  // Local costs explain a free function's placement: its own terms of the objective on each side.
  const sideCost = { kernel: new Float64Array(g.n), user: new Float64Array(g.n) };
  for (let i = 0; i < g.n; i++) {
    sideCost.kernel[i] = attrs[i].lines;
    sideCost.user[i] = config.lpcCost * kernelCalls[i];
  }
  let crossingWeight = 0;
  let totalWeight = 0;
  let predictedCrossings = 0;
  const cutEdges: CutEdge[] = [];
  for (let e = 0; e < g.edgeSrc.length; e++) {
    const u = g.edgeSrc[e];
    const v = g.edgeDst[e];
    if (u === v) continue;
    const c = config.lpcCost * g.edgeWeight[e];
    // Staying on u's side of v costs nothing; the other side costs the crossing.
    (kernel[v] ? sideCost.user : sideCost.kernel)[u] += c;
    (kernel[u] ? sideCost.user : sideCost.kernel)[v] += c;
    const w = g.profiled ? g.edgeCalls[e] : g.edgeWeight[e];
    totalWeight += w;
    if (kernel[u] === kernel[v]) continue;
    crossingWeight += w;
    predictedCrossings += g.edgeCalls[e];
    const ea = g.edgeAttrs[e];
    cutEdges.push({
      caller: g.ids[u],
      callee: g.ids[v],
      direction: kernel[u] ? 'kernel->user' : 'user->kernel',
      calls: g.edgeCalls[e],
      assumed: g.edgeWeight[e],
      sites: ea.sites.map((s) => ({ file: s.file, line: s.line })),
    });
  }
  for (let i = 0; i < g.n; i++) if (!kernel[i]) for (const k of kernelCallsList[i]) predictedCrossings += k.calls;

  const shared = findShared(graph, g, kernel);

  const metricsNote =
    g.n <= BETWEENNESS_LIMIT
      ? 'betweenness centrality over call edges, unweighted (hop count), normalised'
      : `betweenness centrality skipped: ${g.n} functions is over the limit of ${BETWEENNESS_LIMIT} (its cost grows with functions times edges)`;
  const betweenness = g.n <= BETWEENNESS_LIMIT ? betweennessCentrality(graph, { getEdgeWeight: null, normalized: true }) : null;
  // Weighted degree (in + out, self-loops twice), as graphology-metrics' weightedDegree computes it, from the arrays.
  const degree = new Float64Array(g.n);
  for (let e = 0; e < g.edgeSrc.length; e++) {
    degree[g.edgeSrc[e]] += g.edgeWeight[e];
    degree[g.edgeDst[e]] += g.edgeWeight[e];
  }

  const functions: PlanFunction[] = [];
  let kLines = 0;
  let uLines = 0;
  let kCount = 0;
  for (let i = 0; i < g.n; i++) {
    const a = attrs[i];
    const side: Side = kernel[i] ? 'kernel' : 'user';
    if (fixed[i] === FREE) {
      addReason(i, { kind: 'min-cut', kernelCost: sideCost.kernel[i], userCost: sideCost.user[i] });
      const gr = groupReason.get(i);
      if (gr) {
        const f = groupFixed.get(find(i));
        addReason(i, f === undefined ? { kind: 'lock-group', lock: gr.lock, with: gr.with } : { kind: 'lock-group', lock: gr.lock, with: gr.with, fixedBy: g.ids[f] });
      }
    }
    if (side === 'kernel') {
      kLines += a.lines;
      kCount++;
    } else uLines += a.lines;
    if (side === 'user' && a.entry.some((e) => e.kind === 'module_init' || e.kind === 'module_exit')) {
      notes.push(
        a.entry.some((e) => e.kind === 'module_init')
          ? `${g.ids[i]} runs at module load, before the daemon can attach; it moves to user space: the kernel half's own init registers the LPC device and runs it once the daemon attaches`
          : `${g.ids[i]} runs at module unload; it moves to user space: the kernel half's exit calls it while the daemon is still attached, then unregisters the LPC device`,
      );
    }
    if (side === 'user' && pinned[i]) {
      notes.push(`${g.ids[i]} is forced to user space but must stay in the kernel (${(reasons.get(i) ?? []).filter((r) => r.kind !== 'forced').map((r) => r.kind).join(', ')}); check reports it`);
    }
    functions.push({
      id: g.ids[i],
      name: a.fn.name,
      file: a.fn.file,
      line: a.fn.startLine,
      lines: a.lines,
      side,
      pinned: pinned[i] === 1,
      reasons: reasons.get(i) ?? [],
      kernelCalls: side === 'user' ? kernelCallsList[i] : [],
      shared: side === 'user' ? (shared.userDeps.get(g.ids[i]) ?? []) : [],
      metrics: { weightedDegree: degree[i], betweenness: betweenness ? betweenness[g.ids[i]] : null },
    });
  }
  functions.sort((x, y) => (x.file < y.file ? -1 : x.file > y.file ? 1 : x.line - y.line || (x.id < y.id ? -1 : 1)));
  cutEdges.sort((x, y) => y.assumed - x.assumed || (x.caller + x.callee < y.caller + y.callee ? -1 : 1));

  const kernelLines = kLines;
  const total = placement.cost;
  return {
    version: PLAN_VERSION,
    planHash: computePlanHash(functions),
    config: {
      kernel: config.kernel,
      user: config.user,
      thresholds: config.thresholds,
      lpcCost: config.lpcCost,
      lpcRoundTripUs: config.lpcRoundTripUs,
      staticCallEstimate: config.staticCallEstimate,
      event: roots.event,
      closure: config.closure,
    },
    profiled: g.profiled,
    summary: {
      kernel: { functions: kCount, lines: kLines },
      user: { functions: g.n - kCount, lines: uLines },
      cost: { kernelLines, crossingCost: total - kernelLines, total },
      predicted: {
        crossings: predictedCrossings,
        overheadUnits: predictedCrossings * config.lpcCost,
        overheadUs: predictedCrossings * config.lpcRoundTripUs,
      },
    },
    functions,
    cutEdges,
    shared: shared.items,
    locks: shared.items.map((s) => ({ name: s.lock, guards: s.id })),
    metrics: {
      crossingShare: totalWeight > 0 ? crossingWeight / totalWeight : 0,
      betweenness: { computed: betweenness !== null, note: metricsNote },
    },
    notes,
  };
}

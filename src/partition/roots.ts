/**
 * Critical roots: the functions that must stay in the kernel, each with every
 * reason that applies, and the closure of everything they reach.
 */
import { InputError } from '../errors.js';
import type { CallGraph } from '../graph/model.js';
import type { LockClass } from '../parse/model.js';
import type { Config } from './config.js';
import { closure, type IndexedGraph } from './indexed.js';
import { DMA_CONFIG_APIS, HARDWARE_KINDS, IRQ_CONTEXT_APIS, IRQ_CONTEXT_ENTRIES, OPS_TABLE } from './tables.js';

export type Reason =
  /** Named in --kernel/--user or the config file. */
  | { kind: 'forced'; side: 'kernel' | 'user'; origin: string }
  /** Registered as an interrupt, timer, tasklet or NAPI handler, or an ops field that runs atomically. */
  | { kind: 'irq-context'; via: string; file: string; line: number }
  /** Holds a spinlock / interrupts-off region, or is called while one is held. */
  | { kind: 'atomic'; role: 'holder' | 'called'; lock: string; lockClass: LockClass; holder: string; file: string; line: number }
  /** Touches the calling process's memory (copy_from_user and friends). */
  | { kind: 'user-memory'; api: string; file: string; line: number }
  /** Uses the DMA API. */
  | { kind: 'dma'; api: string; file: string; line: number }
  /** Touches the hardware on a hot or atomic path. */
  | { kind: 'hardware-hot'; api: string; file: string; line: number; path: 'hot' | 'atomic'; root: string }
  /** Over a profile threshold. */
  | { kind: 'hot'; by: 'calls' | 'share'; calls: number; share: number; event: string | null }
  /** A data-path entry point (file_operations.read, ndo_start_xmit ...). */
  | { kind: 'data-path'; structType: string; field: string; file: string; line: number }
  /** Reached through the call graph from a critical root; `via` is the caller on the path. */
  | { kind: 'reachable-from'; root: string; via: string }
  /** Placed by the minimum cut: what this function would cost on each side, the others staying put. */
  | { kind: 'min-cut'; kernelCost: number; userCost: number }
  /** Held on one side with others because of a lock (called under it, or taken and released in different functions). */
  | { kind: 'lock-group'; lock: string; with: string; fixedBy?: string }
  /** Its arguments or the data it uses cannot be marshalled across the boundary (planning for emit). */
  | { kind: 'cannot-cross'; why: string; file: string; line: number };

/** Reasons that pin a function to the kernel on their own (not the placement notes). */
export const ROOT_KINDS: ReadonlySet<Reason['kind']> = new Set(['forced', 'irq-context', 'atomic', 'user-memory', 'dma', 'hardware-hot', 'hot', 'data-path', 'cannot-cross']);

export interface RootAnalysis {
  /** Reasons per function index (only functions that have some). */
  reasons: Map<number, Reason[]>;
  /** Critical roots (a root kind other than forced-user). */
  roots: Set<number>;
  /** Roots plus everything they reach: must stay in the kernel. */
  pinned: Uint8Array;
  forcedUser: Set<number>;
  /** The profile event the hot share was measured in. */
  event: string | null;
}

/** Resolve a forced name: a function id (`file:name` for statics) or a bare name matching every function of that name. */
export function resolveNames(g: IndexedGraph, graph: CallGraph, names: string[], side: 'kernel' | 'user', config: Config): number[] {
  const byName = new Map<string, number[]>();
  graph.forEachNode((id, a) => {
    const list = byName.get(a.fn.name);
    if (list) list.push(g.index.get(id)!);
    else byName.set(a.fn.name, [g.index.get(id)!]);
  });
  const out: number[] = [];
  for (const name of names) {
    const exact = g.index.get(name);
    const found = exact !== undefined ? [exact] : byName.get(name) ?? [];
    if (found.length === 0) {
      const o = config.origins[`${side}:${name}`];
      const where = o?.option ? `${o.option}: ` : '';
      throw new InputError(`${where}no function "${name}" in the sources (forced to the ${side} side)`, o?.option ? undefined : o?.file, o?.line);
    }
    out.push(...found);
  }
  return out;
}

export function originText(config: Config, side: 'kernel' | 'user', name: string): string {
  const o = config.origins[`${side}:${name}`];
  if (!o) return 'config';
  if (o.option) return `${o.option} on the command line`;
  return o.line === undefined ? o.file : `${o.file}:${o.line}`;
}

export function computeRoots(graph: CallGraph, g: IndexedGraph, config: Config, uncrossable?: ReadonlyMap<string, { why: string; file: string; line: number }>): RootAnalysis {
  const reasons = new Map<number, Reason[]>();
  const add = (i: number, r: Reason): void => {
    const list = reasons.get(i);
    if (list) list.push(r);
    else reasons.set(i, [r]);
  };
  const attrs = g.nodeAttrs;

  const forcedUser = new Set<number>();
  for (const name of config.kernel) for (const i of resolveNames(g, graph, [name], 'kernel', config)) add(i, { kind: 'forced', side: 'kernel', origin: originText(config, 'kernel', name) });
  for (const name of config.user) {
    for (const i of resolveNames(g, graph, [name], 'user', config)) {
      forcedUser.add(i);
      add(i, { kind: 'forced', side: 'user', origin: originText(config, 'user', name) });
    }
  }

  for (const [id, u] of uncrossable ?? []) {
    const i = g.index.get(id);
    if (i !== undefined) add(i, { kind: 'cannot-cross', why: u.why, file: u.file, line: u.line });
  }

  const events = graph.getAttribute('events') ?? [];
  const event = config.event ?? events[0] ?? null;
  if (config.event !== null && events.length > 0 && !events.includes(config.event)) {
    throw new InputError(`the profile has no event "${config.event}" (it has ${events.join(', ')})`, config.file);
  }
  const total = event !== null ? (graph.getAttribute('totals')?.[event] ?? 0n) : 0n;

  // Roots of the two paths on which hardware access pins a function.
  const atomicStarts: number[] = [];
  const hotStarts: number[] = [];
  /** Line spans of each function's atomic lock regions. */
  const heldSpans = new Map<number, [number, number][]>();

  for (let i = 0; i < g.n; i++) {
    const a = attrs[i];
    let initOnly = false;
    for (const e of a.entry) {
      if (e.kind === 'module_init' || e.kind === 'module_exit') initOnly = true;
      if (IRQ_CONTEXT_ENTRIES.has(e.kind) || (e.api !== undefined && IRQ_CONTEXT_APIS.has(e.api))) {
        add(i, { kind: 'irq-context', via: e.api ?? e.kind, file: e.file, line: e.line });
        atomicStarts.push(i);
      }
      if (e.structType !== undefined && e.field !== undefined) {
        const classes = OPS_TABLE[e.structType]?.[e.field] ?? [];
        if (classes.includes('data-path')) {
          add(i, { kind: 'data-path', structType: e.structType, field: e.field, file: e.file, line: e.line });
          hotStarts.push(i);
        }
        if (classes.includes('atomic')) {
          add(i, { kind: 'irq-context', via: `${e.structType}.${e.field}`, file: e.file, line: e.line });
          atomicStarts.push(i);
        }
      }
    }
    for (const s of a.access) {
      if (s.kind === 'user_memory') add(i, { kind: 'user-memory', api: s.api, file: s.file, line: s.line });
      else if (s.kind === 'dma' && !DMA_CONFIG_APIS.has(s.api)) add(i, { kind: 'dma', api: s.api, file: s.file, line: s.line });
    }
    for (const r of a.holds) {
      if (!r.atomic) continue;
      add(i, { kind: 'atomic', role: 'holder', lock: r.lock, lockClass: r.lockClass, holder: g.ids[i], file: r.file, line: r.acquireLine });
      // The holder is atomic only inside its region: what it calls after unlocking is not on an atomic path.
      const to = r.releaseLines.length > 0 ? Math.max(...r.releaseLines) : a.fn.endLine;
      const spans = heldSpans.get(i);
      if (spans) spans.push([r.acquireLine, to]);
      else heldSpans.set(i, [[r.acquireLine, to]]);
      for (const c of r.calls) {
        const j = g.index.get(c.callee);
        if (j === undefined) continue;
        add(j, { kind: 'atomic', role: 'called', lock: r.lock, lockClass: r.lockClass, holder: g.ids[i], file: r.file, line: c.line });
        atomicStarts.push(j);
      }
    }
    const calls = Number(a.callsIn);
    const incl = event !== null ? (a.inclusive[event] ?? 0n) : 0n;
    // Parts per million keeps bigint costs beyond 2^53 exact enough for a threshold.
    const share = total > 0n ? Number((incl * 1_000_000n) / total) / 1_000_000 : 0;
    if (calls >= config.thresholds.hotCalls) {
      add(i, { kind: 'hot', by: 'calls', calls, share, event });
      hotStarts.push(i);
    } else if (!initOnly && total > 0n && share >= config.thresholds.hotShare) {
      // Module init and exit run once; their cost is one-off, not a hot path.
      add(i, { kind: 'hot', by: 'share', calls, share, event });
      hotStarts.push(i);
    }
  }

  // Hardware access pins a function only on an atomic or hot path.
  /** Hardware reasons from a holder's own lock region: they pin the holder, not what it calls after unlocking. */
  const regionOnly = new WeakSet<Reason>();
  const atomicPath = closure(g, atomicStarts);
  const hotPath = closure(g, hotStarts);
  for (let i = 0; i < g.n; i++) {
    const onAtomic = atomicPath.root[i] !== -1;
    const onHot = hotPath.root[i] !== -1;
    const spans = heldSpans.get(i);
    if (!onAtomic && !onHot && spans === undefined) continue;
    const seen = new Set<string>();
    for (const s of attrs[i].access) {
      if (!HARDWARE_KINDS.has(s.kind) || seen.has(s.api)) continue;
      const held = spans?.some(([from, to]) => s.line >= from && s.line <= to) ?? false;
      if (!onAtomic && !onHot && !held) continue;
      seen.add(s.api); // one reason per accessor, at its first qualifying site
      const path = onAtomic || held ? 'atomic' : 'hot';
      const root = onAtomic ? g.ids[atomicPath.root[i]] : held ? g.ids[i] : g.ids[hotPath.root[i]];
      const r: Reason = { kind: 'hardware-hot', api: s.api, file: s.file, line: s.line, path, root };
      if (!onAtomic && !onHot) regionOnly.add(r);
      add(i, r);
    }
  }

  const roots = new Set<number>();
  for (const [i, rs] of reasons) if (rs.some((r) => ROOT_KINDS.has(r.kind) && !(r.kind === 'forced' && r.side === 'user'))) roots.add(i);
  // Which roots pin what they reach. A spinlock holder stays itself, but only
  // the calls inside its region (roots of their own) follow it.
  const spreads = (r: Reason): boolean => {
    if (r.kind === 'atomic') return r.role === 'called';
    if (regionOnly.has(r)) return false;
    if (config.closure === 'atomic') return r.kind === 'irq-context' || (r.kind === 'hardware-hot' && r.path === 'atomic');
    return ROOT_KINDS.has(r.kind) && !(r.kind === 'forced' && r.side === 'user');
  };
  const sources = [...roots].filter((i) => reasons.get(i)!.some(spreads));
  const reach = closure(g, sources);
  const pinned = new Uint8Array(g.n);
  for (const i of roots) pinned[i] = 1;
  for (const i of reach.order) {
    pinned[i] = 1;
    if (!roots.has(i)) add(i, { kind: 'reachable-from', root: g.ids[reach.root[i]], via: g.ids[reach.parent[i]] });
  }
  // A root that another root reaches gets that reason too (every reason that applies).
  const noted = new Uint8Array(g.n);
  for (const u of reach.order) {
    for (let k = g.outStart[u]; k < g.outStart[u + 1]; k++) {
      const v = g.edgeDst[g.outEdges[k]];
      if (v === u || !roots.has(v) || noted[v] || reach.root[u] === v) continue;
      noted[v] = 1;
      add(v, { kind: 'reachable-from', root: g.ids[reach.root[u]], via: g.ids[u] });
    }
  }
  return { reasons, roots, pinned, forcedUser, event };
}

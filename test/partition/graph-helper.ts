/** Builds CallGraph objects for tests: nodes and edges with defaults, only what a test cares about spelled out. */
import { DirectedGraph } from 'graphology';
import type { CallGraph, EdgeAttrs, GraphAttrs, NodeAttrs } from '../../src/graph/model.js';
import type { AccessKind, EntryKind, GlobalVar, LockClass, Param } from '../../src/parse/model.js';

export interface FnSpec {
  id: string;
  lines?: number;
  file?: string;
  line?: number;
  params?: Param[];
  entry?: { kind: EntryKind; structType?: string; field?: string; api?: string; line?: number }[];
  access?: { kind: AccessKind; api: string; line?: number }[];
  holds?: { lock: string; primitive?: string; lockClass?: LockClass; atomic?: boolean; line?: number; calls: { callee: string; line: number }[] }[];
  reads?: string[];
  writes?: string[];
  external?: { name: string; sites?: number; calls?: number }[];
  callsIn?: number;
  inclusive?: Record<string, number>;
  acquires?: string[];
  releases?: string[];
}

export interface CallSpec {
  from: string;
  to: string;
  calls?: number;
  line?: number;
  sites?: number;
}

export function makeGraph(spec: {
  functions: FnSpec[];
  calls?: CallSpec[];
  events?: string[];
  totals?: Record<string, number>;
  globals?: Partial<GlobalVar>[];
}): CallGraph {
  const g: CallGraph = new DirectedGraph<NodeAttrs, EdgeAttrs, GraphAttrs>({ allowSelfLoops: true });
  const toBig = (r: Record<string, number> = {}): Record<string, bigint> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, BigInt(v)]));
  g.replaceAttributes({
    events: spec.events ?? [],
    totals: toBig(spec.totals),
    unmatched: [],
    globals: spec.globals?.map((gv) => ({ id: gv.name!, name: gv.name!, file: 'drv.c', line: 1, type: 'int', isStatic: true, readers: [], writers: [], ...gv })),
  });
  for (const f of spec.functions) {
    const file = f.file ?? 'drv.c';
    const line = f.line ?? 10;
    const lines = f.lines ?? 10;
    g.addNode(f.id, {
      fn: {
        id: f.id,
        name: f.id.slice(f.id.lastIndexOf(':') + 1),
        file,
        startLine: line,
        endLine: line + lines - 1,
        lines,
        returnType: 'int',
        params: f.params ?? [],
        isStatic: true,
        isInline: false,
        acquires: f.acquires ?? [],
        releases: f.releases ?? [],
      },
      lines,
      self: {},
      inclusive: toBig(f.inclusive),
      callsIn: BigInt(f.callsIn ?? 0),
      entry: (f.entry ?? []).map((e) => ({ function: f.id, file, line: e.line ?? 1, ...e })),
      access: (f.access ?? []).map((a) => ({ function: f.id, file, line: a.line ?? line + 1, ...a })),
      holds: (f.holds ?? []).map((h) => ({
        function: f.id,
        file,
        primitive: h.primitive ?? 'spin_lock',
        lockClass: h.lockClass ?? 'spin',
        atomic: h.atomic ?? true,
        lock: h.lock,
        lockText: h.lock.replace(/^struct \w+\./, 'p->'),
        acquireLine: h.line ?? line + 1,
        releaseLines: [(h.line ?? line + 1) + 5],
        calls: h.calls,
      })),
      reads: f.reads ?? [],
      writes: f.writes ?? [],
      external: (f.external ?? []).map((e) => ({ name: e.name, sites: e.sites ?? 1, calls: BigInt(e.calls ?? 0) })),
      profileKeys: [],
    });
  }
  for (const c of spec.calls ?? []) {
    const calls = BigInt(c.calls ?? 0);
    const nSites = c.sites ?? 1;
    const line = c.line ?? g.getNodeAttributes(c.from).fn.startLine + 2;
    g.addDirectedEdgeWithKey(`${c.from}->${c.to}`, c.from, c.to, {
      calls,
      inclusive: {},
      sites: Array.from({ length: nSites }, (_, k) => ({ file: g.getNodeAttributes(c.from).fn.file, line: line + k, kind: 'direct' })),
      staticOnly: calls === 0n && nSites > 0,
      dynamicOnly: nSites === 0,
    });
  }
  return g;
}

/**
 * Joins the driver model (what the source says) and a profile (what a run
 * did) into one weighted call graph: node weight = lines, edge weight =
 * dynamic call count.
 */
import { DirectedGraph } from 'graphology';
import path from 'node:path';
import type { Profile, ProfileFunction } from '../callgrind/model.js';
import type { DriverModel, FunctionDef } from '../parse/model.js';
import type { CallGraph, EdgeAttrs, GraphAttrs, NodeAttrs } from './model.js';

export function edgeKey(caller: string, callee: string): string {
  return `${caller}->${callee}`;
}

/**
 * Callgrind decorates names: `fib'2` (--separate-recs), `f'g` (--separate-callers),
 * and C++-style argument lists never occur in C. The source name is what
 * precedes the first quote.
 */
export function profileBaseName(name: string): string {
  const q = name.indexOf("'");
  return q < 0 ? name : name.slice(0, q);
}

function byEvent(events: string[], values: bigint[]): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  events.forEach((e, i) => {
    out[e] = values[i] ?? 0n;
  });
  return out;
}

function addInto(into: Record<string, bigint>, from: Record<string, bigint>): void {
  for (const [e, v] of Object.entries(from)) into[e] = (into[e] ?? 0n) + v;
}

/** Length of the common path suffix, in components: how well two paths agree on a file. */
function suffixMatch(a: string, b: string): number {
  const pa = path.normalize(a).split(path.sep).reverse();
  const pb = path.normalize(b).split(path.sep).reverse();
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  return n;
}

/**
 * Finds the source function a profile function stands for. Static functions
 * need the file to agree (two static `helper`s in two files stay apart); a
 * non-static name is unique in a linked driver.
 */
function matchFunction(pf: ProfileFunction, byName: Map<string, FunctionDef[]>): FunctionDef | undefined {
  const candidates = byName.get(profileBaseName(pf.name));
  if (!candidates) return undefined;
  let best: FunctionDef | undefined;
  let bestScore = 0;
  for (const fn of candidates) {
    const score = pf.file ? suffixMatch(pf.file, fn.file) : 0;
    if (score > bestScore) {
      best = fn;
      bestScore = score;
    }
  }
  if (best) return best;
  const global = candidates.filter((f) => !f.isStatic);
  if (global.length === 1) return global[0];
  return candidates.length === 1 && !pf.file ? candidates[0] : undefined;
}

function externalOf(graph: CallGraph, caller: string, name: string) {
  const ext = graph.getNodeAttributes(caller).external;
  let e = ext.find((x) => x.name === name);
  if (!e) {
    e = { name, sites: 0, calls: 0n };
    ext.push(e);
  }
  return e;
}

export function buildGraph(model: DriverModel, profile?: Profile): CallGraph {
  const events = profile?.events ?? [];
  const attrs: GraphAttrs = {
    events,
    totals: profile ? byEvent(events, profile.totals) : {},
    unmatched: [],
    globals: model.globals,
  };
  const graph: CallGraph = new DirectedGraph<NodeAttrs, EdgeAttrs, GraphAttrs>({ allowSelfLoops: true });
  graph.replaceAttributes(attrs);

  const byName = new Map<string, FunctionDef[]>();
  for (const fn of model.functions) {
    graph.addNode(fn.id, {
      fn,
      lines: fn.lines,
      self: {},
      inclusive: {},
      callsIn: 0n,
      entry: [],
      access: [],
      holds: [],
      reads: [],
      writes: [],
      external: [],
      profileKeys: [],
    });
    const list = byName.get(fn.name) ?? [];
    list.push(fn);
    byName.set(fn.name, list);
  }
  for (const e of model.entryPoints) if (graph.hasNode(e.function)) graph.getNodeAttributes(e.function).entry.push(e);
  for (const a of model.access) if (graph.hasNode(a.function)) graph.getNodeAttributes(a.function).access.push(a);
  for (const l of model.locks) if (graph.hasNode(l.function)) graph.getNodeAttributes(l.function).holds.push(l);
  for (const g of model.globals) {
    for (const r of g.readers) if (graph.hasNode(r)) graph.getNodeAttributes(r).reads.push(g.id);
    for (const w of g.writers) if (graph.hasNode(w)) graph.getNodeAttributes(w).writes.push(g.id);
  }

  for (const c of model.calls) {
    if (!graph.hasNode(c.caller)) continue;
    if (!graph.hasNode(c.callee)) {
      externalOf(graph, c.caller, c.callee).sites++;
      continue;
    }
    const key = edgeKey(c.caller, c.callee);
    if (!graph.hasEdge(key)) {
      graph.addDirectedEdgeWithKey(key, c.caller, c.callee, {
        calls: 0n,
        inclusive: {},
        sites: [],
        staticOnly: true,
        dynamicOnly: false,
      });
    }
    graph.getEdgeAttributes(key).sites.push({ file: c.file, line: c.line, kind: c.kind });
  }

  if (profile) attachProfile(graph, profile, byName);
  return graph;
}

function attachProfile(graph: CallGraph, profile: Profile, byName: Map<string, FunctionDef[]>): void {
  const { events } = profile;
  const nodeOf = new Map<string, string>(); // profile key -> node id
  const pfByKey = new Map<string, ProfileFunction>();
  for (const pf of profile.functions) {
    pfByKey.set(pf.key, pf);
    const fn = matchFunction(pf, byName);
    if (fn) {
      nodeOf.set(pf.key, fn.id);
      const n = graph.getNodeAttributes(fn.id);
      n.profileKeys.push(pf.key);
      addInto(n.self, byEvent(events, pf.self));
    } else {
      graph.getAttribute('unmatched').push({
        key: pf.key,
        name: pf.name,
        file: pf.file,
        self: byEvent(events, pf.self),
        inclusive: byEvent(events, pf.inclusive),
      });
    }
  }

  // A node's inclusive cost: the profile functions that stand for it and are
  // not called from one another (fib and its recursion copy fib'2 would
  // otherwise count twice; f'a and f'b from --separate-callers add up).
  const calledFromSameNode = new Set<string>();
  for (const c of profile.calls) {
    const from = nodeOf.get(c.caller);
    if (from !== undefined && from === nodeOf.get(c.callee) && c.caller !== c.callee) calledFromSameNode.add(c.callee);
  }
  for (const [key, node] of nodeOf) {
    if (calledFromSameNode.has(key)) continue;
    addInto(graph.getNodeAttributes(node).inclusive, byEvent(events, pfByKey.get(key)!.inclusive));
  }

  for (const c of profile.calls) {
    const to = nodeOf.get(c.callee);
    const from = nodeOf.get(c.caller);
    if (to !== undefined) graph.getNodeAttributes(to).callsIn += c.count;
    if (from === undefined) continue;
    if (to === undefined) {
      const callee = pfByKey.get(c.callee);
      const name = callee ? profileBaseName(callee.name) : c.callee;
      externalOf(graph, from, name).calls += c.count;
      continue;
    }
    const key = edgeKey(from, to);
    if (!graph.hasEdge(key)) {
      graph.addDirectedEdgeWithKey(key, from, to, { calls: 0n, inclusive: {}, sites: [], staticOnly: false, dynamicOnly: true });
    }
    const e = graph.getEdgeAttributes(key);
    e.calls += c.count;
    e.staticOnly = false;
    addInto(e.inclusive, byEvent(events, c.inclusive));
  }
}

/**
 * The call graph as integer arrays: the partitioner, the closures and the
 * checker walk 100,000-node graphs, which graphology's per-call callbacks and
 * string keys make slow.
 */
import type { CallGraph, EdgeAttrs, NodeAttrs } from '../graph/model.js';

export interface IndexedGraph {
  n: number;
  ids: string[];
  index: Map<string, number>;
  nodeAttrs: NodeAttrs[];
  edgeAttrs: EdgeAttrs[];
  /** Out-edges in CSR form: edges of node i are outStart[i] .. outStart[i+1]-1 (edge numbers). */
  outStart: Int32Array;
  outEdges: Int32Array;
  edgeSrc: Int32Array;
  edgeDst: Int32Array;
  edgeKey: string[];
  /** Measured call count (0 when the profile never saw the edge). */
  edgeCalls: Float64Array;
  /** Calls the optimiser assumes: measured, else call sites times the static estimate. */
  edgeWeight: Float64Array;
  /** Whether the graph carries a profile. */
  profiled: boolean;
}

/** Calls assumed for a call the profile did not count. */
export function estimatedCalls(measured: bigint, sites: number, profiled: boolean, staticCallEstimate: number): number {
  if (profiled && measured > 0n) return Number(measured);
  return Math.max(sites, 1) * staticCallEstimate;
}

export function indexGraph(graph: CallGraph, staticCallEstimate: number): IndexedGraph {
  const ids: string[] = [];
  const nodeAttrs: NodeAttrs[] = [];
  const index = new Map<string, number>();
  graph.forEachNode((id, a) => {
    index.set(id, ids.length);
    ids.push(id);
    nodeAttrs.push(a);
  });
  const n = ids.length;
  const profiled = (graph.getAttribute('events') ?? []).length > 0;
  const m = graph.size;
  const edgeSrc = new Int32Array(m);
  const edgeDst = new Int32Array(m);
  const edgeCalls = new Float64Array(m);
  const edgeWeight = new Float64Array(m);
  const edgeKey: string[] = new Array<string>(m);
  const edgeAttrs: EdgeAttrs[] = new Array<EdgeAttrs>(m);
  const outDeg = new Int32Array(n + 1);
  let e = 0;
  graph.forEachEdge((key, attrs, source, target) => {
    const s = index.get(source)!;
    edgeSrc[e] = s;
    edgeDst[e] = index.get(target)!;
    edgeKey[e] = key;
    edgeAttrs[e] = attrs;
    edgeCalls[e] = Number(attrs.calls);
    edgeWeight[e] = estimatedCalls(attrs.calls, attrs.sites.length, profiled, staticCallEstimate);
    outDeg[s + 1]++;
    e++;
  });
  const outStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) outStart[i + 1] = outStart[i] + outDeg[i + 1];
  const fill = outStart.slice(0, n);
  const outEdges = new Int32Array(m);
  for (let k = 0; k < m; k++) outEdges[fill[edgeSrc[k]]++] = k;
  return { n, ids, index, nodeAttrs, edgeAttrs, outStart, outEdges, edgeSrc, edgeDst, edgeKey, edgeCalls, edgeWeight, profiled };
}

/**
 * Breadth-first closure over call edges from the given start nodes. Returns,
 * for every reached node, the start it was reached from and its predecessor
 * (-1 for the starts themselves), so a reason can name the path.
 */
export function closure(g: IndexedGraph, starts: Iterable<number>): { root: Int32Array; parent: Int32Array; order: number[] } {
  const root = new Int32Array(g.n).fill(-1);
  const parent = new Int32Array(g.n).fill(-1);
  const order: number[] = [];
  for (const s of starts) {
    if (root[s] !== -1) continue;
    root[s] = s;
    order.push(s);
  }
  for (let h = 0; h < order.length; h++) {
    const u = order[h];
    for (let k = g.outStart[u]; k < g.outStart[u + 1]; k++) {
      const v = g.edgeDst[g.outEdges[k]];
      if (root[v] !== -1) continue;
      root[v] = root[u];
      parent[v] = u;
      order.push(v);
    }
  }
  return { root, parent, order };
}

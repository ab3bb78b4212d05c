/**
 * Partitioning speed on a synthetic driver of 100,000 functions: a layered
 * random call graph (average out-degree 5, calls mostly towards deeper
 * helpers), profile counts on the edges, interrupt handlers, spinlock and
 * mutex regions, hardware accessors, and a module init at the top.
 */
import { DirectedGraph } from 'graphology';
import { performance } from 'node:perf_hooks';
import type { CallGraph, EdgeAttrs, GraphAttrs, NodeAttrs } from '../src/graph/model.js';
import type { EntryPoint, LockRegion } from '../src/parse/model.js';
import { defaultConfig } from '../src/partition/config.js';
import { partition } from '../src/partition/plan.js';
import { rng } from '../test/support/rng.js';


export function syntheticGraph(n: number, seed = 1): CallGraph {
  const r = rng(seed);
  const g: CallGraph = new DirectedGraph<NodeAttrs, EdgeAttrs, GraphAttrs>({ allowSelfLoops: true });
  g.replaceAttributes({ events: ['Ir'], totals: { Ir: 10_000_000_000n }, unmatched: [] });
  const id = (i: number): string => `f${i}`;
  // Modules of 500 functions: entry points at the top, helpers below; the
  // interrupt handler and the spinlock holders sit low, so that (as in a real
  // driver) their closure is a minority of the code.
  const MOD = 500;
  const callsIn = new Array<bigint>(n).fill(0n);
  const edges: [number, number, bigint, number][] = [];
  for (let i = 0; i < n; i++) {
    const base = i - (i % MOD);
    const pos = i % MOD;
    const deg = Math.floor(r() * 11); // mean 5
    for (let k = 0; k < deg; k++) {
      // Mostly deeper helpers of the same module; 3% to shared library code of module 0's bottom layer.
      const j = r() < 0.97 ? base + Math.min(MOD - 1, pos + 1 + Math.floor(r() * 40)) : MOD - 1 - Math.floor(r() * 20);
      if (j === i || j >= n) continue;
      // Configuration code (upper layers) runs a few times; the lower layers carry the traffic.
      const calls = r() < 0.3 ? 0n : BigInt(pos < 300 ? Math.floor(r() * 5) : Math.floor(r() ** 3 * 3000));
      edges.push([i, j, calls, 20 + k]);
      callsIn[j] += calls;
    }
  }
  for (let i = 0; i < n; i++) {
    const pos = i % MOD;
    const lines = 3 + Math.floor(r() * r() * 120);
    const file = `drv${Math.floor(i / MOD)}.c`;
    const entry: EntryPoint[] = [];
    if (pos === 400) entry.push({ function: id(i), kind: 'irq', api: 'request_irq', file, line: 1 });
    if (pos === 0) entry.push({ function: id(i), kind: 'module_init', file, line: 1 });
    g.addNode(id(i), {
      fn: { id: id(i), name: id(i), file, startLine: 10, endLine: 9 + lines, lines, returnType: 'int', params: [], isStatic: false, isInline: false, acquires: [], releases: [] },
      lines,
      self: {},
      inclusive: {},
      callsIn: callsIn[i],
      entry,
      access: r() < 0.1 ? [{ function: id(i), kind: 'mmio', api: 'iowrite32', file, line: 12 }] : [],
      holds: [],
      reads: r() < 0.05 ? [`g${Math.floor(r() * 500)}`] : [],
      writes: r() < 0.02 ? [`g${Math.floor(r() * 500)}`] : [],
      external: r() < 0.1 ? [{ name: 'iowrite32', sites: 1 + Math.floor(r() * 4), calls: BigInt(Math.floor(r() * 100)) }] : [],
      profileKeys: [],
    });
  }
  for (const [i, j, calls, line] of edges) {
    const key = `${id(i)}->${id(j)}`;
    if (g.hasEdge(key)) continue;
    g.addDirectedEdgeWithKey(key, id(i), id(j), { calls, inclusive: {}, sites: [{ file: `drv${Math.floor(i / MOD)}.c`, line, kind: 'direct' }], staticOnly: calls === 0n, dynamicOnly: false });
  }
  // A spinlock holder low in every module, and a mutex holder higher up.
  for (let i = 0; i < n; i++) {
    const pos = i % MOD;
    const atomic = pos === 430;
    if (!atomic && pos !== 100) continue;
    const callees = g.outNeighbors(id(i)).slice(0, 2);
    const region: LockRegion = {
      function: id(i),
      file: g.getNodeAttributes(id(i)).fn.file,
      primitive: atomic ? 'spin_lock_irqsave' : 'mutex_lock',
      lockClass: atomic ? 'spin' : 'mutex',
      atomic,
      lock: `struct priv${Math.floor(i / MOD)}.lock`,
      lockText: 'p->lock',
      acquireLine: 11,
      releaseLines: [14],
      calls: callees.map((c) => ({ callee: c, line: 12 })),
    };
    g.getNodeAttributes(id(i)).holds.push(region);
  }
  return g;
}

export async function benchPartition(reportLines: string[]): Promise<void> {
  const n = 100_000;
  const t0 = performance.now();
  const graph = syntheticGraph(n);
  const built = performance.now() - t0;
  const config = defaultConfig();
  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  const plan = partition(graph, config);
  const ms = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  reportLines.push(
    `| partition | ${n.toLocaleString('en')} functions, ${graph.size.toLocaleString('en')} call edges | ${(ms / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU | kernel ${plan.summary.kernel.functions.toLocaleString('en')} / user ${plan.summary.user.functions.toLocaleString('en')} functions, ${plan.cutEdges.length.toLocaleString('en')} cut edges (graph built in ${(built / 1000).toFixed(2)} s; betweenness ${plan.metrics.betweenness.computed ? 'computed' : 'skipped'}) |`,
  );
}

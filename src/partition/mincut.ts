/**
 * Exact placement by a minimum s-t cut (Dinic's algorithm).
 *
 * Cost of an assignment of functions to kernel (K) or user (U):
 *   sum over f in K of lines(f)
 * + lpcCost * sum over call edges (u, v) with u, v on different sides of calls(u, v)
 * + lpcCost * sum over f in U of kernelCalls(f)   (its calls into the kernel API)
 * subject to fixed sides and same-side groups.
 *
 * Network: source s = kernel, sink t = user. A free f gets f->t with capacity
 * lines(f) (cut when f stays in the kernel) and s->f with capacity
 * lpcCost*kernelCalls(f) (cut when f moves out). A call edge gets capacity
 * lpcCost*calls in both directions (cut whichever way it crosses). Functions
 * fixed to the kernel are merged into s, those fixed to user space into t,
 * and each same-side group into one vertex, so every capacity is finite.
 */

export interface PlacementProblem {
  n: number;
  /** Cost of keeping each function in the kernel (its lines). */
  lines: ArrayLike<number>;
  /** Calls it makes into the kernel API, each a crossing if it moves to user space. */
  kernelCalls: ArrayLike<number>;
  edgeSrc: ArrayLike<number>;
  edgeDst: ArrayLike<number>;
  /** Calls along each edge. */
  edgeCalls: ArrayLike<number>;
  lpcCost: number;
  /** 0 free, 1 kernel, 2 user. */
  fixed: ArrayLike<number>;
  /** Pairs that must share a side, flattened: [a0, b0, a1, b1, ...]. A pair that would join a kernel-fixed and a user-fixed function is dropped. */
  sameSide: ArrayLike<number>;
}

export const FREE = 0;
export const KERNEL = 1;
export const USER = 2;

export interface Placement {
  /** 1 = kernel, 0 = user. */
  kernel: Uint8Array;
  cost: number;
  /** Same-side pairs that could not be honoured (fixed sides disagree). */
  droppedPairs: [number, number][];
}

/** The cost of an assignment, straight from the definition above. */
export function placementCost(p: PlacementProblem, kernel: Uint8Array): number {
  let cost = 0;
  for (let i = 0; i < p.n; i++) cost += kernel[i] ? p.lines[i] : p.lpcCost * p.kernelCalls[i];
  for (let e = 0; e < p.edgeSrc.length; e++) if (kernel[p.edgeSrc[e]] !== kernel[p.edgeDst[e]]) cost += p.lpcCost * p.edgeCalls[e];
  return cost;
}

class Dinic {
  private head: Int32Array;
  private next: Int32Array;
  private to: Int32Array;
  private cap: Float64Array;
  private m = 0;
  private level: Int32Array;
  private iter: Int32Array;
  private eps = 1e-12;

  constructor(
    private readonly n: number,
    arcs: number,
  ) {
    this.head = new Int32Array(n).fill(-1);
    this.next = new Int32Array(arcs * 2);
    this.to = new Int32Array(arcs * 2);
    this.cap = new Float64Array(arcs * 2);
    this.level = new Int32Array(n);
    this.iter = new Int32Array(n);
  }

  /** An arc u->v with capacity c and its reverse with capacity rc. */
  add(u: number, v: number, c: number, rc: number): void {
    const a = this.m;
    this.to[a] = v;
    this.cap[a] = c;
    this.next[a] = this.head[u];
    this.head[u] = a;
    this.to[a + 1] = u;
    this.cap[a + 1] = rc;
    this.next[a + 1] = this.head[v];
    this.head[v] = a + 1;
    this.m += 2;
    const big = Math.max(c, rc);
    if (big * 1e-12 > this.eps) this.eps = big * 1e-12;
  }

  private bfs(s: number, t: number): boolean {
    const { level, head, next, to, cap, eps } = this;
    level.fill(-1);
    const queue = new Int32Array(this.n);
    let qh = 0;
    let qt = 0;
    queue[qt++] = s;
    level[s] = 0;
    while (qh < qt) {
      const u = queue[qh++];
      for (let a = head[u]; a !== -1; a = next[a]) {
        const v = to[a];
        if (level[v] === -1 && cap[a] > eps) {
          level[v] = level[u] + 1;
          queue[qt++] = v;
        }
      }
    }
    return level[t] !== -1;
  }

  maxflow(s: number, t: number): number {
    const { head, next, to, cap, level, iter } = this;
    let total = 0;
    const path = new Int32Array(this.n);
    while (this.bfs(s, t)) {
      const eps = this.eps;
      iter.set(head);
      let top = 0;
      let u = s;
      for (;;) {
        if (u === t) {
          let f = Infinity;
          for (let k = 0; k < top; k++) if (cap[path[k]] < f) f = cap[path[k]];
          let cut = -1;
          for (let k = 0; k < top; k++) {
            const a = path[k];
            cap[a] -= f;
            cap[a ^ 1] += f;
            if (cut === -1 && cap[a] <= eps) cut = k;
          }
          total += f;
          top = cut;
          u = top === 0 ? s : to[path[top - 1]];
          continue;
        }
        let a = iter[u];
        while (a !== -1 && !(cap[a] > eps && level[to[a]] === level[u] + 1)) a = next[a];
        iter[u] = a;
        if (a !== -1) {
          path[top++] = a;
          u = to[a];
          continue;
        }
        // Dead end: retire u and step back, skipping the arc that led here.
        level[u] = -1;
        if (top === 0) break;
        const back = path[--top];
        u = to[back ^ 1];
        iter[u] = next[iter[u]];
      }
    }
    return total;
  }

  /** Vertices reachable from s in the residual network: the smallest minimum-cut source side. */
  sourceSide(s: number): Uint8Array {
    const seen = new Uint8Array(this.n);
    const stack = [s];
    seen[s] = 1;
    while (stack.length > 0) {
      const u = stack.pop()!;
      for (let a = this.head[u]; a !== -1; a = this.next[a]) {
        const v = this.to[a];
        if (!seen[v] && this.cap[a] > this.eps) {
          seen[v] = 1;
          stack.push(v);
        }
      }
    }
    return seen;
  }
}

/** Solve a placement exactly. Ties go to user space (the smallest kernel side). */
export function solvePlacement(p: PlacementProblem): Placement {
  // Union-find over same-side pairs, never joining a kernel-fixed set with a user-fixed one.
  const parent = new Int32Array(p.n);
  for (let i = 0; i < p.n; i++) parent[i] = i;
  const fixedOf = new Int8Array(p.n);
  for (let i = 0; i < p.n; i++) fixedOf[i] = p.fixed[i];
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const droppedPairs: [number, number][] = [];
  for (let k = 0; k + 1 < p.sameSide.length; k += 2) {
    const a = p.sameSide[k];
    const b = p.sameSide[k + 1];
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) continue;
    const fa = fixedOf[ra];
    const fb = fixedOf[rb];
    if (fa !== FREE && fb !== FREE && fa !== fb) {
      droppedPairs.push([a, b]);
      continue;
    }
    parent[ra] = rb;
    if (fb === FREE) fixedOf[rb] = fa;
  }

  // Vertex numbering: 0 = s, 1 = t, then one per free group.
  const vertex = new Int32Array(p.n);
  const groupVertex = new Int32Array(p.n).fill(-1);
  let nv = 2;
  for (let i = 0; i < p.n; i++) {
    const r = find(i);
    if (fixedOf[r] === KERNEL) vertex[i] = 0;
    else if (fixedOf[r] === USER) vertex[i] = 1;
    else {
      if (groupVertex[r] === -1) groupVertex[r] = nv++;
      vertex[i] = groupVertex[r];
    }
  }
  const toSink = new Float64Array(nv);
  const fromSource = new Float64Array(nv);
  for (let i = 0; i < p.n; i++) {
    const v = vertex[i];
    if (v < 2) continue;
    toSink[v] += p.lines[i];
    fromSource[v] += p.lpcCost * p.kernelCalls[i];
  }
  let arcs = 0;
  for (let e = 0; e < p.edgeSrc.length; e++) {
    const u = vertex[p.edgeSrc[e]];
    const v = vertex[p.edgeDst[e]];
    if (u === v || (u < 2 && v < 2) || p.edgeCalls[e] <= 0 || p.lpcCost <= 0) continue; // fixed pairs cost a constant
    // With one end fixed, the other end is u + v (or u + v - 1 for t).
    if (u === 0 || v === 0) fromSource[u + v] += p.lpcCost * p.edgeCalls[e];
    else if (u === 1 || v === 1) toSink[u + v - 1] += p.lpcCost * p.edgeCalls[e];
    else arcs++;
  }
  const net = new Dinic(nv, arcs + 2 * nv);
  for (let v = 2; v < nv; v++) {
    if (fromSource[v] > 0) net.add(0, v, fromSource[v], 0);
    if (toSink[v] > 0) net.add(v, 1, toSink[v], 0);
  }
  for (let e = 0; e < p.edgeSrc.length; e++) {
    const u = vertex[p.edgeSrc[e]];
    const v = vertex[p.edgeDst[e]];
    if (u === v || u < 2 || v < 2 || p.edgeCalls[e] <= 0 || p.lpcCost <= 0) continue;
    const c = p.lpcCost * p.edgeCalls[e];
    net.add(u, v, c, c);
  }
  net.maxflow(0, 1);
  const side = net.sourceSide(0);
  const kernel = new Uint8Array(p.n);
  for (let i = 0; i < p.n; i++) kernel[i] = side[vertex[i]];
  return { kernel, cost: placementCost(p, kernel), droppedPairs };
}

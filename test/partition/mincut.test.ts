import { describe, expect, it } from 'vitest';
import { solvePlacement, type PlacementProblem } from '../../src/partition/mincut.js';
import { rng } from '../support/rng.js';


function randomProblem(seed: number): PlacementProblem {
  const r = rng(seed);
  const int = (k: number): number => Math.floor(r() * k);
  const n = 1 + int(12);
  const edgeSrc: number[] = [];
  const edgeDst: number[] = [];
  const edgeCalls: number[] = [];
  const m = int(n * 3);
  for (let e = 0; e < m; e++) {
    edgeSrc.push(int(n));
    edgeDst.push(int(n));
    edgeCalls.push(r() < 0.2 ? 0 : int(40));
  }
  const fixed = Array.from({ length: n }, () => (r() < 0.15 ? 1 : r() < 0.1 ? 2 : 0));
  const sameSide: number[] = [];
  for (let k = int(3); k > 0; k--) sameSide.push(int(n), int(n));
  return {
    n,
    lines: Array.from({ length: n }, () => 1 + int(60)),
    kernelCalls: Array.from({ length: n }, () => (r() < 0.5 ? 0 : int(30))),
    edgeSrc,
    edgeDst,
    edgeCalls,
    lpcCost: [0, 0.5, 1, 3, 7.25][int(5)],
    fixed,
    sameSide,
  };
}

/** Cost of an assignment from the definition: lines kept in the kernel plus LPC cost per crossing call. */
function costOf(p: PlacementProblem, kernel: (0 | 1)[]): number {
  let c = 0;
  for (let i = 0; i < p.n; i++) c += kernel[i] ? p.lines[i] : p.kernelCalls[i] * p.lpcCost;
  for (let e = 0; e < p.edgeSrc.length; e++) if (kernel[p.edgeSrc[e]] !== kernel[p.edgeDst[e]]) c += p.edgeCalls[e] * p.lpcCost;
  return c;
}

function feasible(p: PlacementProblem, kernel: (0 | 1)[]): boolean {
  for (let i = 0; i < p.n; i++) {
    if (p.fixed[i] === 1 && !kernel[i]) return false;
    if (p.fixed[i] === 2 && kernel[i]) return false;
  }
  for (let k = 0; k < p.sameSide.length; k += 2) if (kernel[p.sameSide[k]] !== kernel[p.sameSide[k + 1]]) return false;
  return true;
}

function bruteForce(p: PlacementProblem): { best: number; optima: (0 | 1)[][] } {
  let best = Infinity;
  let optima: (0 | 1)[][] = [];
  for (let mask = 0; mask < 1 << p.n; mask++) {
    const kernel = Array.from({ length: p.n }, (_, i) => ((mask >> i) & 1) as 0 | 1);
    if (!feasible(p, kernel)) continue;
    const c = costOf(p, kernel);
    if (c < best - 1e-9) {
      best = c;
      optima = [kernel];
    } else if (Math.abs(c - best) <= 1e-9) optima.push(kernel);
  }
  return { best, optima };
}

describe('minimum-cut placement', () => {
  it('matches brute force over all assignments on 400 random graphs of up to 12 functions', () => {
    let checked = 0;
    for (let seed = 1; checked < 400; seed++) {
      const p = randomProblem(seed);
      const { best, optima } = bruteForce(p);
      if (optima.length === 0) continue; // the random same-side pairs contradict the fixed sides
      checked++;
      const got = solvePlacement(p);
      const kernel = Array.from(got.kernel) as (0 | 1)[];
      expect(feasible(p, kernel), `seed ${seed}: assignment breaks a constraint`).toBe(true);
      expect(costOf(p, kernel), `seed ${seed}`).toBeCloseTo(best, 6);
      expect(got.cost).toBeCloseTo(best, 6);
      // Ties go to user space: the kernel side is inside the kernel side of every optimum.
      for (const o of optima) for (let i = 0; i < p.n; i++) if (kernel[i]) expect(o[i], `seed ${seed}: f${i} kept without need`).toBe(1);
    }
  });

  it('moves a long function that is rarely called and keeps a short one that is called often', () => {
    // 0 is pinned in the kernel; it calls 1 (100 lines, 3 calls) and 2 (5 lines, 1000 calls).
    const p: PlacementProblem = {
      n: 3,
      lines: [10, 100, 5],
      kernelCalls: [0, 0, 0],
      edgeSrc: [0, 0],
      edgeDst: [1, 2],
      edgeCalls: [3, 1000],
      lpcCost: 1,
      fixed: [1, 0, 0],
      sameSide: [],
    };
    const got = solvePlacement(p);
    expect(Array.from(got.kernel)).toEqual([1, 0, 1]);
    expect(got.cost).toBe(10 + 5 + 3);
  });

  it('drops a same-side pair that joins a kernel-fixed and a user-fixed function, and reports it', () => {
    const p: PlacementProblem = {
      n: 2,
      lines: [1, 1],
      kernelCalls: [0, 0],
      edgeSrc: [],
      edgeDst: [],
      edgeCalls: [],
      lpcCost: 1,
      fixed: [1, 2],
      sameSide: [0, 1],
    };
    const got = solvePlacement(p);
    expect(Array.from(got.kernel)).toEqual([1, 0]);
    expect(got.droppedPairs).toEqual([[0, 1]]);
  });
});

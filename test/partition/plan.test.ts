import { weightedDegree } from 'graphology-metrics/node/weighted-degree.js';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { applyOverrides, defaultConfig } from '../../src/partition/config.js';
import { partition, type Plan } from '../../src/partition/plan.js';
import { overrideSides, readPlan } from '../../src/partition/plan-io.js';
import { CFG_MUTEX, driverGraph, driverSpec } from './fixture-graph.js';
import { makeGraph } from './graph-helper.js';

const sideOf = (plan: Plan, id: string) => plan.functions.find((f) => f.id === id)!.side;

describe('partition plan', () => {
  const plan = partition(driverGraph(), defaultConfig());

  it('keeps every critical root and its closure in the kernel and moves configuration code out', () => {
    for (const id of ['drv_interrupt', 'drv_tx_done', 'drv_ack', 'drv_write', 'drv_xmit', 'drv_hot', 'drv_costly', 'drv_timer', 'drv_dma_setup']) {
      expect(sideOf(plan, id), id).toBe('kernel');
    }
    for (const id of ['drv_probe', 'drv_init', 'drv_ioctl', 'drv_get_config', 'drv_cfg_set', 'drv_cfg_apply']) expect(sideOf(plan, id), id).toBe('user');
  });

  it('writes one entry per function with the documented fields', () => {
    expect(plan.version).toBe(1);
    expect(plan.functions).toHaveLength(driverSpec().functions.length);
    const probe = plan.functions.find((f) => f.id === 'drv_probe')!;
    expect(probe).toMatchObject({ name: 'drv_probe', file: 'drv.c', line: 340, lines: 120, side: 'user', pinned: false });
    expect(probe.reasons[0]).toMatchObject({ kind: 'min-cut' });
    expect(plan.planHash).toMatch(/^[0-9a-f]{64}$/);
    // The plan is plain JSON: it survives a round trip.
    expect(readPlan(JSON.stringify(plan), 'plan.json')).toEqual(plan);
  });

  it('reports cut edges with their call counts, and the crossings of the profiled run', () => {
    const cut = plan.cutEdges.map((e) => `${e.caller}->${e.callee}:${e.direction}:${e.calls}`).sort();
    expect(cut).toEqual(['drv_probe->drv_dma_setup:user->kernel:1']);
    // probe's kernel calls: iowrite32 x4 and register_netdev x1 (kzalloc is served in user space).
    expect(plan.functions.find((f) => f.id === 'drv_probe')!.kernelCalls.map((k) => `${k.api}:${k.calls}`)).toEqual(['iowrite32:4', 'register_netdev:1']);
    expect(plan.summary.predicted.crossings).toBe(1 + 4 + 1);
    expect(plan.summary.predicted.overheadUs).toBe(6 * 50);
    const userLines = 120 + 10 + 30 + 40 + 30 + 30;
    const allLines = driverSpec().functions.reduce((s, f) => s + (f.lines ?? 10), 0);
    expect(plan.summary.user).toEqual({ functions: 6, lines: userLines });
    expect(plan.summary.kernel.lines).toBe(allLines - userLines);
    expect(plan.summary.cost).toEqual({ kernelLines: allLines - userLines, crossingCost: 6, total: allLines - userLines + 6 });
    // Call weight: 50+50+3+1+1+2+2+5000 measured calls, 1 of them crossing.
    expect(plan.metrics.crossingShare).toBeCloseTo(1 / 5109, 9);
  });

  it('says that module init moves to user space', () => {
    expect(plan.notes.some((n) => n.startsWith('drv_init runs at module load, before the daemon can attach'))).toBe(true);
  });

  it('finds a global and a lock-guarded structure touched on both sides, gives each one lock, and lists them per user procedure', () => {
    expect(plan.shared).toEqual([
      expect.objectContaining({ id: 'global:drv_count', kind: 'global', name: 'drv_count', file: 'drv.c', line: 5, lock: 'lpc_drv_count_lock', kernel: ['drv_interrupt'], user: ['drv_probe'] }),
      // drv_interrupt takes drv_priv.lock in the kernel, drv_cfg_set takes drv_priv.cfg_mutex in user space.
      expect.objectContaining({ id: 'struct:drv_priv', kind: 'struct', lock: 'lpc_struct_drv_priv_lock', existingLocks: [CFG_MUTEX, 'struct drv_priv.lock'], kernel: ['drv_interrupt'], user: ['drv_cfg_set'] }),
    ]);
    expect(plan.locks).toEqual([
      { name: 'lpc_drv_count_lock', guards: 'global:drv_count' },
      { name: 'lpc_struct_drv_priv_lock', guards: 'struct:drv_priv' },
    ]);
    expect(plan.functions.find((f) => f.id === 'drv_probe')!.shared).toEqual(['global:drv_count']);
    expect(plan.functions.find((f) => f.id === 'drv_cfg_set')!.shared).toEqual(['struct:drv_priv']);
    expect(plan.functions.find((f) => f.id === 'drv_get_config')!.shared).toEqual([]);
  });

  it('keeps a mutex holder with what it calls under the mutex', () => {
    // Forcing the callee into the kernel pulls the holder along.
    const p = partition(driverGraph(), applyOverrides(defaultConfig(), { kernel: ['drv_cfg_apply'] }));
    expect(sideOf(p, 'drv_cfg_apply')).toBe('kernel');
    expect(sideOf(p, 'drv_cfg_set')).toBe('kernel');
    // The holder's reason names the lock and the forced callee that decided its side.
    expect(p.functions.find((f) => f.id === 'drv_cfg_set')!.reasons).toContainEqual(
      expect.objectContaining({ kind: 'lock-group', with: 'drv_cfg_apply', fixedBy: 'drv_cfg_apply' }),
    );
  });

  it('keeps a lock taken in one function and released in another on one side', () => {
    const graph = makeGraph({
      functions: [{ id: 'pinned', entry: [{ kind: 'timer', api: 'timer_setup' }] }, { id: 'take', lines: 50, acquires: [CFG_MUTEX] }, { id: 'give', lines: 50, releases: [CFG_MUTEX] }],
      calls: [{ from: 'pinned', to: 'give' }],
    });
    const p = partition(graph, defaultConfig());
    expect(sideOf(p, 'take')).toBe('kernel');
    expect(p.functions.find((f) => f.id === 'take')!.reasons).toContainEqual({ kind: 'lock-group', lock: CFG_MUTEX, with: 'give', fixedBy: 'give' });
  });

  it('weighs lines against crossings with --lpc-cost', () => {
    const cheap = partition(driverGraph(), applyOverrides(defaultConfig(), { lpcCost: 0 }));
    const dear = partition(driverGraph(), applyOverrides(defaultConfig(), { lpcCost: 1000 }));
    expect(sideOf(cheap, 'drv_probe')).toBe('user');
    // At 1000 units a crossing, probe's 6 crossings cost more than the 260 lines of the configuration path.
    expect(sideOf(dear, 'drv_probe')).toBe('kernel');
    expect(sideOf(dear, 'drv_init')).toBe('kernel');
    expect(sideOf(dear, 'drv_get_config')).toBe('user'); // reached from nothing pinned: no crossing to pay
  });

  it('honours --user even over a critical root, and says check will fail', () => {
    const p = partition(driverGraph(), applyOverrides(defaultConfig(), { user: ['drv_tx_done'] }));
    expect(sideOf(p, 'drv_tx_done')).toBe('user');
    expect(p.notes.some((n) => n.includes('drv_tx_done is forced to user space but must stay in the kernel'))).toBe(true);
  });

  it('changes the plan hash when a side changes, and reads back only valid plans', () => {
    const moved = overrideSides(plan, { kernel: ['drv_get_config'] });
    expect(sideOf(moved, 'drv_get_config')).toBe('kernel');
    expect(moved.planHash).not.toBe(plan.planHash);
    expect(() => readPlan('{', 'p.json')).toThrow(InputError);
    expect(() => readPlan(JSON.stringify({ ...plan, version: 2 }), 'p.json')).toThrow(/version 2/);
    expect(() => readPlan(JSON.stringify({ ...plan, functions: [{ id: 'x', side: 'both' }] }), 'p.json')).toThrow(/side/);
    expect(() => overrideSides(plan, { user: ['nope'] })).toThrow(InputError);
  });

  it('computes betweenness on small graphs', () => {
    const tx = plan.functions.find((f) => f.id === 'drv_tx_done')!;
    expect(plan.metrics.betweenness.computed).toBe(true);
    // drv_tx_done lies on the one shortest path drv_interrupt -> drv_ack.
    expect(tx.metrics.betweenness).toBeGreaterThan(0);
    expect(plan.functions.find((f) => f.id === 'drv_hot')!.metrics.betweenness).toBe(0);
    expect(tx.metrics.weightedDegree).toBe(100);
    // The same weighted degree graphology-metrics gives, with call counts as weights.
    const graph = driverGraph();
    for (const f of plan.functions) expect(f.metrics.weightedDegree, f.id).toBe(weightedDegree(graph, f.id, (_e, a) => Number(a.calls)));
  });
});

import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { applyOverrides, defaultConfig } from '../../src/partition/config.js';
import { indexGraph } from '../../src/partition/indexed.js';
import { computeRoots, type Reason } from '../../src/partition/roots.js';
import { driverGraph, PRIV_LOCK } from './fixture-graph.js';
import { makeGraph } from './graph-helper.js';

function reasonsOf(config = defaultConfig(), graph = driverGraph()): Map<string, Reason[]> {
  const g = indexGraph(graph, config.staticCallEstimate);
  const r = computeRoots(graph, g, config);
  return new Map(g.ids.map((id, i) => [id, r.reasons.get(i) ?? []]));
}
const kinds = (rs: Reason[] | undefined): string[] => [...new Set((rs ?? []).map((r) => r.kind))].sort();

describe('critical roots', () => {
  const reasons = reasonsOf();

  it('pins an interrupt handler, and the spinlock it takes', () => {
    const r = reasons.get('drv_interrupt')!;
    expect(r).toContainEqual({ kind: 'irq-context', via: 'request_irq', file: 'drv.c', line: 400 });
    expect(r).toContainEqual(expect.objectContaining({ kind: 'atomic', role: 'holder', lock: PRIV_LOCK, holder: 'drv_interrupt' }));
  });

  it('pins a function called while a spinlock is held, naming the lock, the holder and the call line', () => {
    expect(reasons.get('drv_tx_done')).toContainEqual({ kind: 'atomic', role: 'called', lock: PRIV_LOCK, lockClass: 'spin', holder: 'drv_interrupt', file: 'drv.c', line: 110 });
  });

  it('marks hardware access on the atomic path, and leaves hardware access in probe unpinned', () => {
    expect(reasons.get('drv_ack')).toContainEqual(expect.objectContaining({ kind: 'hardware-hot', api: 'iowrite16', path: 'atomic' }));
    expect(reasons.get('drv_ack')).toContainEqual({ kind: 'reachable-from', root: 'drv_tx_done', via: 'drv_tx_done' });
    expect(kinds(reasons.get('drv_probe'))).toEqual([]);
  });

  it('gives a data-path entry that copies from user memory both reasons', () => {
    expect(kinds(reasons.get('drv_write'))).toEqual(['data-path', 'user-memory']);
    expect(reasons.get('drv_write')).toContainEqual({ kind: 'user-memory', api: 'copy_from_user', file: 'drv.c', line: 210 });
  });

  it('treats ndo_start_xmit as data path and atomic, and unlocked_ioctl as movable configuration', () => {
    expect(reasons.get('drv_xmit')).toContainEqual({ kind: 'data-path', structType: 'net_device_ops', field: 'ndo_start_xmit', file: 'drv.c', line: 510 });
    expect(reasons.get('drv_xmit')).toContainEqual({ kind: 'irq-context', via: 'net_device_ops.ndo_start_xmit', file: 'drv.c', line: 510 });
    expect(kinds(reasons.get('drv_ioctl'))).toEqual([]);
    expect(kinds(reasons.get('drv_get_config'))).toEqual([]);
  });

  it('uses the profile: call count and inclusive share over the thresholds, but not module init', () => {
    expect(reasons.get('drv_hot')).toContainEqual(expect.objectContaining({ kind: 'hot', by: 'calls', calls: 5000 }));
    expect(reasons.get('drv_costly')).toContainEqual(expect.objectContaining({ kind: 'hot', by: 'share', share: 0.3, event: 'Ir' }));
    expect(kinds(reasons.get('drv_init'))).toEqual([]);
    const strict = reasonsOf(applyOverrides(defaultConfig(), { hotCalls: 10_000, hotShare: 0.5 }));
    expect(kinds(strict.get('drv_hot'))).toEqual(['reachable-from']); // still reached from ndo_start_xmit
    expect(kinds(strict.get('drv_costly'))).toEqual([]);
  });

  it('pins timers and DMA users', () => {
    expect(kinds(reasons.get('drv_timer'))).toEqual(['irq-context']);
    expect(reasons.get('drv_dma_setup')).toContainEqual({ kind: 'dma', api: 'dma_alloc_coherent', file: 'drv.c', line: 545 });
  });

  it('records forced sides with where they were given, and rejects an unknown name', () => {
    const cfg = applyOverrides(defaultConfig(), { kernel: ['drv_get_config'], user: ['drv_probe'] });
    const r = reasonsOf(cfg);
    expect(r.get('drv_get_config')).toContainEqual({ kind: 'forced', side: 'kernel', origin: '--kernel on the command line' });
    expect(r.get('drv_probe')).toContainEqual({ kind: 'forced', side: 'user', origin: '--user on the command line' });
    expect(() => reasonsOf(applyOverrides(defaultConfig(), { kernel: ['no_such_fn'] }))).toThrow(InputError);
  });

  it('closes over indirect calls and chains, naming the root and the caller on the path', () => {
    const graph = makeGraph({
      functions: [{ id: 'isr', entry: [{ kind: 'irq', api: 'request_irq' }] }, { id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'free' }],
      calls: [
        { from: 'isr', to: 'a' },
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'free', to: 'a' },
      ],
    });
    // a calls b through a function pointer field (resolved field-based by the parser).
    graph.updateEdgeAttribute('a->b', 'sites', (s) => s!.map((x) => ({ ...x, kind: 'field' })));
    const g = indexGraph(graph, 1);
    const r = computeRoots(graph, g, defaultConfig());
    const at = (id: string) => r.reasons.get(g.index.get(id)!);
    expect(at('c')).toEqual([{ kind: 'reachable-from', root: 'isr', via: 'b' }]);
    expect(r.pinned[g.index.get('free')!]).toBe(0);
    expect([...r.roots].map((i) => g.ids[i])).toEqual(['isr']);
  });
});

describe('closure policy', () => {
  const spec = () =>
    makeGraph({
      functions: [
        { id: 'holder', holds: [{ lock: 'l', calls: [{ callee: 'inside', line: 12 }] }] },
        { id: 'inside' },
        { id: 'after_unlock' },
        { id: 'dp_write', entry: [{ kind: 'ops', structType: 'file_operations', field: 'write' }] },
        { id: 'rare_cmd' },
        { id: 'isr', entry: [{ kind: 'irq', api: 'request_irq' }] },
        { id: 'isr_helper' },
      ],
      calls: [
        { from: 'holder', to: 'inside' },
        { from: 'holder', to: 'after_unlock' },
        { from: 'dp_write', to: 'rare_cmd' },
        { from: 'isr', to: 'isr_helper' },
      ],
    });
  const pinnedIds = (closure: 'all' | 'atomic'): string[] => {
    const graph = spec();
    const g = indexGraph(graph, 1);
    const r = computeRoots(graph, g, { ...defaultConfig(), closure });
    return g.ids.filter((_, i) => r.pinned[i]).sort();
  };

  it('pins a spinlock holder and what it calls under the lock, not what it calls after unlocking', () => {
    expect(pinnedIds('all')).not.toContain('after_unlock');
    expect(pinnedIds('all')).toEqual(expect.arrayContaining(['holder', 'inside']));
  });

  it('with closure "all" pins everything a data-path entry reaches; with "atomic" only interrupt and atomic closures', () => {
    expect(pinnedIds('all')).toEqual(['dp_write', 'holder', 'inside', 'isr', 'isr_helper', 'rare_cmd']);
    expect(pinnedIds('atomic')).toEqual(['dp_write', 'holder', 'inside', 'isr', 'isr_helper']);
  });
});

describe('spinlock holders and DMA configuration', () => {
  // Like e1000_mii_ioctl: reads the PHY under stats_lock, then resets the chip after unlocking.
  const graph = () =>
    makeGraph({
      functions: [
        {
          id: 'ioctl',
          line: 100,
          lines: 30,
          holds: [{ lock: 'struct adapter.stats_lock', line: 105, calls: [{ callee: 'read_phy', line: 106 }] }],
          access: [
            { kind: 'mmio', api: 'readl', line: 107 },
            { kind: 'mmio', api: 'writel', line: 120 },
          ],
        },
        { id: 'read_phy', access: [{ kind: 'mmio', api: 'readl' }] },
        { id: 'reinit', access: [{ kind: 'mmio', api: 'writel' }] },
        { id: 'probe', access: [{ kind: 'dma', api: 'dma_set_mask_and_coherent' }] },
        { id: 'open', access: [{ kind: 'dma', api: 'dma_alloc_coherent' }] },
      ],
      calls: [
        { from: 'ioctl', to: 'read_phy', line: 106 },
        { from: 'ioctl', to: 'reinit', line: 121 },
      ],
    });
  for (const closure of ['all', 'atomic'] as const) {
    it(`does not put what a holder calls after unlocking on an atomic path (closure ${closure})`, () => {
      const r = reasonsOf({ ...defaultConfig(), closure }, graph());
      expect(r.get('reinit')).toEqual([]);
      expect(r.get('read_phy')).toContainEqual(expect.objectContaining({ kind: 'hardware-hot', api: 'readl', path: 'atomic' }));
      // The holder's own access counts inside its region only.
      const own = (r.get('ioctl') ?? []).filter((x) => x.kind === 'hardware-hot');
      expect(own).toEqual([{ kind: 'hardware-hot', api: 'readl', file: 'drv.c', line: 107, path: 'atomic', root: 'ioctl' }]);
    });
  }

  it('does not pin a function for setting the DMA mask, only for DMA memory and mappings', () => {
    const r = reasonsOf(defaultConfig(), graph());
    expect(r.get('probe')).toEqual([]);
    expect(kinds(r.get('open'))).toEqual(['dma']);
  });
});


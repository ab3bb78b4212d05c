/**
 * A small driver as a call graph, with one function for each kind of
 * critical root and a few that are free to move.
 */
import type { CallGraph } from '../../src/graph/model.js';
import { makeGraph, type FnSpec, type CallSpec } from './graph-helper.js';

export const PRIV_LOCK = 'struct drv_priv.lock';
export const CFG_MUTEX = 'struct drv_priv.cfg_mutex';

export function driverSpec(): { functions: FnSpec[]; calls: CallSpec[]; events: string[]; totals: Record<string, number>; globals: { name: string; type: string; line: number }[] } {
  return {
    events: ['Ir'],
    totals: { Ir: 1_000_000 },
    globals: [{ name: 'drv_count', type: 'int', line: 5 }],
    functions: [
      { id: 'drv_interrupt', line: 100, lines: 30, entry: [{ kind: 'irq', api: 'request_irq', line: 400 }], holds: [{ lock: PRIV_LOCK, primitive: 'spin_lock', line: 105, calls: [{ callee: 'drv_tx_done', line: 110 }] }], reads: ['drv_count'], callsIn: 50 },
      { id: 'drv_tx_done', line: 140, lines: 20, callsIn: 50 },
      { id: 'drv_ack', line: 170, lines: 5, access: [{ kind: 'mmio', api: 'iowrite16', line: 172 }], callsIn: 50 },
      { id: 'drv_write', line: 200, lines: 25, entry: [{ kind: 'ops', structType: 'file_operations', field: 'write', line: 500 }], access: [{ kind: 'user_memory', api: 'copy_from_user', line: 210 }] },
      { id: 'drv_xmit', line: 230, lines: 15, entry: [{ kind: 'ops', structType: 'net_device_ops', field: 'ndo_start_xmit', line: 510 }] },
      { id: 'drv_ioctl', line: 250, lines: 30, entry: [{ kind: 'ops', structType: 'file_operations', field: 'unlocked_ioctl', line: 501 }], callsIn: 3 },
      { id: 'drv_get_config', line: 290, lines: 40, callsIn: 3 },
      { id: 'drv_probe', line: 340, lines: 120, entry: [{ kind: 'ops', structType: 'pci_driver', field: 'probe', line: 520 }], access: [{ kind: 'mmio', api: 'iowrite32', line: 350 }], external: [{ name: 'iowrite32', sites: 4, calls: 4 }, { name: 'kzalloc', sites: 1, calls: 1 }, { name: 'register_netdev', sites: 1, calls: 1 }], writes: ['drv_count'], callsIn: 1 },
      { id: 'drv_init', line: 470, lines: 10, entry: [{ kind: 'module_init', line: 530 }], inclusive: { Ir: 900_000 }, callsIn: 1 },
      { id: 'drv_hot', line: 490, lines: 8, callsIn: 5000 },
      { id: 'drv_costly', line: 500, lines: 12, inclusive: { Ir: 300_000 }, callsIn: 2 },
      { id: 'drv_timer', line: 520, lines: 10, entry: [{ kind: 'timer', api: 'timer_setup', line: 360 }] },
      { id: 'drv_dma_setup', line: 540, lines: 14, access: [{ kind: 'dma', api: 'dma_alloc_coherent', line: 545 }], callsIn: 1 },
      { id: 'drv_cfg_set', line: 600, lines: 30, holds: [{ lock: CFG_MUTEX, primitive: 'mutex_lock', lockClass: 'mutex', atomic: false, line: 605, calls: [{ callee: 'drv_cfg_apply', line: 607 }] }], callsIn: 2 },
      { id: 'drv_cfg_apply', line: 640, lines: 30, callsIn: 2 },
    ],
    calls: [
      { from: 'drv_interrupt', to: 'drv_tx_done', calls: 50, line: 110 },
      { from: 'drv_tx_done', to: 'drv_ack', calls: 50, line: 150 },
      { from: 'drv_ioctl', to: 'drv_get_config', calls: 3, line: 260 },
      { from: 'drv_init', to: 'drv_probe', calls: 1, line: 475 },
      { from: 'drv_probe', to: 'drv_dma_setup', calls: 1, line: 400 },
      { from: 'drv_probe', to: 'drv_cfg_set', calls: 2, line: 410 },
      { from: 'drv_cfg_set', to: 'drv_cfg_apply', calls: 2, line: 607 },
      { from: 'drv_xmit', to: 'drv_hot', calls: 5000, line: 235 },
    ],
  };
}

export function driverGraph(): CallGraph {
  return makeGraph(driverSpec());
}

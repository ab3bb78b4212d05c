/**
 * Kernel API tables the extraction relies on: locking primitives with their success
 * conventions, hardware/DMA/user-memory accessors, and registration APIs that take a
 * callback (with the index of that argument).
 */
import type { AccessKind, EntryKind, LockClass } from './model.js';

export type LockOp = 'acquire' | 'release' | 'try';

export interface LockApi {
  cls: LockClass;
  op: LockOp;
  /** Index of the lock argument; -1 for primitives without a lock object (RCU, irq, ...). */
  arg: number;
  /** For 'try': what the call returns when the lock was taken. */
  success?: 'nonzero' | 'zero';
  /** Key for primitives without a lock object. */
  key?: string;
}

const LOCKS = new Map<string, LockApi>();
const def = (names: string[], api: LockApi) => names.forEach((n) => LOCKS.set(n, api));

for (const [prefix, cls] of [['spin', 'spin'], ['raw_spin', 'raw_spin']] as const) {
  def(['', '_nested', '_irq', '_irqsave', '_irqsave_nested', '_bh', '_nest_lock'].map((s) => `${prefix}_lock${s}`), { cls, op: 'acquire', arg: 0 });
  def(['', '_irq', '_irqrestore', '_bh'].map((s) => `${prefix}_unlock${s}`), { cls, op: 'release', arg: 0 });
  def(['', '_irq', '_irqsave', '_bh'].map((s) => `${prefix}_trylock${s}`), { cls, op: 'try', arg: 0, success: 'nonzero' });
}
for (const rw of ['read', 'write']) {
  def(['', '_irq', '_irqsave', '_bh'].map((s) => `${rw}_lock${s}`), { cls: 'rwlock', op: 'acquire', arg: 0 });
  def(['', '_irq', '_irqrestore', '_bh'].map((s) => `${rw}_unlock${s}`), { cls: 'rwlock', op: 'release', arg: 0 });
  def([`${rw}_trylock`], { cls: 'rwlock', op: 'try', arg: 0, success: 'nonzero' });
}
def(['', '_irq', '_irqsave', '_bh'].map((s) => `write_seqlock${s}`), { cls: 'rwlock', op: 'acquire', arg: 0 });
def(['', '_irq', '_irqrestore', '_bh'].map((s) => `write_sequnlock${s}`), { cls: 'rwlock', op: 'release', arg: 0 });
def(['mutex_lock', 'mutex_lock_nested', 'mutex_lock_io'], { cls: 'mutex', op: 'acquire', arg: 0 });
def(['mutex_lock_interruptible', 'mutex_lock_killable', 'mutex_lock_interruptible_nested', 'mutex_lock_killable_nested'], {
  cls: 'mutex', op: 'try', arg: 0, success: 'zero',
});
def(['mutex_trylock'], { cls: 'mutex', op: 'try', arg: 0, success: 'nonzero' });
def(['mutex_unlock'], { cls: 'mutex', op: 'release', arg: 0 });
def(['down'], { cls: 'semaphore', op: 'acquire', arg: 0 });
def(['down_interruptible', 'down_killable', 'down_timeout', 'down_trylock'], { cls: 'semaphore', op: 'try', arg: 0, success: 'zero' });
def(['up'], { cls: 'semaphore', op: 'release', arg: 0 });
def(['down_read', 'down_write', 'down_read_nested', 'down_write_nested'], { cls: 'rwsem', op: 'acquire', arg: 0 });
def(['down_read_killable', 'down_write_killable', 'down_read_interruptible'], { cls: 'rwsem', op: 'try', arg: 0, success: 'zero' });
def(['down_read_trylock', 'down_write_trylock'], { cls: 'rwsem', op: 'try', arg: 0, success: 'nonzero' });
def(['up_read', 'up_write'], { cls: 'rwsem', op: 'release', arg: 0 });
def(['rcu_read_lock', 'rcu_read_lock_bh', 'rcu_read_lock_sched'], { cls: 'rcu', op: 'acquire', arg: -1, key: 'rcu' });
def(['rcu_read_unlock', 'rcu_read_unlock_bh', 'rcu_read_unlock_sched'], { cls: 'rcu', op: 'release', arg: -1, key: 'rcu' });
def(['srcu_read_lock'], { cls: 'rcu', op: 'acquire', arg: 0 });
def(['srcu_read_unlock'], { cls: 'rcu', op: 'release', arg: 0 });
def(['local_irq_save', 'local_irq_disable'], { cls: 'irq', op: 'acquire', arg: -1, key: 'irq' });
def(['local_irq_restore', 'local_irq_enable'], { cls: 'irq', op: 'release', arg: -1, key: 'irq' });
def(['local_bh_disable'], { cls: 'bh', op: 'acquire', arg: -1, key: 'bh' });
def(['local_bh_enable'], { cls: 'bh', op: 'release', arg: -1, key: 'bh' });
def(['preempt_disable', 'get_cpu'], { cls: 'preempt', op: 'acquire', arg: -1, key: 'preempt' });
def(['preempt_enable', 'put_cpu'], { cls: 'preempt', op: 'release', arg: -1, key: 'preempt' });
def(['netif_tx_lock', 'netif_tx_lock_bh', '__netif_tx_lock', '__netif_tx_lock_bh', 'netif_addr_lock', 'netif_addr_lock_bh'], {
  cls: 'spin', op: 'acquire', arg: 0,
});
def(['netif_tx_unlock', 'netif_tx_unlock_bh', '__netif_tx_unlock', '__netif_tx_unlock_bh', 'netif_addr_unlock', 'netif_addr_unlock_bh'], {
  cls: 'spin', op: 'release', arg: 0,
});
def(['rtnl_lock'], { cls: 'mutex', op: 'acquire', arg: -1, key: 'rtnl_lock' });
def(['rtnl_unlock'], { cls: 'mutex', op: 'release', arg: -1, key: 'rtnl_lock' });
def(['rtnl_trylock'], { cls: 'mutex', op: 'try', arg: -1, key: 'rtnl_lock', success: 'nonzero' });
def(['lock_sock'], { cls: 'other', op: 'acquire', arg: 0 });
def(['release_sock'], { cls: 'other', op: 'release', arg: 0 });
def(['bit_spin_lock'], { cls: 'spin', op: 'acquire', arg: 1 });
def(['bit_spin_unlock', '__bit_spin_unlock'], { cls: 'spin', op: 'release', arg: 1 });
def(['bit_spin_trylock'], { cls: 'spin', op: 'try', arg: 1, success: 'nonzero' });
def(['snd_pcm_stream_lock', 'snd_pcm_stream_lock_irq', 'snd_pcm_stream_lock_irqsave'], { cls: 'spin', op: 'acquire', arg: 0 });
def(['snd_pcm_stream_unlock', 'snd_pcm_stream_unlock_irq', 'snd_pcm_stream_unlock_irqrestore'], { cls: 'spin', op: 'release', arg: 0 });

export function lockApi(name: string): LockApi | undefined {
  return LOCKS.get(name);
}

/** Whether holding a lock of this class forbids sleeping. SRCU is the exception (see lockRegionAtomic). */
export function atomicClass(cls: LockClass): boolean {
  return cls === 'spin' || cls === 'raw_spin' || cls === 'rwlock' || cls === 'irq' || cls === 'bh' || cls === 'preempt' || cls === 'rcu';
}

/** Lock class of a cleanup guard (`guard(spinlock_irqsave)`, `scoped_guard(mutex, ..)`); null when unknown. */
export function guardClass(name: string): { cls: LockClass; key?: string } | null {
  if (name.startsWith('raw_spinlock')) return { cls: 'raw_spin' };
  if (name.startsWith('spinlock')) return { cls: 'spin' };
  if (name === 'mutex' || name === 'mutex_intr') return { cls: 'mutex' };
  if (name.startsWith('rwsem')) return { cls: 'rwsem' };
  if (name === 'read_lock' || name === 'write_lock' || name.startsWith('read_lock_') || name.startsWith('write_lock_')) return { cls: 'rwlock' };
  if (name === 'rcu') return { cls: 'rcu', key: 'rcu' };
  if (name === 'irq' || name === 'irqsave') return { cls: 'irq', key: 'irq' };
  if (name === 'preempt' || name === 'preempt_notrace' || name === 'migrate') return { cls: 'preempt', key: 'preempt' };
  if (name === 'srcu') return { cls: 'rcu' };
  return null;
}

/** Macros that define a lock at file scope. */
export const LOCK_DEFINERS: Record<string, LockClass> = {
  DEFINE_SPINLOCK: 'spin',
  DEFINE_RAW_SPINLOCK: 'raw_spin',
  DEFINE_RWLOCK: 'rwlock',
  DEFINE_SEQLOCK: 'rwlock',
  DEFINE_MUTEX: 'mutex',
  DEFINE_SEMAPHORE: 'semaphore',
  DECLARE_RWSEM: 'rwsem',
  DEFINE_STATIC_SRCU: 'rcu',
  DEFINE_SRCU: 'rcu',
};

const ACCESS = new Map<string, AccessKind>();
const acc = (kind: AccessKind, names: string[]) => names.forEach((n) => ACCESS.set(n, kind));
const widths = ['8', '16', '32', '64'];
acc('mmio', [
  ...widths.flatMap((w) => [`ioread${w}`, `iowrite${w}`, `ioread${w}be`, `iowrite${w}be`, `ioread${w}_rep`, `iowrite${w}_rep`]),
  ...['b', 'w', 'l', 'q'].flatMap((s) => [`read${s}`, `write${s}`, `read${s}_relaxed`, `write${s}_relaxed`, `__raw_read${s}`, `__raw_write${s}`]),
  ...['readsb', 'readsw', 'readsl', 'readsq', 'writesb', 'writesw', 'writesl', 'writesq'],
  ...['lo_hi_readq', 'hi_lo_readq', 'lo_hi_writeq', 'hi_lo_writeq', 'readq_relaxed', 'writeq_relaxed'],
  ...['memcpy_fromio', 'memcpy_toio', 'memset_io', '__iowrite32_copy', '__iowrite64_copy', '__ioread32_copy'],
  ...['ioremap', 'ioremap_wc', 'ioremap_uc', 'ioremap_cache', 'iounmap', 'devm_ioremap', 'devm_ioremap_resource', 'devm_platform_ioremap_resource'],
  ...['pci_iomap', 'pci_iomap_range', 'pci_iounmap', 'pcim_iomap', 'pcim_iomap_regions', 'pcim_iomap_table', 'pci_ioremap_bar', 'ioport_map', 'ioport_unmap'],
]);
acc('pio', [
  ...['b', 'w', 'l'].flatMap((s) => [`in${s}`, `out${s}`, `in${s}_p`, `out${s}_p`, `ins${s}`, `outs${s}`]),
  'request_region', 'release_region', 'devm_request_region',
]);
acc('dma', [
  'dma_alloc_coherent', 'dma_free_coherent', 'dmam_alloc_coherent', 'dmam_free_coherent', 'dma_alloc_attrs', 'dma_free_attrs',
  'dma_alloc_noncoherent', 'dma_free_noncoherent', 'dma_alloc_pages', 'dma_free_pages',
  'dma_map_single', 'dma_unmap_single', 'dma_map_page', 'dma_unmap_page', 'dma_map_sg', 'dma_unmap_sg', 'dma_map_sgtable',
  'dma_unmap_sgtable', 'dma_map_single_attrs', 'dma_unmap_single_attrs', 'dma_map_page_attrs', 'dma_unmap_page_attrs',
  'dma_map_resource', 'dma_unmap_resource', 'dma_mapping_error',
  'dma_sync_single_for_cpu', 'dma_sync_single_for_device', 'dma_sync_single_range_for_cpu', 'dma_sync_single_range_for_device',
  'dma_sync_sg_for_cpu', 'dma_sync_sg_for_device',
  'dma_pool_create', 'dma_pool_destroy', 'dma_pool_alloc', 'dma_pool_zalloc', 'dma_pool_free', 'dmam_pool_create',
  'dma_set_mask', 'dma_set_coherent_mask', 'dma_set_mask_and_coherent',
  'pci_map_single', 'pci_unmap_single', 'pci_map_page', 'pci_unmap_page', 'pci_map_sg', 'pci_unmap_sg', 'pci_dma_mapping_error',
  'pci_alloc_consistent', 'pci_free_consistent', 'pci_zalloc_consistent', 'pci_set_dma_mask', 'pci_set_consistent_dma_mask',
  'pci_dma_sync_single_for_cpu', 'pci_dma_sync_single_for_device',
  'snd_pcm_set_managed_buffer', 'snd_pcm_set_managed_buffer_all', 'snd_pcm_lib_preallocate_pages',
  'snd_pcm_lib_preallocate_pages_for_all', 'snd_dma_alloc_pages', 'snd_dma_free_pages',
  'usb_alloc_coherent', 'usb_free_coherent', 'hcd_buffer_alloc', 'hcd_buffer_free',
]);
acc('user_memory', [
  'copy_from_user', 'copy_to_user', 'get_user', 'put_user', '__get_user', '__put_user', '__copy_from_user', '__copy_to_user',
  'clear_user', '__clear_user', 'strncpy_from_user', 'strnlen_user', 'memdup_user', 'memdup_user_nul', 'vmemdup_user',
  'copy_struct_from_user', 'copy_from_sockptr', 'copy_to_sockptr', 'access_ok',
]);
acc('pci_config', [
  ...['byte', 'word', 'dword'].flatMap((s) => [`pci_read_config_${s}`, `pci_write_config_${s}`, `pci_bus_read_config_${s}`, `pci_bus_write_config_${s}`]),
  'pcie_capability_read_word', 'pcie_capability_write_word', 'pcie_capability_set_word', 'pcie_capability_clear_word',
  'pcie_capability_read_dword', 'pcie_capability_write_dword', 'pcie_capability_clear_and_set_word',
  'pci_enable_device', 'pci_enable_device_mem', 'pcim_enable_device', 'pci_disable_device', 'pci_set_master', 'pci_clear_master',
  'pci_request_regions', 'pci_release_regions', 'pci_request_region', 'pci_release_region', 'pci_request_selected_regions',
  'pci_release_selected_regions', 'pci_set_power_state', 'pci_save_state', 'pci_restore_state',
]);
acc('irq_api', [
  'request_irq', 'devm_request_irq', 'request_threaded_irq', 'devm_request_threaded_irq', 'free_irq', 'devm_free_irq',
  'enable_irq', 'disable_irq', 'disable_irq_nosync', 'synchronize_irq', 'pci_alloc_irq_vectors', 'pci_free_irq_vectors',
  'pci_enable_msi', 'pci_disable_msi', 'pci_enable_msix_range', 'pci_disable_msix', 'pci_irq_vector', 'request_any_context_irq',
]);

export function accessKind(name: string): AccessKind | undefined {
  return ACCESS.get(name);
}

/** Registration APIs: which argument carries which kind of callback. */
export const REGISTRATIONS: Record<string, { arg: number; kind: EntryKind }[]> = {
  request_irq: [{ arg: 1, kind: 'irq' }],
  request_any_context_irq: [{ arg: 1, kind: 'irq' }],
  devm_request_irq: [{ arg: 2, kind: 'irq' }],
  request_threaded_irq: [{ arg: 1, kind: 'irq' }, { arg: 2, kind: 'threaded_irq' }],
  devm_request_threaded_irq: [{ arg: 2, kind: 'irq' }, { arg: 3, kind: 'threaded_irq' }],
  timer_setup: [{ arg: 1, kind: 'timer' }],
  setup_timer: [{ arg: 1, kind: 'timer' }],
  INIT_WORK: [{ arg: 1, kind: 'work' }],
  INIT_DELAYED_WORK: [{ arg: 1, kind: 'work' }],
  INIT_DEFERRABLE_WORK: [{ arg: 1, kind: 'work' }],
  DECLARE_WORK: [{ arg: 1, kind: 'work' }],
  DECLARE_DELAYED_WORK: [{ arg: 1, kind: 'work' }],
  tasklet_setup: [{ arg: 1, kind: 'tasklet' }],
  tasklet_init: [{ arg: 1, kind: 'tasklet' }],
  DECLARE_TASKLET: [{ arg: 1, kind: 'tasklet' }],
  DECLARE_TASKLET_OLD: [{ arg: 1, kind: 'tasklet' }],
  netif_napi_add: [{ arg: 2, kind: 'napi' }],
  netif_napi_add_weight: [{ arg: 2, kind: 'napi' }],
  netif_napi_add_tx: [{ arg: 2, kind: 'napi' }],
  netif_napi_add_tx_weight: [{ arg: 2, kind: 'napi' }],
  netif_tx_napi_add: [{ arg: 2, kind: 'napi' }],
  usb_fill_bulk_urb: [{ arg: 5, kind: 'urb_complete' }],
  usb_fill_int_urb: [{ arg: 5, kind: 'urb_complete' }],
  usb_fill_control_urb: [{ arg: 6, kind: 'urb_complete' }],
  module_init: [{ arg: 0, kind: 'module_init' }],
  module_exit: [{ arg: 0, kind: 'module_exit' }],
  late_initcall: [{ arg: 0, kind: 'module_init' }],
  device_initcall: [{ arg: 0, kind: 'module_init' }],
  subsys_initcall: [{ arg: 0, kind: 'module_init' }],
  fs_initcall: [{ arg: 0, kind: 'module_init' }],
};

/**
 * What the kernel's interfaces say about the context a callback runs in.
 * Rationale for each row is in docs/plan-format.md ("Critical roots").
 */
import type { AccessKind, EntryKind } from '../parse/model.js';

export type OpsClass = 'data-path' | 'atomic';

/**
 * Ops-table fields that are data-path entry points or run in atomic context.
 * Fields not listed (open, release, unlocked_ioctl, ethtool_ops, probe ...)
 * are configuration and may move; a field that copies from user memory or
 * maps DMA is pinned by that access anyway.
 */
export const OPS_TABLE: Record<string, Record<string, OpsClass[]>> = {
  file_operations: {
    read: ['data-path'],
    write: ['data-path'],
    read_iter: ['data-path'],
    write_iter: ['data-path'],
    poll: ['data-path'],
    mmap: ['data-path'],
    splice_read: ['data-path'],
    splice_write: ['data-path'],
  },
  proc_ops: { proc_read: ['data-path'], proc_write: ['data-path'], proc_poll: ['data-path'] },
  net_device_ops: {
    ndo_start_xmit: ['data-path', 'atomic'], // BH off, under the tx queue lock
    ndo_select_queue: ['data-path', 'atomic'], // in the xmit path
    ndo_tx_timeout: ['atomic'], // from the dev_watchdog timer
    ndo_set_rx_mode: ['atomic'], // under netif_addr_lock_bh
    ndo_get_stats64: ['atomic'], // may be called under spinlocks (bonding, /proc)
    ndo_poll_controller: ['atomic'], // netpoll, interrupts off
  },
  snd_pcm_ops: {
    trigger: ['atomic'], // under the stream lock
    pointer: ['data-path', 'atomic'],
    ack: ['data-path', 'atomic'],
    copy: ['data-path'],
    copy_user: ['data-path'],
  },
  hc_driver: {
    irq: ['atomic'],
    urb_enqueue: ['data-path', 'atomic'], // callers may hold spinlocks (GFP_ATOMIC)
    urb_dequeue: ['atomic'],
    get_frame_number: ['data-path'],
    hub_status_data: ['atomic'], // from the root-hub timer
  },
  usb_serial_driver: { write: ['data-path'], read_bulk_callback: ['atomic'], write_bulk_callback: ['atomic'] },
  tty_operations: { write: ['data-path'], put_char: ['data-path'], write_room: ['data-path'] },
  blk_mq_ops: { queue_rq: ['data-path'], complete: ['atomic'] },
  block_device_operations: { submit_bio: ['data-path'] },
  scsi_host_template: { queuecommand: ['data-path', 'atomic'] },
  i2c_algorithm: { master_xfer: ['data-path'], smbus_xfer: ['data-path'] },
  hrtimer: { function: ['atomic'] },
  urb: { complete: ['atomic'] },
};

/** Registrations whose handler runs in interrupt or softirq context. */
export const IRQ_CONTEXT_ENTRIES: ReadonlySet<EntryKind> = new Set<EntryKind>(['irq', 'threaded_irq', 'timer', 'tasklet', 'napi']);

/** Registration APIs the parser may report by name (kind 'ops' or 'address_taken') whose handler is atomic. */
export const IRQ_CONTEXT_APIS: ReadonlySet<string> = new Set([
  'hrtimer_init',
  'usb_fill_bulk_urb',
  'usb_fill_int_urb',
  'usb_fill_control_urb',
  'usb_fill_iso_urb',
  'setup_timer',
  'tasklet_init',
  'tasklet_setup',
]);

/**
 * DMA API calls that only configure the device's addressing (the DMA mask):
 * no buffer and no bus address is involved, so from user space they are one
 * kernel call like any other, not a reason to keep the caller (probe) in the kernel.
 */
export const DMA_CONFIG_APIS: ReadonlySet<string> = new Set([
  'dma_set_mask',
  'dma_set_coherent_mask',
  'dma_set_mask_and_coherent',
  'pci_set_dma_mask',
  'pci_set_consistent_dma_mask',
]);

/** Access kinds that touch the hardware (pinning only on hot or atomic paths). */
export const HARDWARE_KINDS: ReadonlySet<AccessKind> = new Set<AccessKind>(['pio', 'mmio', 'pci_config', 'irq_api']);

/**
 * Kernel functions the user half provides itself (its compatibility header
 * maps them to libc), so calling them from user space is not a crossing.
 * Every other kernel function a user-side function calls is one EXEC_LPC.
 */
const NATIVE_EXACT = new Set([
  'memcpy', 'memset', 'memmove', 'memcmp', 'memchr',
  'strlen', 'strnlen', 'strcmp', 'strncmp', 'strcpy', 'strncpy', 'strscpy', 'strlcpy', 'strcat', 'strlcat', 'strchr', 'strrchr', 'strstr',
  'sprintf', 'snprintf', 'scnprintf', 'vsnprintf', 'vscnprintf', 'sscanf', 'kstrtoul', 'kstrtol', 'kstrtouint', 'kstrtoint', 'kstrtou8', 'kstrtobool',
  'simple_strtoul', 'simple_strtol',
  'printk', 'panic',
  'kmalloc', 'kzalloc', 'kcalloc', 'kmalloc_array', 'krealloc', 'kfree', 'kstrdup', 'kmemdup', 'vmalloc', 'vzalloc', 'vfree', 'kvfree', 'kvmalloc', 'kvzalloc',
  'msleep', 'msleep_interruptible', 'ssleep', 'usleep_range', 'udelay', 'ndelay', 'mdelay',
  'min', 'max', 'min_t', 'max_t', 'clamp', 'clamp_t', 'ARRAY_SIZE', 'BIT', 'GENMASK', 'WARN_ON', 'WARN_ON_ONCE', 'BUG_ON', 'likely', 'unlikely',
  'le16_to_cpu', 'le32_to_cpu', 'cpu_to_le16', 'cpu_to_le32', 'be16_to_cpu', 'be32_to_cpu', 'cpu_to_be16', 'cpu_to_be32', 'swab16', 'swab32',
]);
const NATIVE_PREFIX = /^(pr_|dev_(err|warn|info|notice|dbg|crit|alert|emerg|printk)|netdev_(err|warn|info|notice|dbg|crit|alert|emerg|printk)|netif_(err|warn|info|notice|dbg)|print_hex_dump)/;

export function isUserNative(api: string): boolean {
  return NATIVE_EXACT.has(api) || NATIVE_PREFIX.test(api);
}

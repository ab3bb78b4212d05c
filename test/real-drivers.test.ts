/**
 * The split of the four drivers the Microdrivers work studied, as
 * docs/real-drivers.md reports it: the CLI (`analyze --json`) on the Linux 6.1
 * sources, checked against what a kernel developer relies on (interrupt,
 * NAPI, transmit and receive paths in the kernel with the right reasons;
 * probe, remove, ethtool and configuration code in user space unless a stated
 * reason keeps it in).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Plan, PlanFunction } from '../src/partition/plan.js';
import type { Reason } from '../src/partition/roots.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from './support/cli.js';
import { diagnostics, sh } from './support/kbuild.js';
import { kernelSourceFiles } from './support/kernel-source.js';
import { guestKernel } from './qemu/harness.js';

const UHCI = 'drivers/usb/host';
/** Inputs per driver, relative to the kernel tree (uhci-hcd as Debian's amd64 kernel builds it: the PCI glue only). */
const INPUTS = {
  rtl8139: ['drivers/net/ethernet/realtek/8139too.c'],
  e1000: ['drivers/net/ethernet/intel/e1000'],
  ens1370: ['sound/pci/ens1370.c'],
  uhci: ['uhci-hcd.c', 'uhci-hcd.h', 'uhci-q.c', 'uhci-hub.c', 'uhci-debug.c', 'uhci-pci.c'].map((f) => `${UHCI}/${f}`),
};
type Driver = keyof typeof INPUTS;
const DRIVERS = Object.keys(INPUTS) as Driver[];

let root = '';
const plans = { all: {}, atomic: {} } as Record<'all' | 'atomic', Record<Driver, Plan>>;

function analyze(driver: Driver, extra: string[]): Plan {
  const r = runCli(['analyze', ...INPUTS[driver], '--json', ...extra], { cwd: root });
  if (r.status !== 0) throw new Error(`analyze ${driver} exited ${r.status}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { plan: Plan }).plan;
}

beforeAll(async () => {
  // The same members as the parser's real-driver test: one extraction serves both.
  root = await kernelSourceFiles([
    'drivers/net/ethernet/realtek/8139too.c',
    'drivers/net/ethernet/intel/e1000/*',
    'sound/pci/ens1370.c',
    'drivers/usb/host/uhci-*',
    'drivers/usb/host/pci-quirks.h',
  ]);
  for (const d of DRIVERS) {
    plans.all[d] = analyze(d, []);
    plans.atomic[d] = analyze(d, ['--closure', 'atomic']);
  }
}, 120_000);

function fn(plan: Plan, name: string): PlanFunction {
  const found = plan.functions.filter((f) => f.name === name);
  if (found.length !== 1) throw new Error(`${name}: ${found.length} functions of that name`);
  return found[0];
}
const kinds = (f: PlanFunction): Reason['kind'][] => [...new Set(f.reasons.map((r) => r.kind))];
const userLineShare = (p: Plan): number => p.summary.user.lines / (p.summary.user.lines + p.summary.kernel.lines);

function expectKernel(plan: Plan, name: string, reason: Partial<Reason> & { kind: Reason['kind'] }): void {
  const f = fn(plan, name);
  expect(f.side, name).toBe('kernel');
  expect(f.pinned, name).toBe(true);
  expect(f.reasons, name).toContainEqual(expect.objectContaining(reason));
}
function expectUser(plan: Plan, names: string[]): void {
  for (const n of names) expect(fn(plan, n).side, n).toBe('user');
}

describe('8139too', () => {
  const plan = () => plans.all.rtl8139;

  it('keeps the interrupt handler, NAPI poll, transmit and receive paths in the kernel, each with its reason', () => {
    expectKernel(plan(), 'rtl8139_interrupt', { kind: 'irq-context', via: 'request_irq' });
    expectKernel(plan(), 'rtl8139_poll', { kind: 'irq-context', via: 'netif_napi_add' });
    expectKernel(plan(), 'rtl8139_start_xmit', { kind: 'data-path', structType: 'net_device_ops', field: 'ndo_start_xmit' });
    expectKernel(plan(), 'rtl8139_start_xmit', { kind: 'irq-context', via: 'net_device_ops.ndo_start_xmit' });
    expectKernel(plan(), 'rtl8139_rx', { kind: 'atomic', role: 'called', lock: 'struct rtl8139_private.rx_lock' });
    expectKernel(plan(), 'rtl8139_tx_interrupt', { kind: 'atomic', role: 'called', lock: 'struct rtl8139_private.lock' });
    expectKernel(plan(), 'rtl8139_tx_timeout', { kind: 'irq-context', via: 'net_device_ops.ndo_tx_timeout' });
  });

  it('moves probe, remove, module init/exit and the ethtool ops that take no spinlock to user space', () => {
    expectUser(plan(), ['rtl8139_init_one', 'rtl8139_init_board', 'rtl8139_remove_one', 'rtl8139_init_module', 'rtl8139_cleanup_module', 'rtl8139_resume']);
    expectUser(plan(), ['rtl8139_get_drvinfo', 'rtl8139_get_link', 'rtl8139_get_msglevel', 'rtl8139_set_msglevel', 'rtl8139_get_regs_len']);
    expectUser(plan(), ['rtl8139_get_sset_count', 'rtl8139_get_strings', 'rtl8139_get_ethtool_stats', 'rtl8139_nway_reset']);
    expect(plan().notes.some((n) => /rtl8139_init_module runs at module load/.test(n))).toBe(true);
  });

  it('keeps the ethtool ops that take tp->lock in the kernel as spinlock holders', () => {
    for (const n of ['rtl8139_get_wol', 'rtl8139_set_wol', 'rtl8139_get_link_ksettings', 'rtl8139_set_link_ksettings', 'rtl8139_get_regs']) {
      expectKernel(plan(), n, { kind: 'atomic', role: 'holder', lock: 'struct rtl8139_private.lock', lockClass: 'spin' });
    }
  });

  it('keeps rtl8139_thread in the kernel because it calls the pinned timeout task under rtnl_lock, and says so', () => {
    const t = fn(plan(), 'rtl8139_thread');
    expect(t.side).toBe('kernel');
    expect(t.pinned).toBe(false);
    expect(t.reasons).toContainEqual(expect.objectContaining({ kind: 'lock-group', lock: 'rtnl_lock', fixedBy: expect.stringMatching(/:rtl8139_tx_timeout_task$/) }));
  });

  it('pins rtl8139_init_ring through rtl8139_open (DMA) with closure "all", and lets it move with "atomic"', () => {
    expectKernel(plan(), 'rtl8139_open', { kind: 'dma', api: 'dma_alloc_coherent' });
    expect(fn(plan(), 'rtl8139_init_ring').reasons).toContainEqual(expect.objectContaining({ kind: 'reachable-from', root: expect.stringMatching(/:rtl8139_open$/) }));
    expect(fn(plans.atomic.rtl8139, 'rtl8139_init_ring').side).toBe('user');
  });

  it('keeps the library callbacks in the kernel when the user names them (the documented workaround)', () => {
    const p = analyze('rtl8139', ['--kernel', 'mdio_read,mdio_write']);
    expect(fn(p, 'mdio_write').side).toBe('kernel');
    expect(fn(p, 'mdio_write').reasons).toContainEqual(expect.objectContaining({ kind: 'forced', side: 'kernel' }));
  });
});

describe('e1000', () => {
  const plan = () => plans.all.e1000;

  it('keeps the interrupt handler, NAPI clean, transmit and the rx cleanup reached through adapter->clean_rx in the kernel', () => {
    expectKernel(plan(), 'e1000_intr', { kind: 'irq-context', via: 'request_irq' });
    expectKernel(plan(), 'e1000_clean', { kind: 'irq-context', via: 'netif_napi_add' });
    expectKernel(plan(), 'e1000_xmit_frame', { kind: 'data-path', field: 'ndo_start_xmit' });
    for (const rx of ['e1000_clean_rx_irq', 'e1000_clean_jumbo_rx_irq', 'e1000_clean_tx_irq']) {
      expectKernel(plan(), rx, { kind: 'reachable-from', root: expect.stringMatching(/:e1000_clean$/) });
    }
    expectKernel(plan(), 'e1000_set_rx_mode', { kind: 'irq-context', via: 'net_device_ops.ndo_set_rx_mode' });
    expectKernel(plan(), 'e1000_update_stats', { kind: 'atomic', role: 'holder', lock: 'struct e1000_adapter.stats_lock' });
  });

  it('moves probe (setting the DMA mask does not pin it), remove, open/close and the watchdog work item out', () => {
    expect(kinds(fn(plan(), 'e1000_probe'))).not.toContain('dma');
    expectUser(plan(), ['e1000_probe', 'e1000_remove', 'e1000_open', 'e1000_close', 'e1000_watchdog', 'e1000_init_module', 'e1000_exit_module']);
    expectUser(plan(), ['e1000_check_options', 'e1000_sw_init']);
  });

  it('does not drag what e1000_mii_ioctl calls after dropping stats_lock into the kernel', () => {
    expectKernel(plan(), 'e1000_mii_ioctl', { kind: 'atomic', role: 'holder', lock: 'struct e1000_adapter.stats_lock' });
    expectUser(plan(), ['e1000_reset', 'e1000_up', 'e1000_down', 'e1000_set_spd_dplx']);
  });

  it('moves the ethtool code to user space except the self-test interrupt handler and the DMA rings of the loopback test', () => {
    const ethtool = plan().functions.filter((f) => f.file.endsWith('/e1000_ethtool.c'));
    const kernel = ethtool.filter((f) => f.side === 'kernel');
    expect(ethtool.length).toBeGreaterThan(40);
    expect(kernel.length / ethtool.length).toBeLessThan(0.2);
    for (const f of kernel) expect(f.pinned, f.name).toBe(true);
    expectKernel(plan(), 'e1000_test_intr', { kind: 'irq-context', via: 'request_irq' });
    expectKernel(plan(), 'e1000_setup_desc_rings', { kind: 'dma', api: 'dma_alloc_coherent' });
    expectUser(plan(), ['e1000_get_drvinfo', 'e1000_get_regs', 'e1000_set_ringparam', 'e1000_diag_test', 'e1000_get_ethtool_stats']);
  });

  it('keeps the EEPROM mutex group in the kernel because its critical section reaches the pinned e1000_get_hw_dev', () => {
    const r = fn(plan(), 'e1000_do_read_eeprom');
    expect(r.side).toBe('kernel');
    expect(r.pinned).toBe(false);
    expect(r.reasons).toContainEqual(expect.objectContaining({ kind: 'lock-group', lock: expect.stringMatching(/e1000_eeprom_lock$/), fixedBy: 'e1000_get_hw_dev' }));
  });

  it('moves more than half of its lines out of the kernel', () => {
    expect(userLineShare(plan())).toBeGreaterThan(0.5);
  });
});

describe('ens1371 (ens1370.c)', () => {
  const plan = () => plans.all.ens1370;

  it('keeps the interrupt handler, PCM trigger and pointer callbacks in the kernel', () => {
    expectKernel(plan(), 'snd_audiopci_interrupt', { kind: 'irq-context', via: 'devm_request_irq' });
    expectKernel(plan(), 'snd_ensoniq_trigger', { kind: 'irq-context', via: 'snd_pcm_ops.trigger' });
    for (const p of ['snd_ensoniq_playback1_pointer', 'snd_ensoniq_playback2_pointer', 'snd_ensoniq_capture_pointer']) {
      expectKernel(plan(), p, { kind: 'data-path', structType: 'snd_pcm_ops', field: 'pointer' });
    }
    expectKernel(plan(), 'snd_ensoniq_midi_interrupt', { kind: 'reachable-from', root: expect.stringMatching(/:snd_audiopci_interrupt$/) });
  });

  it('keeps prepare (reg_lock holder) in, and moves the sample-rate converter it calls after unlocking out', () => {
    expectKernel(plan(), 'snd_ensoniq_playback1_prepare', { kind: 'atomic', role: 'holder', lock: 'struct ensoniq.reg_lock' });
    expectUser(plan(), ['snd_es1371_dac1_rate', 'snd_es1371_src_write', 'snd_es1371_codec_read']);
  });

  it('moves probe, chip creation and init, mixer setup and power management out', () => {
    expectUser(plan(), ['snd_audiopci_probe', '__snd_audiopci_probe', 'snd_ensoniq_create', 'snd_ensoniq_chip_init', 'snd_ensoniq_1371_mixer']);
    expectUser(plan(), ['snd_ensoniq_suspend', 'snd_ensoniq_resume', 'snd_ensoniq_create_gameport']);
  });
});

describe('uhci-hcd', () => {
  const plan = () => plans.all.uhci;

  it('keeps the interrupt handler, URB enqueue/dequeue and the root-hub status poll in the kernel', () => {
    expectKernel(plan(), 'uhci_irq', { kind: 'irq-context', via: 'hc_driver.irq' });
    expectKernel(plan(), 'uhci_urb_enqueue', { kind: 'data-path', structType: 'hc_driver', field: 'urb_enqueue' });
    expectKernel(plan(), 'uhci_urb_dequeue', { kind: 'irq-context', via: 'hc_driver.urb_dequeue' });
    expectKernel(plan(), 'uhci_hub_status_data', { kind: 'irq-context', via: 'hc_driver.hub_status_data' });
    expectKernel(plan(), 'uhci_scan_schedule', { kind: 'atomic', role: 'called', lock: 'struct uhci_hcd.lock' });
  });

  it('moves only the PCI probe, bus reset and module init/exit: everything else runs under uhci->lock', () => {
    expectUser(plan(), ['uhci_pci_probe', 'uhci_pci_init', 'uhci_hcd_init', 'uhci_hcd_cleanup']);
    expectKernel(plan(), 'uhci_hub_control', { kind: 'atomic', role: 'holder', lock: 'struct uhci_hcd.lock' });
    expect(userLineShare(plan())).toBeLessThan(0.1);
  });
});

describe('closure policy on the four drivers', () => {
  it('the atomic closure never keeps more lines in the kernel than the full closure', () => {
    for (const d of DRIVERS) expect(plans.atomic[d].summary.kernel.lines, d).toBeLessThanOrEqual(plans.all[d].summary.kernel.lines);
  });

  it('both closures keep the interrupt handlers in the kernel', () => {
    for (const [d, name] of [['rtl8139', 'rtl8139_interrupt'], ['e1000', 'e1000_intr'], ['ens1370', 'snd_audiopci_interrupt'], ['uhci', 'uhci_irq']] as const) {
      expect(fn(plans.atomic[d], name).side, name).toBe('kernel');
    }
  });
});

describe('emit on the four drivers', () => {
  // Module names: 8139too cannot name a C symbol, and uhci's folder would be "host".
  const NAMES: Record<Driver, string> = { rtl8139: 'rtl8139', e1000: 'e1000', ens1370: 'ens1370', uhci: 'uhci' };

  it.each(DRIVERS)('%s: the kernel half it writes from the sources alone builds with W=1 without a diagnostic', async (d) => {
    const out = path.join(root, `emit-${d}`);
    const r = runCli(['emit', ...INPUTS[d], '--name', NAMES[d], '--out', out], { cwd: root });
    expect(r.stderr).not.toMatch(/split-driver: error/);
    expect(r.status).toBe(0);
    // What cannot cross (struct net_device and the like) stays in the kernel, each with a warning saying why.
    expect(r.stderr).toMatch(/stays in the kernel: .* cannot cross the kernel\/user boundary|stays in the kernel: .* kernel service/);
    const kmod = path.join(out, 'kmod');
    // Modpost's undefined symbols are warnings here: the headers package may lack a codec module's exports (ens1370's ak4531).
    const b = await sh('make', [`KDIR=${guestKernel().build}`, 'W=1', 'KBUILD_MODPOST_WARN=1', '-j2'], kmod);
    expect(diagnostics(b.out), b.out.slice(-3000)).toEqual([]);
    expect(b.code).toBe(0);
    expect(readdirSync(kmod)).toContain(`${NAMES[d]}.ko`);
    // Whatever is undefined comes from the kernel, never from the driver or the split.
    const ours = readdirSync(kmod).filter((f) => /\.[ch]$/.test(f)).map((f) => readFileSync(path.join(kmod, f), 'utf8')).join('\n');
    for (const m of b.out.matchAll(/modpost: "(\w+)" \[.*\] undefined!/g)) {
      expect(m[1], b.out.slice(-2000)).not.toMatch(/^lpc_/);
      expect(ours, m[1]).not.toMatch(new RegExp(`^\\w[\\w\\s*]*\\b${m[1]}\\s*\\([^;]*\\)\\s*\\{`, 'm'));
    }
  }, 240_000);
});

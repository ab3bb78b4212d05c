import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSources } from '../../src/parse/index.js';
import type { DriverModel } from '../../src/parse/model.js';
import { kernelSourceFiles } from '../support/kernel-source.js';

const DRIVERS = {
  rtl8139: { dir: 'drivers/net/ethernet/realtek', match: /^8139too\.c$/ },
  e1000: { dir: 'drivers/net/ethernet/intel/e1000', match: /\.[ch]$/ },
  ens1370: { dir: 'sound/pci', match: /^ens1370\.c$/ },
  uhci: { dir: 'drivers/usb/host', match: /^uhci-.*\.[ch]$/ },
};
type Driver = keyof typeof DRIVERS;

let root = '';
const models = {} as Record<Driver, DriverModel>;
const filesOf = {} as Record<Driver, string[]>;

beforeAll(async () => {
  root = await kernelSourceFiles([
    'drivers/net/ethernet/realtek/8139too.c',
    'drivers/net/ethernet/intel/e1000/*',
    'sound/pci/ens1370.c',
    'drivers/usb/host/uhci-*',
    'drivers/usb/host/pci-quirks.h',
  ]);
  for (const [name, d] of Object.entries(DRIVERS) as [Driver, (typeof DRIVERS)[Driver]][]) {
    const dir = path.join(root, d.dir);
    filesOf[name] = readdirSync(dir).filter((f) => d.match.test(f)).sort().map((f) => path.join(dir, f));
    models[name] = await parseSources(filesOf[name]);
  }
}, 120_000);

/** Function names universal-ctags finds in one file. */
function ctagsFunctions(file: string): string[] {
  const out = execFileSync('ctags', ['--language-force=C', '--kinds-c=f', '-x', file], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(/\s+/)[0]);
}

const fn = (m: DriverModel, name: string) => {
  const f = m.functions.find((x) => x.name === name);
  if (f === undefined) throw new Error(`${name} not in the model`);
  return f;
};
const entryKinds = (m: DriverModel, name: string) => m.entryPoints.filter((e) => e.function === fn(m, name).id).map((e) => e.kind);
const names = (m: DriverModel, ids: string[]) => ids.map((id) => m.functions.find((f) => f.id === id)?.name ?? id);

describe('every function ctags finds is in the model', () => {
  for (const driver of Object.keys(DRIVERS) as Driver[]) {
    it(driver, () => {
      const m = models[driver];
      let total = 0;
      for (const file of filesOf[driver]) {
        const expected = [...new Set(ctagsFunctions(file))];
        total += expected.length;
        const found = new Set(m.functions.filter((f) => f.file === file).map((f) => f.name));
        expect(expected.filter((n) => !found.has(n)), path.basename(file)).toEqual([]);
      }
      expect(total).toBeGreaterThan(40);
    });
  }
});

describe('8139too', () => {
  it('rtl8139_interrupt is the irq handler and holds tp->lock around the tx/weird interrupt work', () => {
    const m = models.rtl8139;
    expect(entryKinds(m, 'rtl8139_interrupt')).toContain('irq');
    const held = m.locks.filter((l) => l.function === fn(m, 'rtl8139_interrupt').id);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ lock: 'struct rtl8139_private.lock', lockClass: 'spin', atomic: true, acquireLine: 2162, releaseLines: [2210] });
    expect(names(m, held[0].calls.map((c) => c.callee))).toEqual(
      expect.arrayContaining(['rtl8139_tx_interrupt', 'rtl8139_weird_interrupt', '__napi_schedule', 'ioread16', 'iowrite16']),
    );
  });

  it('rtl8139_poll is the NAPI poll and calls rtl8139_rx under rx_lock; tp->lock nests inside', () => {
    const m = models.rtl8139;
    expect(entryKinds(m, 'rtl8139_poll')).toContain('napi');
    const held = m.locks.filter((l) => l.function === fn(m, 'rtl8139_poll').id);
    const rx = held.find((l) => l.lock === 'struct rtl8139_private.rx_lock');
    expect(names(m, rx?.calls.map((c) => c.callee) ?? [])).toContain('rtl8139_rx');
    const inner = held.find((l) => l.lock === 'struct rtl8139_private.lock');
    expect(inner?.calls.map((c) => c.callee)).toContain('napi_complete_done');
  });

  it('register access through RTL_W8 is MMIO via the macro; ndo ops are entries', () => {
    const m = models.rtl8139;
    expect(m.access).toContainEqual(expect.objectContaining({ kind: 'mmio', api: 'iowrite8', via: ['RTL_W8'] }));
    const ops = m.entryPoints.filter((e) => e.kind === 'ops' && e.structType === 'net_device_ops');
    expect(ops.map((e) => `${e.field}=${names(m, [e.function])[0]}`)).toEqual(
      expect.arrayContaining(['ndo_open=rtl8139_open', 'ndo_start_xmit=rtl8139_start_xmit', 'ndo_tx_timeout=rtl8139_tx_timeout']),
    );
    expect(entryKinds(m, 'rtl8139_init_module')).toContain('module_init');
  });
});

describe('e1000', () => {
  it('e1000_update_stats holds stats_lock while reading the PHY, which takes the file-scope e1000_phy_lock', () => {
    const m = models.e1000;
    const stats = m.locks.filter((l) => l.function === 'e1000_update_stats');
    expect(stats.map((l) => [l.lock, l.acquireLine, l.releaseLines])).toEqual([['struct e1000_adapter.stats_lock', 3606, [3735]]]);
    expect(stats[0].calls.map((c) => c.callee)).toContain('e1000_read_phy_reg');
    const phyLock = m.globals.find((g) => g.name === 'e1000_phy_lock');
    expect(phyLock?.lockClass).toBe('spin');
    const phy = m.locks.filter((l) => l.function === 'e1000_read_phy_reg');
    expect(phy.map((l) => l.lock)).toEqual([phyLock?.id]);
    expect(names(m, phy[0].calls.map((c) => c.callee))).toContain('e1000_read_phy_reg_ex');
  });

  it('e1000_mii_ioctl keeps its early unlock-and-return paths out of the region', () => {
    const m = models.e1000;
    const regions = m.locks.filter((l) => l.function === fn(m, 'e1000_mii_ioctl').id);
    expect(regions.length).toBeGreaterThan(0);
    for (const r of regions) expect(r.releaseLines.length).toBeGreaterThan(0);
    expect(fn(m, 'e1000_mii_ioctl').acquires).toEqual([]);
  });

  it('indirect calls through adapter->clean_rx and alloc_rx_buf resolve to the functions stored there', () => {
    const m = models.e1000;
    const viaClean = m.calls.filter((c) => c.kind === 'field' && c.via === 'clean_rx');
    expect(new Set(names(m, viaClean.map((c) => c.callee)))).toEqual(new Set(['e1000_clean_rx_irq', 'e1000_clean_jumbo_rx_irq']));
    const viaAlloc = m.calls.filter((c) => c.kind === 'field' && c.via === 'alloc_rx_buf');
    expect(new Set(names(m, viaAlloc.map((c) => c.callee)))).toEqual(new Set(['e1000_alloc_rx_buffers', 'e1000_alloc_jumbo_rx_buffers', 'e1000_alloc_dummy_rx_buffers']));
    expect(m.unresolved).toEqual([]);
  });

  it('the irq handler arrives through a local variable and E1000_WRITE_FLUSH reaches readl', () => {
    const m = models.e1000;
    expect(entryKinds(m, 'e1000_intr')).toContain('irq');
    expect(m.access).toContainEqual(expect.objectContaining({ kind: 'mmio', api: 'readl', via: ['E1000_WRITE_FLUSH', 'er32'] }));
  });
});

describe('ens1370 and uhci', () => {
  it('ens1370: the interrupt handler, PCM ops and port I/O through its own macros', () => {
    const m = models.ens1370;
    expect(entryKinds(m, 'snd_audiopci_interrupt')).toContain('irq');
    const trigger = m.entryPoints.find((e) => e.kind === 'ops' && e.structType === 'snd_pcm_ops' && e.field === 'trigger');
    expect(names(m, [trigger?.function ?? ''])).toEqual(['snd_ensoniq_trigger']);
    expect(m.access.filter((a) => a.function === fn(m, 'snd_ensoniq_trigger').id).map((a) => a.kind)).toContain('pio');
  });

  it('uhci_giveback_urb releases and re-acquires uhci->lock; callers of uhci_readw do port I/O through it', () => {
    const m = models.uhci;
    const giveback = fn(m, 'uhci_giveback_urb');
    expect(giveback.releases).toEqual(['struct uhci_hcd.lock']);
    expect(giveback.acquires).toEqual(['struct uhci_hcd.lock']);
    const held = m.locks.filter((l) => l.function === giveback.id);
    expect(held.map((l) => [l.primitive, l.lockClass])).toEqual([
      ['__releases', 'spin'],
      ['spin_lock', 'spin'],
    ]);
    expect(fn(m, 'uhci_readw').isInline).toBe(true);
    expect(m.access).toContainEqual(expect.objectContaining({ kind: 'pio', api: 'inw', via: ['uhci_readw'] }));
  });
});

/**
 * Port I/O from moved code: which fields hold port bases, how many ports
 * their region spans (the driver's request_region(), or an annotation), the
 * refusals when that is unknown, and writes to a view's fields: scalars go
 * back to the kernel, cookies cannot.
 */
import { describe, expect, it } from 'vitest';
import { TypeWorld } from '../../src/emit/marshal.js';
import { fixedPort, isPortField, portFromParam, portRegionLength } from '../../src/emit/ports.js';
import { indexSource } from '../../src/emit/source.js';
import { planView } from '../../src/emit/view.js';

const SRC = `#include <linux/io.h>
#define NPORTS 8
#define REG_DATA 1
#define ALT_BASE 0x300
#define RD(p, r) inb((p)->base + (r))
struct card {
	struct device *dev;
	unsigned long base;
	unsigned long alt;
	unsigned long pci;
	unsigned long var;
	unsigned long noreq;
	u16 narrow;
	void __iomem *regs;
	u32 status;
	u32 count;
};
static int probe(struct pci_dev *pdev, struct card *c, unsigned long n)
{
	c->base = 0x220;
	if (!request_region(c->base, NPORTS * 2, "card"))
		return -EBUSY;
	devm_request_region(&pdev->dev, c->base, NPORTS, "card");
	c->alt = ALT_BASE;
	request_region(ALT_BASE, 4, "card");
	c->pci = pci_resource_start(pdev, 2);
	c->var = 0x240;
	request_region(c->var, n, "card");
	c->regs = ioremap(0xfe000000, 0x100);
	return 0;
}
static u8 rd(struct card *c) { return RD(c, REG_DATA); }
static void wr(struct card *c, u8 v) { outb(v, c->alt + 2); c->count++; c->status = v; }
static u8 pcird(struct card *c) { return inb(c->pci); }
static u8 varrd(struct card *c) { return inb(c->var); }
static u8 noreqrd(struct card *c) { return inb(c->noreq); }
static u8 narrowrd(struct card *c) { return inb(c->narrow); }
static void movebase(struct card *c) { c->base += 4; outb(0, c->base); }
static void moveregs(struct card *c) { c->regs += 4; }
static u8 fixed(void) { return inb(0x80) | inb(ALT_BASE + REG_DATA); }
static void setdev(struct card *c) { c->dev = NULL; }
static u8 raw(unsigned long base, u8 r) { return inb(base + r); }
static void late(struct card *c)
{
	u32 x = RD(c, REG_DATA);

	c->status = x;
	c->dev = (void *)0;
}
`;

const idx = indexSource('card.c', SRC);
const world = new TypeWorld([idx]);
const fnText = (name: string): string => {
  const it = idx.items.find((i) => i.kind === 'function' && i.names[0] === name)!;
  return SRC.slice(it.start, it.end);
};
/** The line of SRC that holds `text`. */
const lineOf = (text: string): number => SRC.split('\n').findIndex((l) => l.includes(text)) + 1;
const env = (annotations = {}) => ({
  world,
  indexes: [idx],
  defines: idx.defines,
  annotations,
  configName: 'split-driver.json',
  userFn: (n: string) => (SRC.includes(`${n}(struct card *c`) ? { text: fnText(n), params: ['c'], at: { file: 'card.c', line: lineOf(`${n}(struct card *c`) } } : undefined),
});

describe('port regions', () => {
  it('knows a port base from its use in a port accessor (through the driver\'s macros) or a request', () => {
    expect(isPortField('base', [idx], idx.defines)).toBe(true);
    expect(isPortField('var', [idx], idx.defines)).toBe(true);
    expect(isPortField('status', [idx], idx.defines)).toBe(false);
  });

  it('takes the smallest constant count the driver requests the field, or the base it is set from, with', () => {
    expect(portRegionLength('card', 'base', [idx], world, {})).toEqual({ length: 8 });
    expect(portRegionLength('card', 'alt', [idx], world, {})).toEqual({ length: 4 });
  });

  it('says why and where when the count is only known at run time', () => {
    expect(portRegionLength('card', 'pci', [idx], world, {})).toEqual({ why: expect.stringMatching(/pci_resource_start\(\).*only known at run time/), at: { file: 'card.c', line: 26 } });
    expect(portRegionLength('card', 'var', [idx], world, {})).toEqual({ why: expect.stringMatching(/request_region\(\) with a length that is not a constant \(n\)/), at: { file: 'card.c', line: 28 } });
  });

  it('takes the count from an annotation keyed by the structure and field', () => {
    expect(portRegionLength('card', 'noreq', [idx], world, { 'card.noreq': { ports: 2 } })).toEqual({ length: 2 });
    expect(portRegionLength('card', 'pci', [idx], world, { 'card.pci': { ports: 0x20 } })).toEqual({ length: 0x20 });
  });

  it('finds port accessors on a fixed port, macros included', () => {
    expect(fixedPort(fnText('fixed'), idx.defines, world)).toBe('0x80');
    expect(fixedPort('{ return inb(ALT_BASE + REG_DATA); }', idx.defines, world)).toBe('ALT_BASE + REG_DATA');
    expect(fixedPort(fnText('rd'), idx.defines, world)).toBeUndefined();
    expect(fixedPort(fnText('wr'), idx.defines, world)).toBeUndefined();
  });

  it('finds port I/O on a number the kernel would pass, but not on an offset from a driver structure\'s base', () => {
    expect(portFromParam(fnText('raw'), idx.defines, ['base', 'r'])).toBe('base');
    expect(portFromParam(fnText('wr'), idx.defines, ['v'])).toBeUndefined();
    expect(portFromParam(fnText('rd'), idx.defines, ['r'])).toBeUndefined();
  });
});

describe('views with ports and writes', () => {
  it('lends a port base as a port region of the requested count', () => {
    expect(planView('card', 'rd', 'c', env())).toEqual({ fields: [{ field: 'base', kind: 'port', cType: 'u64', length: 8 }] });
  });

  it('copies the scalars the moved code writes back, and only those', () => {
    expect(planView('card', 'wr', 'c', env())).toEqual({
      fields: [
        { field: 'alt', kind: 'port', cType: 'u64', length: 4 },
        { field: 'count', kind: 'scalar', cType: 'u32', written: true },
        { field: 'status', kind: 'scalar', cType: 'u32', written: true },
      ],
    });
  });

  it('refuses an unknown port count, naming the annotation and where the base comes from', () => {
    expect(planView('card', 'noreqrd', 'c', env())).toEqual({ why: expect.stringMatching(/noreqrd reaches ports through c->noreq, but no request_region\(\) .*; annotate "card\.noreq": \{"ports": <count>\} in split-driver\.json$/) });
    expect(planView('card', 'pcird', 'c', env())).toEqual({ why: expect.stringMatching(/pci_resource_start\(\).* \(card\.c:26\); annotate "card\.pci"/) });
    expect(planView('card', 'noreqrd', 'c', env({ 'card.noreq': { ports: 2 } }))).toEqual({ fields: [{ field: 'noreq', kind: 'port', cType: 'u64', length: 2 }] });
  });

  it('refuses a port base too narrow for a cookie', () => {
    expect(planView('card', 'narrowrd', 'c', env({ 'card.narrow': { ports: 2 } }))).toEqual({ why: expect.stringMatching(/c->narrow, a u16: .*declared unsigned long/) });
  });

  it('refuses writes that cannot be carried back, naming where: port bases, __iomem pointers, pointers', () => {
    expect(planView('card', 'movebase', 'c', env())).toEqual({ why: `movebase writes c->base (card.c:${lineOf('movebase(')}), a port base the user half only has a cookie for, which cannot be carried back to the kernel` });
    expect(planView('card', 'moveregs', 'c', env())).toEqual({ why: expect.stringMatching(new RegExp(`^moveregs writes c->regs \\(card\\.c:${lineOf('moveregs(')}\\), an __iomem pointer`)) });
    expect(planView('card', 'setdev', 'c', env())).toEqual({ why: expect.stringMatching(/^setdev writes c->dev \(card\.c:\d+\), a struct device \* the user half has no copy of/) });
    // Inside a body, after a macro: the statement's own line.
    expect(planView('card', 'late', 'c', env())).toEqual({ why: expect.stringContaining(`late writes c->dev (card.c:${lineOf('c->dev = (void *)0;')})`) });
  });
});

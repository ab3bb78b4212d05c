/**
 * Register access from moved code: which fields of a driver structure the
 * user half may have (the "view"), how long the region behind an __iomem
 * field is, and the refusals when the moved code would need more.
 */
import { describe, expect, it } from 'vitest';
import { expandMacros, regionLength } from '../../src/emit/iomem.js';
import { TypeWorld } from '../../src/emit/marshal.js';
import { indexSource } from '../../src/emit/source.js';
import { planView } from '../../src/emit/view.js';

const SRC = `#include <linux/io.h>
#define BAR_LEN 0x80
#define R32(p, r) readl((p)->regs + (r))
#define W32(p, r, v) writel((v), (p)->regs + (r))
struct dev_priv {
	struct device *dev;
	void __iomem *regs;
	void __iomem *win;
	void __iomem *dyn;
	void *mem;
	u32 flags;
	struct { int a; } nested;
};
static int probe(struct pci_dev *pdev, struct dev_priv *priv)
{
	priv->regs = pci_iomap_range(pdev, 0, 0, BAR_LEN * 2);
	priv->regs = ioremap(0xfe000000, BAR_LEN);
	priv->mem = devm_kzalloc(&pdev->dev, 0x40, GFP_KERNEL);
	priv->win = (void __force __iomem *)priv->mem;
	priv->dyn = ioremap(pci_resource_start(pdev, 0), pci_resource_len(pdev, 0));
	return 0;
}
static u32 rd(struct dev_priv *priv, u32 r) { return R32(priv, r) | priv->flags; }
static void both(struct dev_priv *p) { W32(p, 4, rd(p, 8)); }
static void setflags(struct dev_priv *priv) { priv->flags = 1; }
static void leak(struct dev_priv *priv) { dev_info(priv->dev, "x"); }
static void pass(struct dev_priv *priv) { kfree(priv); }
static u32 dynr(struct dev_priv *priv) { return readl(priv->dyn); }
`;

const idx = indexSource('drv.c', SRC);
const world = new TypeWorld([idx]);
const fnText = (name: string): string => {
  const it = idx.items.find((i) => i.kind === 'function' && i.names[0] === name)!;
  return SRC.slice(it.start, it.end);
};
const PARAMS: Record<string, string[]> = { rd: ['priv', 'r'], both: ['p'], setflags: ['priv'], leak: ['priv'], pass: ['priv'], dynr: ['priv'] };
const env = {
  world,
  indexes: [idx],
  defines: idx.defines,
  annotations: {},
  configName: 'split-driver.json',
  userFn: (n: string) => (PARAMS[n] ? { text: fnText(n), params: PARAMS[n] } : undefined),
};

describe('register regions', () => {
  it('expands the driver\'s macros so register reads through them are seen', () => {
    expect(expandMacros('x = R32(priv, 4);', idx.defines)).toBe('x = (readl((priv)->regs + (4)));');
  });

  it('takes the smallest constant length over every mapping of a field', () => {
    expect(regionLength('regs', [idx], world)).toEqual({ length: 0x80 });
  });

  it('follows a cast from memory standing in for a BAR to its allocation', () => {
    expect(regionLength('win', [idx], world)).toEqual({ length: 0x40 });
  });

  it('says why and where when the length is only known at run time', () => {
    const r = regionLength('dyn', [idx], world);
    expect(r).toMatchObject({ at: { file: 'drv.c', line: 20 } });
    expect('why' in r && r.why).toMatch(/ioremap\(\) with a length that is not a constant/);
  });
});

describe('views of a driver structure', () => {
  it('gives the moved code the fields it reads, through moved callees too', () => {
    expect(planView('dev_priv', 'both', 'p', env)).toEqual({
      fields: [
        { field: 'flags', kind: 'scalar', cType: 'u32' },
        { field: 'regs', kind: 'iomem', cType: 'u64', length: 0x80 },
      ],
    });
  });

  it('carries a scalar field the moved code writes back: it is marked written', () => {
    expect(planView('dev_priv', 'setflags', 'priv', env)).toEqual({ fields: [{ field: 'flags', kind: 'scalar', cType: 'u32', written: true }] });
  });

  it('refuses kernel pointers, passing the pointer to the kernel, and unknown regions', () => {
    expect(planView('dev_priv', 'leak', 'priv', env)).toEqual({ why: expect.stringMatching(/uses priv->dev .*cannot be copied/) });
    expect(planView('dev_priv', 'pass', 'priv', env)).toEqual({ why: expect.stringMatching(/passes priv to kfree, which runs in the kernel/) });
    expect(planView('dev_priv', 'dynr', 'priv', env)).toEqual({ why: expect.stringMatching(/priv->dyn.*not a constant.*drv\.c:20/) });
  });
});

describe('mappings found by field name', () => {
  it('refuses when two structures have an __iomem field of that name', () => {
    const src = `struct a { void __iomem *regs; };
struct b { void __iomem *regs; };
static void f(struct a *x, struct b *y) { x->regs = ioremap(0, 0x10); y->regs = ioremap(0, 0x1000); }
static u32 rd(struct b *y) { return readl(y->regs); }
`;
    const i = indexSource('two.c', src);
    const it = i.items.find((x) => x.kind === 'function' && x.names[0] === 'rd')!;
    const r = planView('b', 'rd', 'y', {
      world: new TypeWorld([i]),
      indexes: [i],
      defines: i.defines,
      annotations: {},
      configName: 'split-driver.json',
      userFn: (n) => (n === 'rd' ? { text: src.slice(it.start, it.end), params: ['y'] } : undefined),
    });
    expect(r).toEqual({ why: expect.stringMatching(/struct a and struct b both have a field regs/) });
  });
});

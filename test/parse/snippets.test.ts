import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseSources } from '../../src/parse/index.js';
import type { DriverModel, LockRegion } from '../../src/parse/model.js';

/** Writes the snippets into a fresh directory and parses them together. */
async function parse(files: Record<string, string>): Promise<{ model: DriverModel; dir: string; p: (f: string) => string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'split-driver-parse-'));
  const p = (f: string) => path.join(dir, f);
  for (const [name, text] of Object.entries(files)) writeFileSync(p(name), text);
  return { model: await parseSources(Object.keys(files).map(p)), dir, p };
}

const callees = (m: DriverModel, caller: string) => m.calls.filter((c) => c.caller === caller).map((c) => c.callee);
const regionsOf = (m: DriverModel, fn: string) => m.locks.filter((l) => l.function === fn);
const calledUnder = (r: LockRegion) => r.calls.map((c) => c.callee);

describe('functions', () => {
  it('names __init/__exit functions correctly and keeps statics of two files apart', async () => {
    const { model, p } = await parse({
      'a.c': 'static int __init helper(void) { return 1; }\nstatic void __exit bye(void) { }\nint api(void) { return helper(); }\n',
      'b.c': 'static int helper(void) { return 2; }\nint other(void) { return helper() + api(); }\n',
    });
    const ids = model.functions.map((f) => f.id).sort();
    expect(ids).toEqual([`${p('a.c')}:bye`, `${p('a.c')}:helper`, `${p('b.c')}:helper`, 'api', 'other'].sort());
    expect(callees(model, 'api')).toEqual([`${p('a.c')}:helper`]);
    expect(callees(model, 'other')).toEqual([`${p('b.c')}:helper`, 'api']);
    const helper = model.functions.find((f) => f.id === `${p('a.c')}:helper`);
    expect(helper).toMatchObject({ startLine: 1, endLine: 1, isStatic: true, returnType: 'int', params: [] });
  });

  it('keeps the body of an iteration macro inside its function', async () => {
    const { model } = await parse({
      'it.c': [
        'void walk(struct list_head *h) {',
        '\tstruct item *p;',
        '\tlist_for_each_entry(p, h, node) {',
        '\t\tvisit(p);',
        '\t}',
        '\tfor_each_possible_cpu(cpu) {',
        '\t\tpercpu_work(cpu);',
        '\t}',
        '}',
      ].join('\n'),
    });
    expect(model.functions.map((f) => f.name)).toEqual(['walk']);
    expect(callees(model, 'walk')).toEqual(expect.arrayContaining(['visit', 'percpu_work']));
  });

  it('skips #if 0 code and survives #ifdef inside an initializer', async () => {
    const { model } = await parse({
      'c.c': [
        '#if 0',
        'int dead(void) { return 0; }',
        '#endif',
        'static int op_open(void) { return 0; }',
        'static int op_pm(void) { return 0; }',
        'static const struct file_operations fops = {',
        '\t.open = op_open,',
        '#ifdef CONFIG_PM',
        '\t.pm = op_pm,',
        '#endif',
        '};',
      ].join('\n'),
    });
    expect(model.functions.map((f) => f.name).sort()).toEqual(['op_open', 'op_pm']);
    const ops = model.entryPoints.filter((e) => e.kind === 'ops').map((e) => `${e.structType}.${e.field}`).sort();
    expect(ops).toEqual(['file_operations.open', 'file_operations.pm']);
  });
});

describe('calls', () => {
  it('resolves calls through struct members, local function pointers and macros', async () => {
    const { model, p } = await parse({
      'drv.h': '#define REG_W8(r, v) iowrite8((v), base + (r))\n#define FLUSH() REG_R8(0)\n#define REG_R8(r) ioread8(base + (r))\n',
      'drv.c': [
        '#include "drv.h"',
        'static void rx_a(struct adapter *a) { }',
        'static void rx_b(struct adapter *a) { }',
        'static void tx(void) { }',
        'static const struct ops o = { .xmit = tx };',
        'void setup(struct adapter *a, int big) {',
        '\tif (big) a->clean_rx = rx_a; else a->clean_rx = rx_b;',
        '}',
        'void poll(struct adapter *a) {',
        '\tvoid (*fp)(void) = tx;',
        '\ta->clean_rx(a);',
        '\to.xmit();',
        '\tfp();',
        '\tREG_W8(1, 2);',
        '\tFLUSH();',
        '\ttable[3]();',
        '\ta->unknown_op(a);',
        '}',
      ].join('\n'),
    });
    const c = p('drv.c');
    const calls = model.calls.filter((x) => x.caller === 'poll').map((x) => `${x.kind}:${x.callee}${x.via ? `@${x.via}` : ''}`);
    expect(calls.sort()).toEqual(
      [
        `field:${c}:rx_a@clean_rx`,
        `field:${c}:rx_b@clean_rx`,
        `field:${c}:tx@xmit`,
        `local:${c}:tx@fp`,
        'macro:iowrite8@REG_W8',
        'macro:ioread8@FLUSH -> REG_R8',
      ].sort(),
    );
    const reasons = model.unresolved.filter((u) => u.caller === 'poll').map((u) => u.text);
    expect(reasons.sort()).toEqual(['a->unknown_op', 'table[3]']);
  });
});

describe('entry points', () => {
  it('finds module_init/exit, request_irq through a local variable, timers, work, tasklets and NAPI', async () => {
    const { model, p } = await parse({
      'e.c': [
        'static irqreturn_t msi_intr(int irq, void *d) { return IRQ_HANDLED; }',
        'static irqreturn_t legacy_intr(int irq, void *d) { return IRQ_HANDLED; }',
        'static void tick(struct timer_list *t) { }',
        'static void work_fn(struct work_struct *w) { }',
        'static void tl_fn(struct tasklet_struct *t) { }',
        'static int poll_fn(struct napi_struct *n, int budget) { return 0; }',
        'static void cb(void) { }',
        'static int up(struct adapter *a) {',
        '\tirq_handler_t handler = legacy_intr;',
        '\tif (a->msi) handler = msi_intr;',
        '\ttimer_setup(&a->timer, tick, 0);',
        '\tINIT_WORK(&a->work, work_fn);',
        '\ttasklet_setup(&a->tl, tl_fn);',
        '\tnetif_napi_add(a->netdev, &a->napi, poll_fn);',
        '\tregister_cb(&cb);',
        '\treturn request_irq(a->irq, handler, 0, "x", a);',
        '}',
        'static int __init drv_init(void) { return 0; }',
        'static void __exit drv_exit(void) { }',
        'module_init(drv_init);',
        'module_exit(drv_exit);',
      ].join('\n'),
    });
    const e = p('e.c');
    const entries = model.entryPoints.map((x) => `${x.kind}:${x.function.slice(e.length + 1)}`).sort();
    expect(entries).toEqual(
      [
        'irq:legacy_intr',
        'irq:msi_intr',
        'timer:tick',
        'work:work_fn',
        'tasklet:tl_fn',
        'napi:poll_fn',
        'address_taken:cb',
        'module_init:drv_init',
        'module_exit:drv_exit',
      ].sort(),
    );
  });
});

describe('lock regions', () => {
  it('follows early-unlock paths, goto out_unlock and the calls made while held', async () => {
    const { model } = await parse({
      'l.c': [
        'int ioctl(struct priv *tp, int cmd) {', // 1
        '\tunsigned long flags;',
        '\tspin_lock_irqsave(&tp->lock, flags);', // 3
        '\tif (cmd == 1) {',
        '\t\tspin_unlock_irqrestore(&tp->lock, flags);', // 5
        '\t\treturn -EINVAL;',
        '\t}',
        '\tif (cmd == 2)',
        '\t\tgoto out_unlock;',
        '\tread_phy(tp);', // 10
        'out_unlock:',
        '\tspin_unlock_irqrestore(&tp->lock, flags);', // 12
        '\tafter_unlock(tp);',
        '\treturn 0;',
        '}',
      ].join('\n'),
    });
    const [r] = regionsOf(model, 'ioctl');
    expect(r).toMatchObject({ lock: 'struct priv.lock', lockText: 'tp->lock', lockClass: 'spin', atomic: true, acquireLine: 3, releaseLines: [5, 12] });
    expect(calledUnder(r)).toEqual(['read_phy']);
    expect(model.functions[0]).toMatchObject({ acquires: [], releases: [] });
  });

  it('takes a trylock only on the branch where it succeeded, with each success convention', async () => {
    const { model } = await parse({
      't.c': [
        'void a(struct dev *d) {',
        '\tif (!spin_trylock(&d->lock))',
        '\t\treturn;',
        '\tunder_a(d);',
        '\tspin_unlock(&d->lock);',
        '}',
        'int b(struct dev *d) {',
        '\tif (mutex_lock_interruptible(&d->mtx))',
        '\t\treturn -EINTR;',
        '\tunder_b(d);',
        '\tmutex_unlock(&d->mtx);',
        '\treturn 0;',
        '}',
        'int c(struct dev *d) {',
        '\tint ret = down_interruptible(&d->sem);',
        '\tif (ret)',
        '\t\treturn ret;',
        '\tunder_c(d);',
        '\tup(&d->sem);',
        '\treturn 0;',
        '}',
      ].join('\n'),
    });
    expect(regionsOf(model, 'a').map(calledUnder)).toEqual([['under_a']]);
    expect(regionsOf(model, 'b').map((r) => [r.lock, r.lockClass, r.atomic, calledUnder(r)])).toEqual([['struct dev.mtx', 'mutex', false, ['under_b']]]);
    expect(regionsOf(model, 'c').map(calledUnder)).toEqual([['under_c']]);
    // No path leaves any of them holding a lock: the failure branches did not take it.
    expect(model.functions.map((f) => f.acquires)).toEqual([[], [], []]);
  });

  it('scopes guard() to its block and scoped_guard() to its statement; records lock helpers', async () => {
    const { model } = await parse({
      'g.c': [
        'static DEFINE_SPINLOCK(glock);',
        'static DEFINE_MUTEX(gmutex);',
        'void g1(struct dev *d) {',
        '\t{',
        '\t\tguard(spinlock_irqsave)(&d->lock);',
        '\t\tinside_guard();',
        '\t}',
        '\toutside();',
        '\tscoped_guard(mutex, &gmutex) {',
        '\t\tinside_scoped();',
        '\t}',
        '\tafter_scoped();',
        '}',
        'void take(void) __acquires(glock) { spin_lock(&glock); }',
        'void drop(void) { spin_unlock(&glock); }',
      ].join('\n'),
    });
    const regions = regionsOf(model, 'g1').map((r) => [r.primitive, r.lock, r.lockClass, calledUnder(r), r.releaseLines]);
    const file = model.files[0];
    expect(regions).toEqual([
      ['guard(spinlock_irqsave)', 'struct dev.lock', 'spin', ['inside_guard'], [7]],
      ['scoped_guard(mutex)', `${file}:gmutex`, 'mutex', ['inside_scoped'], [11]],
    ]);
    const byName = Object.fromEntries(model.functions.map((f) => [f.name, f]));
    expect(byName.take.acquires).toEqual([`${file}:glock`]);
    expect(byName.drop.releases).toEqual([`${file}:glock`]);
    expect(model.globals.map((g) => [g.name, g.lockClass, g.isStatic])).toEqual([
      ['glock', 'spin', true],
      ['gmutex', 'mutex', true],
    ]);
  });
});

describe('globals and hardware access', () => {
  it('records readers and writers of file-scope variables, honouring shadowing', async () => {
    const { model } = await parse({
      'v.c': [
        'static int counter;',
        'int shared_cfg = 3;',
        'void inc(void) { counter++; }',
        'int get(void) { return counter + shared_cfg; }',
        'void set(int v) { shared_cfg = v; }',
        'void shadow(void) { int counter = 0; counter = 1; }',
      ].join('\n'),
    });
    const g = Object.fromEntries(model.globals.map((x) => [x.name, { readers: x.readers.sort(), writers: x.writers.sort() }]));
    expect(g).toEqual({
      counter: { readers: ['get'], writers: ['inc'] },
      shared_cfg: { readers: ['get'], writers: ['set'] },
    });
  });

  it('finds MMIO, PIO, DMA and user-memory access directly, through a macro and through an inline helper', async () => {
    const { model, p } = await parse({
      'hw.h': 'static inline u16 chip_readw(struct chip *c, int r) { return inw(c->io + r); }\n',
      'hw.c': [
        '#include "hw.h"',
        '#define CHIP_W32(c, r, v) writel((v), (c)->mmio + (r))',
        'void kick(struct chip *c) { CHIP_W32(c, 4, 1); }',
        'int status(struct chip *c) { return chip_readw(c, 2); }',
        'long ioc(struct chip *c, void __user *arg) { return copy_from_user(&c->cfg, arg, 4); }',
        'void ring(struct chip *c) { c->ring = dma_alloc_coherent(c->dev, 4096, &c->dma, GFP_KERNEL); }',
      ].join('\n'),
    });
    const acc = model.access.map((a) => `${a.function}:${a.kind}:${a.api}:${(a.via ?? []).join('>')}`).sort();
    expect(acc).toEqual(
      [
        'kick:mmio:writel:CHIP_W32',
        'status:pio:inw:chip_readw',
        `${p('hw.h')}:chip_readw:pio:inw:`,
        'ioc:user_memory:copy_from_user:',
        'ring:dma:dma_alloc_coherent:',
      ].sort(),
    );
    expect(model.functions.find((f) => f.name === 'ioc')?.params[1]).toEqual({ name: 'arg', type: 'void __user *' });
  });
});

describe('bad input', () => {
  it('rejects a missing file and a binary file with the file named', async () => {
    await expect(parseSources([path.join(os.tmpdir(), 'no-such-dir-split', 'x.c')])).rejects.toThrow(InputError);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'split-driver-parse-'));
    const bin = path.join(dir, 'blob.c');
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x0a, 0x00, 0x01, 0x02]));
    const err = await parseSources([bin]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({ file: bin, line: 2 });
  });

  it('rejects prose but turns local damage into diagnostics', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'split-driver-parse-'));
    const prose = path.join(dir, 'notes.c');
    writeFileSync(prose, 'This is not a C file at all, only a few sentences of English prose.\n'.repeat(10));
    await expect(parseSources([prose])).rejects.toMatchObject({ name: 'InputError', file: prose });
    // An X-macro table is almost all ERROR to tree-sitter, but it is C: diagnostics, not an error.
    const table = path.join(dir, 'table.h');
    writeFileSync(table, 'UNUSUAL_DEV(0x03eb, 0x2002, 0x0100, 0x0100, "ATMEL", "SND1 Storage", USB_SC_DEVICE, USB_PR_DEVICE, NULL, 0),\n'.repeat(20));
    await expect(parseSources([table])).resolves.toMatchObject({ functions: [] });
    const warnings: string[] = [];
    const damaged = path.join(dir, 'damaged.c');
    writeFileSync(damaged, 'int ok(void) { return 1; }\nint bad(void) { return 1 +* ; }\nint fine(void) { return ok(); }\n');
    const progress: string[] = [];
    const model = await parseSources([damaged, table], {
      onWarning: (d) => warnings.push(`${d.line}: ${d.message}`),
      onProgress: (done, total) => progress.push(`${done}/${total}`),
    });
    expect(progress).toEqual(['1/2', '2/2']);
    expect(model.functions.map((f) => f.name)).toEqual(['ok', 'bad', 'fine']);
    expect(warnings.some((w) => w.startsWith('2: '))).toBe(true);
    expect(model.diagnostics.filter((d) => d.file === damaged).map((d) => d.line)).toContain(2);
  });
});

describe('signatures', () => {
  it('reads parameter names and types as written, and recursive calls stay direct', async () => {
    const { model } = await parse({
      's.c': [
        'static inline const char *name_of(struct dev *d, int (*cb)(int), u8 buf[16], const char __user *ubuf, unsigned long, ...)',
        '{ return name_of(d, cb, buf, ubuf, 0); }',
      ].join('\n'),
    });
    const f = model.functions[0];
    expect(f).toMatchObject({ isStatic: true, isInline: true, returnType: 'const char *' });
    expect(f.params).toEqual([
      { name: 'd', type: 'struct dev *' },
      { name: 'cb', type: 'int (*)(int)' },
      { name: 'buf', type: 'u8 [16]' },
      { name: 'ubuf', type: 'const char __user *' },
      { name: '', type: 'unsigned long' },
      { name: '', type: '...' },
    ]);
    expect(model.calls.map((c) => [c.callee, c.kind])).toEqual([[f.id, 'direct']]);
  });
});

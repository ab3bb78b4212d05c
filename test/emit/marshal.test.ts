/**
 * Marshalling plans: wire layouts of the types drivers pass, and refusals of
 * what cannot be copied safely, each naming file:line and the fixing annotation.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { planProcedure, TypeWorld, type ProcPlan } from '../../src/emit/marshal.js';
import { procedureEntry } from '../../src/emit/manifest.js';
import { indexSource } from '../../src/emit/source.js';
import type { Annotation } from '../../src/partition/config.js';
import { parseSources } from '../../src/parse/index.js';

const HEADER = `#include <linux/types.h>
struct pt { u8 tag; u32 x; u64 y; };
struct holder { struct pt p; u16 flags[3]; };
struct withptr { int n; char *name; };
`;

async function plan(src: string, fn: string, annotations: Record<string, Annotation> = {}): Promise<ProcPlan> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emit-marshal-'));
  const file = path.join(dir, 'drv.c');
  const text = HEADER + src;
  writeFileSync(file, text);
  const model = await parseSources([file]);
  const def = model.functions.find((f) => f.name === fn)!;
  const idx = indexSource(file, text);
  const item = idx.items.find((i) => i.kind === 'function' && i.names[0] === fn)!;
  return planProcedure(def, text.slice(item.start, item.end), { world: new TypeWorld([idx]), annotations, configName: 'split-driver.json' });
}

async function refusal(src: string, fn: string): Promise<InputError> {
  try {
    await plan(src, fn);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error(`${fn} was accepted`);
}

describe('wire layout', () => {
  it('lays out scalars and structs naturally aligned, as the C compiler does', async () => {
    const p = await plan('int f(u8 a, struct pt v, u16 b, const struct holder *h)\n{\n\treturn a;\n}\n', 'f');
    const e = procedureEntry(p);
    // struct pt: tag@0, x@4, y@8 -> 16 bytes, align 8; struct holder: 16 + 6 -> 24.
    expect(e.params.map((x) => [x.name, x.marshal, x.offset, x.size])).toEqual([
      ['a', 'scalar', 0, 1],
      ['v', 'struct-in', 8, 16],
      ['b', 'scalar', 24, 2],
      ['h', 'struct-in', 32, 24],
    ]);
    expect(e.argsSize).toBe(56);
    expect(e.returns).toEqual({ type: 'int', offset: 0, size: 4 });
  });

  it('copies a struct written through a non-const pointer back in the result', async () => {
    const p = await plan('void g(struct pt *out)\n{\n\tout->x = 1;\n}\n', 'g');
    const e = procedureEntry(p);
    expect(e.params[0]).toMatchObject({ marshal: 'struct-inout', offset: 0, size: 16, resultOffset: 0 });
    expect(e.returns).toBeNull();
    expect(e.resultSize).toBe(16);
  });

  it('takes a buffer length from the parameter after it, and sends neither separately', async () => {
    const p = await plan('u32 sum(const u8 *data, size_t len, u32 seed)\n{\n\treturn seed;\n}\n', 'sum');
    const e = procedureEntry(p);
    expect(e.params.map((x) => x.name)).toEqual(['data', 'seed']);
    expect(e.params[0]).toMatchObject({ marshal: 'buffer-in', lengthFrom: 'len', elementSize: 1, offset: 0, lengthOffset: 4 });
    expect(e.params[1]).toMatchObject({ marshal: 'scalar', offset: 8, size: 4 });
  });

  it('sends const char * as a string, and returns a written char buffer', async () => {
    const p = await plan('size_t fmt(const char *key, char *buf, size_t size)\n{\n\treturn 0;\n}\n', 'fmt');
    const e = procedureEntry(p);
    expect(e.params.map((x) => [x.name, x.marshal])).toEqual([
      ['key', 'string'],
      ['buf', 'buffer-out'],
    ]);
    expect(e.params[1]).toMatchObject({ copyIn: true, lengthFrom: 'size', resultOffset: 8 });
  });

  it('follows annotations: a void * with a length, an out-only buffer', async () => {
    const src = 'int w(void *p, int n, u32 *vals, int count)\n{\n\treturn 0;\n}\n';
    const p = await plan(src, 'w', { 'w.p': { lengthFrom: 'n', direction: 'in' }, 'w.vals': { lengthFrom: 'count', direction: 'out' } });
    const e = procedureEntry(p);
    expect(e.params.map((x) => [x.name, x.marshal, x.lengthFrom, x.elementSize])).toEqual([
      ['p', 'buffer-in', 'n', 1],
      ['vals', 'buffer-out', 'count', 4],
    ]);
  });
});

describe('refusals name file:line and the fix', () => {
  it('void * without a length', async () => {
    const e = await refusal('int f(void *p)\n{\n\treturn 0;\n}\n', 'f');
    expect(e.file).toMatch(/drv\.c$/);
    expect(e.line).toBe(5);
    expect(e.message).toContain('"f.p": {"lengthFrom": "<length parameter>"}');
  });

  it('a pointer to a pointer', async () => {
    const e = await refusal('int f(char **argv)\n{\n\treturn 0;\n}\n', 'f');
    expect(e.message).toMatch(/pointer to a pointer.*"f\.argv": \{"opaque": true\}/);
  });

  it('a function pointer', async () => {
    const e = await refusal('int f(int (*cb)(int))\n{\n\treturn cb(1);\n}\n', 'f');
    expect(e.message).toMatch(/function pointer.*--kernel f/);
  });

  it('a struct holding a kernel pointer, naming the field', async () => {
    const e = await refusal('int f(struct withptr *w)\n{\n\treturn w->n;\n}\n', 'f');
    expect(e.message).toContain('struct withptr.name is a pointer');
    expect(e.message).toContain('"f.w": {"opaque": true}');
  });

  it('a kernel type of unknown size', async () => {
    const e = await refusal('int f(struct inode *inode)\n{\n\treturn 0;\n}\n', 'f');
    expect(e.message).toContain('struct inode is not defined');
  });

  it('an opaque handle the function dereferences', async () => {
    await expect(plan('int f(struct withptr *w)\n{\n\treturn w->n;\n}\n', 'f', { 'f.w': { opaque: true } })).rejects.toThrow(/annotated opaque, but f dereferences it/);
  });

  it('a pointer result', async () => {
    const e = await refusal('struct pt *f(int n)\n{\n\treturn 0;\n}\n', 'f');
    expect(e.message).toMatch(/returns a pointer/);
  });
});

describe('opaque handles', () => {
  it('pass a pointer the function only hands back as a 64-bit handle', async () => {
    const p = await plan('int f(struct withptr *w, int n)\n{\n\treturn g(w, n);\n}\n', 'f', { 'f.w': { opaque: true } });
    expect(procedureEntry(p).params[0]).toMatchObject({ marshal: 'scalar', handle: 'withptr', offset: 0, size: 8 });
    expect(p.params[0].handleTag).toBe('withptr');
  });
});

/** Manifest reading and the argument/result layout TypeScript handlers see. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeParams, encodeReturn } from '../../udaemon/handler.js';
import { loadManifest } from '../../udaemon/manifest.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'udaemon-handler-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function manifest(procedures: object[]): string {
  const file = path.join(tmp, 'manifest.json');
  writeFileSync(path.join(tmp, 'lib.so'), '');
  writeFileSync(file, JSON.stringify({ version: 1, driver: 'd', device: '/dev/d_lpc', planHash: '0'.repeat(64), library: 'lib.so', procedures, locks: [], semaphores: [], exports: [] }, null, 2));
  return file;
}

describe('handler arguments', () => {
  const m = loadManifest(
    manifest([
      {
        name: 'cfg_set',
        argsSize: 24,
        resultSize: 8,
        params: [
          { name: 'val', type: 'u32', offset: 0, size: 4, marshal: 'scalar' },
          { name: 'delta', type: 's16', offset: 4, size: 2, marshal: 'scalar' },
          { name: 'big', type: 's64', offset: 8, size: 8, marshal: 'scalar' },
          { name: 'label', type: 'const char *', offset: 16, size: 4, marshal: 'string', lengthOffset: 20 },
        ],
        returns: { type: 'int', offset: 0, size: 4 },
      },
      { name: 'noret', argsSize: 0, resultSize: 0, params: [], returns: null },
    ]),
  );

  it('reads emit\'s manifest shape, including a procedure without a return value', () => {
    expect(m.procedures.map((p) => [p.name, p.returns?.size ?? null])).toEqual([['cfg_set', 4], ['noret', null]]);
  });

  it('decodes scalars by size and sign, and strings through their offset and length fields', () => {
    const args = new Uint8Array(32);
    const v = new DataView(args.buffer);
    v.setUint32(0, 0xfffffffe, true);
    v.setInt16(4, -3, true);
    v.setBigInt64(8, -(2n ** 40n), true);
    v.setUint32(16, 24, true);
    v.setUint32(20, 3, true);
    args.set(new TextEncoder().encode('eth'), 24);
    expect(decodeParams(m.procedures[0], args)).toEqual({ val: 0xfffffffe, delta: -3, big: -(2n ** 40n), label: 'eth' });
  });

  it('stores a returned value at the manifest\'s return field', () => {
    const out = new Uint8Array(8).fill(0xee);
    expect(encodeReturn(m.procedures[0], -22, out)).toBe(8);
    expect(new DataView(out.buffer).getInt32(0, true)).toBe(-22);
  });

  it('names the line of a bad procedure entry', () => {
    const file = manifest([{ name: 'p', argsSize: 4, resultSize: 0, params: [{ name: 'x', type: 'u64', offset: 0, size: 8 }] }]);
    expect(() => loadManifest(file)).toThrow(/parameter x \(offset 0, size 8\) lies outside argsSize 4/);
    try {
      loadManifest(file);
    } catch (e) {
      expect((e as { location: string }).location).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+: `));
    }
  });
});

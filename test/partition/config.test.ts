import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { applyOverrides, defaultConfig, loadConfig, parseConfig } from '../../src/partition/config.js';

function errorOf(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('config', () => {
  it('reads every documented key', () => {
    const c = parseConfig(
      JSON.stringify({
        kernel: ['a', 'drv.c:b'],
        user: ['c'],
        thresholds: { hotCalls: 50, hotShare: 0.25 },
        lpcCost: 2.5,
        lpcRoundTripUs: 30,
        staticCallEstimate: 2,
        event: 'Ir',
        closure: 'atomic',
        annotations: { 'drv_write.buf': { lengthFrom: 'count', direction: 'in' }, 'set_name.name': { nulTerminated: true } },
      }),
      'split-driver.json',
    );
    expect(c).toMatchObject({ kernel: ['a', 'drv.c:b'], user: ['c'], thresholds: { hotCalls: 50, hotShare: 0.25 }, lpcCost: 2.5, lpcRoundTripUs: 30, staticCallEstimate: 2, event: 'Ir', closure: 'atomic' });
    expect(c.annotations['drv_write.buf']).toEqual({ lengthFrom: 'count', direction: 'in' });
    expect(c.origins['kernel:a']).toEqual({ file: 'split-driver.json', line: 1 });
  });

  it('points at the line of a mistake', () => {
    const text = '{\n  "kernel": ["a"],\n  "thresholds": {\n    "hotCals": 3\n  }\n}\n';
    const e = errorOf(() => parseConfig(text, 'cfg.json'));
    expect(e.location).toBe('cfg.json:4: unknown key "hotCals" in "thresholds" (expected hotCalls, hotShare)');
    expect(errorOf(() => parseConfig('{\n  "lpcCost": -1\n}', 'c.json')).location).toBe('c.json:2: "lpcCost" must be at least 0');
    expect(errorOf(() => parseConfig('{\n  "kernel": ["a",\n  ]\n}', 'c.json')).line).toBe(3);
    expect(errorOf(() => parseConfig('{"user": [1]}', 'c.json')).message).toMatch(/function names/);
    expect(errorOf(() => parseConfig('{"annotations": {"f.p": {"lengthFrom": "p"}}}', 'c.json')).message).toMatch(/itself/);
    expect(errorOf(() => parseConfig('{"annotations": {"fp": {}}}', 'c.json')).message).toMatch(/function.parameter/);
    expect(parseConfig('{"annotations": {"card.base": {"ports": 8}}}', 'c.json').annotations['card.base']).toEqual({ ports: 8 });
    expect(errorOf(() => parseConfig('{\n  "annotations": {"card.base": {\n    "ports": 65537}}}', 'c.json')).location).toBe('c.json:3: "ports" must be a whole number of ports from 1 to 65536');
    expect(errorOf(() => parseConfig('{"kernel": ["a"], "user": ["a"]}', 'c.json')).message).toMatch(/both/);
    expect(errorOf(() => parseConfig('[]', 'c.json')).message).toMatch(/object/);
  });

  it('finds split-driver.json beside the sources, and --config wins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-config-'));
    fs.writeFileSync(path.join(dir, 'drv.c'), 'int x;\n');
    fs.writeFileSync(path.join(dir, 'split-driver.json'), '{"lpcCost": 7}');
    fs.writeFileSync(path.join(dir, 'other.json'), '{"lpcCost": 9}');
    expect(loadConfig({ inputs: [path.join(dir, 'drv.c')] }).lpcCost).toBe(7);
    expect(loadConfig({ inputs: [path.join(dir, 'drv.c')], configPath: path.join(dir, 'other.json') }).lpcCost).toBe(9);
    expect(loadConfig({ inputs: [os.tmpdir() + '/no-such-file.c'] })).toEqual(defaultConfig());
    expect(() => loadConfig({ inputs: [], configPath: path.join(dir, 'missing.json') })).toThrow(InputError);
    fs.rmSync(dir, { recursive: true });
  });

  it('lets the command line move a function forced by the file, split comma lists, and refuse contradictions', () => {
    const file = parseConfig('{"kernel": ["a", "b"]}', 'c.json');
    const c = applyOverrides(file, { user: ['a,c'], lpcCost: 3 });
    expect(c.kernel).toEqual(['b']);
    expect(c.user).toEqual(['a', 'c']);
    expect(c.lpcCost).toBe(3);
    expect(c.origins['user:a']).toEqual({ file: '<command line>', option: '--user' });
    expect(() => applyOverrides(file, { kernel: ['x'], user: ['x'] })).toThrow(InputError);
    expect(() => applyOverrides(file, { hotShare: 2 })).toThrow(InputError);
  });
});

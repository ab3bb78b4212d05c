/**
 * `split-driver profile`: valgrind for real, on small system programs.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readProfile } from '../../src/callgrind/parse.js';
import { profileCommand } from '../../src/callgrind/run.js';
import { InputError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'split-driver-profile-'));

describe('profileCommand', () => {
  it('writes a profile with function costs and call counts, naming it by valgrind pid for %p', async () => {
    const out = await profileCommand(['ls', '/'], { out: join(tmp, 'ls.%p') });
    expect(out).toMatch(/ls\.\d+$/);
    const p = await readProfile([out]);
    expect(p.events).toEqual(['Ir']);
    expect(p.command).toBe('ls /');
    expect(p.totals[0] > 100_000n).toBe(true);
    expect(p.calls.some((c) => c.count > 0n)).toBe(true);
    // Line-level only: per-instruction positions would only make the file bigger.
    expect(readFileSync(out, 'utf8')).toMatch(/^positions: line$/m);
  });

  it('fails with an InputError when the program fails, saying where the partial profile is', async () => {
    const err = await profileCommand(['false'], { out: join(tmp, 'false.out') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/exited with status 1.*partial profile is in .*false\.out/);
  });

  it('fails with an InputError when the program does not exist', async () => {
    const err = await profileCommand([join(tmp, 'no-such-program')], { out: join(tmp, 'none.out') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
  });

  it('fails with an InputError when valgrind is not installed', async () => {
    const path = process.env.PATH;
    process.env.PATH = tmp;
    try {
      const err = await profileCommand(['ls'], { out: join(tmp, 'x.out') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/valgrind is not installed/);
    } finally {
      process.env.PATH = path;
    }
  });
});

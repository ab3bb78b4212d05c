/**
 * The TypeScript mirror of kmod/lpc_abi.h (and of udaemon/native/lpc_serve.h,
 * the daemon's native serving state) must agree with the C compiler on
 * every size, field offset and ioctl number, so the two cannot drift.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as abi from '../../udaemon/abi.js';
import { repoRoot } from '../support/cli.js';

const fields = {
  lpc_attach: Object.keys(abi.ATTACH),
  lpc_msg: Object.keys(abi.MSG),
  lpc_sync: Object.keys(abi.SYNC),
  lpc_serve: Object.keys(abi.SERVE),
};
const ioctls = Object.keys(abi.IOC);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'udaemon-abi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Compiles and runs a C program printing `name value` lines from the header. */
function fromC(): Map<string, number> {
  const lines: string[] = [];
  for (const [s, fs] of Object.entries(fields)) {
    lines.push(`P("sizeof ${s}", sizeof(struct ${s}));`);
    for (const f of fs) lines.push(`P("offsetof ${s}.${f}", offsetof(struct ${s}, ${f}));`);
  }
  for (const i of ioctls) lines.push(`P("ioctl ${i}", LPC_IOC_${i});`);
  for (const c of ['LPC_ABI_VERSION', 'LPC_NAME_MAX', 'LPC_PLAN_HASH_LEN', 'LPC_ARGS_MAX', 'LPC_IOC_MAGIC', 'LPC_SERVE_SAMPLES']) lines.push(`P("const ${c}", ${c});`);
  const src = `#include <stddef.h>
#include <stdio.h>
#include "lpc_abi.h"
#include "lpc_serve.h"
#define P(n, v) printf("%s %lu\\n", n, (unsigned long)(v))
int main(void) {
${lines.join('\n')}
return 0;
}
`;
  writeFileSync(path.join(tmp, 'abi.c'), src);
  const exe = path.join(tmp, 'abi');
  execFileSync('gcc', ['-Wall', '-Werror', '-I', path.join(repoRoot, 'kmod'), '-I', path.join(repoRoot, 'udaemon/native'), '-o', exe, path.join(tmp, 'abi.c')]);
  const out = execFileSync(exe, { encoding: 'utf8' });
  return new Map(out.trim().split('\n').map((l) => {
    const i = l.lastIndexOf(' ');
    return [l.slice(0, i), Number(l.slice(i + 1))] as [string, number];
  }));
}

describe('lpc_abi.h mirror', () => {
  const c = fromC();

  it('has the header\'s constants', () => {
    expect({
      LPC_ABI_VERSION: abi.LPC_ABI_VERSION,
      LPC_NAME_MAX: abi.LPC_NAME_MAX,
      LPC_PLAN_HASH_LEN: abi.LPC_PLAN_HASH_LEN,
      LPC_ARGS_MAX: abi.LPC_ARGS_MAX,
      LPC_IOC_MAGIC: abi.LPC_IOC_MAGIC,
      LPC_SERVE_SAMPLES: abi.LPC_SERVE_SAMPLES,
    }).toEqual({
      LPC_ABI_VERSION: c.get('const LPC_ABI_VERSION'),
      LPC_NAME_MAX: c.get('const LPC_NAME_MAX'),
      LPC_PLAN_HASH_LEN: c.get('const LPC_PLAN_HASH_LEN'),
      LPC_ARGS_MAX: c.get('const LPC_ARGS_MAX'),
      LPC_IOC_MAGIC: c.get('const LPC_IOC_MAGIC'),
      LPC_SERVE_SAMPLES: c.get('const LPC_SERVE_SAMPLES'),
    });
  });

  it('lays out every struct as the C compiler does', () => {
    const ts = new Map<string, number>([
      ['sizeof lpc_attach', abi.ATTACH_SIZE],
      ['sizeof lpc_msg', abi.MSG_SIZE],
      ['sizeof lpc_sync', abi.SYNC_SIZE],
      ['sizeof lpc_serve', abi.SERVE_SIZE],
    ]);
    for (const [k, v] of Object.entries(abi.ATTACH)) ts.set(`offsetof lpc_attach.${k}`, v);
    for (const [k, v] of Object.entries(abi.MSG)) ts.set(`offsetof lpc_msg.${k}`, v);
    for (const [k, v] of Object.entries(abi.SYNC)) ts.set(`offsetof lpc_sync.${k}`, v);
    for (const [k, v] of Object.entries(abi.SERVE)) ts.set(`offsetof lpc_serve.${k}`, v);
    const cLayout = new Map([...c].filter(([k]) => k.startsWith('sizeof') || k.startsWith('offsetof')));
    expect(Object.fromEntries(ts)).toEqual(Object.fromEntries(cLayout));
  });

  it('computes the ioctl numbers the header defines', () => {
    for (const i of ioctls) expect([i, abi.IOC[i as keyof typeof abi.IOC]]).toEqual([i, c.get(`ioctl ${i}`)]);
  });

  it('mirrors every ioctl of the header', () => {
    // An ioctl added to the C header and not mirrored would otherwise go unnoticed.
    const header = readFileSync(path.join(repoRoot, 'kmod/lpc_abi.h'), 'utf8');
    const defined = [...header.matchAll(/^#define\s+LPC_IOC_(\w+)\s+_IO/gm)].map((m) => m[1]);
    expect(defined).toContain('RESPONSE_POLL');
    expect([...ioctls].sort()).toEqual(defined.sort());
  });

  it('covers every field of the header\'s structs', () => {
    // A field added to the C header and not mirrored would otherwise go unnoticed.
    const header = execFileSync('gcc', ['-E', '-P', '-I', path.join(repoRoot, 'kmod'), '-I', path.join(repoRoot, 'udaemon/native'), '-x', 'c', '-'], {
      input: '#include "lpc_abi.h"\n#include "lpc_serve.h"\n',
      encoding: 'utf8',
    });
    for (const [s, fs] of Object.entries(fields)) {
      const body = new RegExp(`struct ${s} \\{([^}]*)\\}`).exec(header)![1];
      const names = [...body.matchAll(/(\w+)\s*(?:\[[^\]]*\])?\s*;/g)].map((m) => m[1]);
      expect([s, names]).toEqual([s, fs]);
    }
  });
});

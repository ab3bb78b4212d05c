/**
 * Sorts the command line's inputs into C sources and profiles by what the
 * files contain, not by their names: Callgrind writes `callgrind.out.PID`,
 * and people rename profiles freely.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { quotedIncludes } from '../parse/includes.js';

export interface Inputs {
  sources: string[];
  profiles: string[];
}

/** Lines that open a Callgrind or Cachegrind file, or pyprof2calltree output. */
const PROFILE_HEAD = /^(# callgrind format|version:|creator:|pid:|cmd:|part:|desc:|positions:|events:|event:|fl=|fn=|ob=)/;

const SOURCE_EXT = /\.(c|h)$/;

async function head(file: string): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export function isGzip(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

function firstMeaningfulLine(text: string): string | undefined {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line !== '') return line;
  }
  return undefined;
}

export type Kind = 'profile' | 'source';

export function classifyContent(file: string, buf: Buffer): Kind {
  // An empty file is the base file of a --separate-threads run: the profile
  // reader looks for its per-thread siblings and says so if there are none.
  if (buf.length === 0 || isGzip(buf)) return 'profile';
  if (buf.includes(0)) throw new InputError('binary file: neither C source nor a Callgrind profile', file);
  const line = firstMeaningfulLine(buf.toString('utf8'));
  if (line !== undefined && PROFILE_HEAD.test(line)) return 'profile';
  return 'source';
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && SOURCE_EXT.test(e.name)) out.push(p);
  }
}

/**
 * Files named on the command line are classified by content. Directories
 * contribute their C sources and headers (a kernel tree also holds
 * Makefiles, Kconfig and documentation, which are neither).
 */
export async function classifyInputs(paths: string[]): Promise<Inputs> {
  const inputs: Inputs = { sources: [], profiles: [] };
  for (const p of paths) {
    let st;
    try {
      st = await fs.stat(p);
    } catch {
      throw new InputError('no such file or directory', p);
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      await walk(p, found);
      if (found.length === 0) throw new InputError('directory holds no C source (.c or .h)', p);
      inputs.sources.push(...found);
    } else {
      let buf: Buffer;
      try {
        buf = await head(p);
      } catch (err) {
        throw new InputError(`cannot read: ${(err as Error).message}`, p);
      }
      inputs[classifyContent(p, buf) === 'profile' ? 'profiles' : 'sources'].push(p);
    }
  }
  inputs.sources.push(...(await localHeaders(inputs.sources)));
  return inputs;
}

/**
 * The headers the sources include with `#include "..."` that sit beside the
 * including file (where the compiler looks first), and the headers those
 * include: a driver's own structures and inline helpers usually live there,
 * and a user who names `drv.c` means the driver, not half of it. Included
 * `.c` files are not followed: drivers include them under configuration
 * #ifdefs (uhci-hcd.c's bus glue), so only the user knows which are built.
 */
async function localHeaders(sources: string[]): Promise<string[]> {
  const seen = new Set(sources.map((s) => path.resolve(s)));
  const found: string[] = [];
  const queue = [...sources];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue; // the parser reports unreadable sources
    }
    for (const h of quotedIncludes(file, text)) {
      if (seen.has(h) || !h.endsWith('.h')) continue;
      const st = await fs.stat(h).catch(() => null);
      if (!st?.isFile()) continue;
      seen.add(h);
      found.push(h);
      queue.push(h);
    }
  }
  return found;
}

/**
 * Streaming reader for the Callgrind profile format (Valgrind manual,
 * "Callgrind Format Specification"), which also covers Cachegrind output and
 * other producers (pyprof2calltree). Only per-function and per-edge
 * aggregates are kept, so memory grows with the number of functions and
 * edges, never with the file size.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError, type Diagnostic, type WarningSink } from '../errors.js';
import type { Profile, ProfileCall, ProfileCycle, ProfileFunction } from './model.js';

export interface ReadOptions {
  onWarning?: WarningSink;
}

/** Below 2^53 - 1e15 a float sum of a further cost of at most 15 digits stays exact. */
const FLUSH_AT = 2 ** 52;
const MAX_LINE = 16 * 1024 * 1024;

/**
 * Cost slots in one growing Float64Array (a few objects for the whole run
 * rather than some per function or edge). Costs add up in doubles while
 * that is exact and spill into a bigint before it stops being exact:
 * parsing every cost as a bigint would be several times slower.
 */
class Pool {
  lo = new Float64Array(4096);
  hi = new Map<number, bigint>();
  used = 0;
  alloc(n: number): number {
    if (this.used + n > this.lo.length) {
      const grown = new Float64Array(Math.max(this.lo.length * 2, this.used + n));
      grown.set(this.lo);
      this.lo = grown;
    }
    const base = this.used;
    this.used += n;
    return base;
  }
  addBig(i: number, v: bigint): void {
    this.hi.set(i, (this.hi.get(i) ?? 0n) + v);
  }
  flush(i: number): void {
    this.addBig(i, BigInt(this.lo[i]));
    this.lo[i] = 0;
  }
  values(base: number, n: number): bigint[] {
    const out: bigint[] = [];
    for (let i = base; i < base + n; i++) out.push(BigInt(this.lo[i]) + (this.hi.get(i) ?? 0n));
    return out;
  }
}

interface Fn {
  object: string;
  file: string;
  name: string;
  /**
   * Self cost by the file the code came from (its own file or an inlined
   * one): the first such file inline, as most functions have only one.
   */
  segFile: string | null;
  seg: number;
  moreSegs: Map<string, number> | null;
}

type NameTable = 'ob' | 'fl' | 'fn';

const KNOWN_HEADERS = new Set([
  'version', 'creator', 'pid', 'cmd', 'part', 'desc', 'positions', 'events', 'event',
  'summary', 'totals', 'thread', 'timeframe',
]);

/** State shared by all files of one run. */
class Run {
  events: string[] | null = null;
  fns: Fn[] = [];
  /** object\0file -> name -> index in fns (names are not copied into keys). */
  fnIndex = new Map<string, Map<string, number>>();
  selfCosts = new Pool();
  /** Per edge: the call count, then the inclusive cost of each event. */
  edgeCosts = new Pool();
  edgeIndex = new Map<number, number>();
  edgeCaller: number[] = [];
  edgeCallee: number[] = [];
  parts = 0;
  partTotals: bigint[][] = [];
  partsWithoutTotal = 0;
  creator?: string;
  command?: string;

  constructor(readonly warn: WarningSink) {}

  fnId(object: string, file: string, name: string): number {
    const k = `${object}\0${file}`;
    let byName = this.fnIndex.get(k);
    if (byName === undefined) this.fnIndex.set(k, (byName = new Map()));
    let id = byName.get(name);
    if (id === undefined) {
      id = this.fns.length;
      this.fns.push({ object, file, name, segFile: null, seg: -1, moreSegs: null });
      byName.set(name, id);
    }
    return id;
  }

  /** The self-cost slots of function `fn` for code from `file`. */
  segment(fn: number, file: string): number {
    const f = this.fns[fn];
    if (f.segFile === file) return f.seg;
    if (f.segFile === null) {
      f.segFile = file;
      return (f.seg = this.selfCosts.alloc(this.events!.length));
    }
    f.moreSegs ??= new Map();
    let seg = f.moreSegs.get(file);
    if (seg === undefined) f.moreSegs.set(file, (seg = this.selfCosts.alloc(this.events!.length)));
    return seg;
  }

  /** The base slot of edge caller -> callee in edgeCosts. */
  edge(caller: number, callee: number): number {
    // Numeric key: cheaper to hash than a string, exact below 2^53.
    const k = caller * 67108864 + callee;
    let e = this.edgeIndex.get(k);
    if (e === undefined) {
      e = this.edgeCaller.length;
      this.edgeCaller.push(caller);
      this.edgeCallee.push(callee);
      this.edgeCosts.alloc(this.events!.length + 1);
      this.edgeIndex.set(k, e);
    }
    return e * (this.events!.length + 1);
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Lines are read as Latin-1 (one char per byte, the fastest to scan); a name
 * kept is rebuilt from its bytes as UTF-8, which also makes it a string of
 * its own rather than a slice that would pin the whole chunk in memory.
 */
function utf8(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** Parses one file; several FileParsers feed one Run. */
class FileParser {
  private lineNo = 0;
  private names: Record<NameTable, Map<number, string>> = { ob: new Map(), fl: new Map(), fn: new Map() };
  private warnedIds = new Set<string>();
  private warnedKeys = new Set<string>();
  private nPos = 1;
  private nEv = 0;
  private sawEvents = false;
  private inBody = false;
  private sawVersion = false;
  private cachegrindLike = false;
  private partHasBody = false;
  private partTotal: bigint[] | null = null;
  private partSummary: bigint[] | null = null;
  private partStartLine = 1;
  private creator?: string;

  private ob = '';
  private flFile = '';
  private file = '';
  private fn = -1;
  private seg = -1;

  private cob: string | null = null;
  private cfile: string | null = null;
  private cfn: string | null = null;
  /** Set by `calls=` to the edge's base slot: the next cost line is the call's inclusive cost. */
  private pendingCall = -1;
  private pendingCallLine = 0;
  /** Set by `jump=`/`jcnd=`: the next line is a position only. */
  private skipPositionLine = false;

  constructor(
    private readonly run: Run,
    private readonly path: string,
  ) {}

  private fail(message: string, line: number | undefined = this.lineNo): never {
    throw new InputError(message, this.path, line);
  }

  private warn(message: string, line: number | undefined = this.lineNo): void {
    const d: Diagnostic = { file: this.path, line, message };
    this.run.warn(d);
  }

  async parse(stream: Readable): Promise<void> {
    let carry = '';
    let first = true;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first) {
        checkText(chunk, this.path);
        first = false;
      }
      let s = chunk.toString('latin1');
      const nul = s.indexOf('\0');
      if (nul >= 0) this.fail('binary data (NUL byte): not a Callgrind profile', this.lineNo + 1 + countLines(s.slice(0, nul)));
      if (carry.length > 0) s = carry + s;
      let pos = 0;
      for (;;) {
        const nl = s.indexOf('\n', pos);
        if (nl < 0) break;
        this.line(s, pos, nl);
        pos = nl + 1;
      }
      carry = pos < s.length ? s.slice(pos) : '';
      if (carry.length > MAX_LINE) this.fail('line longer than 16 MiB: not a Callgrind profile', this.lineNo + 1);
    }
    if (carry.length > 0) {
      this.line(carry, 0, carry.length);
      this.warn('the file does not end with a newline: it may be truncated');
    }
    this.finish();
  }

  private finish(): void {
    if (this.lineNo === 0) this.fail('empty file: not a Callgrind profile', undefined);
    if (this.pendingCall >= 0) {
      this.fail(`truncated profile: the calls= line ${this.pendingCallLine} has no cost line after it`);
    }
    if (!this.sawEvents) this.fail('no events: line: not a Callgrind profile');
    this.endPart();
  }

  private endPart(): void {
    const run = this.run;
    const fromCallgrind = this.creator?.startsWith('callgrind') ?? false;
    // Callgrind ends every part with totals:, Cachegrind its file with summary:.
    if (this.partHasBody && this.partTotal === null && fromCallgrind) {
      this.fail(`truncated profile: the part that starts on line ${this.partStartLine} ends without the totals: line Callgrind writes last`);
    }
    if (this.partHasBody && this.cachegrindLike && !this.sawVersion && this.partSummary === null) {
      this.fail('truncated profile: no summary: line, which Cachegrind writes last');
    }
    if (!this.partHasBody && this.partTotal === null && this.partSummary === null) return;
    run.parts++;
    const t = this.partTotal ?? this.partSummary;
    if (t) run.partTotals.push(t);
    else run.partsWithoutTotal++;
  }

  private line(s: string, start: number, end: number): void {
    this.lineNo++;
    if (end > start && s.charCodeAt(end - 1) === 13) end--;
    if (start >= end) return;
    const c = s.charCodeAt(start);
    if (isDigit(c) || c === 43 /* + */ || c === 45 /* - */ || c === 42 /* * */) {
      this.costLine(s, start, end);
      return;
    }
    if (c === 35 /* # */) return;
    if (isSpace(c)) {
      let p = start;
      while (p < end && isSpace(s.charCodeAt(p))) p++;
      if (p === end) return;
    }
    if (this.pendingCall >= 0) this.fail(`the calls= line ${this.pendingCallLine} is not followed by its cost line`);
    this.skipPositionLine = false;
    if (isSpace(c)) {
      this.unknownLine(s, start, end);
      return;
    }
    // `key=value` (body) or `key: value` (header).
    let p = start;
    while (p < end) {
      const k = s.charCodeAt(p);
      if ((k >= 97 && k <= 122) || (k >= 65 && k <= 90) || k === 95 || isDigit(k)) p++;
      else break;
    }
    if (p === start || p === end) {
      this.unknownLine(s, start, end);
      return;
    }
    const sep = s.charCodeAt(p);
    const key = s.slice(start, p);
    if (sep === 61 /* = */) this.bodyLine(key, s.slice(p + 1, end));
    else if (sep === 58 /* : */) this.headerLine(key, s.slice(p + 1, end).trim());
    else this.unknownLine(s, start, end);
  }

  private unknownLine(s: string, start: number, end: number): void {
    const text = s.slice(start, Math.min(end, start + 60));
    if (!this.sawEvents && !this.inBody) this.fail(`not a Callgrind profile: unexpected line '${text}'`);
    this.warn(`unrecognised line ignored: '${text}'`);
  }

  private headerLine(key: string, value: string): void {
    const run = this.run;
    switch (key) {
      case 'version': {
        const major = Number.parseInt(value, 10);
        if (!(major >= 0)) this.fail(`bad version: '${value}'`);
        if (major > 1) this.fail(`unsupported Callgrind format version ${value} (this reader knows version 1)`);
        this.sawVersion = true;
        return;
      }
      case 'creator':
        this.creator = value;
        run.creator ??= value;
        return;
      case 'cmd':
        run.command ??= value;
        this.cachegrindLike = true;
        return;
      case 'desc':
        this.cachegrindLike = true;
        return;
      case 'part':
        if (this.partHasBody || this.partTotal || this.partSummary) {
          this.endPart();
          this.partHasBody = false;
          this.partTotal = null;
          this.partSummary = null;
        }
        this.partStartLine = this.lineNo;
        return;
      case 'positions': {
        const parts = value.split(/\s+/).filter((x) => x.length > 0);
        for (const x of parts) {
          if (x !== 'line' && x !== 'instr' && x !== 'addr') this.warn(`unknown position kind '${x}'`);
        }
        if (parts.length === 0) this.fail('positions: line names no positions');
        this.nPos = parts.length;
        return;
      }
      case 'events': {
        const events = value.split(/\s+/).filter((x) => x.length > 0);
        if (events.length === 0) this.fail('events: line names no events');
        if (run.events === null) run.events = events;
        else if (events.join(' ') !== run.events.join(' ')) {
          this.fail(`events '${events.join(' ')}' differ from '${run.events.join(' ')}' read before: not one run`);
        }
        this.nEv = events.length;
        this.sawEvents = true;
        return;
      }
      case 'summary':
        this.partSummary = this.totalsLine(value);
        return;
      case 'totals':
        this.partTotal = this.totalsLine(value);
        return;
      default:
        if (KNOWN_HEADERS.has(key)) return;
        if (!this.sawEvents && !this.inBody && !this.sawVersion && !this.cachegrindLike) {
          this.fail(`not a Callgrind profile: unexpected header '${key}:'`);
        }
        if (!this.warnedKeys.has(key + ':')) {
          this.warnedKeys.add(key + ':');
          this.warn(`unknown header '${key}:' ignored`);
        }
    }
  }

  private totalsLine(value: string): bigint[] {
    if (!this.sawEvents) this.fail('summary/totals line before the events: line');
    const toks = value.split(/\s+/).filter((x) => x.length > 0);
    if (toks.length > this.nEv) this.fail(`${toks.length} costs for ${this.nEv} events`);
    const out: bigint[] = new Array<bigint>(this.nEv).fill(0n);
    toks.forEach((t, i) => {
      if (!/^(\d+|0[xX][0-9a-fA-F]+)$/.test(t)) this.fail(`non-numeric cost '${t}'`);
      out[i] = BigInt(t);
    });
    return out;
  }

  /** Resolves `(id) name` / `(id)` name compression; plain names pass through. */
  private name(table: NameTable, value: string): string {
    if (value.charCodeAt(0) === 40 /* ( */) {
      let p = 1;
      while (p < value.length && isDigit(value.charCodeAt(p))) p++;
      if (p > 1 && p < value.length && value.charCodeAt(p) === 41 /* ) */ &&
          (p + 1 === value.length || isSpace(value.charCodeAt(p + 1)))) {
        const id = Number(value.slice(1, p));
        let q = p + 1;
        while (q < value.length && isSpace(value.charCodeAt(q))) q++;
        if (q < value.length) {
          const n = utf8(value.slice(q));
          this.names[table].set(id, n);
          return n;
        }
        const n = this.names[table].get(id);
        if (n !== undefined) return n;
        const tag = `${table} ${id}`;
        if (!this.warnedIds.has(tag)) {
          this.warnedIds.add(tag);
          this.warn(`undefined ${table} id ${id}: used before any definition; named '(${id})'`);
        }
        return `(${id})`;
      }
    }
    return utf8(value);
  }

  private bodyLine(key: string, value: string): void {
    this.inBody = true;
    switch (key) {
      case 'fn':
        this.fn = this.run.fnId(this.ob, this.flFile, this.name('fn', value));
        // A function's code starts in its own file (Callgrind writes fi= again if not).
        this.file = this.flFile;
        this.seg = -1;
        this.cob = this.cfile = this.cfn = null;
        this.partHasBody = true;
        return;
      case 'fl':
        this.flFile = this.file = this.name('fl', value);
        this.seg = -1;
        return;
      case 'fi':
      case 'fe':
        this.file = this.name('fl', value);
        this.seg = -1;
        return;
      case 'ob':
        this.ob = this.name('ob', value);
        return;
      case 'cob':
        this.cob = this.name('ob', value);
        return;
      case 'cfi':
      case 'cfl':
        this.cfile = this.name('fl', value);
        return;
      case 'cfn':
        this.cfn = this.name('fn', value);
        return;
      case 'calls':
        this.calls(value);
        return;
      case 'jump':
      case 'jcnd':
        this.skipPositionLine = true;
        return;
      case 'jfi':
        this.name('fl', value);
        return;
      case 'jfn':
        this.name('fn', value);
        return;
      default: {
        // Producers add keys of their own; the name ids they define still count.
        const table: NameTable | undefined =
          key.endsWith('fn') ? 'fn' : key.endsWith('fi') || key.endsWith('fl') ? 'fl' : key.endsWith('ob') ? 'ob' : undefined;
        if (table) this.name(table, value);
        if (!this.warnedKeys.has(key + '=')) {
          this.warnedKeys.add(key + '=');
          this.warn(`unknown line type '${key}=' ignored`);
        }
      }
    }
  }

  private calls(value: string): void {
    if (this.fn < 0) this.fail('calls= line before any fn= line');
    if (this.cfn === null) this.fail('calls= line without a cfn= line naming the called function');
    if (!this.sawEvents) this.fail('calls= line before the events: line');
    const m = /^\s*(\d+|0[xX][0-9a-fA-F]+)(\s|$)/.exec(value);
    if (!m) this.fail(`bad call count in 'calls=${value}'`);
    const callee = this.run.fnId(this.cob ?? this.ob, this.cfile ?? this.file, this.cfn);
    // cob=/cfi= name the callee of one call; the next call defaults again.
    this.cob = null;
    this.cfile = null;
    const edge = this.run.edge(this.fn, callee);
    const pool = this.run.edgeCosts;
    const t = m[1];
    if (t.length <= 15 && !(t.length > 13 && (t[1] === 'x' || t[1] === 'X'))) {
      pool.lo[edge] += Number(t);
      if (pool.lo[edge] >= FLUSH_AT) pool.flush(edge);
    } else pool.addBig(edge, BigInt(t));
    this.pendingCall = edge;
    this.pendingCallLine = this.lineNo;
  }

  private costLine(s: string, start: number, end: number): void {
    let p = start;
    // Subpositions (absolute, +N/-N relative, * same) only locate the cost; no cost depends on them.
    for (let k = 0; k < this.nPos && p < end; k++) {
      const c = s.charCodeAt(p);
      if (!(isDigit(c) || c === 43 || c === 45 || c === 42)) this.fail(`bad position '${s.slice(p, end)}'`);
      p++;
      while (p < end) {
        const d = s.charCodeAt(p);
        if (isSpace(d)) break;
        if (!(isDigit(d) || (d >= 97 && d <= 102) || (d >= 65 && d <= 70) || d === 120 || d === 88)) {
          this.fail(`bad position '${s.slice(start, end)}'`);
        }
        p++;
      }
      while (p < end && isSpace(s.charCodeAt(p))) p++;
    }
    if (this.skipPositionLine) {
      // The line after jump=/jcnd= is the jump's source position, not a cost.
      this.skipPositionLine = false;
      return;
    }
    let acc: Pool;
    let base: number;
    if (this.pendingCall >= 0) {
      acc = this.run.edgeCosts;
      base = this.pendingCall + 1;
      this.pendingCall = -1;
    } else {
      if (this.seg < 0) {
        if (this.fn < 0) this.fail('cost line before any fn= line');
        if (!this.sawEvents) this.fail('cost line before the events: line');
        this.seg = this.run.segment(this.fn, this.file);
      }
      acc = this.run.selfCosts;
      base = this.seg;
    }
    const lo = acc.lo;
    let e = 0;
    while (p < end) {
      const t0 = p;
      let c = s.charCodeAt(p);
      if (e >= this.nEv) this.fail(`more costs than the ${this.nEv} events`);
      if (c === 48 && p + 1 < end && (s.charCodeAt(p + 1) | 32) === 120) {
        // Hex cost.
        p += 2;
        let v = 0;
        const h0 = p;
        while (p < end) {
          c = s.charCodeAt(p);
          let d: number;
          if (isDigit(c)) d = c - 48;
          else if ((c | 32) >= 97 && (c | 32) <= 102) d = (c | 32) - 87;
          else break;
          v = v * 16 + d;
          p++;
        }
        if (p === h0 || (p < end && !isSpace(c))) this.fail(`non-numeric cost '${s.slice(t0, end)}'`);
        if (p - h0 <= 13) {
          lo[base + e] += v;
          if (lo[base + e] >= FLUSH_AT) acc.flush(base + e);
        } else acc.addBig(base + e, BigInt(s.slice(t0, p)));
      } else {
        let v = 0;
        while (p < end) {
          c = s.charCodeAt(p);
          if (!isDigit(c)) break;
          v = v * 10 + (c - 48);
          p++;
        }
        if (p === t0 || (p < end && !isSpace(c))) this.fail(`non-numeric cost '${s.slice(t0, end)}'`);
        if (p - t0 <= 15) {
          lo[base + e] += v;
          if (lo[base + e] >= FLUSH_AT) acc.flush(base + e);
        } else acc.addBig(base + e, BigInt(s.slice(t0, p)));
      }
      e++;
      while (p < end && isSpace(s.charCodeAt(p))) p++;
    }
  }
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Rejects binary files by their first bytes, before any line is read. */
function checkText(head: Buffer, path: string): void {
  const sample = head.subarray(0, 4096);
  let control = 0;
  for (const b of sample) if ((b < 9 && b !== 0) || (b > 13 && b < 32)) control++;
  if (sample.includes(0) || control > sample.length / 100 + 1) {
    throw new InputError('binary file: not a Callgrind profile', path, 1);
  }
}

/** Opens a profile, decompressing gzip (Callgrind never writes it, but people compress profiles). */
async function openProfile(path: string): Promise<Readable> {
  let magic: Buffer;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new InputError('is a directory, not a profile', path);
    const fh = await open(path, 'r');
    try {
      magic = Buffer.alloc(6);
      const { bytesRead } = await fh.read(magic, 0, 6, 0);
      magic = magic.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read the profile: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path);
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 16 });
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(createGunzip({ chunkSize: 1 << 16 }));
  const kinds: [number[], string][] = [
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a], 'xz'],
    [[0x42, 0x5a, 0x68], 'bzip2'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
  ];
  for (const [m, kind] of kinds) {
    if (m.every((b, i) => magic[i] === b)) {
      raw.destroy();
      throw new InputError(`compressed with ${kind}: decompress it first (gzip is read directly)`, path, 1);
    }
  }
  return raw;
}

/** The other files of the same run beside `path`: threads (`-01`) and dump parts (`.1`). */
async function siblings(path: string): Promise<string[]> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(-\\d+)?(\\.\\d+)?$`);
  const order = (n: string): number[] => {
    const m = /(?:-(\d+))?(?:\.(\d+))?$/.exec(n.slice(base.length))!;
    return [Number(m[1] ?? 0), Number(m[2] ?? 0)];
  };
  return names
    .filter((n) => n !== base && re.test(n))
    .sort((a, b) => {
      const [a1, a2] = order(a);
      const [b1, b2] = order(b);
      return a1 - b1 || a2 - b2;
    })
    .map((n) => join(dir, n));
}

/** Turns the paths given into the files to read: an empty base file stands for its siblings. */
async function expandPaths(paths: string[], warn: WarningSink): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let size: number | undefined;
    try {
      const st = await stat(p);
      if (st.isFile()) size = st.size;
    } catch {
      // Reported when the file is opened.
    }
    const sib = size === undefined ? [] : await siblings(p);
    if (size === 0) {
      // --separate-threads=yes leaves the base file empty and writes one file per thread.
      if (sib.length === 0) throw new InputError('empty file: not a Callgrind profile (did valgrind finish?)', p);
      out.push(...sib);
      continue;
    }
    const given = new Set(paths.map((x) => resolve(x)));
    const missing = sib.filter((x) => !given.has(resolve(x)));
    if (missing.length > 0) {
      warn({ file: p, message: `files of the same run were not given and are not read: ${missing.map((x) => basename(x)).join(', ')}` });
    }
    out.push(p);
  }
  return [...new Set(out)];
}

/**
 * Reads the files of one profiled run (several for --separate-threads or
 * dump parts) and sums them. Throws InputError on unreadable, binary,
 * truncated or corrupt input; reports valid-but-odd input to onWarning.
 */
export async function readProfile(paths: string[], opts: ReadOptions = {}): Promise<Profile> {
  if (paths.length === 0) throw new InputError('no profile file given');
  const warn = opts.onWarning ?? (() => {});
  const run = new Run(warn);
  const files = await expandPaths(paths, warn);
  for (const path of files) {
    const stream = await openProfile(path);
    try {
      await new FileParser(run, path).parse(stream);
    } catch (err) {
      if (err instanceof InputError) throw err;
      const e = err as NodeJS.ErrnoException;
      // zlib and fs errors arrive from the stream.
      throw new InputError(`cannot read the profile: ${e.code ?? ''} ${e.message}`.trim(), path);
    } finally {
      stream.destroy();
    }
  }
  return build(run, files);
}

function build(run: Run, files: string[]): Profile {
  const events = run.events!;
  const n = events.length;
  const zero = (): bigint[] => new Array<bigint>(n).fill(0n);
  const add = (a: bigint[], b: bigint[]): void => {
    for (let i = 0; i < n; i++) a[i] += b[i];
  };
  const keys = run.fns.map((f) => `${f.object}|${f.file}|${f.name}`);
  const segsOf = (f: Fn): [string, number][] =>
    f.segFile === null ? [] : [[f.segFile, f.seg], ...(f.moreSegs ?? new Map<string, number>())];
  const self: bigint[][] = run.fns.map((f) => {
    const s = zero();
    for (const [, seg] of segsOf(f)) add(s, run.selfCosts.values(seg, n));
    return s;
  });

  const nEdges = run.edgeCaller.length;
  const caller = run.edgeCaller;
  const callee = run.edgeCallee;
  const out: number[][] = run.fns.map(() => []);
  for (let i = 0; i < nEdges; i++) out[caller[i]].push(i);
  const comp = tarjan(run.fns.length, (v) => out[v].map((i) => callee[i]));
  const edgeVals = Array.from({ length: nEdges }, (_, i) => run.edgeCosts.values(i * (n + 1), n + 1));
  const inclByEdge = edgeVals.map((v) => v.slice(1));

  const compSize = new Map<number, number>();
  for (const c of comp) compSize.set(c, (compSize.get(c) ?? 0) + 1);

  const incl = self.map((s) => [...s]);
  const cycleIncl = new Map<number, bigint[]>();
  for (let v = 0; v < run.fns.length; v++) {
    if (compSize.get(comp[v])! > 1) {
      let ci = cycleIncl.get(comp[v]);
      if (!ci) cycleIncl.set(comp[v], (ci = zero()));
      add(ci, self[v]);
    }
  }
  for (let i = 0; i < nEdges; i++) {
    if (comp[caller[i]] === comp[callee[i]]) continue;
    add(incl[caller[i]], inclByEdge[i]);
    const ci = cycleIncl.get(comp[caller[i]]);
    if (ci) add(ci, inclByEdge[i]);
  }

  // Cycle ids in key order of their first member, so they do not depend on file order.
  const members = new Map<number, string[]>();
  for (let v = 0; v < run.fns.length; v++) {
    if (compSize.get(comp[v])! > 1) {
      const m = members.get(comp[v]) ?? [];
      m.push(keys[v]);
      members.set(comp[v], m);
    }
  }
  const cycleList = [...members.entries()].map(([c, m]) => ({ c, m: m.sort() })).sort((a, b) => (a.m[0] < b.m[0] ? -1 : 1));
  const cycleId = new Map<number, number>();
  const cycles: ProfileCycle[] = cycleList.map(({ c, m }, i) => {
    cycleId.set(c, i + 1);
    return { id: i + 1, members: m, inclusive: cycleIncl.get(c)! };
  });

  const selfLoop = new Set<number>();
  for (let i = 0; i < nEdges; i++) if (caller[i] === callee[i]) selfLoop.add(caller[i]);

  // A name defined ahead (`fn=(3) f` with no cost after it) is not a function that ran.
  const used = new Uint8Array(run.fns.length);
  for (let i = 0; i < nEdges; i++) used[caller[i]] = used[callee[i]] = 1;
  const functions: ProfileFunction[] = [];
  run.fns.forEach((f, v) => {
    if (f.segFile === null && !used[v]) return;
    const pf: ProfileFunction = { key: keys[v], object: f.object, file: f.file, name: f.name, self: self[v], inclusive: incl[v] };
    const id = cycleId.get(comp[v]);
    if (id !== undefined) pf.cycle = id;
    if (selfLoop.has(v)) pf.selfRecursive = true;
    const inl = segsOf(f).filter(([file]) => file !== f.file).map(([file, seg]) => ({ file, self: run.selfCosts.values(seg, n) }));
    if (inl.length > 0) pf.inlined = inl.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    functions.push(pf);
  });
  functions.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const calls: ProfileCall[] = edgeVals.map((v, i) => ({
    caller: keys[caller[i]],
    callee: keys[callee[i]],
    count: v[0],
    inclusive: inclByEdge[i],
  }));
  calls.sort((a, b) => (a.caller < b.caller ? -1 : a.caller > b.caller ? 1 : a.callee < b.callee ? -1 : a.callee > b.callee ? 1 : 0));

  let totals: bigint[];
  if (run.partsWithoutTotal === 0 && run.partTotals.length > 0) {
    totals = zero();
    for (const t of run.partTotals) add(totals, t);
  } else {
    totals = zero();
    for (const s of self) add(totals, s);
  }

  const profile: Profile = { sources: files, events, totals, functions, calls, cycles, parts: run.parts };
  if (run.creator !== undefined) profile.creator = run.creator;
  if (run.command !== undefined) profile.command = run.command;
  return profile;
}

/** Iterative Tarjan (profiles hold cycles of thousands of functions: no recursion). Returns a component id per vertex. */
function tarjan(n: number, succ: (v: number) => number[]): Int32Array {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  let next = 0;
  let nComp = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    const work: { v: number; succ: number[]; i: number }[] = [];
    const enter = (v: number): void => {
      index[v] = low[v] = next++;
      stack.push(v);
      onStack[v] = 1;
      work.push({ v, succ: succ(v), i: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (top.i < top.succ.length) {
        const w = top.succ[top.i++];
        if (index[w] < 0) enter(w);
        else if (onStack[w]) low[top.v] = Math.min(low[top.v], index[w]);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low[parent] = Math.min(low[parent], low[top.v]);
      }
      if (low[top.v] === index[top.v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp[w] = nComp;
        } while (w !== top.v);
        nComp++;
      }
    }
  }
  return comp;
}

/**
 * Self cost keyed `file:function` the way callgrind_annotate keys it: by the
 * file the code came from (inlined code under its header), ignoring the
 * object. (callgrind_annotate also counts the cost line of a `calls=0` line,
 * a call still active at dump time, as self cost; this does not: that cost is
 * the callee's.)
 */
export function selfByFileFunction(profile: Profile): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  const addTo = (key: string, cost: bigint[]): void => {
    const cur = out.get(key);
    if (cur) cost.forEach((c, i) => (cur[i] += c));
    else out.set(key, [...cost]);
  };
  for (const f of profile.functions) {
    const own = [...f.self];
    for (const inl of f.inlined ?? []) {
      inl.self.forEach((c, i) => (own[i] -= c));
      addTo(`${inl.file}:${f.name}`, inl.self);
    }
    addTo(`${f.file}:${f.name}`, own);
  }
  return out;
}

/**
 * DIR/udaemon/manifest.json, written by `emit` (see the contract in the
 * repository's docs): what the daemon serves and how to reach the kernel.
 * Every mistake is an InputError naming the file and, where it can be found,
 * the line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../src/errors.js';
import { LPC_ARGS_MAX, LPC_NAME_MAX, LPC_PLAN_HASH_LEN } from './abi.js';

export type Marshal = 'scalar' | 'struct-in' | 'struct-inout' | 'buffer-in' | 'buffer-out' | 'string';
const MARSHAL: readonly Marshal[] = ['scalar', 'struct-in', 'struct-inout', 'buffer-in', 'buffer-out', 'string'];

export interface Field {
  name: string;
  type: string;
  offset: number;
  size: number;
  marshal?: Marshal;
  /** Buffers and strings: offset of their length field; `offset` then holds their data offset. */
  lengthOffset?: number;
}

export interface Procedure {
  name: string;
  argsSize: number;
  resultSize: number;
  params: Field[];
  returns?: Field;
  /** Absolute path of the JS module implementing it, if not the C library. */
  handler?: string;
}

export interface Manifest {
  file: string;
  dir: string;
  driver: string;
  device: string;
  planHash: Uint8Array;
  /** Absolute path, or undefined when every procedure has a handler. */
  library?: string;
  procedures: Procedure[];
  locks: { name: string; size: number }[];
  semaphores: { name: string }[];
  exports: string[];
}

/** The manifest of DIR: DIR/udaemon/manifest.json, DIR/manifest.json or DIR itself. */
export function findManifest(dir: string): string {
  const candidates = [path.join(dir, 'udaemon', 'manifest.json'), path.join(dir, 'manifest.json')];
  if (existsSync(dir) && statSync(dir).isFile()) return dir;
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new InputError(`no manifest.json in ${dir} or ${path.join(dir, 'udaemon')} (write one with \`split-driver emit\`)`, dir);
  return found;
}

export function loadManifest(file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read the manifest: ${(e as Error).message}`, file);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined;
    throw new InputError(`not valid JSON: ${msg}`, file, line);
  }
  const bad = (what: string, key?: string): never => {
    throw new InputError(what, file, key ? lineOf(text, key) : undefined);
  };
  if (!isObject(doc)) bad('the manifest must be a JSON object');
  const m = doc as Record<string, unknown>;
  if (m.version !== 1) bad(`unsupported manifest version ${JSON.stringify(m.version)} (this runtime reads version 1)`, '"version"');
  const str = (v: unknown, what: string, key: string): string => (typeof v === 'string' && v.length > 0 ? v : bad(`${what} must be a non-empty string`, key));
  const name = (v: unknown, what: string, key: string): string => {
    const s = str(v, what, key);
    if (Buffer.byteLength(s) >= LPC_NAME_MAX) bad(`${what} "${s}" is longer than ${LPC_NAME_MAX - 1} bytes`, key);
    return s;
  };
  const size = (v: unknown, what: string, key: string): number =>
    Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LPC_ARGS_MAX ? (v as number) : bad(`${what} must be an integer in 0..${LPC_ARGS_MAX}`, key);
  const list = (v: unknown, what: string): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : bad(`${what} must be an array`, `"${what}"`));

  const dir = path.dirname(path.resolve(file));
  const driver = str(m.driver, 'driver', '"driver"');
  const device = str(m.device, 'device', '"device"');
  const hashHex = str(m.planHash, 'planHash', '"planHash"');
  if (!new RegExp(`^[0-9a-fA-F]{${2 * LPC_PLAN_HASH_LEN}}$`).test(hashHex)) bad(`planHash must be ${2 * LPC_PLAN_HASH_LEN} hex digits`, '"planHash"');

  const field = (v: unknown, where: string, key: string): Field => {
    if (!isObject(v)) return bad(`${where} must be an object`, key);
    const f = v as Record<string, unknown>;
    const fname = str(f.name, `${where}.name`, key);
    const k = `"${fname}"`;
    const out: Field = { name: fname, type: str(f.type, `${where}.type`, k), offset: size(f.offset, `${where}.offset`, k), size: size(f.size, `${where}.size`, k) };
    if (f.marshal !== undefined) {
      if (!MARSHAL.includes(f.marshal as Marshal)) bad(`${where}.marshal must be one of ${MARSHAL.join(', ')}`, k);
      out.marshal = f.marshal as Marshal;
    }
    if (f.lengthOffset !== undefined) out.lengthOffset = size(f.lengthOffset, `${where}.lengthOffset`, k);
    return out;
  };

  const seen = new Set<string>();
  const procedures = list(m.procedures, 'procedures').map((v, i): Procedure => {
    if (!isObject(v)) return bad(`procedures[${i}] must be an object`, '"procedures"');
    const p = v as Record<string, unknown>;
    const pname = name(p.name, `procedures[${i}].name`, '"procedures"');
    const key = `"${pname}"`;
    if (seen.has(pname)) bad(`procedure "${pname}" is listed twice`, key);
    seen.add(pname);
    const proc: Procedure = {
      name: pname,
      argsSize: size(p.argsSize, `procedure ${pname}: argsSize`, key),
      resultSize: size(p.resultSize, `procedure ${pname}: resultSize`, key),
      params: list(p.params, 'params').map((f, j) => field(f, `procedure ${pname}: params[${j}]`, key)),
    };
    for (const f of proc.params) {
      if (f.offset + f.size > proc.argsSize) bad(`procedure ${pname}: parameter ${f.name} (offset ${f.offset}, size ${f.size}) lies outside argsSize ${proc.argsSize}`, key);
    }
    if (p.returns !== undefined && p.returns !== null) {
      proc.returns = field({ name: 'return', ...(p.returns as object) }, `procedure ${pname}: returns`, key);
      if (proc.returns.offset + proc.returns.size > proc.resultSize) bad(`procedure ${pname}: the return value lies outside resultSize ${proc.resultSize}`, key);
    }
    if (p.handler !== undefined) {
      const h = path.resolve(dir, str(p.handler, `procedure ${pname}: handler`, key));
      if (!existsSync(h)) bad(`procedure ${pname}: handler module ${h} does not exist`, key);
      proc.handler = h;
    }
    return proc;
  });

  let library: string | undefined;
  if (m.library !== undefined) {
    library = path.resolve(dir, str(m.library, 'library', '"library"'));
    if (!existsSync(library)) bad(`library ${library} does not exist (run make in ${dir})`, '"library"');
  } else if (procedures.some((p) => !p.handler)) {
    bad('library is missing, and some procedures have no handler', '"procedures"');
  }

  const locks = list(m.locks, 'locks').map((v, i) => {
    const l = (isObject(v) ? v : bad(`locks[${i}] must be an object`, '"locks"')) as Record<string, unknown>;
    const lname = name(l.name, `locks[${i}].name`, '"locks"');
    return { name: lname, size: size(l.size, `lock ${lname}: size`, `"${lname}"`) };
  });
  const semaphores = list(m.semaphores, 'semaphores').map((v, i) => {
    const s = (isObject(v) ? v : bad(`semaphores[${i}] must be an object`, '"semaphores"')) as Record<string, unknown>;
    return { name: name(s.name, `semaphores[${i}].name`, '"semaphores"') };
  });
  const exports = list(m.exports, 'exports').map((v, i) => name(v, `exports[${i}]`, '"exports"'));

  return { file: path.resolve(file), dir, driver, device, planHash: Buffer.from(hashHex, 'hex'), library, procedures, locks, semaphores, exports };
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** 1-based line of the first occurrence of needle, for diagnostics. */
function lineOf(text: string, needle: string): number | undefined {
  const i = text.indexOf(needle);
  return i < 0 ? undefined : text.slice(0, i).split('\n').length;
}

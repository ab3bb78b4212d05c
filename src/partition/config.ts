/**
 * Partition settings: forced sides, hot thresholds, the LPC cost and the
 * marshalling annotations. They come from defaults, then `split-driver.json`
 * beside the sources (or --config), then the command line.
 * The format is documented in docs/config.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { parseJsonWithLines, type JsonValue } from './json-lines.js';

export const CONFIG_FILE_NAME = 'split-driver.json';

/** How to marshal one parameter (`"fn.param"` in the config). */
export interface Annotation {
  /** The buffer's length in elements is the value of this other parameter. */
  lengthFrom?: string;
  /** The buffer has this fixed length in elements. */
  length?: number;
  /** Copy the buffer in, out, or both (default: in, and out when the function writes it). */
  direction?: 'in' | 'out' | 'inout';
  /** A NUL-terminated string. */
  nulTerminated?: boolean;
  /** Pass the pointer value through untouched (a handle the other half only gives back). */
  opaque?: boolean;
  /** Keyed "struct_tag.field": the field holds the base of a port region this many ports long. */
  ports?: number;
}

export interface Thresholds {
  /** A function called at least this many times in the profiled run is hot. */
  hotCalls: number;
  /** A function whose inclusive cost is at least this share (0..1] of the run's total is hot. */
  hotShare: number;
}

/** Where a forced side was given, for the reason shown to the user. */
export interface Origin {
  file: string; // a config file, or '<command line>'
  line?: number;
  option?: string; // '--kernel', '--user'
}

export interface Config {
  kernel: string[];
  user: string[];
  thresholds: Thresholds;
  /** Cost of one LPC round trip, in units of one source line kept in the kernel. */
  lpcCost: number;
  /** Measured time of one LPC round trip in microseconds, to predict overhead in time. */
  lpcRoundTripUs: number;
  /** Calls assumed per call site for calls the profile never saw (or with no profile). */
  staticCallEstimate: number;
  /** Profile event the hot share is measured in; null: the profile's first event. */
  event: string | null;
  /**
   * Which roots pin what they reach: 'all' (every critical root, the default)
   * or 'atomic' (only interrupt and atomic context; the callees of other roots
   * are placed by cost, so rarely used code under a data-path entry can move).
   */
  closure: 'all' | 'atomic';
  annotations: Record<string, Annotation>;
  /** Keyed `kernel:name` / `user:name`. */
  origins: Record<string, Origin>;
  /** The config file read, if any. */
  file?: string;
}

/**
 * Defaults. lpcCost 1: one crossing in the profiled run weighs as much as one
 * line kept in the kernel, so a leaf function moves out when it has more lines
 * than calls across its boundary. lpcRoundTripUs 50: the seed design measured
 * 28 to 170 us per round trip with a 4 KiB argument.
 */
export function defaultConfig(): Config {
  return {
    kernel: [],
    user: [],
    thresholds: { hotCalls: 1000, hotShare: 0.1 },
    lpcCost: 1,
    lpcRoundTripUs: 50,
    staticCallEstimate: 1,
    event: null,
    closure: 'all',
    annotations: {},
    origins: {},
  };
}

const TOP_KEYS = ['$schema', 'kernel', 'user', 'thresholds', 'lpcCost', 'lpcRoundTripUs', 'staticCallEstimate', 'event', 'closure', 'annotations'];
const THRESHOLD_KEYS = ['hotCalls', 'hotShare'];
const ANNOTATION_KEYS = ['lengthFrom', 'length', 'direction', 'nulTerminated', 'opaque', 'ports'];
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A function name, optionally qualified by its file for static functions: `drv.c:helper`. */
const FUNCTION_REF = /^(?:[^:\s]+:)?[A-Za-z_][A-Za-z0-9_]*$/;

const isObject = (v: JsonValue): v is { [k: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse a config file's text. Unknown keys, wrong types and bad values are InputErrors at their line. */
export function parseConfig(text: string, file: string): Config {
  const { value, lines } = parseJsonWithLines(text, file);
  const at = (p: string): number | undefined => lines.get(p);
  const bad = (p: string, msg: string): never => {
    throw new InputError(msg, file, at(p));
  };
  if (!isObject(value)) bad('', 'the config must be a JSON object');
  const root = value as { [k: string]: JsonValue };
  const cfg = defaultConfig();
  cfg.file = file;

  for (const key of Object.keys(root)) {
    if (!TOP_KEYS.includes(key)) bad(key, `unknown key "${key}" (expected one of ${TOP_KEYS.slice(1).join(', ')})`);
  }
  const num = (p: string, v: JsonValue, min: number, max = Infinity, strictMin = false): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return bad(p, `"${p}" must be a number`);
    if (v < min || (strictMin && v === min) || v > max) {
      return bad(p, `"${p}" must be ${strictMin ? 'greater than' : 'at least'} ${min}${max < Infinity ? ` and at most ${max}` : ''}`);
    }
    return v;
  };
  for (const side of ['kernel', 'user'] as const) {
    if (!(side in root)) continue;
    const list = root[side];
    if (!Array.isArray(list)) bad(side, `"${side}" must be an array of function names`);
    (list as JsonValue[]).forEach((n, i) => {
      const p = `${side}[${i}]`;
      if (typeof n !== 'string' || !FUNCTION_REF.test(n)) bad(p, `"${side}" entries must be function names (or file:name), got ${JSON.stringify(n)}`);
      cfg[side].push(n as string);
      cfg.origins[`${side}:${n as string}`] = { file, line: at(p) };
    });
  }
  const both = cfg.kernel.filter((n) => cfg.user.includes(n));
  if (both.length > 0) throw new InputError(`"${both[0]}" is forced to both the kernel and the user side`, file, cfg.origins[`user:${both[0]}`]?.line);

  if ('thresholds' in root) {
    const t = root.thresholds;
    if (!isObject(t)) bad('thresholds', '"thresholds" must be an object');
    for (const [k, v] of Object.entries(t as { [k: string]: JsonValue })) {
      const p = `thresholds.${k}`;
      if (k === 'hotCalls') cfg.thresholds.hotCalls = num(p, v, 1);
      else if (k === 'hotShare') cfg.thresholds.hotShare = num(p, v, 0, 1, true);
      else bad(p, `unknown key "${k}" in "thresholds" (expected ${THRESHOLD_KEYS.join(', ')})`);
    }
  }
  if ('lpcCost' in root) cfg.lpcCost = num('lpcCost', root.lpcCost, 0);
  if ('lpcRoundTripUs' in root) cfg.lpcRoundTripUs = num('lpcRoundTripUs', root.lpcRoundTripUs, 0);
  if ('staticCallEstimate' in root) cfg.staticCallEstimate = num('staticCallEstimate', root.staticCallEstimate, 0);
  if ('event' in root) {
    const e = root.event;
    if (typeof e !== 'string' || e === '') bad('event', '"event" must be a profile event name such as "Ir"');
    cfg.event = e as string;
  }
  if ('closure' in root) {
    if (root.closure !== 'all' && root.closure !== 'atomic') bad('closure', '"closure" must be "all" or "atomic"');
    cfg.closure = root.closure as Config['closure'];
  }
  if ('annotations' in root) {
    const a = root.annotations;
    if (!isObject(a)) bad('annotations', '"annotations" must be an object keyed "function.parameter"');
    for (const [key, spec] of Object.entries(a as { [k: string]: JsonValue })) {
      const p = `annotations.${key}`;
      const parts = key.split('.');
      if (parts.length !== 2 || !IDENT.test(parts[0]) || !IDENT.test(parts[1])) bad(p, `annotation key "${key}" must be "function.parameter" (or "struct_tag.field" for "ports")`);
      if (!isObject(spec)) bad(p, `annotation "${key}" must be an object`);
      const ann: Annotation = {};
      for (const [k, v] of Object.entries(spec as { [k: string]: JsonValue })) {
        const q = `${p}.${k}`;
        if (k === 'lengthFrom') {
          if (typeof v !== 'string' || !IDENT.test(v)) bad(q, `"lengthFrom" must name another parameter of ${parts[0]}`);
          if (v === parts[1]) bad(q, `"lengthFrom" of ${key} names the parameter itself`);
          ann.lengthFrom = v as string;
        } else if (k === 'length') {
          const n = num(q, v, 1);
          if (!Number.isInteger(n)) bad(q, '"length" must be a whole number');
          ann.length = n;
        } else if (k === 'ports') {
          const n = num(q, v, 1);
          if (!Number.isInteger(n) || n > 65536) bad(q, '"ports" must be a whole number of ports from 1 to 65536');
          ann.ports = n;
        } else if (k === 'direction') {
          if (v !== 'in' && v !== 'out' && v !== 'inout') bad(q, '"direction" must be "in", "out" or "inout"');
          ann.direction = v as Annotation['direction'];
        } else if (k === 'nulTerminated' || k === 'opaque') {
          if (typeof v !== 'boolean') bad(q, `"${k}" must be true or false`);
          ann[k] = v as boolean;
        } else {
          bad(q, `unknown key "${k}" in annotation "${key}" (expected ${ANNOTATION_KEYS.join(', ')})`);
        }
      }
      if (ann.lengthFrom !== undefined && ann.length !== undefined) bad(p, `annotation "${key}" gives both "length" and "lengthFrom"`);
      cfg.annotations[key] = ann;
    }
  }
  return cfg;
}

/**
 * Find `split-driver.json` in the directories of the inputs. Several
 * different files are ambiguous: the user must choose one with --config.
 */
export function findConfigFile(inputs: string[]): string | undefined {
  const dirs = new Set<string>();
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = fs.statSync(input).isDirectory();
    } catch {
      continue; // a missing input is reported by the parser
    }
    dirs.add(path.resolve(isDir ? input : path.dirname(input)));
  }
  const found = [...dirs].map((d) => path.join(d, CONFIG_FILE_NAME)).filter((f) => fs.existsSync(f));
  if (found.length > 1) {
    throw new InputError(`several ${CONFIG_FILE_NAME} files beside the inputs (${found.join(', ')}); choose one with --config`, found[1]);
  }
  return found[0];
}

/** Read the config: `configPath` when given (it must exist), else the one beside the inputs, else defaults. */
export function loadConfig(opts: { inputs: string[]; configPath?: string }): Config {
  const file = opts.configPath ?? findConfigFile(opts.inputs);
  if (file === undefined) return defaultConfig();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read the config: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
  return parseConfig(text, file);
}

/** `--kernel f,g --kernel h` -> [f, g, h]. */
export function splitNames(l: string[] | undefined): string[] {
  return (l ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** Command-line settings, which win over the config file. */
export interface ConfigOverrides {
  kernel?: string[];
  user?: string[];
  lpcCost?: number;
  hotCalls?: number;
  hotShare?: number;
  event?: string;
  closure?: string;
}

const CLI: Origin['file'] = '<command line>';

/**
 * Apply command-line settings. `--kernel f,g` lists may hold commas. A
 * function forced to one side on the command line leaves the other side's
 * list of the config file; naming one function on both sides of the command
 * line is an error.
 */
export function applyOverrides(config: Config, o: ConfigOverrides): Config {
  const kernel = splitNames(o.kernel);
  const user = splitNames(o.user);
  for (const [opt, list] of [['--kernel', kernel], ['--user', user]] as const) {
    for (const n of list) if (!FUNCTION_REF.test(n)) throw new InputError(`${opt}: "${n}" is not a function name`);
  }
  const clash = kernel.find((n) => user.includes(n));
  if (clash !== undefined) throw new InputError(`"${clash}" is given to both --kernel and --user`);
  const out: Config = { ...config, thresholds: { ...config.thresholds }, origins: { ...config.origins } };
  out.kernel = [...config.kernel.filter((n) => !user.includes(n)), ...kernel.filter((n) => !config.kernel.includes(n))];
  out.user = [...config.user.filter((n) => !kernel.includes(n)), ...user.filter((n) => !config.user.includes(n))];
  for (const n of kernel) out.origins[`kernel:${n}`] = { file: CLI, option: '--kernel' };
  for (const n of user) out.origins[`user:${n}`] = { file: CLI, option: '--user' };
  const check = (name: string, v: number | undefined, ok: boolean): void => {
    if (v !== undefined && (!Number.isFinite(v) || !ok)) throw new InputError(`${name}: invalid value ${String(v)}`);
  };
  check('--lpc-cost', o.lpcCost, (o.lpcCost ?? 0) >= 0);
  check('--hot-calls', o.hotCalls, (o.hotCalls ?? 1) >= 1);
  check('--hot-share', o.hotShare, (o.hotShare ?? 1) > 0 && (o.hotShare ?? 1) <= 1);
  if (o.lpcCost !== undefined) out.lpcCost = o.lpcCost;
  if (o.hotCalls !== undefined) out.thresholds.hotCalls = o.hotCalls;
  if (o.hotShare !== undefined) out.thresholds.hotShare = o.hotShare;
  if (o.event !== undefined) out.event = o.event;
  if (o.closure !== undefined) {
    if (o.closure !== 'all' && o.closure !== 'atomic') throw new InputError(`--closure: expected "all" or "atomic", got "${o.closure}"`);
    out.closure = o.closure;
  }
  return out;
}

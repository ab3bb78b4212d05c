/**
 * emit: from the driver's sources and a plan, the directory of a split
 * driver: DIR/kmod (the kernel half) and DIR/udaemon (the user half).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, type WarningSink } from '../errors.js';
import type { CallGraph } from '../graph/model.js';
import type { Config } from '../partition/config.js';
import { partition, type Plan } from '../partition/plan.js';
import type { DriverModel } from '../parse/model.js';
import { kcompatHeader } from './compat.js';
import { kernelFile, kernelGlue, kernelHeader, WIRE_HEADER } from './kernel-half.js';
import { buildManifest } from './manifest.js';
import { TypeWorld } from './marshal.js';
import { indexSource, translationUnits, type SourceIndex } from './source.js';
import { atomicIds } from './shared-locks.js';
import { computeSplit, locateFunctions, type Split } from './split.js';
import { dkmsConf, kbuild, kmodMakefile, readme, shimHeader, udaemonMakefile } from './templates.js';
import { hasUserPart, userFile, userHeader, userRuntime } from './user-half.js';

export interface EmitInput {
  model: DriverModel;
  plan: Plan;
  annotations: Config['annotations'];
  /** Shown in hints: where annotations go. */
  configName: string;
  out: string;
  /** Module name; default: the name of the driver's only .c file, else of its directory. */
  name?: string;
  onWarning?: WarningSink;
}

export interface EmitResult {
  module: string;
  kmodFiles: string[];
  udaemonFiles: string[];
  split: Split;
}

/** A directory shipped with split-driver, found by a file in it: kmod/ (the LPC core and the ABI header), udaemon/native/. */
function shippedDir(sub: string, probe: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, sub, probe))) return path.join(dir, sub);
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find ${sub}/${probe} beside the installation`);
}

export function indexAll(model: DriverModel): Map<string, SourceIndex> {
  const out = new Map<string, SourceIndex>();
  for (const f of model.files) out.set(f, indexSource(f, readFileSync(f, 'utf8')));
  return out;
}

export function moduleName(model: DriverModel, name?: string): string {
  const n = name ?? (() => {
    const cs = model.files.filter((f) => f.endsWith('.c'));
    return cs.length === 1 ? path.basename(cs[0], '.c') : path.basename(path.dirname(path.resolve(cs[0] ?? '.')));
  })();
  const clean = n.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]\w*$/.test(clean) || clean.length > 55) throw new InputError(`"${n}" cannot name a module: give --name with letters, digits and _`);
  return clean;
}

/** Plans the split; throws the first problem (file:line and the fix). */
export function analyseSplit(model: DriverModel, plan: Plan, indexes: Map<string, SourceIndex>, annotations: Config['annotations'], configName: string, warn?: WarningSink): Split {
  const world = new TypeWorld([...indexes.values()]);
  const fns = locateFunctions(model, plan, indexes, warn);
  const split = computeSplit(model, fns, world, { annotations, configName, atomic: atomicIds(plan) });
  if (split.problems.length > 0) throw split.problems[0].error;
  return split;
}

/**
 * Computes a plan whose moved functions can all cross the boundary: a
 * function the cut moved but that cannot be marshalled (and that nobody
 * forced to user space) stays in the kernel, with a warning saying why.
 */
export function planForEmit(model: DriverModel, graph: CallGraph, config: Config, indexes: Map<string, SourceIndex>, warn?: WarningSink): Plan {
  const world = new TypeWorld([...indexes.values()]);
  const cfg: Config = { ...config, kernel: [...config.kernel], origins: { ...config.origins } };
  const initIds = model.entryPoints.filter((e) => e.kind === 'module_init' || e.kind === 'module_exit').map((e) => e.function);
  for (const id of initIds) {
    if (!cfg.user.includes(id) && !cfg.kernel.includes(id)) {
      cfg.kernel.push(id);
      cfg.origins[`kernel:${id}`] = { file: 'split-driver emit (module init and exit run in the kernel half)' };
    }
  }
  // Each function that cannot cross, with the first reason found (file:line and the fix).
  const uncrossable = new Map<string, { why: string; file: string; line: number }>();
  for (let round = 0; round < 1000; round++) {
    const plan = partition(graph, cfg, { uncrossable });
    const fns = locateFunctions(model, plan, indexes);
    const split = computeSplit(model, fns, world, { annotations: cfg.annotations, configName: cfg.file ?? 'split-driver.json', atomic: atomicIds(plan) });
    if (split.problems.length === 0) return plan;
    const forcedUser = new Set(cfg.user);
    let pinned = 0;
    for (const p of split.problems) {
      const free = p.blame.filter((f) => !forcedUser.has(f.fn.id) && !forcedUser.has(f.fn.name));
      if (free.length < p.blame.length || p.blame.length === 0) throw p.error;
      for (const f of free) {
        if (cfg.kernel.includes(f.fn.id) || uncrossable.has(f.fn.id)) continue;
        uncrossable.set(f.fn.id, { why: p.error.message.replace(/^\w+ cannot cross the kernel\/user boundary: /, ''), file: p.error.file ?? f.fn.file, line: p.error.line ?? f.fn.startLine });
        warn?.({ file: f.fn.file, line: f.fn.startLine, message: `${f.fn.name} stays in the kernel: ${p.error.message}` });
        pinned++;
      }
    }
    if (pinned === 0) throw split.problems[0].error;
  }
  throw new Error('emit: planning did not converge');
}

function write(file: string, text: string, list: string[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  list.push(file);
}

export function emitDriver(input: EmitInput): EmitResult {
  const { model, plan } = input;
  if (!/^[0-9a-f]{64}$/.test(plan.planHash)) throw new InputError('the plan has no valid planHash (64 hex digits)');
  const module = moduleName(model, input.name);
  const indexes = indexAll(model);
  const split = analyseSplit(model, plan, indexes, input.annotations, input.configName, input.onWarning);

  const kdir = path.join(input.out, 'kmod');
  const udir = path.join(input.out, 'udaemon');
  rmSync(kdir, { recursive: true, force: true });
  rmSync(udir, { recursive: true, force: true });
  const kmodFiles: string[] = [];
  const udaemonFiles: string[] = [];
  const names = { driver: module, header: `${module}_lpc.h`, planHash: plan.planHash };

  const cFiles = model.files.filter((f) => f.endsWith('.c'));
  const hFiles = model.files.filter((f) => !f.endsWith('.c'));
  const glueFile = split.init?.fn.file ?? split.busDriver?.idx.file ?? cFiles[0];
  // A source named like the module would clash with the module's own object.
  const kname = (f: string): string => (path.basename(f, '.c') === module ? `${module}_main.c` : path.basename(f));
  const seen = new Set<string>();
  for (const f of model.files) {
    const b = path.basename(f);
    if (seen.has(b)) throw new InputError(`two inputs are named ${b}; emit writes one flat directory per half`, f);
    seen.add(b);
  }

  for (const f of cFiles) {
    const idx = indexes.get(f)!;
    write(path.join(kdir, kname(f)), kernelFile(idx, split, names, f === glueFile ? kernelGlue(split, names) : undefined), kmodFiles);
  }
  for (const f of hFiles) write(path.join(kdir, path.basename(f)), readFileSync(f, 'utf8'), kmodFiles);
  write(path.join(kdir, names.header), kernelHeader(split, names), kmodFiles);
  write(path.join(kdir, 'lpc_wire.h'), WIRE_HEADER, kmodFiles);
  const core = shippedDir('kmod', 'lpc_core.c');
  for (const f of ['lpc_core.c', 'lpc_core.h', 'lpc_abi.h']) write(path.join(kdir, f), readFileSync(path.join(core, f), 'utf8'), kmodFiles);
  // A .c another input includes (uhci-hcd.c includes its bus glue) is part of that unit, not one of its own.
  const unitOf = translationUnits([...indexes.values()]);
  const units = cFiles.filter((f) => unitOf.get(indexes.get(f)!) === indexes.get(f));
  const objects = [...units.map((f) => kname(f).replace(/\.c$/, '.o')), 'lpc_core.o'];
  write(path.join(kdir, 'Kbuild'), kbuild(module, objects), kmodFiles);
  write(path.join(kdir, 'Makefile'), kmodMakefile(module), kmodFiles);
  write(path.join(kdir, 'dkms.conf'), dkmsConf(module, `1.0.${plan.planHash.slice(0, 8)}`), kmodFiles);

  // The user half.
  const lib = `lib${module}_user.so`;
  const userSources: string[] = [];
  const includes = new Set<string>();
  for (const f of cFiles) {
    const idx = indexes.get(f)!;
    if (!hasUserPart(idx, split)) continue;
    write(path.join(udir, path.basename(f)), userFile(idx, split), udaemonFiles);
    userSources.push(path.basename(f));
  }
  for (const f of hFiles) write(path.join(udir, path.basename(f)), readFileSync(f, 'utf8'), udaemonFiles);
  for (const f of model.files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^\s*#\s*include\s*<((?:linux|asm|uapi|generic)\/[\w/.-]+)>/gm)) includes.add(m[1]);
  }
  includes.add('linux/types.h');
  for (const h of includes) write(path.join(udir, 'include', h), shimHeader(h), udaemonFiles);
  write(path.join(udir, 'kcompat.h'), kcompatHeader(module), udaemonFiles);
  write(path.join(udir, 'lpc_wire.h'), WIRE_HEADER, udaemonFiles);
  write(path.join(udir, 'lpc_abi.h'), readFileSync(path.join(core, 'lpc_abi.h'), 'utf8'), udaemonFiles);
  write(path.join(udir, 'lpc_user.h'), userHeader(split, module), udaemonFiles);
  write(path.join(udir, 'lpc_user.c'), userRuntime(split, module), udaemonFiles);
  const native = shippedDir('udaemon/native', 'lpc_serve.c');
  for (const f of ['lpc_serve.c', 'lpc_serve.h']) write(path.join(udir, f), readFileSync(path.join(native, f), 'utf8'), udaemonFiles);
  write(path.join(udir, 'Makefile'), udaemonMakefile(lib, [...userSources, 'lpc_user.c', 'lpc_serve.c']), udaemonFiles);
  const manifest = buildManifest(split, { driver: module, planHash: plan.planHash, library: lib });
  write(path.join(udir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, udaemonFiles);

  write(
    path.join(input.out, 'README.md'),
    readme({
      module,
      device: manifest.device,
      lib,
      planHash: plan.planHash,
      procedures: manifest.procedures.map((p) => p.name),
      exports: manifest.exports,
      locks: manifest.locks.map((l) => l.name),
    }),
    kmodFiles,
  );
  return { module, kmodFiles, udaemonFiles, split };
}

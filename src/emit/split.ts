/**
 * What goes where, at the level of the source text: for each function its
 * side; the moved functions the kernel still calls (each becomes a stub and
 * a procedure); the kernel functions the moved code calls (each exported
 * through EXEC_LPC); the kernel data the moved code uses (each shared under
 * one LPC lock); and the marshalling plan of every crossing.
 */
import { InputError, type WarningSink } from '../errors.js';
import type { Annotation } from '../partition/config.js';
import type { Plan } from '../partition/plan.js';
import type { DriverModel, FunctionDef } from '../parse/model.js';
import { USER_APIS } from './compat.js';
import { MMIO_ACCESSORS } from './iomem.js';
import { planProcedure, TypeWorld, type ProcPlan } from './marshal.js';
import { fixedPort, PORT_ACCESSORS, PORT_MAPPERS, portExport, portFromParam } from './ports.js';
import { planKernelLocks, type KernelLocks } from './shared-locks.js';
import { translationUnits, type SourceIndex, type TopItem } from './source.js';
import { planView } from './view.js';

export interface FnInfo {
  fn: FunctionDef;
  item: TopItem;
  idx: SourceIndex;
  side: 'kernel' | 'user';
}

export interface SharedGlobal {
  name: string;
  item: TopItem;
  idx: SourceIndex;
  /** LPC lock name (LOCK_LPC/UNLOCK_LPC). */
  lock: string;
  size: number;
}

export interface Split {
  fns: FnInfo[];
  byItem: Map<TopItem, FnInfo>;
  /** Moved functions the kernel half calls: kernel stub + user procedure. */
  procedures: Map<FnInfo, ProcPlan>;
  /** Kernel functions the user half calls through EXEC_LPC. */
  exports: Map<FnInfo, ProcPlan>;
  /** Variables the user half keeps a copy of. */
  userVars: Set<TopItem>;
  /** Variables the kernel half keeps. */
  kernelVars: Set<TopItem>;
  shared: SharedGlobal[];
  /** Per procedure: the shared globals its user-side code touches, in the order of `shared`. */
  procShared: Map<FnInfo, SharedGlobal[]>;
  /** The kernel functions that take the locks of shared globals. */
  kernelLocks: KernelLocks;
  /** Handle types (struct tags) passed as opaque handles. */
  handleTags: Set<string>;
  /** MMIO accessors the moved code calls, port accessors as the ones they become: each an EXEC_LPC export (lpc_io_<name>). */
  ioAccessors: string[];
  /** Some crossing passes an __iomem or port region: the kernel half keeps a region table. */
  iomem: boolean;
  /** Some crossing passes a port region: the kernel half lends ioport_map() mappings. */
  ports: boolean;
  init?: FnInfo;
  exit?: FnInfo;
  /** module_pci_driver(drv) and its kin, where the driver has no module_init of its own. */
  busDriver?: BusDriver;
  /** What cannot cross the boundary, each with the moved functions that would have to stay in the kernel to avoid it. */
  problems: Problem[];
}

/** A module_<bus>_driver(drv) statement: the register and unregister calls it stands for. */
export interface BusDriver {
  item: TopItem;
  idx: SourceIndex;
  macro: string;
  driver: string;
  register: string;
  unregister: string;
}

/** What each module_<bus>_driver() macro registers with, as include/linux defines them. */
const BUS_DRIVERS: Record<string, [string, string]> = {
  module_pci_driver: ['pci_register_driver', 'pci_unregister_driver'],
  module_platform_driver: ['platform_driver_register', 'platform_driver_unregister'],
  module_usb_driver: ['usb_register', 'usb_deregister'],
  module_i2c_driver: ['i2c_add_driver', 'i2c_del_driver'],
  module_spi_driver: ['spi_register_driver', 'spi_unregister_driver'],
  module_virtio_driver: ['register_virtio_driver', 'unregister_virtio_driver'],
  module_pcmcia_driver: ['pcmcia_register_driver', 'pcmcia_unregister_driver'],
  module_hid_driver: ['hid_register_driver', 'hid_unregister_driver'],
  module_serio_driver: ['serio_register_driver', 'serio_unregister_driver'],
};

export interface Problem {
  error: InputError;
  blame: FnInfo[];
}

export interface SplitOptions {
  annotations: Record<string, Annotation>;
  configName: string;
  onWarning?: WarningSink;
  /** Ids of the functions that run in atomic context (see atomicIds()). */
  atomic: ReadonlySet<string>;
}

function bodyOf(info: FnInfo): string {
  return info.idx.text.slice(info.item.start, info.item.end);
}

/** The text from the start of `line` to the end of the statement there. */
function statementAt(idx: SourceIndex, line: number): string {
  const start = idx.text.split('\n', line - 1).join('\n').length;
  const end = idx.text.indexOf(';', start);
  return idx.text.slice(start, end < 0 ? undefined : end + 1);
}

/** Finds each model function's item in the indexed sources. */
export function locateFunctions(model: DriverModel, plan: Plan, indexes: Map<string, SourceIndex>, warn?: WarningSink): FnInfo[] {
  const side = new Map(plan.functions.map((f) => [f.id, f.side] as const));
  const initIds = new Set(model.entryPoints.filter((e) => e.kind === 'module_init' || e.kind === 'module_exit').map((e) => e.function));
  const out: FnInfo[] = [];
  for (const fn of model.functions) {
    const idx = indexes.get(fn.file);
    if (!idx) continue;
    const item = idx.items.find((it) => it.kind === 'function' && it.names[0] === fn.name && it.line <= fn.startLine && it.endLine >= fn.startLine);
    if (!item) throw new InputError(`emit cannot find the definition of ${fn.name} in the file`, fn.file, fn.startLine);
    let s = side.get(fn.id) ?? 'kernel';
    if (s === 'user' && initIds.has(fn.id)) {
      // Module init and exit must run in the kernel; the kernel half runs init once the daemon attaches.
      warn?.({ file: fn.file, line: fn.startLine, message: `${fn.name} is the module's init or exit: it stays in the kernel half, which runs it once the daemon attaches (its callees follow the plan)` });
      s = 'kernel';
    }
    out.push({ fn, item, idx, side: s });
  }
  return out;
}

export function computeSplit(model: DriverModel, fns: FnInfo[], world: TypeWorld, opts: SplitOptions): Split {
  const byItem = new Map(fns.map((f) => [f.item, f] as const));
  const byId = new Map(fns.map((f) => [f.fn.id, f] as const));
  const defined = new Set(model.functions.map((f) => f.id));

  // Resolve a name used in a file to the function it means: a static in that file, else a global one.
  const globalFn = new Map<string, FnInfo>();
  for (const f of fns) if (!f.fn.isStatic) globalFn.set(f.fn.name, f);
  // File-scope names are per translation unit (a .c another includes shares its includer's).
  const unitOf = translationUnits([...new Set(fns.map((f) => f.idx))]);
  const unit = (idx: SourceIndex): SourceIndex => unitOf.get(idx) ?? idx;
  const localFn = new Map<SourceIndex, Map<string, FnInfo>>();
  for (const f of fns) {
    const u = unit(f.idx);
    if (!localFn.has(u)) localFn.set(u, new Map());
    const m = localFn.get(u)!;
    if (!m.has(f.fn.name)) m.set(f.fn.name, f);
  }
  const fnFor = (name: string, idx: SourceIndex): FnInfo | undefined => localFn.get(unit(idx))?.get(name) ?? globalFn.get(name);
  // Variables likewise: file-scope statics first, then globals. A name may
  // have several definitions, alternatives under #if (8139too's use_io).
  type Var = { item: TopItem; idx: SourceIndex };
  const localVar = new Map<SourceIndex, Map<string, Var[]>>();
  const globalVar = new Map<string, Var[]>();
  const addVar = (m: Map<string, Var[]>, n: string, v: Var): void => {
    if (m.has(n)) m.get(n)!.push(v);
    else m.set(n, [v]);
  };
  for (const idx of new Set(fns.map((f) => f.idx))) {
    const u = unit(idx);
    if (!localVar.has(u)) localVar.set(u, new Map());
    const m = localVar.get(u)!;
    for (const item of idx.items) {
      if (item.kind !== 'variable') continue;
      for (const n of item.names) {
        addVar(m, n, { item, idx });
        if (!item.isStatic) addVar(globalVar, n, { item, idx });
      }
    }
  }
  const varsFor = (name: string, idx: SourceIndex): Var[] => localVar.get(unit(idx))?.get(name) ?? globalVar.get(name) ?? [];
  const varFor = (name: string, idx: SourceIndex): Var | undefined => varsFor(name, idx)[0];

  // The user side: moved functions and everything they mention.
  const userFns = fns.filter((f) => f.side === 'user');
  const exportsSet = new Set<FnInfo>();
  const userVars = new Set<TopItem>();
  const userVarIdx = new Map<TopItem, SourceIndex>();
  // Which moved functions reach each export and each variable, directly or through the data they use (an ops table).
  const reachedBy = new Map<FnInfo | TopItem, Set<FnInfo>>();
  const reach = (k: FnInfo | TopItem, u: FnInfo): void => {
    if (!reachedBy.has(k)) reachedBy.set(k, new Set());
    reachedBy.get(k)!.add(u);
  };
  for (const u of userFns) {
    const seenVars = new Set<TopItem>();
    const work: { refs: Set<string>; idx: SourceIndex }[] = [{ refs: u.item.refs, idx: u.idx }];
    while (work.length > 0) {
      const { refs, idx } = work.pop()!;
      for (const r of refs) {
        const f = fnFor(r, idx);
        if (f) {
          if (f.side === 'kernel') {
            exportsSet.add(f);
            reach(f, u);
          }
          continue;
        }
        const v = varFor(r, idx);
        if (v && !seenVars.has(v.item)) {
          seenVars.add(v.item);
          reach(v.item, u);
          userVars.add(v.item);
          userVarIdx.set(v.item, v.idx);
          work.push({ refs: v.item.refs, idx: v.idx });
        }
      }
    }
  }

  const allIdx = [...new Set(fns.map((f) => f.idx))];
  const defines = allIdx.flatMap((i) => i.defines);
  const problems: Problem[] = [];
  const io = new Set<string>();
  // Kernel APIs the moved code calls must exist in user space.
  for (const c of model.calls) {
    const caller = byId.get(c.caller);
    if (!caller || caller.side !== 'user' || defined.has(c.callee)) continue;
    if (USER_APIS.has(c.callee)) continue;
    if (MMIO_ACCESSORS.has(c.callee)) {
      // Reached through EXEC_LPC on a region the kernel half checks (iomem.ts).
      io.add(c.callee);
      continue;
    }
    const port = PORT_ACCESSORS.get(c.callee);
    if (port || PORT_MAPPERS.has(c.callee)) {
      // Ports are reached through a port region's cookie (ports.ts); a fixed port number is none.
      const fixed = fixedPort(statementAt(caller.idx, c.line), defines, world);
      if (fixed !== undefined) {
        problems.push({
          error: new InputError(
            `${caller.fn.name} moves to user space but calls ${c.callee} on a fixed port (${fixed}): the user half reaches ports only through a port base in a driver structure, whose region the kernel half lends; keep the base in a field of a driver structure that request_region() requests, or keep ${caller.fn.name} in the kernel (--kernel ${caller.fn.name})`,
            c.file,
            c.line,
          ),
          blame: [caller],
        });
      } else if (port) io.add(portExport(port));
      continue;
    }
    problems.push({
      error: new InputError(
        `${caller.fn.name} moves to user space but calls ${c.callee}, a kernel service with no user-space equivalent; keep ${caller.fn.name} in the kernel (--kernel ${caller.fn.name})`,
        c.file,
        c.line,
      ),
      blame: [caller],
    });
  }

  // The kernel side: kept functions, statements and every variable they mention.
  const kernelVars = new Set<TopItem>();
  const procSet = new Set<FnInfo>();
  const kwork: { refs: Set<string>; idx: SourceIndex }[] = [];
  for (const f of fns) if (f.side === 'kernel') kwork.push({ refs: f.item.refs, idx: f.idx });
  for (const idx of new Set(fns.map((f) => f.idx))) {
    for (const it of idx.items) {
      if (it.kind === 'statement' && !/^\s*module_(init|exit)\s*\(/.test(idx.text.slice(it.start, it.end))) kwork.push({ refs: it.refs, idx });
      if (it.kind === 'variable' && !it.isStatic) {
        kernelVars.add(it);
        kwork.push({ refs: it.refs, idx });
      }
    }
  }
  while (kwork.length > 0) {
    const { refs, idx } = kwork.pop()!;
    for (const r of refs) {
      const f = fnFor(r, idx);
      if (f) {
        if (f.side === 'user') procSet.add(f);
        continue;
      }
      // Every alternative: the kernel half keeps the source's #if around them.
      for (const v of varsFor(r, idx)) {
        if (kernelVars.has(v.item)) continue;
        kernelVars.add(v.item);
        kwork.push({ refs: v.item.refs, idx: v.idx });
      }
    }
  }

  const view = (fn: FunctionDef, param: string, tag: string): ReturnType<typeof planView> =>
    planView(tag, fn.name, param, {
      world,
      indexes: allIdx,
      defines,
      annotations: opts.annotations,
      configName: opts.configName,
      userFn: (name) => {
        const f = userFns.find((u) => u.fn.name === name && (u.idx === byId.get(fn.id)?.idx || !u.fn.isStatic));
        return f ? { text: bodyOf(f), params: f.fn.params.map((q) => q.name), at: { file: f.idx.file, line: f.item.line } } : undefined;
      },
    });
  const ctx = { world, annotations: opts.annotations, configName: opts.configName, view };
  const procedures = new Map<FnInfo, ProcPlan>();
  const exportsMap = new Map<FnInfo, ProcPlan>();
  const names = new Set<string>();
  const unique = (f: FnInfo): void => {
    if (names.has(f.fn.name)) throw new InputError(`two functions named ${f.fn.name} cross the boundary; LPC names must be unique (rename one, or keep both on one side)`, f.fn.file, f.fn.startLine);
    names.add(f.fn.name);
  };
  const attempt = (f: FnInfo, blame: FnInfo[], into: Map<FnInfo, ProcPlan>): void => {
    try {
      unique(f);
      const raw = into === procedures ? portFromParam(bodyOf(f), defines, f.fn.params.filter((q) => !/[*[(]/.test(q.type)).map((q) => q.name)) : undefined;
      if (raw) {
        throw new InputError(
          `${f.fn.name} cannot cross the kernel/user boundary: it does port I/O on its parameter "${raw}", a port number the kernel would pass, which the user half cannot use; the user half reaches ports only through a port base in a driver structure it is given (a cookie of the region the driver requested), so pass the structure, or keep ${f.fn.name} in the kernel (--kernel ${f.fn.name})`,
          f.fn.file,
          f.fn.startLine,
        );
      }
      into.set(f, planProcedure(f.fn, bodyOf(f), ctx, into === exportsMap ? 'export' : 'procedure'));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push({ error: e, blame });
    }
  };
  for (const f of [...procSet].sort((a, b) => a.fn.id.localeCompare(b.fn.id))) attempt(f, [f], procedures);
  for (const f of [...exportsSet].sort((a, b) => a.fn.id.localeCompare(b.fn.id))) {
    attempt(f, [...(reachedBy.get(f) ?? [])], exportsMap);
  }
  const handleTags = new Set<string>();
  for (const p of [...procedures.values(), ...exportsMap.values()]) for (const q of p.params) if (q.handleTag) handleTags.add(q.handleTag);

  // Kernel data the moved code uses: copied under an LPC lock, unless it is const (then both halves have it).
  const shared: SharedGlobal[] = [];
  const sharedByItem = new Map<TopItem, SharedGlobal>();
  for (const item of userVars) {
    if (item.isConst) continue;
    const idx = userVarIdx.get(item)!;
    const name = item.names[0];
    const m = /^(.*?)((?: \*)*)((?:\[[^\]]*\])*)$/.exec(item.varType ?? '')!;
    const dims = [...m[3].matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]);
    const l = world.layout(m[1], m[2].length / 2, dims);
    const blame = [...(reachedBy.get(item) ?? [])];
    const users = blame.map((f) => f.fn.name);
    if (!l.plain || l.size === 0) {
      problems.push({
        error: new InputError(
          `${users.join(', ') || 'the moved code'} uses ${name} (${item.varType}), which cannot be copied to user space: ${l.why}; keep ${users[0] ?? 'it'} in the kernel (--kernel ${users[0] ?? name})`,
          idx.file,
          item.line,
        ),
        blame,
      });
      continue;
    }
    if (item.names.length > 1) {
      problems.push({ error: new InputError(`declare ${item.names.join(', ')} one per line: each shared variable gets its own lock`, idx.file, item.line), blame });
      continue;
    }
    const g: SharedGlobal = { name, item, idx, lock: name, size: l.size };
    shared.push(g);
    sharedByItem.set(item, g);
  }

  // Which shared data each procedure's user-side code (its moved callees included) reaches.
  const procShared = new Map<FnInfo, SharedGlobal[]>();
  for (const p of procedures.keys()) {
    const seen = new Set<FnInfo>([p]);
    const stack = [p];
    const found = new Set<SharedGlobal>();
    while (stack.length > 0) {
      const f = stack.pop()!;
      for (const r of f.item.refs) {
        const g = fnFor(r, f.idx);
        if (g && g.side === 'user' && !seen.has(g)) {
          seen.add(g);
          stack.push(g);
        }
        const v = varFor(r, f.idx);
        const s = v ? sharedByItem.get(v.item) : undefined;
        if (s) found.add(s);
      }
    }
    procShared.set(p, shared.filter((g) => found.has(g)));
  }

  const kernelLocks = planKernelLocks({ model, fns, shared, exports: new Set(exportsMap.keys()), atomic: opts.atomic, varFor });
  problems.push(...kernelLocks.problems);

  const entry = (kind: string): FnInfo | undefined => {
    const e = model.entryPoints.find((x) => x.kind === kind);
    return e ? byId.get(e.function) : undefined;
  };
  // The module's life cycle runs from the LPC glue, so a registration macro becomes two functions.
  let busDriver: BusDriver | undefined;
  if (!entry('module_init')) {
    for (const idx of allIdx) {
      for (const item of idx.items) {
        if (item.kind !== 'statement') continue;
        const m = /^\s*(module_\w*driver)\s*\(\s*(\w+)\s*\)\s*;?\s*$/.exec(idx.text.slice(item.start, item.end));
        if (!m) continue;
        const calls = BUS_DRIVERS[m[1]];
        if (!calls) {
          problems.push({ error: new InputError(`emit does not know what ${m[1]}() registers; write the module's init and exit functions (module_init/module_exit) instead`, idx.file, item.line), blame: [] });
          continue;
        }
        busDriver = { item, idx, macro: m[1], driver: m[2], register: calls[0], unregister: calls[1] };
      }
    }
  }
  const lent = new Set([...procedures.values()].flatMap((p) => p.params.flatMap((q) => (q.viewFields ?? []).map((v) => v.kind))));
  return {
    fns,
    byItem,
    procedures,
    exports: exportsMap,
    userVars,
    kernelVars,
    shared,
    procShared,
    kernelLocks: kernelLocks.locks,
    handleTags,
    ioAccessors: [...io].sort(),
    iomem: lent.has('iomem') || lent.has('port') || io.size > 0,
    ports: lent.has('port'),
    init: entry('module_init'),
    exit: entry('module_exit'),
    busDriver,
    problems,
  };
}

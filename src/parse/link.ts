/** Joins the per-file facts into one DriverModel: names resolved across all input files. */
import { findAccess } from './access.js';
import { atomicClass } from './apis.js';
import { resolveCalls } from './calls.js';
import { findEntries } from './entries.js';
import type { FileFacts } from './facts.js';
import { indexFunctions } from './functions.js';
import { indexGlobals } from './globals.js';
import { normalizeLock, typeKey } from './locks.js';
import { MacroTable } from './macros.js';
import type { DriverModel, FunctionDef, LockClass, LockRegion } from './model.js';

export function link(files: string[], all: FileFacts[]): DriverModel {
  const diagnostics: DriverModel['diagnostics'] = [];
  const diag = (file: string, line: number, message: string) => diagnostics.push({ file, line, message });
  for (const f of all) for (const d of f.diagnostics) diag(f.file, d.line, d.message);

  const index = indexFunctions(all, diag);
  const macros = new MacroTable(all);
  const resolved = resolveCalls(all, index, macros);
  const entryPoints = findEntries(all, index, diag);
  const globals = indexGlobals(all, index);

  // A bare lock name that is a file-scope variable gets the variable's id as its key.
  const globalKey = (key: string, file: string) => globals.resolve(key, file)?.id ?? key;

  const locks: LockRegion[] = [];
  for (const facts of all) {
    const ids = index.idsOf.get(facts.file) ?? [];
    const lineAt = new Map(facts.regions.length > 0 ? facts.calls.map((c) => [c.off, c.line]) : []);
    for (const r of facts.regions) {
      const calls: LockRegion['calls'] = [];
      const seen = new Set<string>();
      for (const off of r.callOffs) {
        const callees = resolved.at.get(`${facts.file}\0${off}`) ?? [];
        const line = lineAt.get(off) ?? r.acquireLine;
        for (const callee of callees) {
          const k = `${callee}\0${line}`;
          if (seen.has(k)) continue;
          seen.add(k);
          calls.push({ callee, line });
        }
      }
      locks.push({
        function: ids[r.fn],
        file: facts.file,
        primitive: r.primitive,
        lockClass: r.lockClass,
        atomic: r.atomic,
        lock: r.maybeGlobal ? globalKey(r.lock, facts.file) : r.lock,
        lockText: r.lockText,
        acquireLine: r.acquireLine,
        releaseLines: [...new Set(r.releaseLines)].sort((a, b) => a - b),
        calls,
      });
    }
  }
  // Regions known only from __releases/__must_hold take the class the lock has elsewhere.
  const classOf = new Map<string, LockClass>();
  for (const g of globals.globals) if (g.lockClass !== undefined) classOf.set(g.id, g.lockClass);
  for (const l of locks) if (l.lockClass !== 'other' && !classOf.has(l.lock)) classOf.set(l.lock, l.lockClass);
  for (const l of locks) {
    if (l.lockClass !== 'other' || !l.primitive.startsWith('__')) continue;
    const cls = classOf.get(l.lock);
    if (cls !== undefined) {
      l.lockClass = cls;
      l.atomic = atomicClass(cls);
    }
  }

  for (const facts of all) {
    for (const p of facts.protoAnnotations) {
      const id = index.resolve(p.name, facts.file);
      const fn = id === undefined ? undefined : index.byId.get(id);
      if (fn === undefined) continue;
      const key = normalizeLock(p.lock, (n) => paramType(fn, n));
      if (p.kind === 'acquires' && !fn.acquires.includes(key)) fn.acquires.push(key);
      if (p.kind === 'releases' && !fn.releases.includes(key)) fn.releases.push(key);
    }
  }
  for (const fn of index.functions) {
    fn.acquires = [...new Set(fn.acquires.map((k) => globalKey(k, fn.file)))];
    fn.releases = [...new Set(fn.releases.map((k) => globalKey(k, fn.file)))];
  }

  return {
    files,
    functions: index.functions,
    calls: resolved.calls,
    unresolved: resolved.unresolved,
    entryPoints,
    locks,
    globals: globals.globals,
    access: findAccess(resolved.calls, index.byId),
    diagnostics,
  };
}

function paramType(fn: FunctionDef, name: string): string | undefined {
  const p = fn.params.find((x) => x.name === name);
  return p === undefined ? undefined : typeKey(p.type);
}

/**
 * File-scope variables (including DEFINE_SPINLOCK/DEFINE_MUTEX/... locks) and which
 * functions read or write each one. A parameter or local of the same name shadows it.
 */
import type { FileFacts } from './facts.js';
import type { FunctionIndex } from './functions.js';
import type { GlobalVar } from './model.js';

export interface GlobalIndex {
  globals: GlobalVar[];
  resolve(name: string, file: string): GlobalVar | undefined;
}

export function indexGlobals(all: FileFacts[], index: FunctionIndex): GlobalIndex {
  const globals: GlobalVar[] = [];
  const byId = new Map<string, GlobalVar>();
  const statics = new Map<string, GlobalVar>();
  for (const facts of all) {
    for (const g of facts.globals) {
      const id = g.isStatic ? `${facts.file}:${g.name}` : g.name;
      if (byId.has(id)) continue; // both #if branches, or a tentative definition repeated
      const v: GlobalVar = { id, name: g.name, file: facts.file, line: g.line, type: g.type, isStatic: g.isStatic, readers: [], writers: [] };
      if (g.lockClass !== undefined) v.lockClass = g.lockClass;
      globals.push(v);
      byId.set(id, v);
      if (g.isStatic) statics.set(`${facts.file}\0${g.name}`, v);
    }
  }
  const resolve = (name: string, file: string) => statics.get(`${file}\0${name}`) ?? byId.get(name);
  for (const facts of all) {
    const ids = index.idsOf.get(facts.file) ?? [];
    for (const r of facts.refs) {
      if (r.fn < 0) continue;
      const g = resolve(r.name, facts.file);
      if (g === undefined) continue;
      const list = r.write ? g.writers : g.readers;
      if (!list.includes(ids[r.fn])) list.push(ids[r.fn]);
    }
  }
  return { globals, resolve };
}

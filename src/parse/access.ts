/**
 * Hardware, DMA and user-memory access per function: direct calls to the accessor APIs,
 * calls through driver macros (RTL_W8 -> iowrite8), and calls to static inline helpers
 * that access (uhci_readw -> inw), each with the chain it went through in `via`.
 */
import { accessKind } from './apis.js';
import type { AccessSite, CallSite, FunctionDef } from './model.js';

export function findAccess(calls: CallSite[], byId: Map<string, FunctionDef>): AccessSite[] {
  const direct = new Map<string, AccessSite[]>();
  const toInline = new Map<string, CallSite[]>();
  for (const c of calls) {
    const callee = byId.get(c.callee);
    if (callee === undefined) {
      const kind = accessKind(c.callee);
      if (kind === undefined) continue;
      const site: AccessSite = { function: c.caller, kind, api: c.callee, file: c.file, line: c.line };
      if (c.kind === 'macro' && c.via !== undefined) site.via = c.via.split(' -> ');
      const list = direct.get(c.caller) ?? [];
      list.push(site);
      direct.set(c.caller, list);
    } else if (callee.isInline && c.kind !== 'field') {
      const list = toInline.get(c.caller) ?? [];
      list.push(c);
      toInline.set(c.caller, list);
    }
  }
  const memo = new Map<string, AccessSite[]>();
  const total = (id: string, stack: Set<string>): AccessSite[] => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    if (stack.has(id)) return direct.get(id) ?? [];
    stack.add(id);
    const out = [...(direct.get(id) ?? [])];
    for (const c of toInline.get(id) ?? []) {
      const helper = byId.get(c.callee);
      if (helper === undefined) continue;
      for (const a of total(c.callee, stack)) {
        out.push({ function: id, kind: a.kind, api: a.api, file: c.file, line: c.line, via: [helper.name, ...(a.via ?? [])] });
      }
    }
    stack.delete(id);
    memo.set(id, out);
    return out;
  };
  const all: AccessSite[] = [];
  for (const id of new Set([...direct.keys(), ...toInline.keys()])) all.push(...total(id, new Set()));
  return all;
}

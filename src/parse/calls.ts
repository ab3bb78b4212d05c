/**
 * Call sites resolved across all input files: direct calls, calls through a struct member
 * (to every function stored into a member of that name anywhere: `.clean_rx = f` or
 * `adapter->clean_rx = f`), through a local function-pointer variable, and through
 * macros. Calls that cannot be resolved are listed with the reason.
 */
import type { FileFacts, RawCall } from './facts.js';
import type { FunctionIndex } from './functions.js';
import type { MacroTable } from './macros.js';
import type { CallSite, UnresolvedCall } from './model.js';

export interface ResolvedCalls {
  calls: CallSite[];
  unresolved: UnresolvedCall[];
  /** Callees of the call at `${file}\0${offset}`, for lock regions. */
  at: Map<string, string[]>;
  /** Function ids stored into each member name. */
  fieldTargets: Map<string, Set<string>>;
}

/** Function ids a local variable of this function was assigned. */
export function localTargets(facts: FileFacts, fn: number, variable: string, index: FunctionIndex): string[] {
  const out: string[] = [];
  for (const a of facts.localAssigns) {
    if (a.fn !== fn || a.variable !== variable) continue;
    const id = index.resolve(a.value, facts.file);
    if (id !== undefined && !out.includes(id)) out.push(id);
  }
  return out;
}

export function resolveCalls(all: FileFacts[], index: FunctionIndex, macros: MacroTable): ResolvedCalls {
  const fieldTargets = new Map<string, Set<string>>();
  for (const facts of all) {
    for (const s of facts.stores) {
      const id = index.resolve(s.value, facts.file);
      if (id === undefined) continue;
      const field = s.field.slice(s.field.lastIndexOf('.') + 1);
      const set = fieldTargets.get(field) ?? new Set<string>();
      set.add(id);
      fieldTargets.set(field, set);
    }
  }

  const calls: CallSite[] = [];
  const unresolved: UnresolvedCall[] = [];
  const at = new Map<string, string[]>();
  for (const facts of all) {
    const ids = index.idsOf.get(facts.file) ?? [];
    const file = facts.file;
    for (const c of facts.calls) {
      if (c.fn < 0) continue;
      const caller = ids[c.fn];
      const callees: string[] = [];
      const add = (callee: string, kind: CallSite['kind'], via?: string) => {
        const site: CallSite = { caller, callee, line: c.line, file, kind };
        if (via !== undefined) site.via = via;
        calls.push(site);
        callees.push(callee);
      };
      const miss = (reason: string) => unresolved.push({ caller, file, line: c.line, text: c.text || c.name, reason });
      if (c.kind === 'direct' || c.kind === 'pointer') {
        const id = index.resolve(c.name, file);
        const local = c.local === true;
        if (id !== undefined && !local) add(id, 'direct');
        else if (local) {
          const targets = localTargets(facts, c.fn, c.name, index);
          for (const t of targets) add(t, 'local', c.name);
          if (targets.length === 0) miss(isParam(facts, c) ? 'function pointer parameter' : 'local function pointer with no function assigned in this function');
        } else if (c.kind === 'direct' && macros.lookup(c.name, file) !== undefined) {
          for (const leaf of macros.leaves(c.name, file)) add(index.resolve(leaf.name, file) ?? leaf.name, 'macro', leaf.chain.join(' -> '));
        } else if (c.kind === 'direct') add(c.name, 'direct');
        // `(u32)(x)` parses as a call of `(u32)`: a cast through a typedef, not a call.
        else if (c.text.includes('*')) miss('call through a function pointer that is not a local variable');
      } else if (c.kind === 'field') {
        const targets = fieldTargets.get(c.name);
        if (targets === undefined || targets.size === 0) miss(`no input function is stored into a member named ${c.name}`);
        else for (const t of targets) add(t, 'field', c.name);
      } else if (c.kind === 'subscript') miss('call through a table of function pointers');
      else if (c.kind === 'call') miss('call of a function pointer returned by a call');
      // `"text" MACRO(x)` parses as a call of a string: string pasting, not a call.
      else if (!c.text.startsWith('"')) miss('callee expression not understood');
      if (callees.length > 0) at.set(`${file}\0${c.off}`, callees);
    }
  }
  return { calls, unresolved, at, fieldTargets };
}

function isParam(facts: FileFacts, c: RawCall): boolean {
  return facts.functions[c.fn].params.some((p) => p.name === c.name);
}

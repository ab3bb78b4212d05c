/**
 * Entry points: functions the kernel calls into. Ops-table members (designated
 * initializers and member assignments), registrations (request_irq, timer_setup,
 * INIT_WORK, netif_napi_add, module_init ...) with the handler argument resolved through
 * local variables, and every other function whose address is taken.
 */
import { REGISTRATIONS } from './apis.js';
import { localTargets } from './calls.js';
import type { FileFacts } from './facts.js';
import type { FunctionIndex } from './functions.js';
import type { EntryPoint } from './model.js';

export function findEntries(all: FileFacts[], index: FunctionIndex, diag: (file: string, line: number, message: string) => void): EntryPoint[] {
  const entries: EntryPoint[] = [];
  const seen = new Set<string>();
  const push = (e: EntryPoint) => {
    const key = `${e.function}\0${e.kind}\0${e.structType ?? ''}\0${e.field ?? ''}\0${e.api ?? ''}\0${e.file}\0${e.line}`;
    if (seen.has(key)) return;
    seen.add(key);
    entries.push(e);
  };
  for (const facts of all) {
    const file = facts.file;
    for (const s of facts.stores) {
      const id = index.resolve(s.value, file);
      if (id === undefined) continue;
      const e: EntryPoint = { function: id, kind: 'ops', field: s.field, file, line: s.line };
      if (s.structType !== undefined) e.structType = s.structType;
      push(e);
    }
    for (const c of facts.calls) {
      const regs = c.kind === 'direct' ? REGISTRATIONS[c.name] : undefined;
      if (regs === undefined || c.args === undefined) continue;
      for (const r of regs) {
        const arg = c.args[r.arg];
        if (arg === undefined) continue;
        let targets: string[] = [];
        if (arg !== null) {
          const local = c.argLocal?.[r.arg] === true;
          const id = local ? undefined : index.resolve(arg, file);
          targets = id !== undefined ? [id] : c.fn >= 0 ? localTargets(facts, c.fn, arg, index) : [];
        }
        // NULL (no threaded handler) and external functions are fine; only a variable we cannot follow is worth a note.
        if (targets.length === 0 && arg !== null && c.argLocal?.[r.arg] === true) {
          diag(file, c.line, `${c.name}: handler variable ${arg} has no function assigned in this function`);
        }
        for (const t of targets) push({ function: t, kind: r.kind, api: c.name, file, line: c.line });
      }
    }
  }
  const hasEntry = new Set(entries.map((e) => e.function));
  for (const facts of all) {
    for (const r of facts.refs) {
      const id = index.resolve(r.name, facts.file);
      if (id === undefined || hasEntry.has(id)) continue;
      hasEntry.add(id);
      push({ function: id, kind: 'address_taken', file: facts.file, line: r.line });
    }
  }
  return entries;
}

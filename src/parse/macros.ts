/**
 * #define bodies closed transitively: RTL_W8 -> iowrite8, E1000_WRITE_FLUSH -> er32 ->
 * readl. A macro call in code stands for the calls its expansion makes.
 */
import type { FileFacts } from './facts.js';
import type { MacroDef } from './sanitize.js';

export interface MacroLeaf {
  name: string; // a function (defined in the input or external) the expansion calls
  chain: string[]; // the macros passed through, outermost first
}

const NOT_CALLS = new Set([
  'if', 'while', 'for', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', '__typeof', 'defined', 'do', 'asm', '__asm__',
  'volatile', '__volatile__', '_Generic', 'offsetof', '__builtin_expect', '__builtin_constant_p', '__builtin_choose_expr',
  'likely', 'unlikely', 'alignof', '_Alignof', '__alignof__', '__attribute__', 'case', 'else',
]);

export class MacroTable {
  private readonly byName = new Map<string, { def: MacroDef; file: string }[]>();
  private readonly memo = new Map<string, MacroLeaf[]>();

  constructor(all: FileFacts[]) {
    for (const f of all) {
      for (const def of f.defines) {
        const list = this.byName.get(def.name) ?? [];
        list.push({ def, file: f.file });
        this.byName.set(def.name, list);
      }
    }
  }

  /** The macro a name means in this file: its own #define first, then any input file's. */
  lookup(name: string, file: string): { def: MacroDef; file: string } | undefined {
    const list = this.byName.get(name);
    return list?.find((m) => m.file === file) ?? list?.[0];
  }

  /** Functions a use of the macro ends up calling; [] for macros that call nothing. */
  leaves(name: string, file: string): MacroLeaf[] {
    const m = this.lookup(name, file);
    if (m === undefined) return [];
    const key = `${m.file}\0${name}`;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    this.memo.set(key, []); // a recursive macro expands to nothing more
    const out: MacroLeaf[] = [];
    const seen = new Set<string>();
    const params = new Set(m.def.params ?? []);
    const body = m.def.body.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
    for (const hitCall of body.matchAll(/(->|\.)?\s*\b([A-Za-z_]\w*)\s*\(/g)) {
      const callee = hitCall[2];
      if (hitCall[1] !== undefined || params.has(callee) || NOT_CALLS.has(callee) || seen.has(callee)) continue;
      seen.add(callee);
      if (callee !== name && this.lookup(callee, m.file) !== undefined) {
        for (const leaf of this.leaves(callee, m.file)) out.push({ name: leaf.name, chain: [name, ...leaf.chain] });
      } else {
        out.push({ name: callee, chain: [name] });
      }
    }
    this.memo.set(key, out);
    return out;
  }
}

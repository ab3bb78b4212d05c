/**
 * Function identity across files: `name` for external functions, `file:name` for static
 * ones, and the lookup a call in a given file uses (its own statics first).
 */
import type { FileFacts } from './facts.js';
import type { FunctionDef } from './model.js';

export interface FunctionIndex {
  functions: FunctionDef[];
  byId: Map<string, FunctionDef>;
  /** Per file, the id of each of its local function indexes (duplicates map to the first). */
  idsOf: Map<string, string[]>;
  resolve(name: string, file: string): string | undefined;
}

export function functionId(name: string, file: string, isStatic: boolean): string {
  return isStatic ? `${file}:${name}` : name;
}

export function indexFunctions(all: FileFacts[], diag: (file: string, line: number, message: string) => void): FunctionIndex {
  const functions: FunctionDef[] = [];
  const byId = new Map<string, FunctionDef>();
  const idsOf = new Map<string, string[]>();
  const statics = new Map<string, Map<string, string>>();
  const staticsByName = new Map<string, string[]>();
  for (const facts of all) {
    const ids: string[] = [];
    const own = new Map<string, string>();
    statics.set(facts.file, own);
    for (const f of facts.functions) {
      const id = functionId(f.name, facts.file, f.isStatic);
      ids.push(id);
      const prev = byId.get(id);
      if (prev !== undefined) {
        // Both #if branches define it (kept as one), or two files define the same external name.
        if (prev.file !== facts.file) diag(facts.file, f.startLine, `${f.name} is also defined in ${prev.file}:${prev.startLine}; keeping the first`);
        continue;
      }
      const def: FunctionDef = {
        id,
        name: f.name,
        file: facts.file,
        startLine: f.startLine,
        endLine: f.endLine,
        lines: f.endLine - f.startLine + 1,
        returnType: f.returnType,
        params: f.params,
        isStatic: f.isStatic,
        isInline: f.isInline,
        acquires: f.acquires,
        releases: f.releases,
      };
      functions.push(def);
      byId.set(id, def);
      if (f.isStatic) {
        own.set(f.name, id);
        const list = staticsByName.get(f.name) ?? [];
        // Header statics (static inline accessors) are what other files most likely call.
        if (facts.file.endsWith('.h')) list.unshift(id);
        else list.push(id);
        staticsByName.set(f.name, list);
      }
    }
    idsOf.set(facts.file, ids);
  }
  const resolve = (name: string, file: string): string | undefined => {
    const own = statics.get(file)?.get(name);
    if (own !== undefined) return own;
    if (byId.has(name)) return name;
    // A static of another input file: reached when a .c file #includes it or a header defines it.
    return staticsByName.get(name)?.[0];
  };
  return { functions, byId, idsOf, resolve };
}

/**
 * Views: how a moved function gets a pointer to a driver structure that
 * cannot be copied whole (it holds kernel objects). The user half gets a
 * zeroed structure with just the fields the moved code uses: scalars copied
 * in, and copied back when the moved code changed them; __iomem pointers and
 * port bases as cookies of regions the kernel half lends for the call
 * (iomem.ts, ports.ts).
 */
import type { Annotation } from '../partition/config.js';
import type { MacroDef } from '../parse/sanitize.js';
import { expandMacros, isIomemField, regionLength, type Where } from './iomem.js';
import type { TypeWorld } from './marshal.js';
import { isPortField, portRegionLength } from './ports.js';
import type { SourceIndex } from './source.js';

/** One field of a view parameter the moved code uses. */
export interface ViewField {
  field: string;
  kind: 'scalar' | 'iomem' | 'port';
  /** The C type on the wire (cookies: u64). */
  cType: string;
  /** __iomem fields: the region's length in bytes; port fields: in ports. */
  length?: number;
  /** Scalars the moved code writes: copied back to the kernel's structure when they changed. */
  written?: boolean;
}

export interface ViewEnv {
  world: TypeWorld;
  indexes: SourceIndex[];
  defines: MacroDef[];
  annotations: Record<string, Annotation>;
  /** Where annotations live, for the fixing hint. */
  configName: string;
  /** A function that runs in user space: its source text, parameter names and where its text starts. */
  userFn: (name: string) => { text: string; params: string[]; at?: Where } | undefined;
}

/**
 * Which fields of `*param` (a `struct tag`) the moved function `fn` and the
 * moved functions it passes the pointer to use. Refused (with the reason)
 * when they write a field that cannot be carried back, take an address, read
 * a field that cannot be copied, reach a region whose length is unknown, or
 * pass the pointer on to the kernel.
 */
export function planView(tag: string, fn: string, param: string, env: ViewEnv): { fields: ViewField[] } | { why: string } {
  const def = env.world.structs.get(tag);
  if (!def) return { why: `struct ${tag} is not defined in the driver's sources` };
  const fields = new Map<string, ViewField>();
  const seen = new Set<string>();
  const work: { fn: string; param: string }[] = [{ fn, param }];
  while (work.length > 0) {
    const cur = work.pop()!;
    const key = `${cur.fn}.${cur.param}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const src = env.userFn(cur.fn);
    if (!src) return { why: `${fn} passes ${param} to ${cur.fn}, which runs in the kernel` };
    const p = cur.param.replace(/\W/g, '');
    const open = src.text.indexOf('{');
    let body = expandMacros(src.text.slice(open), env.defines);
    // Where a use is, for refusals that name one statement (macro bodies keep their line count).
    const site = (at: number): string => {
      if (!src.at) return '';
      const lines = (t: string): number => t.split('\n').length - 1;
      return ` (${src.at.file}:${src.at.line + lines(src.text.slice(0, open)) + lines(body.slice(0, at))})`;
    };
    // `(p)->x` from macro bodies reads like `p->x`.
    body = body.replace(new RegExp(`(^|[^\\w)\\]\\s])(\\s*)\\(\\s*${p}\\s*\\)`, 'g'), '$1$2' + p);
    for (const m of body.matchAll(new RegExp(`\\b${p}\\b`, 'g'))) {
      const before = body.slice(0, m.index).trimEnd();
      const after = body.slice(m.index + m[0].length);
      const arrow = /^\s*->\s*(\w+)/.exec(after);
      if (arrow) {
        const f = arrow[1];
        const rest = after.slice(arrow[0].length);
        if (/^\s*(->|\.|\[)/.test(rest)) return { why: `${cur.fn} uses ${p}->${f}${site(m.index)}, a part of the kernel's structure that stays in the kernel` };
        const writes = /^\s*(=(?!=)|[-+*/|&^%]=|<<=|>>=|\+\+|--)/.test(rest) || /(\+\+|--)$/.test(before);
        if (/&$/.test(before) && !/&&$/.test(before)) return { why: `${cur.fn} takes the address of ${p}->${f}${site(m.index)}` };
        const fd = def.fields.find((x) => x.name === f);
        if (!fd) return { why: `struct ${tag} has no field ${f} emit can find` };
        const known = fields.get(f) ?? classify(tag, f, cur.fn, p, env);
        if (writes && ('why' in known || known.kind !== 'scalar')) {
          const cookie = fd.pointers === 1 && isIomemField(f, env.indexes) ? 'an __iomem pointer' : fd.pointers === 0 && isPortField(f, env.indexes, env.defines) ? 'a port base' : undefined;
          const what = cookie ? `${cookie} the user half only has a cookie for` : `a ${fd.base}${' *'.repeat(fd.pointers)} the user half has no copy of`;
          return { why: `${cur.fn} writes ${p}->${f}${site(m.index)}, ${what}, which cannot be carried back to the kernel` };
        }
        if ('why' in known) return known;
        fields.set(f, writes ? { ...known, written: true } : known);
        continue;
      }
      if (/\*$/.test(before) || /^\s*\[/.test(after)) return { why: `${cur.fn} dereferences ${p} as a whole` };
      // A bare use: only as an argument of another moved function.
      const call = enclosingCall(body, m.index);
      if (!call) return { why: `${cur.fn} copies the pointer ${p}, which user space only has a partial copy of` };
      const callee = env.userFn(call.callee);
      const next = callee?.params[call.arg];
      if (!callee || next === undefined) return { why: `${cur.fn} passes ${p} to ${call.callee}, which runs in the kernel` };
      work.push({ fn: call.callee, param: next });
    }
  }
  return { fields: [...fields.values()].sort((a, b) => a.field.localeCompare(b.field)) };
}

/** How field `f` of `struct tag` crosses: a scalar, a register cookie, a port cookie, or why it cannot. */
function classify(tag: string, f: string, fn: string, p: string, env: ViewEnv): ViewField | { why: string } {
  const fd = env.world.structs.get(tag)!.fields.find((x) => x.name === f)!;
  const where = (at?: { file: string; line: number }): string => (at ? ` (${at.file}:${at.line})` : '');
  if (fd.pointers === 1 && isIomemField(f, env.indexes)) {
    // Mappings are found by field name: another structure's field of that name could lend it a wrong length.
    const namesakes = [...env.world.structs.values()].filter((s) => s.fields.some((x) => x.name === f && x.pointers === 1));
    if (namesakes.length > 1) return { why: `${fn} reaches registers through ${p}->${f}, but ${namesakes.map((s) => `struct ${s.tag}`).join(' and ')} both have a field ${f}, so emit cannot tell which mapping sets it; rename one` };
    const len = regionLength(f, env.indexes, env.world);
    if ('why' in len) return { why: `${fn} reaches registers through ${p}->${f}, but ${len.why}${where(len.at)}; map it with a constant length (ioremap/pci_iomap_range with a size)` };
    return { field: f, kind: 'iomem', cType: 'u64', length: len.length };
  }
  const sc = fd.pointers === 0 && fd.dims.length === 0 && !fd.bitfield && !fd.funcPtr ? env.world.resolveScalar(fd.base) : undefined;
  if (!sc) return { why: `${fn} uses ${p}->${f} (${fd.base}${'*'.repeat(fd.pointers)}), which cannot be copied to user space` };
  if (!isPortField(f, env.indexes, env.defines)) return { field: f, kind: 'scalar', cType: fd.base };
  if (sc.size !== 8) return { why: `${fn} reaches ports through ${p}->${f}, a ${fd.base}: the user half gets a 64-bit cookie for a port base, so it must be declared unsigned long` };
  const len = portRegionLength(tag, f, env.indexes, env.world, env.annotations);
  if ('why' in len) return { why: `${fn} reaches ports through ${p}->${f}, but ${len.why}${where(len.at)}; annotate "${tag}.${f}": {"ports": <count>} in ${env.configName}` };
  return { field: f, kind: 'port', cType: 'u64', length: len.length };
}

/** The call whose argument list holds position `at`: callee name and argument index. */
function enclosingCall(text: string, at: number): { callee: string; arg: number } | undefined {
  let depth = 0;
  let arg = 0;
  for (let i = at - 1; i >= 0; i--) {
    const c = text[i];
    if (c === ')' || c === ']') depth++;
    else if (c === '[') depth--;
    else if (c === '(') {
      if (depth === 0) {
        const m = /([A-Za-z_]\w*)\s*$/.exec(text.slice(0, i));
        return m && !/^(if|while|for|switch|return|sizeof)$/.test(m[1]) ? { callee: m[1], arg } : undefined;
      }
      depth--;
    } else if (c === ',' && depth === 0) arg++;
    else if ((c === ';' || c === '{' || c === '}') && depth === 0) return undefined;
  }
  return undefined;
}

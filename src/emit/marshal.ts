/**
 * Marshalling: how each parameter and result of a procedure that crosses the
 * boundary travels, and the wire layout both halves are generated from.
 *
 * Wire format (contract.md): a fixed-layout struct of naturally aligned
 * little-endian fields, followed by variable-length data; each buffer or
 * string has a `<name>_off`/`<name>_len` pair in the fixed part (bytes,
 * offset from the start of the message). The length parameter of a buffer
 * is not sent on its own: the callee derives it from `<name>_len`.
 *
 * What cannot be copied safely (void *, pointers to pointers, function
 * pointers, structures holding pointers or kernel objects, unknown sizes) is
 * an InputError at the function's file:line naming the annotation that fixes it.
 */
import { InputError } from '../errors.js';
import type { Annotation } from '../partition/config.js';
import type { FunctionDef, Param } from '../parse/model.js';
import type { ViewField } from './view.js';
import type { FieldDef, SourceIndex, StructDef } from './source.js';

export interface Scalar {
  size: number;
  signed: boolean;
}

/** Kernel and fixed-width C types: identical size and alignment in the kernel and in a 64-bit user process. */
const SCALARS: Record<string, Scalar> = {};
const add = (names: string[], size: number, signed: boolean): void => {
  for (const n of names) SCALARS[n] = { size, signed };
};
add(['u8', '__u8', 'uint8_t', 'unsigned char', 'bool', '_Bool'], 1, false);
add(['s8', '__s8', 'int8_t', 'char', 'signed char'], 1, true);
add(['u16', '__u16', 'uint16_t', 'unsigned short', 'unsigned short int', 'short unsigned int', '__le16', '__be16'], 2, false);
add(['s16', '__s16', 'int16_t', 'short', 'short int', 'signed short'], 2, true);
add(['u32', '__u32', 'uint32_t', 'unsigned int', 'unsigned', '__le32', '__be32', 'gfp_t', 'uid_t', 'gid_t', 'fmode_t', 'umode_t'], 4, false);
add(['s32', '__s32', 'int32_t', 'int', 'signed int', 'signed', 'pid_t', 'irqreturn_t', 'netdev_tx_t'], 4, true);
add(['u64', '__u64', 'uint64_t', 'unsigned long', 'unsigned long int', 'long unsigned int', 'unsigned long long', 'long long unsigned int', 'size_t', '__le64', '__be64', 'dma_addr_t', 'phys_addr_t', 'resource_size_t', 'sector_t', 'uintptr_t', 'ktime_t'], 8, false);
add(['s64', '__s64', 'int64_t', 'long', 'long int', 'signed long', 'long long', 'long long int', 'ssize_t', 'loff_t', 'off_t', 'ptrdiff_t', 'time64_t'], 8, true);

export function scalarInfo(name: string): Scalar | undefined {
  return SCALARS[name];
}

export interface Layout {
  size: number;
  align: number;
  /** Copyable as bytes to user space and back: no pointers, kernel objects or bitfields. */
  plain: boolean;
  /** Why it is not plain. */
  why?: string;
}

/** Everything the sources define that a layout may need. */
export class TypeWorld {
  readonly structs = new Map<string, StructDef>();
  readonly enums = new Set<string>();
  readonly typedefs = new Map<string, FieldDef>();
  readonly macros = new Map<string, string>();
  private readonly cache = new Map<string, Layout>();

  constructor(indexes: SourceIndex[]) {
    for (const idx of indexes) {
      for (const s of idx.structs) if (!this.structs.has(s.tag)) this.structs.set(s.tag, s);
      for (const e of idx.enums) this.enums.add(e);
      for (const [k, v] of idx.typedefs) this.typedefs.set(k, v);
      for (const d of idx.defines) if (d.params === null) this.macros.set(d.name, d.body);
    }
  }

  /** Value of an array dimension: a number, a macro, or simple arithmetic over them. */
  evalDim(expr: string, depth = 0): number | undefined {
    if (depth > 16) return undefined;
    let e = expr.replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, (_m, n: string) => String(Number(n)));
    e = e.replace(/\b[A-Za-z_]\w*\b/g, (id) => {
      const body = this.macros.get(id);
      const v = body === undefined ? undefined : this.evalDim(body, depth + 1);
      return v === undefined ? 'NaN' : String(v);
    });
    if (!/^[\d\s+\-*/()<>]+$/.test(e)) return undefined;
    // Only digits and arithmetic reach here.
    const v = Function(`"use strict"; return (${e.replace(/<</g, '*2**').replace(/>>/g, '/2**')});`)() as unknown;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
  }

  /** Layout of `base` with the given pointer depth and array dims. */
  layout(base: string, pointers: number, dims: string[] = [], funcPtr = false): Layout {
    if (funcPtr) return { size: 8, align: 8, plain: false, why: 'a function pointer' };
    let elem: Layout;
    if (pointers > 0) elem = { size: 8, align: 8, plain: false, why: 'a pointer' };
    else elem = this.baseLayout(base);
    let size = elem.size;
    for (const d of dims) {
      const n = this.evalDim(d);
      if (n === undefined) return { size: 0, align: elem.align, plain: false, why: `an array of unknown length [${d}]` };
      size *= n;
    }
    return { ...elem, size };
  }

  baseLayout(base: string): Layout {
    const cached = this.cache.get(base);
    if (cached) return cached;
    // Recursive structs reach themselves only through pointers, which are not plain anyway.
    this.cache.set(base, { size: 0, align: 1, plain: false, why: `${base} contains itself` });
    const l = this.computeBase(base);
    this.cache.set(base, l);
    return l;
  }

  private computeBase(base: string): Layout {
    const sc = SCALARS[base];
    if (sc) return { size: sc.size, align: sc.size, plain: true };
    if (/^enum\s+\w+$/.test(base)) return { size: 4, align: 4, plain: true };
    const m = /^(struct|union)\s+(\w+)$/.exec(base);
    if (m) {
      const s = this.structs.get(m[2]);
      if (!s) return { size: 0, align: 1, plain: false, why: `${base} is not defined in the driver's sources (a kernel type)` };
      let off = 0;
      let align = 1;
      let size = 0;
      let plain = true;
      let why: string | undefined;
      for (const f of s.fields) {
        if (f.bitfield) return { size: 0, align: 1, plain: false, why: `${base} has bitfields` };
        const fl = this.layout(f.base, f.pointers, f.dims, f.funcPtr);
        if (fl.size === 0 && fl.why) return { size: 0, align: 1, plain: false, why: `${base}.${f.name}: ${fl.why}` };
        if (!fl.plain && plain) {
          plain = false;
          why = `${base}.${f.name || '(anonymous)'} is ${fl.why}`;
        }
        align = Math.max(align, fl.align);
        if (s.union) size = Math.max(size, fl.size);
        else {
          off = alignUp(off, fl.align) + fl.size;
          size = off;
        }
      }
      return { size: alignUp(size, align), align, plain, why };
    }
    const td = this.typedefs.get(base);
    if (td) return this.layout(td.base, td.pointers, td.dims, td.funcPtr);
    if (base === 'void') return { size: 0, align: 1, plain: false, why: 'void' };
    return { size: 0, align: 1, plain: false, why: `${base} has a size emit cannot know (a kernel type or an unknown typedef)` };
  }

  /** The scalar a typedef chain ends in, if any. */
  resolveScalar(base: string): Scalar | undefined {
    for (let i = 0; i < 16; i++) {
      if (SCALARS[base]) return SCALARS[base];
      if (/^enum\s+\w+$/.test(base)) return { size: 4, signed: false };
      const td = this.typedefs.get(base);
      if (!td || td.pointers > 0 || td.dims.length > 0) return undefined;
      base = td.base;
    }
    return undefined;
  }
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** A parameter type as written, taken apart. */
export interface ParsedType {
  base: string;
  pointers: number;
  /** The pointed-to type is const (`const char *`). */
  constTarget: boolean;
  funcPtr: boolean;
  array: boolean;
}

// Qualifiers and attributes that do not change what a value is on the wire.
const DROP = /\b(__user|__iomem|__force|__rcu|__percpu|__kernel|__nocast|__bitwise|__maybe_unused|__always_unused|restrict|__restrict|volatile|register)\b/g;

export function parseType(type: string): ParsedType {
  const funcPtr = type.includes('(');
  const array = type.includes('[');
  let t = type.replace(DROP, ' ').replace(/\[[^\]]*\]/g, '*');
  const firstStar = t.indexOf('*');
  const head = firstStar < 0 ? t : t.slice(0, firstStar);
  const constTarget = /\bconst\b/.test(head);
  const pointers = (t.match(/\*/g) ?? []).length;
  t = head.replace(/\bconst\b/g, ' ');
  return { base: t.replace(/\s+/g, ' ').trim(), pointers, constTarget, funcPtr, array };
}

export type MarshalKind =
  | 'scalar'
  | 'struct-in'
  | 'struct-inout'
  | 'buffer-in'
  | 'buffer-out'
  | 'buffer-inout'
  | 'string'
  | 'handle'
  | 'view';

export interface ParamPlan {
  name: string;
  type: string;
  marshal: MarshalKind;
  /** C type of the value on the wire: the scalar, or the pointee of struct-in/out. */
  wireType: string;
  /** Passed by pointer (struct-in/inout of a pointer parameter). */
  byPointer: boolean;
  /** Element type and size of a buffer or string. */
  elemType?: string;
  elemSize?: number;
  /** Buffers: the parameter holding the element count, or a fixed count. */
  lengthParam?: string;
  fixedLength?: number;
  /** Strings: copied back (a non-const char * the callee may write). */
  inout?: boolean;
  /** Handles: the struct tag the handle stands for. */
  handleTag?: string;
  /** Views: the fields of the pointed-to driver structure the moved code uses (view.ts). */
  viewFields?: ViewField[];
}

export interface WireField {
  name: string;
  /** C declaration type: 'u32', 'struct sample_config', '__u32'. */
  cType: string;
  size: number;
  align: number;
  offset: number;
  /** The manifest's description. */
  param?: string;
}

export interface WireStruct {
  fields: WireField[];
  size: number;
  align: number;
}

export interface ProcPlan {
  /** Name on the wire: the function's name. */
  name: string;
  fn: FunctionDef;
  params: ParamPlan[];
  /** Parameters only there to give a buffer's length. */
  lengthOnly: Set<string>;
  ret: { type: string; kind: 'void' | 'scalar' | 'struct'; signed: boolean };
  args: WireStruct;
  res: WireStruct;
}

export function layoutStruct(fields: Omit<WireField, 'offset'>[]): WireStruct {
  let off = 0;
  let align = 1;
  const out: WireField[] = [];
  for (const f of fields) {
    off = alignUp(off, f.align);
    out.push({ ...f, offset: off });
    off += f.size;
    align = Math.max(align, f.align);
  }
  // An empty struct is not valid C: procedures without arguments send one reserved word.
  if (out.length === 0) {
    out.push({ name: 'reserved', cType: 'u32', size: 4, align: 4, offset: 0 });
    off = 4;
    align = 4;
  }
  return { fields: out, size: alignUp(off, align), align };
}

const LENGTH_NAMES = ['len', 'length', 'size', 'count', 'cnt', 'n', 'nbytes', 'sz', 'num'];

export interface MarshalContext {
  world: TypeWorld;
  annotations: Record<string, Annotation>;
  /** Where annotations live, for the fixing hint. */
  configName: string;
  /** Procedures: the fields of a driver structure the moved code reads, or why it cannot have them. */
  view?: (fn: FunctionDef, param: string, tag: string) => { fields: ViewField[] } | { why: string };
}

function hint(fn: FunctionDef, p: Param, ann: string, ctx: MarshalContext): string {
  return `annotate "${fn.name}.${p.name}": ${ann} in ${ctx.configName}`;
}

/** Is the parameter dereferenced in the body (p->x, *p, p[i])? Then it cannot be an opaque handle. */
function dereferences(body: string, name: string): boolean {
  const n = name.replace(/\W/g, '');
  body = body.slice(body.indexOf('{') + 1);
  return new RegExp(`\\b${n}\\s*(->|\\[)|\\*\\s*${n}\\b`).test(body);
}

/**
 * Plans how one function's parameters and result cross the boundary.
 * `body` is the function's source text (to refuse handles it dereferences).
 * A procedure runs in user space; an export is a kernel function the user
 * half runs through EXEC, whose kernel-object pointers arrive as handles.
 */
export function planProcedure(fn: FunctionDef, body: string, ctx: MarshalContext, role: 'procedure' | 'export' = 'procedure'): ProcPlan {
  const world = ctx.world;
  const fail = (msg: string): never => {
    throw new InputError(`${fn.name} cannot cross the kernel/user boundary: ${msg}`, fn.file, fn.startLine);
  };
  const params: ParamPlan[] = [];
  const lengthOnly = new Set<string>();
  const real = fn.params.filter((p) => !(p.type === 'void' && p.name === ''));
  if (fn.params.some((p) => p.type === '...')) fail('it takes variable arguments (...); keep it in the kernel (--kernel ' + fn.name + ')');
  const isIntParam = (name: string): boolean => {
    const q = real.find((x) => x.name === name);
    if (!q) return false;
    const t = parseType(q.type);
    return t.pointers === 0 && !t.funcPtr && world.resolveScalar(t.base) !== undefined;
  };

  real.forEach((p, i) => {
    if (p.name === '') fail(`parameter ${i + 1} (${p.type}) has no name`);
    const ann: Annotation = ctx.annotations[`${fn.name}.${p.name}`] ?? {};
    const t = parseType(p.type);
    const plan = (x: Omit<ParamPlan, 'name' | 'type'>): void => {
      params.push({ name: p.name, type: p.type, ...x });
    };
    if (t.funcPtr) fail(`parameter "${p.name}" is a function pointer (${p.type}), which user space cannot call; keep ${fn.name} in the kernel (--kernel ${fn.name})`);
    // A kernel function run through EXEC gets kernel objects only as handles the user half was given.
    const kernelObject = role === 'export' && t.pointers === 1 && /^(struct|union) /.test(t.base) && !world.baseLayout(t.base).plain;
    if (ann.opaque || kernelObject) {
      if (t.pointers !== 1) fail(`parameter "${p.name}" (${p.type}) is annotated opaque but is not a single pointer`);
      if (role === 'procedure' && dereferences(body, p.name)) {
        fail(`parameter "${p.name}" (${p.type}) is annotated opaque, but ${fn.name} dereferences it; keep ${fn.name} in the kernel (--kernel ${fn.name})`);
      }
      const tag = /^(?:struct|union)\s+(\w+)$/.exec(t.base)?.[1] ?? t.base.replace(/\W+/g, '_');
      plan({ marshal: 'handle', wireType: 'u64', byPointer: false, handleTag: tag });
      return;
    }
    if (t.pointers === 0) {
      const sc = world.resolveScalar(t.base);
      if (sc) {
        plan({ marshal: 'scalar', wireType: t.base, byPointer: false });
        return;
      }
      const l = world.baseLayout(t.base);
      if (l.plain && l.size > 0) {
        plan({ marshal: 'struct-in', wireType: t.base, byPointer: false });
        return;
      }
      return fail(`parameter "${p.name}" (${p.type}) cannot be copied: ${l.why}; keep ${fn.name} in the kernel (--kernel ${fn.name})`);
    }
    if (t.pointers > 1) {
      return fail(`parameter "${p.name}" (${p.type}) is a pointer to a pointer; ${hint(fn, p, '{"opaque": true}', ctx)} if the other half only passes it back, or keep ${fn.name} in the kernel (--kernel ${fn.name})`);
    }
    const isChar = t.base === 'char' || t.base === 'unsigned char' || t.base === 'signed char';
    // The element count: annotation, else a neighbouring integer parameter named like a length.
    let lengthParam = ann.lengthFrom;
    if (lengthParam !== undefined && !isIntParam(lengthParam)) {
      fail(`annotation "${fn.name}.${p.name}" gives lengthFrom "${lengthParam}", which is not an integer parameter of ${fn.name}`);
    }
    if (lengthParam === undefined && ann.length === undefined && !ann.nulTerminated) {
      // `p, p_len` anywhere, or `p, len` with the length right after the pointer (the C convention).
      const own = [`${p.name}_len`, `${p.name}_size`, `${p.name}len`, `${p.name}_count`, `n${p.name}`];
      const next = real[i + 1];
      const named = real.find((q) => own.includes(q.name) && isIntParam(q.name));
      if (named) lengthParam = named.name;
      else if (next && LENGTH_NAMES.includes(next.name) && isIntParam(next.name)) lengthParam = next.name;
    }
    const elemBase = t.base;
    const elemLayout = elemBase === 'void' ? { size: 1, align: 1, plain: true } : world.baseLayout(elemBase);
    const elemScalar = world.resolveScalar(elemBase);
    if (lengthParam !== undefined || ann.length !== undefined) {
      if (!elemLayout.plain || elemLayout.size === 0) {
        fail(`parameter "${p.name}" (${p.type}) is a buffer of ${elemBase}, which cannot be copied: ${elemLayout.why}`);
      }
      if (lengthParam !== undefined) lengthOnly.add(lengthParam);
      const dir = ann.direction ?? (t.constTarget ? 'in' : 'inout');
      plan({
        marshal: dir === 'in' ? 'buffer-in' : dir === 'out' ? 'buffer-out' : 'buffer-inout',
        wireType: 'u32',
        byPointer: true,
        elemType: elemBase === 'void' ? 'u8' : elemBase,
        elemSize: elemLayout.size,
        lengthParam,
        fixedLength: ann.length,
      });
      return;
    }
    if (isChar || ann.nulTerminated) {
      if (!isChar) fail(`parameter "${p.name}" (${p.type}) is annotated nulTerminated but is not a char pointer`);
      const inout = ann.direction !== undefined ? ann.direction !== 'in' : !t.constTarget;
      plan({ marshal: 'string', wireType: 'u32', byPointer: true, elemType: 'char', elemSize: 1, inout });
      return;
    }
    if (elemBase === 'void') {
      return fail(`parameter "${p.name}" (${p.type}) points to data of unknown size; ${hint(fn, p, '{"lengthFrom": "<length parameter>"}', ctx)}, or {"opaque": true} if the other half only passes it back`);
    }
    if (elemScalar || (elemLayout.plain && elemLayout.size > 0)) {
      const dir = ann.direction ?? (t.constTarget ? 'in' : 'inout');
      plan({ marshal: dir === 'in' ? 'struct-in' : 'struct-inout', wireType: elemBase, byPointer: true });
      return;
    }
    const viewTag = /^(?:struct|union)\s+(\w+)$/.exec(elemBase)?.[1];
    if (role === 'procedure' && ctx.view && viewTag && world.structs.has(viewTag)) {
      const v = ctx.view(fn, p.name, viewTag);
      if ('fields' in v) {
        plan({ marshal: 'view', wireType: elemBase, byPointer: true, viewFields: v.fields });
        return;
      }
      return fail(`parameter "${p.name}" (${p.type}) points to ${elemBase}, which cannot be copied whole, and user space cannot have the part it uses: ${v.why}; or keep ${fn.name} in the kernel (--kernel ${fn.name})`);
    }
    return fail(
      `parameter "${p.name}" (${p.type}) points to ${elemBase}, which cannot be copied to user space (${elemLayout.why}); ${hint(fn, p, '{"opaque": true}', ctx)} if ${fn.name} only passes it back to the kernel, or keep ${fn.name} in the kernel (--kernel ${fn.name})`,
    );
  });

  // A length parameter that is also a buffer is a contradiction the annotations must settle.
  for (const p of params) if (lengthOnly.has(p.name) && p.marshal !== 'scalar') fail(`parameter "${p.name}" gives a buffer's length but is not an integer`);

  const rt = parseType(fn.returnType);
  let ret: ProcPlan['ret'];
  if (rt.base === 'void' && rt.pointers === 0) ret = { type: 'void', kind: 'void', signed: false };
  else if (rt.pointers > 0 || rt.funcPtr) {
    return fail(`it returns a pointer (${fn.returnType}), which cannot reach the kernel from user space; keep ${fn.name} in the kernel (--kernel ${fn.name})`);
  } else {
    const sc = world.resolveScalar(rt.base);
    const l = world.baseLayout(rt.base);
    if (sc) ret = { type: rt.base, kind: 'scalar', signed: sc.signed && !/^enum /.test(rt.base) };
    else if (l.plain && l.size > 0) ret = { type: rt.base, kind: 'struct', signed: false };
    else return fail(`its result (${fn.returnType}) cannot be copied: ${l.why}; keep ${fn.name} in the kernel (--kernel ${fn.name})`);
  }

  const field = (name: string, cType: string, param?: string): Omit<WireField, 'offset'> => {
    const sc = world.resolveScalar(cType);
    const l = sc ? { size: sc.size, align: sc.size } : world.baseLayout(cType);
    return { name, cType, size: l.size, align: l.align, param };
  };
  const argFields: Omit<WireField, 'offset'>[] = [];
  const resFields: Omit<WireField, 'offset'>[] = [];
  if (ret.kind !== 'void') resFields.push(field('ret', ret.type));
  for (const p of params) {
    if (lengthOnly.has(p.name)) continue;
    switch (p.marshal) {
      case 'scalar':
      case 'struct-in':
        argFields.push(field(p.name, p.wireType, p.name));
        break;
      case 'struct-inout':
        argFields.push(field(p.name, p.wireType, p.name));
        resFields.push(field(p.name, p.wireType, p.name));
        break;
      case 'handle':
        argFields.push(field(p.name, 'u64', p.name));
        break;
      case 'view':
        for (const v of p.viewFields ?? []) {
          argFields.push(field(`${p.name}__${v.field}`, v.cType, p.name));
          if (v.written) resFields.push(field(`${p.name}__${v.field}`, v.cType, p.name));
        }
        break;
      default: {
        const outs = p.marshal === 'buffer-out' || p.marshal === 'buffer-inout' || (p.marshal === 'string' && p.inout);
        argFields.push(field(`${p.name}_off`, 'u32', p.name), field(`${p.name}_len`, 'u32', p.name));
        if (outs) resFields.push(field(`${p.name}_off`, 'u32', p.name), field(`${p.name}_len`, 'u32', p.name));
      }
    }
  }
  return { name: fn.name, fn, params, lengthOnly, ret, args: layoutStruct(argFields), res: layoutStruct(resFields) };
}

/** Does this parameter send variable data in the arguments? */
export function sendsData(p: ParamPlan): boolean {
  return p.marshal === 'buffer-in' || p.marshal === 'buffer-inout' || p.marshal === 'string';
}

/** Does this parameter receive variable data in the result? */
export function receivesData(p: ParamPlan): boolean {
  return p.marshal === 'buffer-out' || p.marshal === 'buffer-inout' || (p.marshal === 'string' && p.inout === true);
}

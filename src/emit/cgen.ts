/**
 * C for one boundary crossing, generated from a ProcPlan: the wire structs,
 * the caller's stub (same signature as the function: marshal, call, unmarshal)
 * and the callee's wrapper (check, unmarshal, call, marshal). The same two
 * generators serve both directions: kernel -> user (stub in the kernel half,
 * wrapper in the user half) and user -> kernel through EXEC_LPC (stub in the
 * user half, wrapper exported by the kernel half).
 */
import type { ParamPlan, ProcPlan, WireStruct } from './marshal.js';
import { receivesData, sendsData } from './marshal.js';

/** How one half allocates, calls across and reports. */
export interface CallerSide {
  zalloc: (n: string) => string;
  free: (p: string) => string;
  /** The function returning result bytes or -errno, and its arguments. */
  call: (proc: string, args: string, len: string, res: string, rlen: string) => { fn: string; args: string[] };
  failed: (proc: string, err: string) => string;
  /** Around the call: a declaration and the statements before and after it (the kernel's shared-data guards). */
  around?: { decl: string; before: string; after: string };
}

export const KERNEL_CALLER: CallerSide = {
  zalloc: (n) => `kzalloc(${n}, GFP_KERNEL)`,
  free: (p) => `kfree(${p});`,
  call: (proc, a, l, r, rl) => ({ fn: 'lpc_call_user', args: ['lpc_dev_get()', `"${proc}"`, a, l, r, rl] }),
  failed: (proc, err) => `lpc_call_failed("${proc}", ${err});`,
};

export const USER_CALLER: CallerSide = {
  zalloc: (n) => `calloc(1, ${n})`,
  free: (p) => `free(${p});`,
  call: (proc, a, l, r, rl) => ({ fn: 'lpc_exec', args: [`"${proc}"`, a, l, r, rl] }),
  failed: (proc, err) => `lpc_exec_failed("${proc}", ${err});`,
};

const TAB = '\t';

/** Wraps `head(arg, arg, ...)` + tail at 80 columns, continuation lines aligned after '(' (kernel style). */
export function wrapCall(indent: number, head: string, args: string[], tail: string): string {
  const tabs = TAB.repeat(indent);
  const col0 = indent * 8;
  const lines: string[] = [];
  let cur = `${head}(`;
  const alignCol = col0 + cur.length;
  args.forEach((a, i) => {
    const piece = a + (i === args.length - 1 ? `)${tail}` : ',');
    const curCol = (lines.length === 0 ? col0 : 0) + visualLen(cur);
    if (i > 0 && curCol + 1 + piece.length > 80) {
      lines.push(cur);
      cur = alignTo(alignCol) + piece;
    } else cur += (i > 0 ? ' ' : '') + piece;
  });
  if (args.length === 0) cur += `)${tail}`;
  lines.push(cur);
  return lines.map((l, i) => (i === 0 ? tabs + l : l)).join('\n');
}

function alignTo(col: number): string {
  return TAB.repeat(Math.floor(col / 8)) + ' '.repeat(col % 8);
}

function visualLen(s: string): number {
  let n = 0;
  for (const ch of s) n = ch === TAB ? (Math.floor(n / 8) + 1) * 8 : n + 1;
  return n;
}

export function structDef(tag: string, ws: WireStruct, assert: 'static_assert'): string {
  const body = ws.fields.map((f) => `${TAB}${f.cType} ${f.name};`).join('\n');
  return `struct ${tag} {\n${body}\n};\n${assert}(sizeof(struct ${tag}) == ${ws.size});\n`;
}

/** The C type a parameter's pointer has, without address-space annotations. */
function ptrType(p: ParamPlan): string {
  return p.type.replace(/\b(__user|__iomem|__force)\b/g, '').replace(/\s+/g, ' ').replace(/ \*/g, ' *').trim();
}

function elemSizeof(p: ParamPlan): string {
  return p.elemType === undefined || p.elemType === 'void' ? '1' : `sizeof(${p.elemType})`;
}

/** The element count a buffer parameter is given by the caller. */
function countExpr(p: ParamPlan): string {
  return p.lengthParam ?? String(p.fixedLength ?? 1);
}

/**
 * The caller's stub. `signature` is the function's own declarator text (up to
 * its body), so the stub keeps the exact signature. `argsTag`/`resTag` name
 * the wire structs.
 */
export function callerStub(plan: ProcPlan, signature: string, argsTag: string, resTag: string, side: CallerSide): string {
  const L: string[] = [];
  const bufs = plan.params.filter((p) => sendsData(p) || receivesData(p));
  const retVoid = plan.ret.kind === 'void';
  const errVal = (e: string): string => (plan.ret.kind === 'scalar' && plan.ret.signed ? e : 'lpc_result');
  const hasVar = bufs.length > 0;

  // Declarations (longest first, kernel style is relaxed about the order).
  L.push(`${TAB}struct ${argsTag} *lpc_a;`);
  L.push(`${TAB}struct ${resTag} *lpc_r;`);
  if (!retVoid) L.push(`${TAB}${plan.ret.type} lpc_result${plan.ret.kind === 'struct' ? ' = {}' : ' = 0'};`);
  for (const p of bufs) L.push(`${TAB}size_t lpc_n_${p.name};`);
  // Variable data and the result start 8-byte aligned.
  L.push(`${TAB}size_t lpc_len = ALIGN(sizeof(*lpc_a), 8);`);
  L.push(`${TAB}size_t lpc_rlen = ${bufs.some(receivesData) ? 'ALIGN(sizeof(*lpc_r), 8)' : 'sizeof(*lpc_r)'};`);
  if (hasVar) L.push(`${TAB}size_t lpc_off;`);
  const regions = plan.params.flatMap((p) => (p.marshal === 'view' ? (p.viewFields ?? []).filter((v) => v.kind !== 'scalar').map((v) => ({ p, v, r: `lpc_io_${p.name}_${v.field}` })) : []));
  for (const x of regions) L.push(`${TAB}struct lpc_iomem ${x.r};`);
  if (side.around) L.push(`${TAB}${side.around.decl}`);
  L.push(`${TAB}u8 *lpc_buf;`);
  L.push(`${TAB}int lpc_ret;`);
  L.push('');

  // The condition line before it gets ' {' when the error path needs two statements.
  const early = (err: string): string[] => {
    if (plan.ret.kind === 'scalar' && plan.ret.signed) return [`${TAB}${TAB}return ${err};`];
    L[L.length - 1] += ' {';
    return [`${TAB}${TAB}${side.failed(plan.name, err)}`, `${TAB}${TAB}return${retVoid ? '' : ' lpc_result'};`, `${TAB}}`];
  };

  // Sizes: each variable part is rounded up to 8 bytes so the next stays aligned.
  for (const p of bufs) {
    if (p.marshal === 'string') {
      // A NULL string crosses as no bytes, and arrives as NULL.
      L.push(`${TAB}lpc_n_${p.name} = ${p.name} ? strnlen(${p.name}, LPC_ARGS_MAX) + 1 : 0;`);
    } else {
      L.push(`${TAB}if ((size_t)${countExpr(p)} > LPC_ARGS_MAX / ${elemSizeof(p)})`);
      L.push(...early('-E2BIG'));
      L.push(`${TAB}lpc_n_${p.name} = (size_t)${countExpr(p)} * ${elemSizeof(p)};`);
    }
  }
  for (const p of bufs) {
    if (sendsData(p)) L.push(`${TAB}lpc_len += ALIGN(lpc_n_${p.name}, 8);`);
    if (receivesData(p)) L.push(`${TAB}lpc_rlen += ALIGN(lpc_n_${p.name}, 8);`);
  }
  if (hasVar) {
    L.push(`${TAB}if (lpc_len > LPC_ARGS_MAX || lpc_rlen > LPC_ARGS_MAX)`);
    L.push(...early('-E2BIG'));
  }
  L.push(`${TAB}lpc_buf = ${side.zalloc('lpc_len + lpc_rlen')};`);
  L.push(`${TAB}if (!lpc_buf)`);
  L.push(...early('-ENOMEM'));
  L.push(`${TAB}lpc_a = (void *)lpc_buf;`);
  L.push(`${TAB}lpc_r = (void *)(lpc_buf + lpc_len);`);

  // Fixed part.
  for (const p of plan.params) {
    if (plan.lengthOnly.has(p.name)) continue;
    if (p.marshal === 'scalar' || (p.marshal === 'struct-in' && !p.byPointer)) L.push(`${TAB}lpc_a->${p.name} = ${p.name};`);
    else if (p.marshal === 'struct-in' || p.marshal === 'struct-inout') L.push(`${TAB}lpc_a->${p.name} = *${p.name};`);
    else if (p.marshal === 'handle') L.push(`${TAB}lpc_a->${p.name} = lpc_handle_of_${p.handleTag}(${p.name});`);
    else if (p.marshal === 'view') {
      // Registers and ports travel as cookies naming a region registered for this call only.
      for (const v of p.viewFields ?? []) {
        if (v.kind === 'scalar') L.push(`${TAB}lpc_a->${p.name}__${v.field} = ${p.name}->${v.field};`);
        else L.push(wrapCall(1, `lpc_a->${p.name}__${v.field} = lpc_${v.kind === 'port' ? 'ioport' : 'iomem'}_get`, [`&lpc_io_${p.name}_${v.field}`, `${p.name}->${v.field}`, `${v.length}`], ';'));
      }
    }
  }
  // Variable part.
  if (hasVar) L.push(`${TAB}lpc_off = ALIGN(sizeof(*lpc_a), 8);`);
  for (const p of bufs) {
    L.push(`${TAB}lpc_a->${p.name}_len = lpc_n_${p.name};`);
    if (!sendsData(p)) continue;
    L.push(`${TAB}lpc_a->${p.name}_off = lpc_off;`);
    L.push(`${TAB}memcpy(lpc_buf + lpc_off, ${p.name}, lpc_n_${p.name});`);
    L.push(`${TAB}lpc_off += ALIGN(lpc_n_${p.name}, 8);`);
  }
  L.push('');
  const c = side.call(plan.name, 'lpc_a', 'lpc_len', 'lpc_r', 'lpc_rlen');
  if (side.around) L.push(`${TAB}${side.around.before}`);
  L.push(wrapCall(1, `lpc_ret = ${c.fn}`, c.args, ';'));
  if (side.around) L.push(`${TAB}${side.around.after}`);
  for (const p of plan.params) if (p.marshal === 'handle') L.push(`${TAB}lpc_handle_put_${p.handleTag}(lpc_a->${p.name});`);
  for (const x of regions) L.push(`${TAB}lpc_${x.v.kind === 'port' ? 'ioport' : 'iomem'}_put(&${x.r});`);
  // The answer must hold the fixed part, and each returned buffer where it was asked for.
  const checks = ['lpc_ret < (int)sizeof(*lpc_r)'];
  for (const p of bufs) {
    if (!receivesData(p)) continue;
    checks.push(`lpc_r->${p.name}_len != lpc_n_${p.name}`);
    checks.push(`!lpc_span_ok(lpc_ret, sizeof(*lpc_r), lpc_r->${p.name}_off,\n\t\t\t lpc_r->${p.name}_len, ${elemSizeof(p)})`);
  }
  L.push(`${TAB}if (${checks.join(' ||\n\t    ')}) {`);
  L.push(`${TAB}${TAB}${side.failed(plan.name, checks.length > 1 ? 'lpc_ret < 0 ? lpc_ret : -EPROTO' : 'lpc_ret')}`);
  if (plan.ret.kind === 'scalar' && plan.ret.signed) L.push(`${TAB}${TAB}lpc_result = ${errVal('lpc_ret < 0 ? lpc_ret : -EPROTO')};`);
  L.push(`${TAB}${TAB}goto out;`);
  L.push(`${TAB}}`);
  for (const p of plan.params) {
    if (p.marshal === 'struct-inout') L.push(`${TAB}*${p.name} = lpc_r->${p.name};`);
  }
  // Fields of a view the callee changed go back to the caller's structure; the others stay as they are now.
  for (const p of plan.params) {
    for (const v of p.viewFields ?? []) {
      if (!v.written) continue;
      L.push(`${TAB}if (lpc_r->${p.name}__${v.field} != lpc_a->${p.name}__${v.field})`);
      L.push(`${TAB}${TAB}${p.name}->${v.field} = lpc_r->${p.name}__${v.field};`);
    }
  }
  for (const p of bufs) {
    if (!receivesData(p)) continue;
    L.push(`${TAB}memcpy(${p.name}, lpc_buf + lpc_len + lpc_r->${p.name}_off, lpc_n_${p.name});`);
  }
  if (!retVoid) L.push(`${TAB}lpc_result = lpc_r->ret;`);
  L.push('out:');
  L.push(`${TAB}${side.free('lpc_buf')}`);
  if (!retVoid) L.push(`${TAB}return lpc_result;`);
  return `${signature.trimEnd()}\n{\n${L.join('\n')}\n}\n`;
}

/**
 * The callee's wrapper: `int name(<prefix>const void *args, size_t len,
 * void *result, size_t rlen)`, returning the result bytes or -errno.
 */
export function calleeWrapper(plan: ProcPlan, fnName: string, prefix: string, argsTag: string, resTag: string, call: string): string {
  const L: string[] = [];
  const bufs = plan.params.filter((p) => sendsData(p) || receivesData(p));
  L.push(`${TAB}const struct ${argsTag} *a = args;`);
  L.push(`${TAB}struct ${resTag} *r = result;`);
  const locals = plan.params.filter((p) => p.marshal === 'struct-in' && p.byPointer);
  for (const p of locals) L.push(`${TAB}${p.wireType} lpc_${p.name};`);
  const views = plan.params.filter((p) => p.marshal === 'view');
  for (const p of views) L.push(`${TAB}${p.wireType} lpc_${p.name};`);
  L.push(`${TAB}size_t off = sizeof(*r);`);
  L.push('');
  L.push(`${TAB}if (len < sizeof(*a) || rlen < sizeof(*r))`);
  L.push(`${TAB}${TAB}return -EINVAL;`);
  L.push(`${TAB}memset(r, 0, sizeof(*r));`);
  for (const p of bufs) {
    const es = elemSizeof(p);
    if (sendsData(p)) {
      L.push(wrapCall(1, 'if (!lpc_span_ok', ['len', 'sizeof(*a)', `a->${p.name}_off`, `a->${p.name}_len`, es], ')'));
      L.push(`${TAB}${TAB}return -EINVAL;`);
    }
    if (p.marshal === 'string') {
      L.push(`${TAB}if (a->${p.name}_len &&`);
      L.push(`${TAB}    ((const char *)args)[a->${p.name}_off + a->${p.name}_len - 1])`);
      L.push(`${TAB}${TAB}return -EINVAL;`);
    }
    if (receivesData(p)) {
      L.push(`${TAB}off = ALIGN(off, 8);`);
      L.push(wrapCall(1, 'if (!lpc_span_ok', ['rlen', 'sizeof(*r)', 'off', `a->${p.name}_len`, es], ')'));
      L.push(`${TAB}${TAB}return -EINVAL;`);
      L.push(`${TAB}r->${p.name}_off = off;`);
      L.push(`${TAB}r->${p.name}_len = a->${p.name}_len;`);
      if (sendsData(p)) L.push(wrapCall(1, 'memcpy', ['(u8 *)result + off', `(const u8 *)args + a->${p.name}_off`, `a->${p.name}_len`], ';'));
      L.push(`${TAB}off += ALIGN(a->${p.name}_len, 8);`);
    }
  }
  for (const p of locals) L.push(`${TAB}lpc_${p.name} = a->${p.name};`);
  // A view: the fields the moved code reads, the rest zero; registers as the kernel's cookies.
  for (const p of views) {
    L.push(`${TAB}memset(&lpc_${p.name}, 0, sizeof(lpc_${p.name}));`);
    for (const v of p.viewFields ?? []) {
      L.push(v.kind === 'iomem' ? `${TAB}lpc_${p.name}.${v.field} = (void *)(uintptr_t)a->${p.name}__${v.field};` : `${TAB}lpc_${p.name}.${v.field} = a->${p.name}__${v.field};`);
    }
  }
  for (const p of plan.params) if (p.marshal === 'struct-inout') L.push(`${TAB}r->${p.name} = a->${p.name};`);
  const argExprs = plan.params.map((p) => {
    if (plan.lengthOnly.has(p.name)) {
      const buf = plan.params.find((b) => b.lengthParam === p.name)!;
      return `a->${buf.name}_len / ${elemSizeof(buf)}`;
    }
    switch (p.marshal) {
      case 'scalar':
        return `a->${p.name}`;
      case 'struct-in':
        return p.byPointer ? `&lpc_${p.name}` : `a->${p.name}`;
      case 'struct-inout':
        return `&r->${p.name}`;
      case 'handle':
        return `lpc_${p.name}`;
      case 'view':
        return `&lpc_${p.name}`;
      default: {
        const at = receivesData(p) ? `(${ptrType(p)})((u8 *)result + r->${p.name}_off)` : `(${ptrType(p)})((const u8 *)args + a->${p.name}_off)`;
        return p.marshal === 'string' ? `a->${p.name}_len ? ${at} : NULL` : at;
      }
    }
  });
  const handles = plan.params.filter((p) => p.marshal === 'handle');
  if (handles.length > 0) {
    // Declared late to keep them beside their checks; hoisted into the declarations below.
    for (const p of handles) {
      L.splice(2, 0, `${TAB}${ptrType(p).replace(/\s*\*$/, ' *')}lpc_${p.name};`);
      L.push(`${TAB}lpc_${p.name} = lpc_handle_get_${p.handleTag}(a->${p.name});`);
      L.push(`${TAB}if (!lpc_${p.name})`);
      L.push(`${TAB}${TAB}return -EINVAL;`);
    }
  }
  L.push(wrapCall(1, plan.ret.kind === 'void' ? call : `r->ret = ${call}`, argExprs, ';'));
  for (const p of views) for (const v of p.viewFields ?? []) if (v.written) L.push(`${TAB}r->${p.name}__${v.field} = lpc_${p.name}.${v.field};`);
  L.push(`${TAB}return off;`);
  const sig = wrapCall(0, `int ${fnName}`, [...(prefix ? [prefix] : []), 'const void *args', 'size_t len', 'void *result', 'size_t rlen'], '');
  return `${sig}\n{\n${L.join('\n')}\n}\n`;
}

/**
 * The kernel half's C: the driver's own files with each moved function
 * replaced by a stub of the same signature (or dropped when no kernel code
 * calls it), the EXEC_LPC wrappers beside the kernel functions the user half
 * calls, and the glue that registers the LPC device, shares data under LPC
 * locks and runs the driver's initialisation once the daemon attaches.
 */
import { calleeWrapper, callerStub, KERNEL_CALLER, wrapCall, type CallerSide } from './cgen.js';
import { kernelIoGlue } from './iomem.js';
import { KERNEL_PORT_DECLS, KERNEL_PORT_GLUE } from './ports.js';
import type { ProcPlan } from './marshal.js';
import { guardDecls, guardGlue, wrappedFunction } from './shared-locks.js';
import { conditionsOf, leadingComment, type SourceIndex, type TopItem } from './source.js';
import type { BusDriver, FnInfo, Split } from './split.js';

export interface KernelNames {
  driver: string;
  /** Generated header included by every kernel file. */
  header: string;
  planHash: string;
}

/** The declarator text of a function: everything before its body. */
export function signatureOf(info: FnInfo): string {
  const t = info.idx.text.slice(info.item.start, info.item.end);
  const brace = t.lastIndexOf('\n{');
  return brace >= 0 ? t.slice(0, brace) : t.slice(0, t.indexOf('{'));
}

export function wireTags(plan: ProcPlan, dir: 'call' | 'exec'): { args: string; res: string } {
  const p = dir === 'call' ? 'lpc' : 'lpc_x';
  return { args: `${p}_args_${plan.name}`, res: `${p}_res_${plan.name}` };
}

export function wireStructs(plan: ProcPlan, dir: 'call' | 'exec'): string {
  const t = wireTags(plan, dir);
  const one = (tag: string, ws: ProcPlan['args']): string =>
    `struct ${tag} {\n${ws.fields.map((f) => `\t${f.cType} ${f.name};`).join('\n')}\n};\n\nstatic_assert(sizeof(struct ${tag}) == ${ws.size});\n`;
  return `${one(t.args, plan.args)}\n${one(t.res, plan.res)}`;
}

/** Removes __init/__initdata/__initconst: initialisation now runs after load, from the attach work. */
function dropInitSections(s: string): string {
  return s.replace(/[ \t]*\b__init(data|const)?\b(?=[ \t]*)/g, '');
}

const lastInclude = (idx: SourceIndex): TopItem | undefined => [...idx.items].reverse().find((it) => it.kind === 'directive' && /^#\s*include\b/.test(idx.text.slice(it.start, it.end)));

/** How the kernel half calls the user half: giving back the shared-data locks the task holds for the call. */
function kernelCaller(split: Split): CallerSide {
  if (split.kernelLocks.guarded.length === 0) return KERNEL_CALLER;
  return { ...KERNEL_CALLER, around: { decl: 'struct lpc_guards_held lpc_held;', before: 'lpc_guards_drop(&lpc_held);', after: 'lpc_guards_retake(&lpc_held);' } };
}

/** Rewrites one .c file for the kernel half. `glue` is appended (the file with module_init). */
export function kernelFile(idx: SourceIndex, split: Split, names: KernelNames, glue: string | undefined): string {
  const text = idx.text;
  const drop = new Set<TopItem>();
  const replace = new Map<TopItem, string>();
  const after = new Map<TopItem, string>();
  const caller = kernelCaller(split);
  for (const it of idx.items) {
    const info = split.byItem.get(it);
    if (it.kind === 'function' && info) {
      if (info.side === 'user') {
        const plan = split.procedures.get(info);
        if (plan) {
          const t = wireTags(plan, 'call');
          replace.set(it, `${wireStructs(plan, 'call')}\n/* Runs in the user half: marshals the call to the daemon. */\n${callerStub(plan, signatureOf(info), t.args, t.res, caller).trimEnd()}`);
        } else {
          drop.add(it);
          const c = leadingComment(idx, it);
          if (c) drop.add(c);
        }
      } else {
        const gs = split.kernelLocks.takes.get(info);
        if (gs) replace.set(it, wrappedFunction(info, signatureOf(info), gs));
        const plan = split.exports.get(info);
        if (plan) {
          const t = wireTags(plan, 'exec');
          after.set(it, `\n\n${wireStructs(plan, 'exec')}\n/* EXEC_LPC entry: the user half calls ${info.fn.name}() through it. */\n${calleeWrapper(plan, `lpc_exec_${plan.name}`, 'struct lpc_dev *dev', t.args, t.res, info.fn.name).trimEnd()}`);
        }
      }
    } else if (it.kind === 'prototype') {
      const movedOnly = it.names.every((n) => split.fns.some((f) => f.fn.name === n && f.side === 'user' && !split.procedures.has(f) && f.fn.isStatic));
      if (it.isStatic && movedOnly) drop.add(it);
    } else if (it.kind === 'variable') {
      // Only data that moved leaves: a variable nothing seems to use may be
      // used by a definition the parser did not keep (an #if alternative).
      if (it.isStatic && split.userVars.has(it) && !split.kernelVars.has(it) && !split.shared.some((g) => g.item === it)) {
        drop.add(it);
        const c = leadingComment(idx, it);
        if (c) drop.add(c);
      }
    } else if (it.kind === 'statement' && /^\s*module_(init|exit)\s*\(/.test(text.slice(it.start, it.end))) {
      drop.add(it);
    } else if (it === split.busDriver?.item) {
      replace.set(it, busDriverFunctions(split.busDriver, names.driver));
    }
  }
  const inc = lastInclude(idx);
  let out = '';
  let pos = 0;
  for (const it of idx.items) {
    if (!drop.has(it) && !replace.has(it) && !after.has(it) && it !== inc) continue;
    out += text.slice(pos, it.start);
    if (drop.has(it)) {
      // Take the line break after the item and one blank line with it.
      pos = it.end;
      const m = /^[ \t]*\n(?:[ \t]*\n)?/.exec(text.slice(pos));
      if (m) pos += m[0].length;
      continue;
    }
    out += replace.get(it) ?? text.slice(it.start, it.end);
    if (it === inc) out += `\n#include "${names.header}"`;
    out += after.get(it) ?? '';
    pos = it.end;
  }
  out += text.slice(pos);
  if (!inc) out = `#include "${names.header}"\n${out}`;
  out = dropInitSections(out).replace(/\n{3,}/g, '\n\n');
  if (glue) out = `${out.trimEnd()}\n\n${glue}`;
  return out.endsWith('\n') ? out : `${out}\n`;
}

function hashBytes(hex: string): string {
  const bytes = hex.match(/../g)!.map((b) => `0x${b}`);
  const rows: string[] = [];
  for (let i = 0; i < bytes.length; i += 8) rows.push(`\t\t${bytes.slice(i, i + 8).join(', ')},`);
  return rows.join('\n');
}

/** The generated header every kernel file includes. */
export function kernelHeader(split: Split, names: KernelNames): string {
  const guard = `_${names.header.replace(/\W/g, '_').toUpperCase()}`;
  const decls: string[] = [];
  for (const p of split.exports.values()) {
    decls.push(`${wrapCall(0, `int lpc_exec_${p.name}`, ['struct lpc_dev *dev', 'const void *args', 'size_t len', 'void *result', 'size_t rlen'], ';')}`);
  }
  const handles: string[] = [];
  for (const tag of [...split.handleTags].sort()) {
    handles.push(`struct ${tag};`, `u64 lpc_handle_of_${tag}(struct ${tag} *p);`, `struct ${tag} *lpc_handle_get_${tag}(u64 h);`, `void lpc_handle_put_${tag}(u64 h);`);
  }
  const io = split.iomem
    ? `
/* An __iomem region lent to the user half for the length of one call. */
struct lpc_iomem {
	void __iomem *base;
	size_t len;
	u32 id;
};

u64 lpc_iomem_get(struct lpc_iomem *r, void __iomem *base, size_t len);
void lpc_iomem_put(struct lpc_iomem *r);
${split.ports ? KERNEL_PORT_DECLS : ''}`
    : '';
  return `/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the files of the kernel half of ${names.driver}.
 * Generated by split-driver emit from plan ${names.planHash.slice(0, 12)}.
 */
#ifndef ${guard}
#define ${guard}

#include <linux/build_bug.h>
${split.iomem ? '#include <linux/io.h>\n' : ''}#include <linux/slab.h>
#include <linux/string.h>
#include <linux/types.h>
${split.iomem ? '#include <linux/xarray.h>\n' : ''}
#include "lpc_core.h"
#include "lpc_wire.h"

struct lpc_dev *lpc_dev_get(void);
void lpc_call_failed(const char *proc, int err);
${decls.length ? `\n${decls.join('\n')}\n` : ''}${guardDecls(split.kernelLocks)}${io}${handles.length ? `\n${handles.join('\n')}\n` : ''}
#endif /* ${guard} */
`;
}

/** What `module_pci_driver(drv);` expands to, as functions the LPC glue runs once the daemon attaches. */
function busDriverFunctions(b: BusDriver, d: string): string {
  return [
    `/* ${b.macro}(${b.driver}), run once the daemon has attached. */`,
    `static int ${d}_register_driver(void)`,
    '{',
    `\treturn ${b.register}(&${b.driver});`,
    '}',
    '',
    `static void ${d}_unregister_driver(void)`,
    '{',
    `\t${b.unregister}(&${b.driver});`,
    '}',
  ].join('\n');
}

/** Glue appended to the file holding module_init: the LPC device, exports, locks, and the module's life cycle. */
export function kernelGlue(split: Split, names: KernelNames): string {
  const d = names.driver;
  const L: string[] = [];
  L.push('/* split-driver: the LPC device that connects this half to its daemon. */');
  L.push('');
  L.push(`static DEFINE_MUTEX(${d}_lpc_lock);`);
  L.push(`static struct lpc_dev *${d}_lpc;`);
  L.push(`static bool ${d}_lpc_ready;`);
  L.push(`static bool ${d}_lpc_exiting;`);
  L.push('');
  L.push('struct lpc_dev *lpc_dev_get(void)');
  L.push('{');
  L.push(`\treturn READ_ONCE(${d}_lpc);`);
  L.push('}');
  L.push('');
  L.push('void lpc_call_failed(const char *proc, int err)');
  L.push('{');
  L.push('\tpr_warn_ratelimited("%s: the user half failed: %d\\n", proc, err);');
  L.push('}');
  for (const tag of [...split.handleTags].sort()) {
    L.push('');
    L.push(`/* Handles for struct ${tag}: valid while the call that made them runs. */`);
    L.push(`static DEFINE_XARRAY_ALLOC1(lpc_handles_${tag});`);
    L.push('');
    L.push(`u64 lpc_handle_of_${tag}(struct ${tag} *p)`);
    L.push('{');
    L.push('\tu32 id;');
    L.push('');
    L.push(`\tif (!p || xa_alloc(&lpc_handles_${tag}, &id, p, xa_limit_32b, GFP_KERNEL))`);
    L.push('\t\treturn 0;');
    L.push('\treturn id;');
    L.push('}');
    L.push('');
    L.push(`struct ${tag} *lpc_handle_get_${tag}(u64 h)`);
    L.push('{');
    L.push('\tif (!h || h > U32_MAX)');
    L.push('\t\treturn NULL;');
    L.push(`\treturn xa_load(&lpc_handles_${tag}, h);`);
    L.push('}');
    L.push('');
    L.push(`void lpc_handle_put_${tag}(u64 h)`);
    L.push('{');
    L.push('\tif (h && h <= U32_MAX)');
    L.push(`\t\txa_erase(&lpc_handles_${tag}, h);`);
    L.push('}');
  }
  if (split.iomem) {
    L.push('');
    L.push(kernelIoGlue(split.ioAccessors));
    if (split.ports) L.push(KERNEL_PORT_GLUE);
  }
  const exps = [...split.exports.values()];
  const hasExports = exps.length + split.ioAccessors.length > 0;
  if (hasExports) {
    L.push('');
    L.push('/* The only kernel functions the user half may run (EXEC_LPC). */');
    L.push(`static struct lpc_export ${d}_lpc_exports[] = {`);
    for (const [f, p] of split.exports) {
      // Under the #if its function is under: the EXEC entry exists only where the function does.
      const conds = conditionsOf(f.idx, f.item);
      for (const level of conds) L.push(...level);
      L.push(`\t{ .name = "${p.name}", .fn = lpc_exec_${p.name},`);
      L.push('\t  .args_max = LPC_ARGS_MAX, .result_max = LPC_ARGS_MAX },');
      for (let i = 0; i < conds.length; i++) L.push('#endif');
    }
    for (const a of split.ioAccessors) {
      L.push(`\t{ .name = "lpc_io_${a}", .fn = lpc_exec_io_${a},`);
      L.push('\t  .args_max = sizeof(struct lpc_x_args_io),');
      L.push('\t  .result_max = sizeof(struct lpc_x_res_io) },');
    }
    L.push('};');
  }
  if (split.shared.length > 0) {
    L.push('');
    L.push('/* Data the user half works on a copy of, under LOCK_LPC/UNLOCK_LPC. */');
    L.push(`static struct lpc_lock ${d}_lpc_locks[] = {`);
    for (const g of split.shared) {
      L.push(`\t{ .name = "${g.lock}", .data = &${g.name},`);
      L.push(`\t  .size = sizeof(${g.name}) },`);
    }
    L.push('};');
    const guards = guardGlue(split.kernelLocks, split.shared, `${d}_lpc_locks`);
    if (guards) L.push('', guards.trimEnd());
  }
  const bus = split.busDriver ? { init: `${d}_register_driver`, exit: `${d}_unregister_driver` } : undefined;
  const init = split.init?.fn.name ?? bus?.init;
  const exit = split.exit?.fn.name ?? bus?.exit;
  L.push('');
  L.push('/*');
  L.push(' * Runs (from a workqueue) each time a daemon attaches.  The driver\'s own');
  L.push(' * initialisation needs the user half, so it runs on the first attach:');
  L.push(' * applications see the driver\'s device only once it has completed.');
  L.push(' */');
  L.push(`static void ${d}_lpc_attach(struct lpc_dev *dev)`);
  L.push('{');
  if (init) L.push('\tint ret;\n');
  L.push(`\tmutex_lock(&${d}_lpc_lock);`);
  L.push(`\tWRITE_ONCE(${d}_lpc, dev);`);
  L.push(`\tif (!${d}_lpc_ready && !${d}_lpc_exiting) {`);
  if (init) {
    L.push(`\t\tret = ${init}();`);
    L.push('\t\tif (ret)');
    L.push('\t\t\tpr_err("initialisation failed: %d\\n", ret);');
    L.push('\t\telse');
    L.push(`\t\t\t${d}_lpc_ready = true;`);
  } else {
    L.push(`\t\t${d}_lpc_ready = true;`);
  }
  L.push('\t}');
  L.push(`\tmutex_unlock(&${d}_lpc_lock);`);
  L.push('}');
  L.push('');
  L.push(`static struct lpc_config ${d}_lpc_config = {`);
  L.push(`\t.name = "${d}",`);
  L.push('\t.plan_hash = {');
  L.push(hashBytes(names.planHash));
  L.push('\t},');
  if (hasExports) {
    L.push(`\t.exports = ${d}_lpc_exports,`);
    L.push(`\t.n_exports = ARRAY_SIZE(${d}_lpc_exports),`);
  }
  if (split.shared.length > 0) {
    L.push(`\t.locks = ${d}_lpc_locks,`);
    L.push(`\t.n_locks = ARRAY_SIZE(${d}_lpc_locks),`);
  }
  L.push(`\t.on_attach = ${d}_lpc_attach,`);
  L.push('};');
  L.push('');
  L.push(`static int __init ${d}_lpc_init(void)`);
  L.push('{');
  L.push('\tstruct lpc_dev *dev;');
  L.push('');
  L.push(`\tmutex_lock(&${d}_lpc_lock);`);
  L.push(`\tdev = lpc_register(&${d}_lpc_config);`);
  L.push('\tif (!IS_ERR(dev))');
  L.push(`\t\tWRITE_ONCE(${d}_lpc, dev);`);
  L.push(`\tmutex_unlock(&${d}_lpc_lock);`);
  L.push('\treturn PTR_ERR_OR_ZERO(dev);');
  L.push('}');
  L.push('');
  L.push(`static void __exit ${d}_lpc_exit(void)`);
  L.push('{');
  L.push(`\tmutex_lock(&${d}_lpc_lock);`);
  L.push(`\t${d}_lpc_exiting = true;`);
  if (exit) {
    L.push(`\tif (${d}_lpc_ready)`);
    L.push(`\t\t${exit}();`);
  }
  L.push(`\tmutex_unlock(&${d}_lpc_lock);`);
  L.push(`\tlpc_unregister(${d}_lpc);`);
  L.push('}');
  L.push('');
  L.push(`module_init(${d}_lpc_init);`);
  L.push(`module_exit(${d}_lpc_exit);`);
  return `${L.join('\n')}\n`;
}

export const WIRE_HEADER = `/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checks shared by both halves of a split driver on the
 * arguments and results of a local procedure call.  Generated by
 * split-driver emit; identical in kmod/ and udaemon/.
 */
#ifndef _LPC_WIRE_H
#define _LPC_WIRE_H

/*
 * Is [off, off + len) inside a message of @total bytes, past its fixed part
 * of @base bytes, 8-byte aligned and a whole number of @elem-byte elements?
 */
static inline bool lpc_span_ok(size_t total, size_t base, u32 off, u32 len,
			       size_t elem)
{
	return off >= base && off <= total && len <= total - off &&
	       !(off & 7) && !(len % elem);
}

#endif /* _LPC_WIRE_H */
`;

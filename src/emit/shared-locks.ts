/**
 * The kernel side of shared data. The user half works on a copy of each
 * shared global under its LPC lock (LOCK_LPC/UNLOCK_LPC); the kernel
 * functions that touch the global take the same lock, or a kernel path and
 * a moved function would race and lose updates.
 *
 * - A kept function that touches a shared global, or calls (directly) a kept
 *   function that does, is wrapped: its body becomes `<name>_locked()` and a
 *   wrapper with its name and signature takes the locks in the table's order
 *   (the user half holds them in the same order), re-entrantly: the owner
 *   task and a depth, so nested functions do not deadlock on themselves.
 * - A stub (a call into the user half) gives back the locks the calling task
 *   holds for the length of the call, so the daemon can take them, and takes
 *   them again after: the kernel then sees what the user half wrote back.
 * - Refused, with what would fix it: a function in atomic context that would
 *   take the lock (it sleeps: the daemon holds it across returns to user
 *   space); a kernel function the user half calls (EXEC) that would take it
 *   (the calling procedure may hold it: deadlock); a writable module
 *   parameter (sysfs writes it without the lock); a wrapped function whose
 *   return type cannot say that a task killed while waiting did not run it.
 */
import { InputError } from '../errors.js';
import type { Plan } from '../partition/plan.js';
import type { DriverModel } from '../parse/model.js';
import { wrapCall } from './cgen.js';
import { lineOfOffset, type SourceIndex, type TopItem } from './source.js';
import type { FnInfo, Problem, SharedGlobal } from './split.js';

export interface KernelLocks {
  /** Per kept function: the shared globals its wrapper takes, in the table's order. */
  takes: Map<FnInfo, SharedGlobal[]>;
  /** The shared globals some kernel function takes (each gets a guard). */
  guarded: SharedGlobal[];
}

export interface KernelLockInput {
  model: DriverModel;
  fns: FnInfo[];
  shared: SharedGlobal[];
  exports: ReadonlySet<FnInfo>;
  /** Ids of functions that run in atomic context by the plan (irq handlers, called under a spinlock). */
  atomic: ReadonlySet<string>;
  varFor: (name: string, idx: SourceIndex) => { item: TopItem } | undefined;
}

/** Functions the plan says run in atomic context: interrupt-like handlers, and callees of a spinlock holder. */
export function atomicIds(plan: Plan): Set<string> {
  return new Set(plan.functions.filter((f) => f.reasons.some((r) => r.kind === 'irq-context' || (r.kind === 'atomic' && r.role === 'called'))).map((f) => f.id));
}

const SIGNED_RETURN = /^(?:signed\s+)?(?:int|long|long\s+int|long\s+long|short|ssize_t|loff_t|s8|s16|s32|s64|__s32|__s64)$/;

/** A return type without storage class and section annotations. */
const bareType = (t: string): string => t.replace(/\b(static|inline|__always_inline|extern|__init|__exit|__maybe_unused|noinline)\b/g, '').replace(/\s+/g, ' ').trim();

/** What a wrapper returns when its task was killed while it waited: a statement, or undefined when it has none. */
export function killedReturn(returnType: string): string | undefined {
  const t = bareType(returnType);
  if (t === 'void') return 'return;';
  return SIGNED_RETURN.test(t) ? 'return -EINTR;' : undefined;
}

/** The line where a function first names `name` (its own line if the body does not). */
function useLine(f: FnInfo, name: string): number {
  const text = f.idx.text.slice(f.item.start, f.item.end);
  const body = text.indexOf('{');
  const m = new RegExp(`\\b${name}\\b`).exec(text.slice(body));
  return m ? lineOfOffset(f.idx, f.item.start + body + m.index) : f.fn.startLine;
}

/** A module_param of the global that sysfs can write: the statement's line and its permission text. */
function writableParam(g: SharedGlobal): { line: number; perm: string } | undefined {
  for (const it of g.idx.items) {
    if (it.kind !== 'statement') continue;
    const s = g.idx.text.slice(it.start, it.end);
    const m = /^\s*module_param(?:_named)?\s*\(((?:[^()]|\([^()]*\))*)\)/.exec(s);
    if (!m) continue;
    const args = m[1].split(',').map((a) => a.trim());
    const variable = /module_param_named/.test(s) ? args[1] : args[0];
    const perm = args[args.length - 1];
    if (variable !== g.name) continue;
    const writable = /^0[0-7]*$/.test(perm) ? (parseInt(perm, 8) & 0o222) !== 0 : /S_IW|S_IRWX/.test(perm);
    if (writable) return { line: it.line, perm };
  }
  return undefined;
}

export function planKernelLocks(input: KernelLockInput): { locks: KernelLocks; problems: Problem[] } {
  const { model, fns, shared, exports, atomic } = input;
  const problems: Problem[] = [];
  const byItem = new Map(shared.map((g) => [g.item, g] as const));
  const byId = new Map(fns.map((f) => [f.fn.id, f] as const));
  const kernelFns = fns.filter((f) => f.side === 'kernel');
  const users = (g: SharedGlobal): FnInfo[] => fns.filter((f) => f.side === 'user' && f.idx === g.idx && f.item.refs.has(g.name));
  const keepHint = (g: SharedGlobal): string => {
    const u = users(g).map((f) => f.fn.name);
    return u.length > 0 ? `keep ${u.join(', ')} in the kernel (--kernel ${u.join(',')}) so that ${g.name} is not shared` : `keep the code using ${g.name} in the kernel`;
  };

  for (const g of shared) {
    const p = writableParam(g);
    if (!p) continue;
    problems.push({
      error: new InputError(
        `${g.name} is a module parameter writable through sysfs (${p.perm}) and shared with the user half: a write there would bypass the lock that guards it for both halves; make it read-only (0444), or ${keepHint(g)}`,
        g.idx.file,
        p.line,
      ),
      blame: users(g),
    });
  }

  // What each kept function touches itself, then what the kept functions it calls touch.
  const takes = new Map<FnInfo, Set<SharedGlobal>>();
  for (const f of kernelFns) {
    const s = new Set<SharedGlobal>();
    for (const r of f.item.refs) {
      const v = input.varFor(r, f.idx);
      const g = v ? byItem.get(v.item) : undefined;
      if (g) s.add(g);
    }
    takes.set(f, s);
  }
  const own = new Map([...takes].map(([f, s]) => [f, new Set(s)] as const));
  const edges = model.calls.filter((c) => c.kind === 'direct').map((c) => [byId.get(c.caller), byId.get(c.callee)] as const).filter(([a, b]) => a?.side === 'kernel' && b?.side === 'kernel') as [FnInfo, FnInfo][];
  for (let changed = true; changed; ) {
    changed = false;
    for (const [a, b] of edges) {
      const sa = takes.get(a)!;
      for (const g of takes.get(b)!) {
        if (!sa.has(g)) {
          sa.add(g);
          changed = true;
        }
      }
    }
  }

  // Atomic context spreads to what atomic functions call.
  const inAtomic = new Set(kernelFns.filter((f) => atomic.has(f.fn.id)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const [a, b] of edges) {
      if (inAtomic.has(a) && !inAtomic.has(b)) {
        inAtomic.add(b);
        changed = true;
      }
    }
  }

  const out = new Map<FnInfo, SharedGlobal[]>();
  for (const f of kernelFns) {
    const set = takes.get(f)!;
    if (set.size === 0) continue;
    const gs = shared.filter((g) => set.has(g));
    // Blame the function's own use when it has one, else the first global it reaches through a call.
    const g = gs.find((x) => own.get(f)!.has(x)) ?? gs[0];
    const where = (message: string): void => {
      problems.push({ error: new InputError(message, f.idx.file, useLine(f, own.get(f)!.has(g) ? g.name : f.fn.name)), blame: users(g) });
    };
    const via = own.get(f)!.has(g) ? `uses ${g.name}` : `calls code that uses ${g.name}`;
    if (inAtomic.has(f)) {
      where(`${f.fn.name} runs in atomic context and ${via}, which the user half shares: the lock that guards it for both halves sleeps (the daemon holds it across returns to user space), so ${f.fn.name} cannot take it; ${keepHint(g)}`);
      continue;
    }
    if (exports.has(f)) {
      where(`${f.fn.name} is called from the user half and ${via}, which the user half shares: a procedure holding ${g.name}'s lock while it calls ${f.fn.name} would wait for itself; ${keepHint(g)}, or move ${f.fn.name}'s use of ${g.name} into the code that calls it`);
      continue;
    }
    if (killedReturn(f.fn.returnType) === undefined) {
      where(`${f.fn.name} ${via}, which the user half shares, so it takes the lock that guards it, and may be killed while it waits; it returns ${f.fn.returnType}, which cannot say so (it needs void or a signed integer for -EINTR); ${keepHint(g)}`);
      continue;
    }
    if (f.fn.params.some((p) => p.type === '...' || p.name === '...')) {
      where(`${f.fn.name} ${via}, which the user half shares, so it is wrapped to take the lock that guards it, and a variadic function cannot be wrapped; ${keepHint(g)}`);
      continue;
    }
    out.set(f, gs);
  }
  const guarded = shared.filter((g) => [...out.values()].some((l) => l.includes(g)));
  return { locks: { takes: out, guarded }, problems };
}

const guardOf = (g: SharedGlobal): string => `lpc_guard_${g.name}`;

/** The parameter list of a declarator, split at its top-level commas. */
function paramList(sig: string, name: string): { head: string; params: string[]; tail: string } {
  const m = new RegExp(`\\b${name}\\s*\\(`).exec(sig)!;
  const open = m.index + m[0].length;
  let depth = 1;
  let i = open;
  const params: string[] = [];
  let from = open;
  for (; i < sig.length && depth > 0; i++) {
    const c = sig[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if ((c === ',' && depth === 1) || depth === 0) {
      params.push(sig.slice(from, i).replace(/\s+/g, ' ').trim());
      from = i + 1;
    }
  }
  return { head: sig.slice(0, m.index), params: params.filter((p) => p !== ''), tail: sig.slice(i) };
}

/** A wrapped function: `<name>_locked()` with the body, then the wrapper under the name. */
export function wrappedFunction(info: FnInfo, signature: string, gs: SharedGlobal[]): string {
  const text = info.idx.text.slice(info.item.start, info.item.end);
  const body = text.slice(signature.length);
  const name = info.fn.name;
  const { head, params, tail } = paramList(signature, name);
  const inner = `${name}_locked`;
  const innerHead = `${/\bstatic\b/.test(head) ? '' : 'static '}${head.replace(/\s+$/, ' ').replace(/\*\s+$/, '*')}${inner}`;
  const innerSig = `${wrapCall(0, innerHead, params, '')}${tail}`;
  const fail = killedReturn(info.fn.returnType)!;
  const retVoid = fail === 'return;';
  const L: string[] = [];
  // Only void and signed integers are wrapped (planKernelLocks refuses the rest).
  if (!retVoid) L.push(`\t${bareType(info.fn.returnType)} lpc_ret;`, '');
  gs.forEach((g, i) => {
    const undo = gs.slice(0, i).reverse().map((x) => `\t\tlpc_guard_give(&${guardOf(x)});`);
    L.push(`\tif (lpc_guard_take(&${guardOf(g)}))${undo.length ? ' {' : ''}`);
    L.push(...undo, `\t\t${fail}`);
    if (undo.length) L.push('\t}');
  });
  const args = info.fn.params.filter((p) => p.name !== '' && p.type !== 'void').map((p) => p.name);
  L.push(wrapCall(1, retVoid ? inner : `lpc_ret = ${inner}`, args, ';'));
  for (const g of [...gs].reverse()) L.push(`\tlpc_guard_give(&${guardOf(g)});`);
  if (!retVoid) L.push('\treturn lpc_ret;');
  const names = gs.map((g) => g.name).join(', ');
  return `${innerSig}${body}\n\n/* ${names} ${gs.length > 1 ? 'are' : 'is'} shared with the user half: hold the lock both halves take. */\n${signature.trimEnd()}\n{\n${L.join('\n')}\n}`;
}

/** Declarations for the kernel half's header. */
export function guardDecls(locks: KernelLocks): string {
  if (locks.guarded.length === 0) return '';
  return `
/*
 * An LPC lock taken by kernel code: re-entrant for the task that owns it,
 * given back around each call into the user half (see lpc_guards_drop()).
 */
struct lpc_guard {
	struct lpc_lock *lock;
	struct task_struct *owner;
	unsigned int depth;
};

/* How deep the calling task held each guard when it gave them back. */
struct lpc_guards_held {
	unsigned int depth[${locks.guarded.length}];
};

${locks.guarded.map((g) => `extern struct lpc_guard ${guardOf(g)};`).join('\n')}

int lpc_guard_take(struct lpc_guard *g);
void lpc_guard_give(struct lpc_guard *g);
void lpc_guards_drop(struct lpc_guards_held *held);
void lpc_guards_retake(const struct lpc_guards_held *held);
`;
}

/** Definitions for the glue, after the lock table `table`. */
export function guardGlue(locks: KernelLocks, shared: SharedGlobal[], table: string): string {
  if (locks.guarded.length === 0) return '';
  const L: string[] = [];
  for (const g of locks.guarded) L.push(`struct lpc_guard ${guardOf(g)} = { .lock = &${table}[${shared.indexOf(g)}] };`);
  L.push('');
  L.push('/* In the table\'s order, the order both halves take them in. */');
  L.push('static struct lpc_guard *const lpc_guards[] = {');
  for (const g of locks.guarded) L.push(`\t&${guardOf(g)},`);
  L.push('};');
  return `${L.join('\n')}

/* Sleeps, killable: the daemon may hold the lock across returns to user space. */
int lpc_guard_take(struct lpc_guard *g)
{
	int ret;

	if (READ_ONCE(g->owner) == current) {
		g->depth++;
		return 0;
	}
	ret = lpc_lock_acquire(g->lock);
	if (ret)
		return ret;
	WRITE_ONCE(g->owner, current);
	g->depth = 1;
	return 0;
}

void lpc_guard_give(struct lpc_guard *g)
{
	/* Not ours: lpc_guards_retake() was killed before it got it back. */
	if (READ_ONCE(g->owner) != current)
		return;
	if (--g->depth)
		return;
	WRITE_ONCE(g->owner, NULL);
	lpc_lock_release(g->lock);
}

/* Gives back the guards the task holds, for the length of a call to the user half. */
void lpc_guards_drop(struct lpc_guards_held *held)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lpc_guards); i++) {
		struct lpc_guard *g = lpc_guards[i];

		held->depth[i] = 0;
		if (READ_ONCE(g->owner) != current)
			continue;
		held->depth[i] = g->depth;
		WRITE_ONCE(g->owner, NULL);
		lpc_lock_release(g->lock);
	}
}

/* Takes them again, in order; a task killed meanwhile goes on without them. */
void lpc_guards_retake(const struct lpc_guards_held *held)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lpc_guards); i++) {
		struct lpc_guard *g = lpc_guards[i];

		if (!held->depth[i] || lpc_lock_acquire(g->lock))
			continue;
		WRITE_ONCE(g->owner, current);
		g->depth = held->depth[i];
	}
}
`;
}

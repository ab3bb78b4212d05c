/**
 * Lock regions by a structured walk of one function body: branches merge (a lock is held
 * after an if when it may be held on either path), return/goto/break/continue end a
 * path, gotos merge into their label, loop bodies are visited once. trylock-style calls
 * in conditions take the lock only on the branch where they succeeded.
 */
import type Parser from 'tree-sitter';
import { atomicClass, guardClass, lockApi, type LockApi } from './apis.js';
import type { FileFacts } from './facts.js';
import type { LockClass } from './model.js';
import type { Annotation } from './sanitize.js';

type SyntaxNode = Parser.SyntaxNode;

interface Held {
  key: string;
  region: number;
  /** Scope id of a cleanup guard (released at the end of that block); 0 otherwise. */
  scope: number;
  /** Held on entry (from __releases/__must_hold): still holding it at exit is not acquiring it. */
  entry: boolean;
  /** `ret = mutex_lock_interruptible(..)`: the variable that tells whether it succeeded. */
  condVar?: string;
  success?: 'zero' | 'nonzero';
}
type State = Held[] | null;

interface CondLock {
  heldWhen: boolean;
  call?: { node: SyntaxNode; api: LockApi; name: string };
  region?: number;
}

/** `tp->lock` -> `struct rtl8139_private.lock` when tp's declared type is known, else the text. */
export function normalizeLock(text: string, typeOf: (name: string) => string | undefined): string {
  const t = text.replace(/\s+/g, '');
  const m = /^\(?([A-Za-z_]\w*)\)?(->|\.)(.+)$/.exec(t);
  if (m) {
    const type = typeOf(m[1]);
    if (type !== undefined) return `${type}.${m[3].replace(/->/g, '.')}`;
  }
  return t;
}

/** The declared type of a declaration as a lock-key prefix: `struct foo`, or a typedef name. */
export function typeKey(typeText: string): string | undefined {
  const m = /^(?:const\s+|volatile\s+)*(struct|union)\s+([A-Za-z_]\w*)/.exec(typeText.trim());
  if (m) return `${m[1]} ${m[2]}`;
  const t = /^(?:const\s+|volatile\s+)*([A-Za-z_]\w*)/.exec(typeText.trim());
  return t ? t[1] : undefined;
}

export function walkLocks(fnNode: SyntaxNode, fnIdx: number, facts: FileFacts, annotations: Annotation[], guards: Set<number>): void {
  const fn = facts.functions[fnIdx];
  const types = new Map<string, string>();
  for (const p of fn.params) {
    const k = typeKey(p.type);
    if (k !== undefined && p.name !== '') types.set(p.name, k);
  }
  for (const d of fnNode.descendantsOfType('declaration')) {
    const k = typeKey(d.childForFieldName('type')?.text ?? '');
    if (k === undefined) continue;
    for (const decl of d.childrenForFieldName('declarator')) {
      const id = innermostIdentifier(decl);
      if (id !== null && !types.has(id)) types.set(id, k);
    }
  }
  const keyOf = (text: string) => normalizeLock(text, (n) => types.get(n));

  const acquires = new Set<string>();
  const releases = new Set<string>();
  const breaks: State[][] = [];
  const continues: State[][] = [];
  const labels = new Map<string, State>();
  const scopes: number[] = [0];
  let nextScope = 1;

  const newRegion = (primitive: string, cls: LockClass, lockText: string, key: string, line: number) => {
    facts.regions.push({
      fn: fnIdx,
      primitive,
      lockClass: cls,
      atomic: atomicClass(cls) && !primitive.startsWith('srcu'),
      lock: key,
      lockText,
      maybeGlobal: /^[A-Za-z_]\w*$/.test(key) && !types.has(key) && !['rcu', 'irq', 'bh', 'preempt', 'rtnl_lock'].includes(key),
      acquireLine: line,
      releaseLines: [],
      callOffs: [],
    });
    return facts.regions.length - 1;
  };

  let state: State = [];
  for (const a of annotations) {
    const key = keyOf(a.lock);
    if (a.kind === 'acquires') acquires.add(key);
    if (a.kind === 'releases') releases.add(key);
    if (a.kind !== 'acquires') {
      const region = newRegion(`__${a.kind}`, 'other', a.lock, key, fn.startLine);
      state.push({ key, region, scope: 0, entry: true });
    }
  }

  const body = fnNode.childForFieldName('body');
  if (body !== null) state = visit(body, state);
  exit(state, fn.endLine);
  fn.acquires = [...acquires];
  fn.releases = [...releases];

  function exit(st: State, line: number): void {
    for (const h of st ?? []) {
      if (h.scope !== 0) facts.regions[h.region].releaseLines.push(line);
      else if (!h.entry) acquires.add(h.key);
    }
  }

  function visit(node: SyntaxNode, st: State): State {
    switch (node.type) {
      case 'compound_statement': {
        const scope = nextScope++;
        scopes.push(scope);
        for (const c of node.namedChildren) st = visit(c, st);
        scopes.pop();
        if (st === null) return null;
        const end = node.endPosition.row + 1;
        for (const h of st) if (h.scope === scope) facts.regions[h.region].releaseLines.push(end);
        return st.filter((h) => h.scope !== scope);
      }
      case 'labeled_statement': {
        const label = node.childForFieldName('label')?.text ?? '';
        st = merge(st, labels.get(label) ?? null);
        const inner = node.namedChildren[node.namedChildren.length - 1];
        return inner === undefined || inner.type === 'statement_identifier' ? st : visit(inner, st);
      }
      case 'function_definition': {
        // A statement macro tree-sitter read as a nested definition: walk its body in place.
        const b = node.childForFieldName('body');
        return b === null ? st : visit(b, st);
      }
    }
    if (st === null) return null;
    switch (node.type) {
      case 'if_statement':
        return visitIf(node, st);
      case 'while_statement':
      case 'for_statement':
      case 'do_statement':
        return visitLoop(node, st);
      case 'switch_statement':
        return visitSwitch(node, st);
      case 'return_statement':
        st = scan(node, st, false);
        exit(st, node.startPosition.row + 1);
        return null;
      case 'goto_statement': {
        const label = node.childForFieldName('label')?.text ?? '';
        labels.set(label, merge(labels.get(label) ?? null, st));
        return null;
      }
      case 'break_statement':
        breaks[breaks.length - 1]?.push(st);
        return null;
      case 'continue_statement':
        continues[continues.length - 1]?.push(st);
        return null;
      default:
        return scan(node, st, false);
    }
  }

  function visitIf(node: SyntaxNode, st: Held[]): State {
    const cond = node.childForFieldName('condition');
    const cons = node.childForFieldName('consequence');
    const alt = node.childForFieldName('alternative');
    const altStmt = alt?.type === 'else_clause' ? alt.namedChildren[0] ?? null : alt;
    if (guards.has(node.startIndex) && cond !== null && cons !== null) {
      // A rewritten scoped_guard(cls, lock): held for the statement that follows.
      const parts = cond.text.replace(/^\s*\(|\)\s*$/g, '').split(',').map((s) => s.trim());
      const g = guardClass(parts[0]);
      if (g === null) return visit(cons, st);
      const lockText = stripAddr(parts[1] ?? g.key ?? parts[0]);
      const key = g.key ?? keyOf(lockText);
      const region = newRegion(`scoped_guard(${parts[0]})`, g.cls, lockText, key, node.startPosition.row + 1);
      const scope = nextScope++;
      const after = visit(cons, [...st, { key, region, scope, entry: false }]);
      if (after === null) return null;
      facts.regions[region].releaseLines.push(cons.endPosition.row + 1);
      return after.filter((h) => h.scope !== scope);
    }
    if (cond !== null) st = scan(cond, st, true) ?? st;
    const lk = cond === null ? null : condLock(cond, st);
    let whenTrue: Held[] = st;
    let whenFalse: Held[] = st;
    if (lk?.call) {
      const { node: call, api, name } = lk.call;
      const lockText = lockArg(call, api);
      const key = api.key ?? keyOf(lockText);
      const region = newRegion(name, api.cls, lockText, key, call.startPosition.row + 1);
      const held = [...st, { key, region, scope: 0, entry: false }];
      if (lk.heldWhen) whenTrue = held;
      else whenFalse = held;
    } else if (lk?.region !== undefined) {
      const without = st.filter((h) => h.region !== lk.region);
      if (lk.heldWhen) whenFalse = without;
      else whenTrue = without;
    }
    const t = cons === null ? whenTrue : visit(cons, whenTrue);
    const f = altStmt === null ? whenFalse : visit(altStmt, whenFalse);
    return merge(t, f);
  }

  function visitLoop(node: SyntaxNode, st: Held[]): State {
    breaks.push([]);
    continues.push([]);
    const cond = node.childForFieldName('condition');
    const body = node.childForFieldName('body');
    let cur: State = st;
    if (node.type === 'for_statement') {
      const init = node.childForFieldName('initializer');
      if (init !== null) cur = scan(init, cur, false);
    }
    if (node.type !== 'do_statement' && cond !== null) cur = scan(cond, cur, false);
    const entry = cur;
    let after: State = body === null ? cur : visit(body, cur);
    for (const c of continues.pop() ?? []) after = merge(after, c);
    if (node.type === 'for_statement') {
      const update = node.childForFieldName('update');
      if (update !== null && after !== null) after = scan(update, after, false);
    }
    if (node.type === 'do_statement' && cond !== null && after !== null) after = scan(cond, after, false);
    let out = node.type === 'do_statement' ? after : merge(entry, after);
    for (const b of breaks.pop() ?? []) out = merge(out, b);
    return out;
  }

  function visitSwitch(node: SyntaxNode, st: Held[]): State {
    const cond = node.childForFieldName('condition');
    const entry = cond === null ? st : scan(cond, st, false);
    const body = node.childForFieldName('body');
    breaks.push([]);
    let cur: State = null;
    let hasDefault = false;
    for (const child of body?.namedChildren ?? []) {
      if (child.type !== 'case_statement') {
        cur = visit(child, cur);
        continue;
      }
      const value = child.childForFieldName('value');
      if (value === null) hasDefault = true;
      cur = merge(cur, entry);
      for (const s of child.namedChildren) if (value === null || s.id !== value.id) cur = visit(s, cur);
    }
    let out = hasDefault ? cur : merge(cur, entry);
    for (const b of breaks.pop() ?? []) out = merge(out, b);
    return out;
  }

  /** Calls in an expression or simple statement, innermost first, applied to the state. */
  function scan(node: SyntaxNode, st: State, inCondition: boolean): State {
    if (st === null) return null;
    for (const call of callsIn(node)) st = applyCall(call, st, inCondition);
    return st;
  }

  function applyCall(call: SyntaxNode, st: Held[], inCondition: boolean): Held[] {
    const f = call.childForFieldName('function');
    const line = call.startPosition.row + 1;
    if (f?.type === 'call_expression') {
      const inner = f.childForFieldName('function');
      if (inner?.text === 'guard') {
        const clsName = f.childForFieldName('arguments')?.namedChildren[0]?.text ?? '';
        const g = guardClass(clsName);
        if (g !== null) {
          const lockText = stripAddr(call.childForFieldName('arguments')?.namedChildren[0]?.text ?? clsName);
          const key = g.key ?? keyOf(lockText);
          const region = newRegion(`guard(${clsName})`, g.cls, lockText, key, line);
          return [...st, { key, region, scope: scopes[scopes.length - 1], entry: false }];
        }
      }
    }
    const name = f?.type === 'identifier' ? f.text : '';
    const api = lockApi(name);
    if (api === undefined || (api.op === 'try' && inCondition)) {
      record(call, st);
      return st;
    }
    const lockText = lockArg(call, api);
    const key = api.key ?? keyOf(lockText);
    if (api.op === 'release') {
      const released = st.filter((h) => h.key === key);
      record(call, st.filter((h) => h.key !== key));
      if (released.length === 0 || released.every((h) => h.entry)) releases.add(key);
      for (const h of released) facts.regions[h.region].releaseLines.push(line);
      return st.filter((h) => h.key !== key);
    }
    record(call, st);
    const region = newRegion(name, api.cls, lockText, key, line);
    const held: Held = { key, region, scope: 0, entry: false };
    if (api.op === 'try') {
      // Outside a condition: assume success, but remember the variable that says otherwise.
      const p = call.parent;
      const target = p?.type === 'assignment_expression' ? p.childForFieldName('left') : p?.type === 'init_declarator' ? p.childForFieldName('declarator') : null;
      if (target?.type === 'identifier') {
        held.condVar = target.text;
        held.success = api.success;
      }
    }
    return [...st, held];
  }

  function record(call: SyntaxNode, st: Held[]): void {
    for (const h of st) facts.regions[h.region].callOffs.push(call.startIndex);
  }

  function condLock(n: SyntaxNode, st: Held[]): CondLock | null {
    while (n.type === 'parenthesized_expression' && n.namedChildren.length === 1) n = n.namedChildren[0];
    switch (n.type) {
      case 'call_expression': {
        const name = n.childForFieldName('function')?.text ?? '';
        const args = n.childForFieldName('arguments')?.namedChildren ?? [];
        if ((name === 'likely' || name === 'unlikely') && args.length === 1) return condLock(args[0], st);
        const api = lockApi(name);
        return api?.op === 'try' ? { heldWhen: api.success === 'nonzero', call: { node: n, api, name } } : null;
      }
      case 'unary_expression': {
        const arg = n.childForFieldName('argument');
        const r = arg === null || !n.text.trimStart().startsWith('!') ? null : condLock(arg, st);
        return r === null ? null : { ...r, heldWhen: !r.heldWhen };
      }
      case 'binary_expression': {
        const op = n.childForFieldName('operator')?.type ?? '';
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        if (left === null || right === null) return null;
        if (op === '&&' || op === '||') {
          const r = condLock(left, st) ?? condLock(right, st);
          // Only the branch where every operand is decided tells for sure.
          return r !== null && r.heldWhen === (op === '&&') ? r : null;
        }
        if ((op === '==' || op === '!=' || op === '<') && right.text.trim() === '0') {
          const r = condLock(left, st);
          return r === null ? null : op === '==' ? { ...r, heldWhen: !r.heldWhen } : r;
        }
        return null;
      }
      case 'assignment_expression': {
        const right = n.childForFieldName('right');
        return right === null ? null : condLock(right, st);
      }
      case 'identifier': {
        const h = st.find((x) => x.condVar === n.text);
        return h === undefined ? null : { heldWhen: h.success === 'nonzero', region: h.region };
      }
      default:
        return null;
    }
  }
}

function lockArg(call: SyntaxNode, api: LockApi): string {
  if (api.arg < 0) return api.key ?? '';
  return stripAddr(call.childForFieldName('arguments')?.namedChildren[api.arg]?.text ?? '');
}

/** `&(tp->lock)` -> `tp->lock`. */
function stripAddr(text: string): string {
  let t = text.replace(/\s+/g, '');
  for (;;) {
    const before = t;
    if (t.startsWith('&')) t = t.slice(1);
    if (t.startsWith('(') && t.endsWith(')') && balanced(t.slice(1, -1))) t = t.slice(1, -1);
    if (t === before) return t;
  }
}

function balanced(s: string): boolean {
  let d = 0;
  for (const c of s) {
    if (c === '(') d++;
    else if (c === ')' && --d < 0) return false;
  }
  return d === 0;
}

function merge(a: State, b: State): State {
  if (a === null) return b;
  if (b === null) return a;
  const out = [...a];
  for (const h of b) if (!out.some((x) => x.region === h.region)) out.push(h);
  return out;
}

/** call_expression nodes under node, innermost (earliest ending) first. */
function callsIn(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const c = node.walk();
  let depth = 0;
  for (;;) {
    if (c.nodeType === 'call_expression') out.push(c.currentNode);
    if (c.gotoFirstChild()) {
      depth++;
      continue;
    }
    while (depth > 0 && !c.gotoNextSibling()) {
      c.gotoParent();
      depth--;
    }
    if (depth === 0) break;
  }
  return out.sort((x, y) => x.endIndex - y.endIndex || y.startIndex - x.startIndex);
}

function innermostIdentifier(d: SyntaxNode): string | null {
  let n: SyntaxNode | null = d;
  while (n !== null) {
    if (n.type === 'identifier') return n.text;
    n = n.childForFieldName('declarator');
  }
  return null;
}

/**
 * One file: sanitize, parse, and collect its facts in a single TreeCursor walk (reading
 * cursor.nodeType is far cheaper than materialising SyntaxNodes, so nodes are created
 * only for the few constructs that need a closer look). Lock regions are then walked
 * structurally, only in the functions that touch a lock.
 */
import type Parser from 'tree-sitter';
import { InputError } from '../errors.js';
import { LOCK_DEFINERS, REGISTRATIONS, lockApi } from './apis.js';
import type { FileFacts, RawCallKind, RawFunction } from './facts.js';
import { walkLocks } from './locks.js';
import type { Param } from './model.js';
import { sanitize, type Annotation } from './sanitize.js';
import { declaratorName, normalizeSpace, normalizeType, stripValue } from './syntax.js';
import { parseC } from './c-parser.js';

type SyntaxNode = Parser.SyntaxNode;


/** Node type names by id, filled as they are met (cursor.nodeType allocates a string per call). */
const typeNames: string[] = [];
/** Parents under which an identifier is the declared name (at child index 0, or anywhere when marked). */
const DECLARATOR_AT_0 = new Set(['init_declarator', 'array_declarator', 'function_declarator', 'attributed_declarator']);
const DECLARATOR_ANYWHERE = new Set(['pointer_declarator', 'parenthesized_declarator', 'declaration', 'parameter_declaration']);
/** Subtrees that hold no calls, references or stores: not descended into. */
const OPAQUE = new Set([
  'string_literal', 'concatenated_string', 'char_literal', 'number_literal', 'enumerator_list', 'field_declaration_list',
  'type_descriptor', 'primitive_type', 'sized_type_specifier', 'type_identifier', 'field_identifier', 'comment',
]);
/** Wrappers through which an identifier is still the value being stored or written. */
const LVALUE_WRAPPERS = new Map([['field_expression', 0], ['subscript_expression', 0], ['parenthesized_expression', -1], ['pointer_expression', 1]]);

export function extractFile(file: string, src: string): FileFacts {
  const nul = src.indexOf('\0');
  if (nul >= 0) throw new InputError('not C source: the file contains binary data', file, lineOf(src, nul));
  const san = sanitize(src);
  const text = san.text;
  const tree = parseC(text);

  const facts: FileFacts = {
    file,
    functions: [],
    calls: [],
    refs: [],
    stores: [],
    localAssigns: [],
    globals: [],
    defines: san.defines,
    regions: [],
    protoAnnotations: [],
    diagnostics: san.dropped.map((d) => ({ line: d.line, message: d.message })),
  };
  const lockWork: { fn: number; node: SyntaxNode; annotations: Annotation[] }[] = [];
  const fnNodes: SyntaxNode[] = [];
  const needsLock: boolean[] = [];
  const locals: Set<string>[] = [];
  const refSeen = new Set<string>();

  const types: string[] = [];
  const index: number[] = [0]; // child index of the node at each depth
  const fnStack: { idx: number; depth: number }[] = [];
  let errorDepth = -1;
  let errorChars = 0;
  let firstErrorLine = 0;

  const hasError = tree.rootNode.hasError;
  const cursor = tree.walk();
  let depth = 0;
  for (;;) {
    while (fnStack.length > 0 && fnStack[fnStack.length - 1].depth >= depth) fnStack.pop();
    if (errorDepth >= depth) errorDepth = -1;
    const typeId = cursor.nodeTypeId;
    const type = typeNames[typeId] ?? (typeNames[typeId] = cursor.nodeType);
    types[depth] = type;
    const fn = fnStack.length > 0 ? fnStack[fnStack.length - 1].idx : -1;

    switch (type) {
      case 'identifier': {
        // Field names cost a native call each; the child index tells the same here.
        const parent = types[depth - 1];
        const first = index[depth] === 0;
        if (first && (parent === 'call_expression' || parent === 'enumerator')) break; // a callee, an enumerator name
        if ((first && DECLARATOR_AT_0.has(parent)) || DECLARATOR_ANYWHERE.has(parent) || parent === 'macro_type_specifier') {
          // The function's own name sits in its declarator too: it is no local.
          if (fn >= 0) {
            const name = cursor.nodeText;
            if (name !== facts.functions[fn].name) locals[fn].add(name);
          }
          break;
        }
        const name = cursor.nodeText;
        // ALL_CAPS names are macros and enum constants, never functions or variables here.
        if (name === '' || /^[A-Z0-9_]+$/.test(name) || (fn >= 0 && locals[fn].has(name))) break;
        const write = isWrite(types, index, depth);
        const key = `${fn}\0${name}\0${write}`;
        if (!refSeen.has(key)) {
          refSeen.add(key);
          facts.refs.push({ fn, name, line: cursor.startPosition.row + 1, write });
        }
        break;
      }
      case 'call_expression':
        recordCall(fn);
        break;
      case 'function_definition': {
        const node = cursor.currentNode;
        const decl = functionDeclarator(node.childForFieldName('declarator'));
        const nameNode = decl?.childForFieldName('declarator');
        if (fn >= 0 || decl === null || nameNode?.type !== 'identifier') {
          // An iteration macro the sanitizer did not catch: its body belongs to the enclosing function.
          facts.diagnostics.push({
            line: node.startPosition.row + 1,
            message: fn >= 0 ? 'nested function definition (unrecognised statement macro): body attributed to the enclosing function' : 'function definition without a recognisable name',
          });
          break;
        }
        const idx = facts.functions.length;
        facts.functions.push(describeFunction(node, decl, nameNode, text, src));
        fnNodes.push(node);
        needsLock.push(false);
        locals.push(new Set(facts.functions[idx].params.map((p) => p.name).filter((p) => p !== '')));
        fnStack.push({ idx, depth });
        break;
      }
      case 'declaration':
        if (depth === 1) fileScopeDeclaration(cursor.currentNode);
        break;
      case 'initializer_pair':
        initializerPair(cursor.currentNode, fn);
        break;
      case 'assignment_expression':
        assignment(fn);
        break;
      case 'init_declarator':
        if (fn >= 0) localInit(fn);
        break;
      case 'ERROR':
        if (errorDepth < 0) {
          errorDepth = depth;
          errorChars += cursor.endIndex - cursor.startIndex;
          const line = cursor.startPosition.row + 1;
          if (firstErrorLine === 0) firstErrorLine = line;
          const snippet = normalizeSpace(cursor.nodeText).slice(0, 60);
          facts.diagnostics.push({ line, message: `unparsed code: ${snippet}` });
        }
        break;
    }
    if (hasError && cursor.nodeIsMissing) facts.diagnostics.push({ line: cursor.startPosition.row + 1, message: `missing ${type} inserted by the parser` });

    if (!OPAQUE.has(type) && cursor.gotoFirstChild()) {
      index[++depth] = 0;
      continue;
    }
    let done = false;
    while (!cursor.gotoNextSibling()) {
      if (!cursor.gotoParent()) {
        done = true;
        break;
      }
      depth--;
    }
    index[depth]++;
    if (done) break;
  }

  // Real kernel headers can be almost all ERROR (bitfield macros in struct bodies) yet are
  // full of `;`, braces and calls; prose and other non-C text has next to none of them.
  if (errorChars > 0.9 * text.length && facts.functions.length === 0 && notC(text)) {
    throw new InputError('not C source: the parser could make sense of almost none of it', file, firstErrorLine);
  }

  for (const a of san.annotations) {
    const idx = fnNodes.findIndex((n) => n.startIndex <= a.offset && a.offset < (n.childForFieldName('body')?.startIndex ?? n.endIndex));
    if (idx >= 0) {
      needsLock[idx] = true;
      const w = lockWork.find((x) => x.fn === idx);
      if (w) w.annotations.push(a);
      else lockWork.push({ fn: idx, node: fnNodes[idx], annotations: [a] });
    } else {
      const name = prototypeNameBefore(tree.rootNode, a.offset);
      if (name !== null) facts.protoAnnotations.push({ name, kind: a.kind, lock: a.lock });
    }
  }
  for (const g of san.scopedGuards) {
    const idx = fnNodes.findIndex((n) => n.startIndex <= g && g < n.endIndex);
    if (idx >= 0) needsLock[idx] = true;
  }
  const guards = new Set(san.scopedGuards);
  needsLock.forEach((need, idx) => {
    if (need && !lockWork.some((w) => w.fn === idx)) lockWork.push({ fn: idx, node: fnNodes[idx], annotations: [] });
  });
  for (const w of lockWork) walkLocks(w.node, w.fn, facts, w.annotations, guards);
  return facts;

  function recordCall(fn: number): void {
    const off = cursor.startIndex;
    const line = cursor.startPosition.row + 1;
    cursor.gotoFirstChild();
    const ftype = cursor.nodeType;
    let kind: RawCallKind = 'other';
    let name = '';
    const text = cursor.nodeText;
    if (ftype === 'identifier') {
      kind = 'direct';
      name = text;
    } else if (ftype === 'field_expression') {
      kind = 'field';
      name = lastFieldIdentifier();
    } else if (ftype === 'parenthesized_expression') {
      const inner = stripValue(cursor.currentNode);
      if (inner?.type === 'identifier') {
        kind = 'pointer';
        name = inner.text;
      } else if (inner?.type === 'field_expression') {
        kind = 'field';
        name = inner.childForFieldName('field')?.text ?? '';
      }
    } else if (ftype === 'subscript_expression') kind = 'subscript';
    else if (ftype === 'call_expression') {
      kind = 'call';
      if (/^guard\s*\(/.test(text) && fn >= 0) needsLock[fn] = true;
    }
    cursor.gotoParent();
    // guard(cls)(&lock) is a lock, not a call; the lock walk reads it.
    if ((kind === 'direct' && name === 'guard') || (kind === 'call' && /^guard\s*\(/.test(text))) return;
    // Direct calls are most of them and their text is their name: keep memory down.
    const call: FileFacts['calls'][number] = { fn, off, line, kind, name, text: kind === 'direct' ? '' : normalizeSpace(text) };
    if ((kind === 'direct' || kind === 'pointer') && fn >= 0 && locals[fn].has(name)) call.local = true;
    if (kind === 'direct') {
      if (fn >= 0 && lockApi(name) !== undefined) needsLock[fn] = true;
      const definer = LOCK_DEFINERS[name];
      if (REGISTRATIONS[name] !== undefined || (definer !== undefined && fn < 0)) {
        const argsNode = cursor.currentNode.childForFieldName('arguments');
        call.args = (argsNode?.namedChildren ?? []).map((a) => {
          const v = stripValue(a);
          return v?.type === 'identifier' ? v.text : null;
        });
        call.argLocal = call.args.map((a) => a !== null && fn >= 0 && locals[fn].has(a));
        if (definer !== undefined && fn < 0 && call.args[0]) {
          const before = src.slice(Math.max(0, off - 40), off);
          facts.globals.push({ name: call.args[0], isStatic: /\bstatic\s*$/.test(before), type: name, line, lockClass: definer });
        }
      }
    }
    facts.calls.push(call);
  }

  /** With the cursor on a field_expression: its field name. */
  function lastFieldIdentifier(): string {
    let name = '';
    if (cursor.gotoFirstChild()) {
      do {
        if (cursor.currentFieldName === 'field') name = cursor.nodeText;
      } while (cursor.gotoNextSibling());
      cursor.gotoParent();
    }
    return name;
  }

  /** With the cursor on a child: the identifier it stores (`f`, `&f`, `(void *)f`), or null. */
  function storedIdentifier(fn: number): string | null {
    const t = cursor.nodeType;
    if (t === 'identifier') {
      const name = cursor.nodeText;
      // Locals and constants are never function names: skip them without building nodes.
      return /^[A-Z0-9_]+$/.test(name) || (fn >= 0 && locals[fn].has(name)) ? null : name;
    }
    if (t !== 'pointer_expression' && t !== 'cast_expression' && t !== 'parenthesized_expression') return null;
    const v = stripValue(cursor.currentNode);
    return v?.type === 'identifier' ? v.text : null;
  }

  /** `x->f = fn` or `fp = fn`; children are left, operator, right (read by position: field names cost more). */
  function assignment(fn: number): void {
    cursor.gotoFirstChild();
    const leftType = cursor.nodeType;
    let field = '';
    let variable = '';
    if (leftType === 'field_expression') field = lastFieldIdentifier();
    else if (leftType === 'identifier' && fn >= 0) variable = cursor.nodeText;
    let value: string | null = null;
    if ((field !== '' || variable !== '') && cursor.gotoNextSibling() && cursor.nodeType === '=' && cursor.gotoNextSibling()) {
      value = storedIdentifier(fn);
    }
    cursor.gotoParent();
    if (value === null) return;
    const line = cursor.startPosition.row + 1;
    if (field !== '') facts.stores.push({ fn, field, value, line, fromInit: false });
    else facts.localAssigns.push({ fn, variable, value, line });
  }

  /** `irq_handler_t handler = fn;`: children are declarator, '=', value. */
  function localInit(fn: number): void {
    cursor.gotoFirstChild();
    const variable = cursor.nodeType === 'identifier' ? cursor.nodeText : null;
    let value: string | null = null;
    if (cursor.gotoNextSibling() && cursor.nodeType === '=' && cursor.gotoNextSibling()) value = storedIdentifier(fn);
    cursor.gotoParent();
    if (value === null) return;
    const name = variable ?? declaratorName(cursor.currentNode.childForFieldName('declarator'));
    if (name !== null) facts.localAssigns.push({ fn, variable: name, value, line: cursor.startPosition.row + 1 });
  }

  function initializerPair(node: SyntaxNode, fn: number): void {
    const value = stripValue(node.childForFieldName('value'));
    if (value?.type !== 'identifier') return;
    const path: string[] = [];
    for (const d of node.childrenForFieldName('designator')) {
      if (d.type === 'field_designator') path.push(d.text.replace(/^\s*\.\s*/, ''));
    }
    if (path.length === 0) return;
    // Walk out through nested lists (`.driver = { .pm = &x }`) to the declaration's struct type.
    let structType: string | undefined;
    for (let p = node.parent; p !== null; p = p.parent) {
      if (p.type === 'initializer_pair') {
        const outer = p.childrenForFieldName('designator').filter((d) => d.type === 'field_designator');
        path.unshift(...outer.map((d) => d.text.replace(/^\s*\.\s*/, '')));
      } else if (p.type === 'declaration') {
        const t = p.childForFieldName('type');
        if (t?.type === 'struct_specifier' || t?.type === 'union_specifier') structType = t.childForFieldName('name')?.text;
        else if (t?.type === 'type_identifier') structType = t.text;
        break;
      } else if (p.type === 'function_definition' || p.type === 'compound_statement') break;
    }
    facts.stores.push({ fn, field: path.join('.'), value: value.text, line: node.startPosition.row + 1, structType, fromInit: true });
  }

  function fileScopeDeclaration(node: SyntaxNode): void {
    let isStatic = false;
    let skip = false;
    for (const c of node.children) {
      if (c.type === 'storage_class_specifier') {
        if (c.text === 'static') isStatic = true;
        if (c.text === 'extern') skip = true;
      }
    }
    const typeNode = node.childForFieldName('type');
    if (skip || typeNode === null) return;
    for (const d of node.childrenForFieldName('declarator')) {
      if (functionDeclarator(d) !== null) continue; // a prototype
      const name = declaratorName(d);
      if (name === null) continue;
      const decl = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
      const stars = decl?.type === 'pointer_declarator' ? decl.text.replace(/[^*].*$/s, '') : '';
      facts.globals.push({
        name,
        isStatic,
        type: normalizeType(`${typeNode.text} ${stars}`),
        line: d.startPosition.row + 1,
      });
    }
  }
}

const C_TYPE_WORDS = new Set(['int', 'long', 'short', 'char', 'unsigned', 'signed', 'void', 'float', 'double', '_Bool', 'const', 'volatile']);

/**
 * Name, storage and signature from the header text: cheaper than materialising a node per
 * specifier and parameter. Parameter types come from the original text (`__user` kept).
 */
function describeFunction(node: SyntaxNode, decl: SyntaxNode, nameNode: SyntaxNode, text: string, src: string): RawFunction {
  const prefix = text.slice(node.startIndex, nameNode.startIndex);
  const params: Param[] = [];
  const list = decl.childForFieldName('parameters');
  if (list !== null) {
    for (const raw of splitTopLevel(src.slice(list.startIndex + 1, list.endIndex - 1))) {
      const p = raw.replace(/\/\*[\s\S]*?\*\//g, ' ').trim();
      if (p === '' || p === 'void') continue;
      if (p === '...') {
        params.push({ name: '', type: '...' });
        continue;
      }
      const fp = /\(\s*\*\s*([A-Za-z_]\w*)\s*\)/.exec(p);
      const last = /([A-Za-z_]\w*)\s*(\[[^\]]*\]\s*)*$/.exec(p);
      const words = p.replace(/[*()[\]]/g, ' ').trim().split(/\s+/);
      const typeOnly = words.length === 1 || (/^(struct|union|enum)$/.test(words[0]) && words.length === 2) || C_TYPE_WORDS.has(last?.[1] ?? '');
      const m = fp ?? (typeOnly ? null : last);
      const name = m?.[1] ?? '';
      const at = m === null ? -1 : m.index + m[0].indexOf(name, m === fp ? 1 : 0);
      params.push({ name, type: normalizeType(at < 0 ? p : p.slice(0, at) + p.slice(at + name.length)) });
    }
  }
  return {
    name: nameNode.text,
    isStatic: /\bstatic\b/.test(prefix),
    isInline: /\b(inline|__inline|__inline__)\b/.test(prefix),
    startLine: node.startPosition.row + 1,
    endLine: node.endPosition.row + 1,
    returnType: normalizeType(prefix.replace(/\b(static|inline|__inline|__inline__|extern)\b|\(/g, ' ')),
    params,
    acquires: [],
    releases: [],
  };
}

/** Splits a parameter list at commas outside parentheses and brackets. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** Follows pointer/parenthesized/attributed declarators to the function_declarator, if any. */
function functionDeclarator(d: SyntaxNode | null): SyntaxNode | null {
  while (d !== null) {
    if (d.type === 'function_declarator') {
      // `int (*f(void))(int)` returns a function pointer; the name sits in the inner declarator.
      const inner = d.childForFieldName('declarator');
      if (inner !== null && inner.type !== 'identifier') {
        const deeper = functionDeclarator(inner);
        if (deeper !== null) return deeper;
      }
      return d;
    }
    if (d.type !== 'pointer_declarator' && d.type !== 'parenthesized_declarator' && d.type !== 'attributed_declarator') return null;
    d = d.childForFieldName('declarator') ?? d.namedChildren.find((c) => c.type.endsWith('declarator')) ?? null;
  }
  return null;
}

/** Whether the identifier at `depth` is written: the target of an assignment or ++/--. */
function isWrite(types: string[], index: number[], depth: number): boolean {
  let d = depth;
  // Through `x.f`, `x[i]` (x is child 0), `*x` (x is child 1, after the operator) and `(x)`.
  while (d > 1 && LVALUE_WRAPPERS.has(types[d - 1]) && (index[d] === LVALUE_WRAPPERS.get(types[d - 1]) || types[d - 1] === 'parenthesized_expression')) d--;
  const parent = types[d - 1];
  return (parent === 'assignment_expression' && index[d] === 0) || parent === 'update_expression';
}

/** For an annotation outside any function body: the name of the prototype it follows. */
function prototypeNameBefore(root: SyntaxNode, offset: number): string | null {
  const node = root.descendantForIndex(Math.max(0, offset - 1));
  for (let p: SyntaxNode | null = node; p !== null; p = p.parent) {
    if (p.type === 'declaration') {
      for (const d of p.childrenForFieldName('declarator')) {
        const f = functionDeclarator(d);
        const id = f?.childForFieldName('declarator');
        if (id?.type === 'identifier') return id.text;
      }
      return null;
    }
  }
  return null;
}

function notC(text: string): boolean {
  const code = text.replace(/\s+/g, '').length;
  // X-macro tables (`UNUSUAL_DEV(..),` lines) have calls instead.
  const structure = text.replace(/[^;{}]+/g, '').length + (text.match(/\w\s*\(/g)?.length ?? 0);
  return code > 200 && structure < 0.005 * code;
}

function lineOf(src: string, offset: number): number {
  let line = 1;
  for (let i = src.indexOf('\n'); i >= 0 && i < offset; i = src.indexOf('\n', i + 1)) line++;
  return line;
}

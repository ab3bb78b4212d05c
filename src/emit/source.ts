/**
 * The top level of one C file as emit needs it: every item (function,
 * declaration, type, directive, macro statement) with its character range in
 * the original text and the identifiers it mentions, plus the struct, enum
 * and typedef definitions the marshaller lays out. The text is parsed after
 * the parser's sanitize pass, which keeps every offset, so ranges point into
 * the original source and rewriting keeps the author's text byte for byte.
 */
import type Parser from 'tree-sitter';
import { InputError } from '../errors.js';
import { sanitize, type MacroDef } from '../parse/sanitize.js';
import { declaratorName, normalizeSpace } from '../parse/syntax.js';
import path from 'node:path';
import { parseC } from '../parse/c-parser.js';
import { quotedIncludes } from '../parse/includes.js';

type SyntaxNode = Parser.SyntaxNode;


export type ItemKind = 'function' | 'prototype' | 'variable' | 'type' | 'directive' | 'statement' | 'comment';

export interface TopItem {
  kind: ItemKind;
  /** Names it defines: the function, the variables, the type tags and typedef names. */
  names: string[];
  start: number;
  end: number;
  line: number;
  endLine: number;
  isStatic: boolean;
  /** A variable declared const (its value can be copied to the other half). */
  isConst: boolean;
  /** Identifiers mentioned (calls, variables, macros, type names). */
  refs: Set<string>;
  /** For variables: the declared type without the name ('unsigned int', 'struct foo'), with array dims. */
  varType?: string;
}

export interface FieldDef {
  name: string;
  /** Base type as written ('u32', 'struct sample_config', 'enum sample_mode'). */
  base: string;
  pointers: number;
  /** Array dimensions as written ('SAMPLE_BUF_SIZE', '16'). */
  dims: string[];
  bitfield: boolean;
  funcPtr: boolean;
}

export interface StructDef {
  tag: string;
  union: boolean;
  fields: FieldDef[];
  file: string;
  line: number;
}

export interface SourceIndex {
  file: string;
  text: string;
  items: TopItem[];
  structs: StructDef[];
  enums: string[];
  /** typedef name -> the type it stands for, as a FieldDef-like description. */
  typedefs: Map<string, FieldDef>;
  defines: MacroDef[];
  /** Offsets of each line start, for offset -> line. */
  lineStarts: number[];
}

const QUALIFIERS = /\b(const|volatile|restrict|__restrict|register|static|extern|inline|__inline|__inline__)\b/g;

function collectIds(n: SyntaxNode, out: Set<string>): void {
  if (n.type === 'identifier' || n.type === 'type_identifier' || n.type === 'field_identifier') {
    if (n.type !== 'field_identifier') out.add(n.text);
    return;
  }
  for (const c of n.namedChildren) collectIds(c, out);
}

/** Pointer depth, array dims and function-pointer-ness of a declarator. */
export function describeDeclarator(d: SyntaxNode | null): { pointers: number; dims: string[]; funcPtr: boolean } {
  let pointers = 0;
  const dims: string[] = [];
  let funcPtr = false;
  let inner = false;
  while (d !== null) {
    if (d.type === 'pointer_declarator') {
      pointers++;
      if (inner) funcPtr = true;
    } else if (d.type === 'array_declarator') {
      const size = d.childForFieldName('size');
      dims.push(size ? normalizeSpace(size.text) : '');
    } else if (d.type === 'function_declarator') {
      inner = true;
    } else if (d.type === 'parenthesized_declarator') {
      // (*fp)(...)
    } else if (d.type === 'identifier' || d.type === 'field_identifier' || d.type === 'type_identifier') break;
    d = d.childForFieldName('declarator') ?? d.namedChildren.find((c) => c.type.endsWith('declarator') || c.type.endsWith('identifier')) ?? null;
  }
  if (inner && pointers > 0) funcPtr = true;
  return { pointers, dims, funcPtr };
}

function baseTypeText(typeNode: SyntaxNode | null, original: string): string {
  if (!typeNode) return '';
  return normalizeSpace(original.slice(typeNode.startIndex, typeNode.endIndex).replace(QUALIFIERS, ' '));
}

function structFromNode(n: SyntaxNode, file: string, original: string): StructDef | null {
  const name = n.childForFieldName('name');
  const body = n.childForFieldName('body');
  if (!name || !body) return null;
  const fields: FieldDef[] = [];
  for (const f of body.namedChildren) {
    if (f.type !== 'field_declaration') continue;
    const typeNode = f.childForFieldName('type');
    const base = baseTypeText(typeNode, original);
    const bitfield = f.namedChildren.some((c) => c.type === 'bitfield_clause');
    const decls = f.childrenForFieldName('declarator');
    if (decls.length === 0) {
      // An anonymous struct or union member: its fields count as one opaque blob.
      fields.push({ name: '', base, pointers: 0, dims: [], bitfield, funcPtr: false });
    }
    for (const d of decls) {
      const info = describeDeclarator(d);
      fields.push({ name: declaratorName(d) ?? '', base, ...info, bitfield });
    }
  }
  return { tag: name.text, union: n.type === 'union_specifier', fields, file, line: n.startPosition.row + 1 };
}

export function lineOfOffset(idx: SourceIndex, offset: number): number {
  let lo = 0;
  let hi = idx.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (idx.lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

export function indexSource(file: string, text: string): SourceIndex {
  const san = sanitize(text);
  const tree = parseC(san.text);
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const idx: SourceIndex = { file, text, items: [], structs: [], enums: [], typedefs: new Map(), defines: san.defines, lineStarts };

  // Directives and comments are blanked by sanitize: recover them from the original text.
  const gaps: TopItem[] = [];
  const addGapItems = (from: number, to: number): void => {
    const re = /^[ \t]*(#(?:[^\n\\]|\\\n|\\[^\n])*|\/\*[\s\S]*?\*\/|\/\/[^\n]*)/gm;
    re.lastIndex = from;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null && m.index < to) {
      const start = m.index + (m[0].length - m[0].trimStart().length);
      const end = m.index + m[0].length;
      if (end > to) break;
      const body = m[1];
      const refs = new Set<string>();
      if (body.startsWith('#')) for (const id of body.matchAll(/[A-Za-z_]\w*/g)) refs.add(id[0]);
      const def = /^#\s*define\s+([A-Za-z_]\w*)/.exec(body);
      gaps.push({
        kind: body.startsWith('#') ? 'directive' : 'comment',
        names: def ? [def[1]] : [],
        start,
        end,
        line: 0,
        endLine: 0,
        isStatic: false,
        isConst: false,
        refs,
      });
    }
  };

  const root = tree.rootNode;
  let prevEnd = 0;
  const items: TopItem[] = [];
  const visitTypes = (n: SyntaxNode): void => {
    if ((n.type === 'struct_specifier' || n.type === 'union_specifier') && n.childForFieldName('body')) {
      const s = structFromNode(n, file, text);
      if (s) idx.structs.push(s);
    }
    if (n.type === 'enum_specifier' && n.childForFieldName('body')) {
      const name = n.childForFieldName('name');
      if (name) idx.enums.push(name.text);
    }
    for (const c of n.namedChildren) if (c.type !== 'compound_statement') visitTypes(c);
  };
  for (const n of root.namedChildren) {
    if (n.type === 'comment') continue;
    addGapItems(prevEnd, n.startIndex);
    prevEnd = n.endIndex;
    const refs = new Set<string>();
    collectIds(n, refs);
    visitTypes(n);
    const storage = n.namedChildren.filter((c) => c.type === 'storage_class_specifier').map((c) => c.text);
    const isStatic = storage.includes('static');
    const isConst = n.namedChildren.some((c) => c.type === 'type_qualifier' && c.text === 'const');
    const base = { start: n.startIndex, end: n.endIndex, line: n.startPosition.row + 1, endLine: n.endPosition.row + 1, isStatic, isConst, refs };
    if (n.type === 'function_definition') {
      const name = declaratorName(n.childForFieldName('declarator'));
      items.push({ ...base, kind: 'function', names: name ? [name] : [] });
    } else if (n.type === 'declaration') {
      const decls = n.childrenForFieldName('declarator');
      const isProto = decls.length > 0 && decls.every((d) => d.type === 'function_declarator' || (d.type === 'pointer_declarator' && describeDeclarator(d).pointers > 0 && d.text.includes('(') && !d.text.startsWith('(*')));
      const names = decls.map((d) => declaratorName(d)).filter((x): x is string => x !== null);
      const typeNode = n.childForFieldName('type');
      if (decls.length === 0) {
        const tag = typeNode?.childForFieldName('name')?.text;
        items.push({ ...base, kind: 'type', names: tag ? [tag] : [] });
      } else if (isProto) items.push({ ...base, kind: 'prototype', names });
      else {
        const d0 = decls[0];
        const info = describeDeclarator(d0.type === 'init_declarator' ? d0.childForFieldName('declarator') : d0);
        const varType = `${baseTypeText(typeNode, text)}${' *'.repeat(info.pointers)}${info.dims.map((x) => `[${x}]`).join('')}`;
        items.push({ ...base, kind: 'variable', names, varType });
      }
    } else if (n.type === 'type_definition') {
      const names = n.childrenForFieldName('declarator').map((d) => declaratorName(d)).filter((x): x is string => x !== null);
      const typeNode = n.childForFieldName('type');
      for (const d of n.childrenForFieldName('declarator')) {
        const name = declaratorName(d);
        if (name) idx.typedefs.set(name, { name, base: baseTypeText(typeNode, text), ...describeDeclarator(d), bitfield: false });
      }
      items.push({ ...base, kind: 'type', names });
    } else if (n.type === 'struct_specifier' || n.type === 'union_specifier' || n.type === 'enum_specifier') {
      const tag = n.childForFieldName('name')?.text;
      // `struct x { ... };` parses as a specifier followed by a stray ';'.
      let end = n.endIndex;
      const semi = /^\s*;/.exec(text.slice(end));
      if (semi) end += semi[0].length;
      prevEnd = end;
      items.push({ ...base, end, kind: 'type', names: tag ? [tag] : [] });
    } else if (n.type === 'expression_statement') {
      items.push({ ...base, kind: 'statement', names: [] });
    } else if (n.type === 'ERROR') {
      throw new InputError('emit cannot read this part of the file (a syntax error or an unsupported macro at file scope)', file, n.startPosition.row + 1);
    } else if (n.type === ';') {
      continue;
    } else {
      items.push({ ...base, kind: 'statement', names: [] });
    }
  }
  addGapItems(prevEnd, text.length);
  for (const g of gaps) {
    g.line = lineOfOffset(idx, g.start);
    g.endLine = lineOfOffset(idx, g.end);
  }
  idx.items = [...items, ...gaps].sort((a, b) => a.start - b.start);
  return idx;
}

/** The comment that immediately precedes an item (no blank line between), if any. */
export function leadingComment(idx: SourceIndex, item: TopItem): TopItem | undefined {
  const i = idx.items.indexOf(item);
  const prev = i > 0 ? idx.items[i - 1] : undefined;
  if (!prev || prev.kind !== 'comment') return undefined;
  return prev.endLine >= item.line - 1 ? prev : undefined;
}

/**
 * The translation unit of each source: a .c that another source includes
 * (uhci-hcd.c includes its bus glue and debug code) belongs to the includer's
 * unit, where its statics are visible; every other source is its own.
 */
export function translationUnits(indexes: SourceIndex[]): Map<SourceIndex, SourceIndex> {
  const byPath = new Map(indexes.map((i) => [path.resolve(i.file), i] as const));
  const includer = new Map<SourceIndex, SourceIndex>();
  for (const idx of indexes) {
    for (const file of quotedIncludes(idx.file, idx.text)) {
      const inc = file.endsWith('.c') ? byPath.get(file) : undefined;
      if (inc && inc !== idx && !includer.has(inc)) includer.set(inc, idx);
    }
  }
  const unit = new Map<SourceIndex, SourceIndex>();
  for (const idx of indexes) {
    let root = idx;
    for (let hops = 0; includer.has(root) && hops < indexes.length; hops++) root = includer.get(root)!;
    unit.set(idx, root);
  }
  return unit;
}

/**
 * The preprocessor conditionals an item sits in, as directive lines that
 * reproduce them elsewhere: each open level's #if/#ifdef/#ifndef and the
 * #elif/#else lines up to the item's branch (then one #endif per level).
 */
export function conditionsOf(idx: SourceIndex, item: TopItem): string[][] {
  const levels: string[][] = [];
  for (const it of idx.items) {
    if (it.start >= item.start) break;
    if (it.kind !== 'directive') continue;
    const line = idx.text.slice(it.start, it.end);
    const kw = /^#\s*(\w+)/.exec(line)?.[1];
    if (kw === 'if' || kw === 'ifdef' || kw === 'ifndef') levels.push([line]);
    else if ((kw === 'elif' || kw === 'else') && levels.length > 0) levels[levels.length - 1].push(line);
    else if (kw === 'endif') levels.pop();
  }
  return levels;
}

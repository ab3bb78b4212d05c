/**
 * A pre-pass over unpreprocessed kernel C that keeps every character offset and line
 * number, so tree-sitter positions still point into the original file. It removes what
 * tree-sitter-c cannot parse (comments, directives, annotation macros, brace-unbalanced
 * #if branches) and repairs common macro idioms, while recording what it removed that
 * the analysis needs (#define bodies, __acquires/__releases, scoped_guard sites).
 */

export interface MacroDef {
  name: string;
  params: string[] | null; // null for object-like macros
  body: string;
  line: number;
}

export type AnnotationKind = 'acquires' | 'releases' | 'must_hold';

export interface Annotation {
  kind: AnnotationKind;
  lock: string;
  offset: number;
  line: number;
}

export interface Sanitized {
  text: string;
  defines: MacroDef[];
  annotations: Annotation[];
  /** Offsets of `scoped_guard` rewritten to `if`: the if statement starting there is a guard. */
  scopedGuards: number[];
  /** Live #if branches dropped because their braces do not balance: line and reason. */
  dropped: { line: number; message: string }[];
}

const SP = 32;
const NL = 10;

/** Annotations that carry no meaning for a call graph; blanked, with their (...) if any. */
const BLANKED = new Set([
  '__init', '__exit', '__initdata', '__exitdata', '__initconst', '__exitconst', '__devinit', '__devexit',
  '__devinitdata', '__devinitconst', '__devexit_p', '__cpuinit', '__cpuinitdata', '__meminit', '__ref', '__refdata',
  '__refconst', '__iomem', '__user', '__kernel', '__force', '__rcu', '__percpu', '__must_check', '__maybe_unused',
  '__always_unused', '__used', '__cold', '__hot', '__always_inline', 'noinline', 'noinline_for_stack', '__noreturn',
  '__pure', '__packed', '__read_mostly', '__ro_after_init', '__visible', 'notrace', '__sched', '__weak', '__bitwise',
  '__attribute_const__', '__deprecated', '__cacheline_aligned', '____cacheline_aligned', '__cacheline_aligned_in_smp',
  '____cacheline_aligned_in_smp', '__aligned', '__section', '__printf', '__scanf', '__attribute__', '__attribute',
  '__nocast', '__safe', '__kprobes', '__irq_entry', '__softirq_entry', '__nostackprotector', 'asmlinkage',
  '__latent_entropy', '__randomize_layout', '__no_randstruct', '__designated_init', '__counted_by', '__malloc',
  '__alloc_size', '__nonstring', '__mustverify', '__private', '__le_bitwise', '__iomem_ptr', '__noclone',
  '__no_sanitize_address', '__no_kcsan', 'noinstr', '__flatten', '__naked', '__gnu_inline', '__initdata_or_module',
  '__init_or_module', '__exit_p', '__pcpu_scope', '__lockfunc', '__no_profile', '__assume_aligned', '__mode',
]);
const LOCK_ANNOTATIONS = new Map<string, AnnotationKind>([
  ['__acquires', 'acquires'],
  ['__releases', 'releases'],
  ['__must_hold', 'must_hold'],
]);
/** Arguments that name a type, where `struct x` would be legal. */
const TYPE_TAKING = new Set([
  'sizeof', 'offsetof', 'typeof', '__typeof__', '__typeof', '_Alignof', '__alignof__', 'alignof', 'va_arg',
  '__builtin_offsetof', '__builtin_types_compatible_p',
]);
const KEYWORDS = new Set([
  'if', 'while', 'for', 'switch', 'return', 'sizeof', 'do', 'else', 'case', 'goto', 'default', 'break', 'continue',
  'typeof', '__typeof__', 'defined', 'asm', '__asm__', '__asm', 'volatile', 'struct', 'union', 'enum',
]);
const CONTROL = new Set(['if', 'while', 'for', 'switch']);

const isIdStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isIdChar = (c: number) => isIdStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isWs = (c: number) => c === SP || c === NL || c === 9 || c === 13 || c === 12 || c === 11;

const VALID_NUMBER = /^(0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*([pP][+-]?[0-9]+)?|0[bB][01]+|[0-9]*\.?[0-9]*([eE][+-]?[0-9]+)?)[uUlLfF]*$/;

interface Directive {
  start: number;
  end: number; // exclusive, before the newline
  line: number;
  text: string; // comments removed, continuations joined
}

export function sanitize(src: string): Sanitized {
  const n = src.length;
  // Buffer.alloc is never pooled, so the view starts 2-byte aligned.
  const buf = Buffer.alloc(n * 2);
  buf.write(src, 'utf16le');
  const out = new Uint16Array(buf.buffer, buf.byteOffset, n);
  const blank = (a: number, b: number) => {
    for (let i = a; i < b; i++) if (out[i] !== NL) out[i] = SP;
  };

  // Pass 1: comments, directives, strings; brace positions in code for #if balance.
  const directives: Directive[] = [];
  const braceAt: number[] = [];
  const braceDelta: number[] = [];
  let line = 1;
  let atLineStart = true;
  let i = 0;
  while (i < n) {
    const c = out[i];
    if (c === NL) {
      line++;
      atLineStart = true;
      i++;
      continue;
    }
    if (isWs(c)) {
      i++;
      continue;
    }
    if (c === 35 /* # */ && atLineStart) {
      const start = i;
      const startLine = line;
      let text = '';
      let seg = i; // start of the directive text not yet copied into `text`
      while (i < n) {
        const d = out[i];
        if (d === 47 && out[i + 1] === 42) {
          const close = src.indexOf('*/', i + 2);
          const e = close < 0 ? n : close + 2;
          for (let k = i; k < e; k++) if (out[k] === NL) line++;
          text += src.slice(seg, i) + ' ';
          i = seg = e;
          continue;
        }
        if (d === 47 && out[i + 1] === 47) {
          text += src.slice(seg, i);
          seg = i;
          while (i < n && out[i] !== NL) i++;
          break;
        }
        if (d === 92 /* \ */ && (out[i + 1] === NL || (out[i + 1] === 13 && out[i + 2] === NL))) {
          text += src.slice(seg, i) + ' ';
          i += out[i + 1] === 13 ? 3 : 2;
          seg = i;
          line++;
          continue;
        }
        if (d === NL) break;
        i++;
      }
      if (seg < i && !(out[seg] === 47 && out[seg + 1] === 47)) text += src.slice(seg, i);
      directives.push({ start, end: i, line: startLine, text });
      blank(start, i);
      continue;
    }
    atLineStart = false;
    if (c === 47 && out[i + 1] === 42) {
      const close = src.indexOf('*/', i + 2);
      const e = close < 0 ? n : close + 2;
      for (let k = i; k < e; k++) if (out[k] === NL) line++;
      blank(i, e);
      i = e;
      continue;
    }
    if (c === 47 && out[i + 1] === 47) {
      const s = i;
      while (i < n && out[i] !== NL) i++;
      blank(s, i);
      continue;
    }
    if (c === 34 || c === 39) {
      i = skipQuoted(out, i);
      continue;
    }
    if (c === 123 || c === 125) {
      braceAt.push(i);
      braceDelta.push(c === 123 ? 1 : -1);
    }
    i++;
  }

  const defines: MacroDef[] = [];
  for (const d of directives) {
    const m = /^#\s*define\s+([A-Za-z_]\w*)(\(([^)]*)\))?\s*([\s\S]*)$/.exec(d.text);
    if (!m) continue;
    const params = m[2] === undefined ? null : m[3].split(',').map((p) => p.trim()).filter((p) => p !== '');
    defines.push({ name: m[1], params, body: m[4].trim(), line: d.line });
  }

  const dropped = resolveConditionals(directives, braceAt, braceDelta, blank);

  // Pass 2: token-level repairs on the code that remains.
  const annotations: Annotation[] = [];
  const scopedGuards: number[] = [];
  const lineAt = lineIndex(src);
  // Paren stack: the identifier before each '(' (or '' when none).
  const parenPrefix: string[] = [];
  let depth = 0;
  let prevTok = ''; // last significant token: identifier text or a single punctuation char
  let prevParenPrefix = ''; // for a ')' prevTok: the identifier that preceded its '('
  i = 0;
  while (i < n) {
    const c = out[i];
    if (isWs(c)) {
      i++;
      continue;
    }
    if (c === 34 || c === 39) {
      i = skipQuoted(out, i);
      prevTok = '"';
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(out[i + 1]))) {
      const s = i;
      const hex = c === 48 && (out[i + 1] === 120 || out[i + 1] === 88);
      while (i < n) {
        const d = out[i];
        const exponentSign = (d === 43 || d === 45) && !hex && (out[i - 1] === 101 || out[i - 1] === 69);
        if (!isIdChar(d) && d !== 46 && !exponentSign) break;
        i++;
      }
      const tok = src.slice(s, i);
      // A pasted token such as 1371_SMPRATE from ES_REG(e, 1371_SMPRATE): make it an identifier.
      if (!VALID_NUMBER.test(tok) && /[A-Za-z_]/.test(tok)) out[s] = 95;
      prevTok = '0';
      continue;
    }
    if (isIdStart(c)) {
      const s = i;
      while (i < n && isIdChar(out[i])) i++;
      const id = src.slice(s, i);
      const ann = LOCK_ANNOTATIONS.get(id);
      if (ann !== undefined || BLANKED.has(id)) {
        let e = i;
        const p = skipWs(out, i);
        if (out[p] === 40) {
          const close = matchParen(out, p);
          if (ann !== undefined) {
            for (const lock of src.slice(p + 1, close).split(',')) {
              const l = lock.trim();
              if (l !== '') annotations.push({ kind: ann, lock: l, offset: s, line: lineAt(s) });
            }
          }
          e = close + 1;
        }
        blank(s, e);
        i = e;
        continue;
      }
      if ((id === 'struct' || id === 'union' || id === 'enum') && (prevTok === '(' || prevTok === ',')) {
        const prefix = parenPrefix[parenPrefix.length - 1] ?? '';
        if (prefix !== '' && !TYPE_TAKING.has(prefix)) {
          let p = skipWs(out, i);
          if (isIdStart(out[p])) {
            while (p < n && isIdChar(out[p])) p++;
            p = skipWs(out, p);
            // `container_of(p, struct foo, member)`: a type where an expression must be.
            if (out[p] === 44 || out[p] === 41) blank(s, i);
          }
        }
      }
      if (id === 'case') blankCaseRange(out, i, blank);
      if (id === 'static' && depth === 0) {
        const p = skipWs(out, i);
        let q = p;
        while (q < n && isIdChar(out[q])) q++;
        const macro = src.slice(p, q);
        // `static SIMPLE_DEV_PM_OPS(pm, s, r);`: a macro invocation, not a declaration.
        if (q > p && /^[A-Z][A-Z0-9_]*$/.test(macro) && out[skipWs(out, q)] === 40) {
          blank(s, i);
          prevTok = ';';
          continue;
        }
      }
      if (depth > 0 && !KEYWORDS.has(id) && id.length >= 2 && atStatementStart(prevTok, prevParenPrefix)) {
        const p = skipWs(out, i);
        if (out[p] === 40) {
          const close = matchParen(out, p);
          const after = skipWs(out, close + 1);
          // `list_for_each_entry(p, h, m) {` or `scoped_guard(mutex, &m) stmt;`: a statement
          // macro. Rename to a keyword of the same length so the body stays inside it.
          if (close < n && (out[after] === 123 || (isIdStart(out[after]) && id !== 'sizeof'))) {
            const kw = id === 'scoped_guard' || id.length < 5 ? 'if' : 'while';
            if (id === 'scoped_guard') scopedGuards.push(s);
            for (let k = 0; k < id.length; k++) out[s + k] = k < kw.length ? kw.charCodeAt(k) : SP;
            prevTok = kw;
            continue;
          }
        }
      }
      prevTok = id;
      continue;
    }
    if (c === 40) {
      parenPrefix.push(/^[A-Za-z_]/.test(prevTok) ? prevTok : '');
    } else if (c === 41) {
      prevParenPrefix = parenPrefix.pop() ?? '';
    } else if (c === 123) depth++;
    else if (c === 125) depth = Math.max(0, depth - 1);
    prevTok = String.fromCharCode(c);
    i++;
  }

  return { text: buf.toString('utf16le'), defines, annotations, scopedGuards, dropped };
}

function atStatementStart(prevTok: string, prevParenPrefix: string): boolean {
  if (prevTok === ';' || prevTok === '{' || prevTok === '}' || prevTok === ':' || prevTok === 'else') return true;
  return prevTok === ')' && CONTROL.has(prevParenPrefix);
}

function skipQuoted(out: Uint16Array, i: number): number {
  const q = out[i];
  const n = out.length;
  i++;
  while (i < n) {
    const d = out[i];
    if (d === 92) {
      i += 2;
      continue;
    }
    if (d === q) return i + 1;
    if (d === NL) return i; // unterminated: stop at the line end
    i++;
  }
  return n;
}

function skipWs(out: Uint16Array, i: number): number {
  while (i < out.length && isWs(out[i])) i++;
  return i;
}

/** Index of the ')' matching the '(' at p, or out.length when there is none nearby. Skips strings. */
function matchParen(out: Uint16Array, p: number): number {
  let d = 0;
  const limit = Math.min(out.length, p + 8000);
  for (let i = p; i < limit; i++) {
    const c = out[i];
    if (c === 34 || c === 39) {
      i = skipQuoted(out, i) - 1;
      continue;
    }
    if (c === 40) d++;
    else if (c === 41 && --d === 0) return i;
  }
  return out.length;
}

/** `case 'a' ... 'z':` (a GNU range): blank the `... 'z'` part. */
function blankCaseRange(out: Uint16Array, i: number, blank: (a: number, b: number) => void): void {
  for (let k = i; k < out.length && k < i + 400; k++) {
    const c = out[k];
    if (c === 34 || c === 39) {
      k = skipQuoted(out, k) - 1;
      continue;
    }
    if (c === 59 || c === 123 || c === 125) return;
    if (c === 58 /* : */) return;
    if (c === 46 && out[k + 1] === 46 && out[k + 2] === 46) {
      let e = k + 3;
      while (e < out.length && out[e] !== 58 && out[e] !== 59) e++;
      if (out[e] === 58) blank(k, e);
      return;
    }
  }
}

function lineIndex(src: string): (offset: number) => number {
  const starts = [0];
  for (let i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

interface Branch {
  dir: Directive;
  cond: 'zero' | 'one' | 'other' | 'else';
  end: number; // offset of the next directive of the group
}

/**
 * Keeps every #if branch (the union of configurations) except `#if 0` ones, and, when a
 * branch leaves braces unbalanced (`#ifdef X f(a) { #else f(b) { #endif`), keeps only the
 * first live branch: parsing both would swallow the rest of the file into one ERROR.
 */
function resolveConditionals(
  directives: Directive[],
  braceAt: number[],
  braceDelta: number[],
  blank: (a: number, b: number) => void,
): { line: number; message: string }[] {
  const prefix = [0];
  for (const d of braceDelta) prefix.push(prefix[prefix.length - 1] + d);
  const upTo = (off: number) => {
    let lo = 0;
    let hi = braceAt.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (braceAt[mid] < off) lo = mid + 1;
      else hi = mid;
    }
    return prefix[lo];
  };
  const dropped: { line: number; message: string }[] = [];
  const stack: Branch[][] = [];
  const close = (group: Branch[], endOff: number) => {
    group[group.length - 1].end = endOff;
    let unbalanced = false;
    for (const b of group) if (upTo(b.end) - upTo(b.dir.end) !== 0) unbalanced = true;
    let kept = 0;
    let sawOne = false;
    for (const b of group) {
      // Dead code (#if 0, after #if 1) goes silently, as a compiler would drop it; an
      // unbalanced branch is live code the model loses, which the user should hear about.
      const dead = b.cond === 'zero' || sawOne;
      const unparsable = !dead && unbalanced && kept > 0;
      if (b.cond === 'one') sawOne = true;
      if (dead || unparsable) blank(b.dir.end, b.end);
      else kept++;
      if (unparsable) dropped.push({ line: b.dir.line, message: 'brace-unbalanced #if branch skipped (only the first branch is analysed)' });
    }
  };
  for (const d of directives) {
    const m = /^#\s*(\w+)\s*(.*)$/.exec(d.text);
    if (!m) continue;
    const kw = m[1];
    const arg = m[2].trim();
    const cond = (a: string): Branch['cond'] => (/^\(?\s*0\s*\)?$/.test(a) ? 'zero' : /^\(?\s*1\s*\)?$/.test(a) ? 'one' : 'other');
    if (kw === 'if' || kw === 'ifdef' || kw === 'ifndef') {
      stack.push([{ dir: d, cond: kw === 'if' ? cond(arg) : 'other', end: -1 }]);
    } else if (kw === 'elif' || kw === 'else') {
      const g = stack[stack.length - 1];
      if (!g) continue;
      g[g.length - 1].end = d.start;
      g.push({ dir: d, cond: kw === 'else' ? 'else' : cond(arg), end: -1 });
    } else if (kw === 'endif') {
      const g = stack.pop();
      if (g) close(g, d.start);
    }
  }
  return dropped;
}

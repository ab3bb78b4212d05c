/** Small helpers over tree-sitter nodes shared by the extraction modules. */
import type Parser from 'tree-sitter';

type SyntaxNode = Parser.SyntaxNode;

export function normalizeSpace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** A type as written, with stars spaced one way: `char*  p` and `char *p` both give `char *`. */
export function normalizeType(s: string): string {
  return normalizeSpace(s).replace(/\s*\*\s*/g, ' *').replace(/\( \*/g, '(*').trim();
}

/** The value under `&`, casts and parentheses: `(void *)&foo` -> `foo`. */
export function stripValue(n: SyntaxNode | null): SyntaxNode | null {
  while (n !== null) {
    if (n.type === 'parenthesized_expression') n = n.namedChildren[0] ?? null;
    else if (n.type === 'cast_expression') n = n.childForFieldName('value');
    // `&f` names f; `(*fp)(..)` calls fp.
    else if (n.type === 'pointer_expression') n = n.childForFieldName('argument');
    else return n;
  }
  return null;
}

/** The identifier a declarator declares: `*p`, `a[3]`, `(*fp)(int)`, `x = 1` -> its name. */
export function declaratorName(d: SyntaxNode | null): string | null {
  while (d !== null) {
    if (d.type === 'identifier' || d.type === 'field_identifier') return d.text;
    d = d.childForFieldName('declarator') ?? d.namedChildren.find((c) => c.type.endsWith('declarator') || c.type === 'identifier') ?? null;
  }
  return null;
}

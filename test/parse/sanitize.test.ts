import { describe, expect, it } from 'vitest';
import { sanitize } from '../../src/parse/sanitize.js';

/** The sanitized text must keep every offset: same length, newlines where they were. */
function expectSameShape(src: string, out: string): void {
  expect(out.length).toBe(src.length);
  for (let i = 0; i < src.length; i++) if (src[i] === '\n') expect(out[i]).toBe('\n');
}

describe('sanitize', () => {
  it('blanks comments and directives, recording #define bodies across continuations', () => {
    const src = '/* a\n   comment */ int x; // tail\n#define W8(r, v) \\\n\tiowrite8((v), /* c */ base + (r))\nint y;\n';
    const s = sanitize(src);
    expectSameShape(src, s.text);
    expect(s.text.replace(/\s+/g, ' ').trim()).toBe('int x; int y;');
    expect(s.defines).toEqual([{ name: 'W8', params: ['r', 'v'], body: 'iowrite8((v),   base + (r))', line: 3 }]);
  });

  it('drops #if 0 and, for brace-unbalanced #ifdef/#else, keeps only the first branch', () => {
    const src = [
      '#if 0',
      'int dead(void) { }',
      '#endif',
      '#ifdef CONFIG_A',
      'static int f(int a) {',
      '#else',
      'static int f(long a) {',
      '#endif',
      '\treturn 0;',
      '}',
      '#ifdef CONFIG_B',
      'int g(void) { return 1; }',
      '#else',
      'int g(void) { return 2; }',
      '#endif',
    ].join('\n');
    const s = sanitize(src);
    expectSameShape(src, s.text);
    expect(s.text).not.toContain('dead');
    expect(s.text).toContain('static int f(int a) {');
    expect(s.text).not.toContain('long a');
    // Balanced branches are both kept: the union of configurations.
    expect(s.text).toContain('return 1;');
    expect(s.text).toContain('return 2;');
    expect(s.dropped.map((d) => d.line)).toEqual([6]);
  });

  it('blanks annotations, records lock annotations, and repairs macro idioms in place', () => {
    const src = [
      'static int __init probe(void __iomem *p) __must_hold(&dev->lock)',
      '{',
      '\tstruct item *it = container_of(p, struct item, node);',
      '\tlist_for_each_entry(it, &head, node) {',
      '\t\tswitch (ES_REG(e, 1371_SMPRATE)) { case 0 ... 3: break; }',
      '\t}',
      '\tscoped_guard(spinlock, &l) {',
      '\t}',
      '}',
      'static SIMPLE_DEV_PM_OPS(pm, sus, res);',
    ].join('\n');
    const s = sanitize(src);
    expectSameShape(src, s.text);
    const lines = s.text.split('\n');
    expect(lines[0].replace(/\s+/g, ' ').trim()).toBe('static int probe(void *p)');
    expect(s.annotations).toEqual([{ kind: 'must_hold', lock: '&dev->lock', offset: src.indexOf('__must_hold'), line: 1 }]);
    expect(lines[2]).toContain('container_of(p,        item, node)');
    expect(lines[3]).toBe('\twhile              (it, &head, node) {');
    expect(lines[4]).toContain('_371_SMPRATE');
    expect(lines[4]).toContain('case 0      : break;');
    expect(lines[6]).toBe('\tif          (spinlock, &l) {');
    expect(s.scopedGuards).toEqual([src.indexOf('scoped_guard')]);
    expect(lines[9]).toBe('       SIMPLE_DEV_PM_OPS(pm, sus, res);');
  });
});

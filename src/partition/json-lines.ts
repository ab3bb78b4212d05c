/**
 * A small JSON reader that remembers the line of every value, so that a
 * config mistake can be reported as `split-driver.json:7: ...`. JSON.parse
 * only gives a byte position, and only for syntax errors.
 */
import { InputError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** The parsed value and, for every path ('thresholds.hotCalls', 'kernel[2]'), the line where its value starts. */
export interface LocatedJson {
  value: JsonValue;
  lines: Map<string, number>;
}

export function parseJsonWithLines(text: string, file: string): LocatedJson {
  let pos = 0;
  let line = 1;
  const lines = new Map<string, number>();

  const fail = (msg: string): never => {
    throw new InputError(msg, file, line);
  };
  const skip = (): void => {
    while (pos < text.length) {
      const c = text[pos];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') break;
      pos++;
    }
  };
  const expect = (c: string): void => {
    skip();
    if (text[pos] !== c) fail(`invalid JSON: expected '${c}' but found ${pos < text.length ? `'${text[pos]}'` : 'end of file'}`);
    pos++;
  };
  const str = (): string => {
    if (text[pos] !== '"') fail('invalid JSON: expected a string');
    let end = pos + 1;
    while (end < text.length && text[end] !== '"') {
      if (text[end] === '\\') end++;
      if (text[end] === '\n') fail('invalid JSON: newline inside a string');
      end++;
    }
    if (end >= text.length) fail('invalid JSON: unterminated string');
    const raw = text.slice(pos, end + 1);
    pos = end + 1;
    try {
      return JSON.parse(raw) as string;
    } catch {
      return fail(`invalid JSON: bad string ${raw}`);
    }
  };
  const value = (path: string): JsonValue => {
    skip();
    lines.set(path, line);
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: { [k: string]: JsonValue } = {};
      skip();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skip();
        const key = str();
        if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key "${key}"`);
        expect(':');
        obj[key] = value(path === '' ? key : `${path}.${key}`);
        skip();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        expect('}');
        return obj;
      }
    }
    if (c === '[') {
      pos++;
      const arr: JsonValue[] = [];
      skip();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${path}[${arr.length}]`));
        skip();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        expect(']');
        return arr;
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(pos, pos + 64));
    if (!m) return fail(`invalid JSON: unexpected ${pos < text.length ? `'${c}'` : 'end of file'}`);
    pos += m[0].length;
    return JSON.parse(m[0]) as JsonValue;
  };

  const v = value('');
  skip();
  if (pos < text.length) fail(`invalid JSON: unexpected '${text[pos]}' after the end of the document`);
  return { value: v, lines };
}

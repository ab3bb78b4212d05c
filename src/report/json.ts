/**
 * JSON with 64-bit costs written exactly: JSON numbers have no size limit,
 * JavaScript's JSON.stringify just cannot write a bigint.
 */
const MARK = '\u0000bigint:';

export function stringifyExact(value: unknown, indent = 2): string {
  const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${MARK}${v}` : v), indent);
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

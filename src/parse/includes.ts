/**
 * A source's `#include "..."` lines, resolved beside the including file:
 * where the compiler looks first, and where a driver keeps its own headers
 * and the .c files it builds into one unit.
 */
import path from 'node:path';

const QUOTED_INCLUDE = /^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"/gm;

/** The paths `file` (whose text is `text`) includes with quotes, resolved beside it, in order. */
export function quotedIncludes(file: string, text: string): string[] {
  return [...text.matchAll(QUOTED_INCLUDE)].map((m) => path.resolve(path.dirname(file), m[1]));
}

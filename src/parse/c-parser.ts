/** One tree-sitter C parser per thread, loaded on first use. */
import { createRequire } from 'node:module';
import type Parser from 'tree-sitter';

const require = createRequire(import.meta.url);
let parser: Parser | undefined;

/** Parses (already sanitized) C text; the buffer size avoids tree-sitter's chunked reads of big files. */
export function parseC(text: string): Parser.Tree {
  if (parser === undefined) {
    const TreeSitter = require('tree-sitter') as typeof Parser;
    parser = new TreeSitter();
    parser.setLanguage(require('tree-sitter-c'));
  }
  return parser.parse(text, null, { bufferSize: text.length * 2 + 1024 });
}

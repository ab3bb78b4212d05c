/**
 * Errors a user caused (bad input, bad usage). The CLI prints them as
 * `split-driver: error: file:line: message` and exits 2, without a stack trace.
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'InputError';
  }

  /** `file:line: message`, the form compilers use, so editors can jump to it. */
  get location(): string {
    if (this.file === undefined) return this.message;
    return this.line === undefined
      ? `${this.file}: ${this.message}`
      : `${this.file}:${this.line}: ${this.message}`;
  }
}

/** A warning about valid but odd input: reported on stderr, the result stands. */
export interface Diagnostic {
  file: string;
  line?: number;
  message: string;
}

export type WarningSink = (d: Diagnostic) => void;

export function formatDiagnostic(d: Diagnostic): string {
  return d.line === undefined ? `${d.file}: ${d.message}` : `${d.file}:${d.line}: ${d.message}`;
}

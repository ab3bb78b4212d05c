/** GitHub Actions workflow commands: one `::error file=...,line=...::message` per breach. */
import type { Breach } from '../check.js';

// The escaping the Actions runner expects (toolkit's command.ts).
const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function formatGithub(breaches: Breach[]): string {
  return breaches
    .map((b) => `::error file=${escapeProperty(b.file)},line=${b.line},title=${escapeProperty(`split-driver ${b.rule}`)}::${escapeData(b.message)}\n`)
    .join('');
}

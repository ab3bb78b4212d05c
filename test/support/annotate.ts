/**
 * Reads the output of `callgrind_annotate --show-percs=no` (the oracle the
 * corpus ships beside each profile): program totals and the cost per
 * `file:function` line, object suffix removed.
 */
import { readFileSync } from 'node:fs';

export interface AnnotateOutput {
  events: string[];
  totals: bigint[];
  /** `file:function` -> cost per event. */
  costs: Map<string, bigint[]>;
}

function num(tok: string): bigint {
  // callgrind_annotate prints 0 as '.' and groups digits with commas.
  return tok === '.' ? 0n : BigInt(tok.replaceAll(',', ''));
}

/** Splits `N N ...  label`: the first n tokens are costs, the rest is the label. */
function costsAndLabel(line: string, n: number): { costs: bigint[]; label: string } {
  const costs: bigint[] = [];
  let rest = line;
  for (let i = 0; i < n; i++) {
    const m = /^\s*([\d,]+|\.)(?=\s)/.exec(rest);
    if (!m) throw new Error(`not a cost line: '${line}'`);
    costs.push(num(m[1]));
    rest = rest.slice(m[0].length);
  }
  return { costs, label: rest.trim() };
}

export function readAnnotate(path: string): AnnotateOutput {
  const lines = readFileSync(path, 'utf8').split('\n');
  const shown = lines.find((l) => l.startsWith('Events shown:'));
  if (!shown) throw new Error(`${path}: no 'Events shown:' line`);
  const events = shown.slice('Events shown:'.length).trim().split(/\s+/);
  const totalsLine = lines.find((l) => / PROGRAM TOTALS/.test(l));
  if (!totalsLine) throw new Error(`${path}: no PROGRAM TOTALS line`);
  const totals = costsAndLabel(totalsLine, events.length).costs;
  const header = lines.findIndex((l) => /\sfile:function$/.test(l));
  if (header < 0) throw new Error(`${path}: no file:function table`);
  const costs = new Map<string, bigint[]>();
  for (const line of lines.slice(header + 2)) {
    if (line.trim() === '' || line.startsWith('---')) break;
    const { costs: c, label } = costsAndLabel(line, events.length);
    // The object is appended as ` [/path/obj]` (or ` [???]`); names may end in `]` themselves.
    const key = label.replace(/ \[(\/[^\]]*|\?\?\?)\]$/, '');
    if (costs.has(key)) throw new Error(`${path}: ${key} listed twice`);
    costs.set(key, c);
  }
  return { events, totals, costs };
}

/**
 * What `analyze` shows about the weighted call graph: a JSON document for
 * programs and a table for people.
 */
import chalk from 'chalk';
import type { CallGraph, NodeAttrs } from '../graph/model.js';
import type { DriverModel } from '../parse/model.js';

export interface AnalysisDocument {
  events: string[];
  totals: Record<string, bigint>;
  functions: {
    id: string;
    name: string;
    file: string;
    line: number;
    lines: number;
    static: boolean;
    self: Record<string, bigint>;
    inclusive: Record<string, bigint>;
    callsIn: bigint;
    entry: { kind: string; structType?: string; field?: string; api?: string }[];
    locks: { lock: string; primitive: string; line: number }[];
    access: { kind: string; api: string; line: number }[];
  }[];
  calls: { caller: string; callee: string; count: bigint; static: boolean; dynamicOnly: boolean; lines: number[] }[];
  unmatchedProfileFunctions: { name: string; file: string; self: Record<string, bigint> }[];
  unresolvedCalls: DriverModel['unresolved'];
  diagnostics: DriverModel['diagnostics'];
}

export function analysisDocument(graph: CallGraph, model: DriverModel): AnalysisDocument {
  const { events, totals, unmatched } = graph.getAttributes();
  return {
    events,
    totals,
    functions: graph.mapNodes((id, n) => ({
      id,
      name: n.fn.name,
      file: n.fn.file,
      line: n.fn.startLine,
      lines: n.lines,
      static: n.fn.isStatic,
      self: n.self,
      inclusive: n.inclusive,
      callsIn: n.callsIn,
      entry: n.entry.map(({ kind, structType, field, api }) => ({ kind, structType, field, api })),
      locks: n.holds.map((l) => ({ lock: l.lock, primitive: l.primitive, line: l.acquireLine })),
      access: n.access.map((a) => ({ kind: a.kind, api: a.api, line: a.line })),
    })),
    calls: graph.mapEdges((_k, e, caller, callee) => ({
      caller,
      callee,
      count: e.calls,
      static: e.sites.length > 0,
      dynamicOnly: e.dynamicOnly,
      lines: e.sites.map((s) => s.line),
    })),
    unmatchedProfileFunctions: unmatched.map(({ name, file, self }) => ({ name, file, self })),
    unresolvedCalls: model.unresolved,
    diagnostics: model.diagnostics,
  };
}

function entryLabel(n: NodeAttrs): string {
  return [...new Set(n.entry.map((e) => (e.kind === 'ops' ? `${e.structType ?? '?'}.${e.field ?? '?'}` : e.kind)))].join(',');
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

/** Functions by inclusive cost of `event` (then by lines when there is no profile). */
export function analysisTable(graph: CallGraph, model: DriverModel, opts: { event?: string; top?: number }): string {
  const { events } = graph.getAttributes();
  const event = opts.event ?? events[0];
  const rows = graph.mapNodes((id, n) => ({ id, n, outCalls: graph.outEdges(id).reduce((s, e) => s + graph.getEdgeAttribute(e, 'calls'), 0n) }));
  const cost = (r: (typeof rows)[number]) => (event ? r.n.inclusive[event] ?? 0n : 0n);
  rows.sort((a, b) => (cost(b) > cost(a) ? 1 : cost(b) < cost(a) ? -1 : b.n.lines - a.n.lines || a.id.localeCompare(b.id)));
  const shown = opts.top ? rows.slice(0, opts.top) : rows;

  const header = ['function', 'file:line', 'lines', `self ${event ?? ''}`.trim(), `incl ${event ?? ''}`.trim(), 'calls in', 'calls out', 'entry', 'locks held'];
  const table = shown.map((r) => [
    r.n.fn.name,
    `${r.n.fn.file}:${r.n.fn.startLine}`,
    String(r.n.lines),
    event ? String(r.n.self[event] ?? 0n) : '-',
    event ? String(r.n.inclusive[event] ?? 0n) : '-',
    String(r.n.callsIn),
    String(r.outCalls),
    entryLabel(r.n),
    [...new Set(r.n.holds.map((l) => l.lock))].join(','),
  ]);
  const numeric = new Set([2, 3, 4, 5, 6]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => pad(c, widths[i], numeric.has(i))).join('  ').trimEnd();

  const lines = [chalk.bold(fmt(header)), ...table.map(fmt)];
  if (shown.length < rows.length) lines.push(chalk.dim(`... ${rows.length - shown.length} more (--top 0 shows all)`));

  const totalLines = rows.reduce((s, r) => s + r.n.lines, 0);
  const staticEdges = graph.filterEdges((_k, e) => e.sites.length > 0).length;
  const profiled = graph.filterEdges((_k, e) => e.calls > 0n).length;
  const unmatched = graph.getAttribute('unmatched').length;
  lines.push(
    '',
    `${rows.length} functions, ${totalLines} lines in ${model.files.length} file(s); ` +
      `${graph.size} call edges (${staticEdges} in the source, ${profiled} seen by the profile, ${graph.filterEdges((_k, e) => e.dynamicOnly).length} only in the profile)`,
    `${model.entryPoints.length} entry points, ${model.locks.length} lock regions, ${model.access.length} hardware/DMA/user-memory sites, ${model.globals.length} globals`,
  );
  if (event) lines.push(`profile: events ${events.join(', ')}; ${unmatched} profiled functions not defined in the sources (library, shim or libc)`);
  if (model.unresolved.length) lines.push(chalk.yellow(`${model.unresolved.length} indirect calls could not be resolved (--json lists them)`));
  if (model.diagnostics.length) lines.push(chalk.yellow(`${model.diagnostics.length} parser diagnostics (--json lists them)`));
  return lines.join('\n');
}

/**
 * The plan as a Graphviz DOT graph: the kernel and user sides as two coloured
 * clusters, node size by lines, edge width by call count, cut edges red and
 * dashed, critical roots double-bordered with their reasons, shared data as
 * separate nodes linked to the functions that use it.
 *
 * Element ids in the SVG Graphviz makes from it: `fn-<i>` for
 * plan.functions[i], `call-<k>` for the k-th call edge shown, `data-<j>` for
 * plan.shared[j]. The HTML report finds nodes by them.
 */
import path from 'node:path';
import type { CallGraph, EdgeAttrs } from '../graph/model.js';
import { estimatedCalls } from '../partition/indexed.js';
import type { Plan, PlanFunction } from '../partition/plan.js';
import { explainReason, isRootReason, rootTags } from './reasons.js';

export const COLORS = {
  kernel: { fill: '#c6dbef', border: '#2166ac', cluster: '#f2f7fc' },
  user: { fill: '#c7e9c0', border: '#238b45', cluster: '#f3faf1' },
  root: '#08306b',
  cut: '#d62728',
  call: '#555555',
  uncounted: '#aaaaaa',
  shared: { fill: '#fff2a8', border: '#b8860b' },
} as const;

/**
 * Above this many functions the whole graph takes Graphviz too long to lay
 * out (dot grows faster than quadratically with crossings); the picture then
 * shows the neighbourhood of the cut and says so.
 */
export const MAX_NODES = 400;
/** Edges cost dot more than nodes: 250 functions with 950 calls take over ten seconds. */
export const MAX_EDGES = 700;

/**
 * Graphviz in WASM has no fontconfig: it measures text with built-in Arial
 * metrics only for a font named exactly Arial (a list falls back to Times,
 * narrower). Browsers draw Arial or a metric-compatible font (Liberation Sans
 * on Debian), so labels fit their boxes.
 */
const FONT = 'Arial';

/** Links drawn from one shared item: a structure every function touches would otherwise bury the picture. */
const MAX_DATA_LINKS = 8;

/** Above this many functions Graphviz is told to search less for the tidiest layout. */
const QUICK_LAYOUT_ABOVE = 120;

export interface DotOptions {
  maxNodes?: number;
  maxEdges?: number;
}

export interface DotGraph {
  dot: string;
  /** Indices into plan.functions of the functions drawn. */
  shown: number[];
  /** Call edges drawn, in `call-<k>` order. */
  edges: { caller: string; callee: string; cut: boolean }[];
  /** Why not every function or call is drawn; null when all are. */
  limited: string | null;
}

/** A DOT double-quoted string. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Text inside a DOT HTML-like label. */
function h(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attrs(a: Record<string, string | number>): string {
  return `[${Object.entries(a)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? String(Number(v.toFixed(3))) : q(v)}`)
    .join(', ')}]`;
}

const num = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

/**
 * Which functions to draw when there are too many: the ends of the heaviest
 * cut edges, then their direct neighbours by call weight, then the busiest of
 * the rest (by weighted degree).
 */
function chooseShown(graph: CallGraph, plan: Plan, max: number): { shown: Set<string>; limited: string | null } {
  const total = plan.functions.length;
  if (total <= max) return { shown: new Set(plan.functions.map((f) => f.id)), limited: null };
  const shown = new Set<string>();
  for (const c of plan.cutEdges) {
    if (shown.size + 2 > max) break;
    shown.add(c.caller);
    shown.add(c.callee);
  }
  const cutEnds = shown.size;
  const neighbours: { id: string; w: number }[] = [];
  for (const id of shown) {
    graph.forEachEdge(id, (_e, a, s, t) => {
      const other = s === id ? t : s;
      if (!shown.has(other)) neighbours.push({ id: other, w: weight(plan, a) });
    });
  }
  neighbours.sort((x, y) => y.w - x.w);
  for (const n of neighbours) {
    if (shown.size >= max) break;
    shown.add(n.id);
  }
  const near = shown.size - cutEnds;
  const rest = plan.functions.filter((f) => !shown.has(f.id)).sort((x, y) => y.metrics.weightedDegree - x.metrics.weightedDegree);
  for (const f of rest) {
    if (shown.size >= max) break;
    shown.add(f.id);
  }
  const others = shown.size - cutEnds - near;
  const parts =
    cutEnds === 0
      ? [`no edge is cut, so the ${others} busiest functions`]
      : [`the ${cutEnds} ends of the heaviest cut edges`, near > 0 ? `${near} of their direct neighbours` : '', others > 0 ? `the ${others} busiest other functions` : ''].filter((p) => p !== '');
  return { shown, limited: `${shown.size} of ${total} functions drawn (too many to lay out at once): ${parts.join(', ')}` };
}

/** The calls the partitioner assumed for an edge: measured, else call sites. */
function weight(plan: Plan, a: EdgeAttrs): number {
  return estimatedCalls(a.calls, a.sites.length, plan.profiled, plan.config.staticCallEstimate);
}

/**
 * The call edges among the drawn functions; past the budget, the cut edges
 * and the heaviest others.
 */
function chooseEdges(graph: CallGraph, plan: Plan, shown: Set<string>, cutKeys: Set<string>, max: number): { edges: { caller: string; callee: string; a: EdgeAttrs; cut: boolean; w: number }[]; dropped: number } {
  const all: { caller: string; callee: string; a: EdgeAttrs; cut: boolean; w: number }[] = [];
  graph.forEachEdge((_key, a, caller, callee) => {
    if (shown.has(caller) && shown.has(callee)) all.push({ caller, callee, a, cut: cutKeys.has(`${caller}\u0000${callee}`), w: weight(plan, a) });
  });
  if (all.length <= max) return { edges: all, dropped: 0 };
  const ranked = [...all].sort((x, y) => Number(y.cut) - Number(x.cut) || y.w - x.w);
  const keep = new Set(ranked.slice(0, max));
  return { edges: all.filter((e) => keep.has(e)), dropped: all.length - max };
}

/**
 * Function names as a reader knows them: the bare name, with the file's base
 * name when two functions share it (ids carry the whole path of static ones).
 */
export function displayNames(plan: Plan): Map<string, string> {
  const count = new Map<string, number>();
  for (const f of plan.functions) count.set(f.name, (count.get(f.name) ?? 0) + 1);
  return new Map(plan.functions.map((f) => [f.id, count.get(f.name)! > 1 ? `${f.name} (${path.basename(f.file)})` : f.name]));
}

function nodeLabel(f: PlanFunction, name: string): string {
  const tags = rootTags(f.reasons);
  return tags.length > 0 ? `◆ ${name}\n${f.lines} lines\n${tags.join(', ')}` : `${name}\n${f.lines} lines`;
}

function nodeTooltip(f: PlanFunction, names: Map<string, string>): string {
  const head = `${f.name} (${f.file}:${f.line}): ${f.side} side, ${f.lines} lines${f.pinned ? ', must stay in the kernel' : ''}`;
  return [head, ...f.reasons.map((r) => `- ${explainReason(r, (id) => names.get(id) ?? id)}`)].join('\n');
}

export function planToDot(graph: CallGraph, plan: Plan, opts: DotOptions = {}): DotGraph {
  const chosen = chooseShown(graph, plan, opts.maxNodes ?? MAX_NODES);
  const shown = chosen.shown;
  const cutKeys = new Set(plan.cutEdges.map((c) => `${c.caller}\u0000${c.callee}`));
  const { edges: drawn, dropped } = chooseEdges(graph, plan, shown, cutKeys, opts.maxEdges ?? MAX_EDGES);
  const why = [chosen.limited, dropped > 0 ? `the ${dropped} lightest of ${drawn.length + dropped} call edges between them not drawn` : null].filter((t) => t !== null);
  const limited = why.length > 0 ? `Limited picture: ${why.join('; ')}. The report's table lists every function.` : null;
  const names = displayNames(plan);

  const out: string[] = [];
  out.push('digraph plan {');
  out.push(`  graph ${attrs({ rankdir: 'LR', newrank: 'true', nodesep: 0.25, ranksep: 0.9, fontname: FONT, fontsize: 14, labelloc: 't', tooltip: 'split-driver plan' })};`);
  out.push(`  node ${attrs({ shape: 'box', style: 'rounded,filled', fontname: FONT, margin: '0.1,0.04' })};`);
  out.push(`  edge ${attrs({ fontname: FONT, fontsize: 10, arrowsize: 0.7 })};`);
  out.push(`  label=<${legend(plan, limited)}>;`);
  // Fewer crossing-minimisation and network-simplex passes on big graphs: a
  // slightly less tidy layout in seconds instead of tens of seconds.
  if (shown.size > QUICK_LAYOUT_ABOVE) out.push(`  graph ${attrs({ mclimit: 0.2, nslimit: 1, nslimit1: 1 })};`);

  const shownIdx: number[] = [];
  for (const side of ['kernel', 'user'] as const) {
    const c = COLORS[side];
    const s = plan.summary[side];
    const title = side === 'kernel' ? 'Kernel' : 'User space (daemon)';
    out.push(`  subgraph cluster_${side} {`);
    out.push(`    graph ${attrs({ label: `${title}: ${s.functions} functions, ${s.lines} lines`, style: 'filled,rounded', fillcolor: c.cluster, color: c.border, fontcolor: c.border, penwidth: 1.5, id: `side-${side}` })};`);
    plan.functions.forEach((f, i) => {
      if (f.side !== side || !shown.has(f.id)) return;
      shownIdx.push(i);
      const root = f.reasons.some(isRootReason);
      const size = Math.sqrt(Math.max(f.lines, 1));
      const a: Record<string, string | number> = {
        id: `fn-${i}`,
        class: `fn ${side}${root ? ' root' : ''}${f.pinned ? ' pinned' : ''}`,
        label: nodeLabel(f, names.get(f.id)!),
        tooltip: nodeTooltip(f, names),
        fillcolor: c.fill,
        color: root ? COLORS.root : c.border,
        width: 0.7 + 0.12 * size,
        height: 0.35 + 0.04 * size,
        fontsize: 10 + Math.min(6, size / 3),
      };
      if (root) Object.assign(a, { peripheries: 2, penwidth: 1.6 });
      out.push(`    ${q(f.id)} ${attrs(a)};`);
    });
    out.push('  }');
  }

  const edges: DotGraph['edges'] = [];
  for (const { caller, callee, a, cut, w } of drawn) {
    const k = edges.length;
    edges.push({ caller, callee, cut });
    const counted = plan.profiled && a.calls > 0n;
    const width = Math.min(8, 0.8 + 1.1 * Math.log10(1 + w));
    const callText = counted ? `${num(Number(a.calls))} calls` : plan.profiled ? 'never called in the profiled run' : `${a.sites.length} call site${a.sites.length === 1 ? '' : 's'} (no profile)`;
    const ea: Record<string, string | number> = {
      id: `call-${k}`,
      class: `call${cut ? ' cut' : ''}${counted ? '' : ' uncounted'}`,
      penwidth: cut ? Math.max(2, width) : width,
      color: cut ? COLORS.cut : counted || !plan.profiled ? COLORS.call : COLORS.uncounted,
      tooltip: `${names.get(caller)} → ${names.get(callee)}: ${callText}${cut ? ' (cut: each call crosses the boundary)' : ''}`,
    };
    // xlabel, not label: dot lays labelled edges out as extra nodes, several times slower.
    if (cut) Object.assign(ea, { style: 'dashed', fontcolor: COLORS.cut, xlabel: counted ? `×${num(Number(a.calls))}` : `~${num(w)}` });
    else if (!counted) ea.style = 'dotted';
    out.push(`  ${q(caller)} -> ${q(callee)} ${attrs(ea)};`);
  }

  plan.shared.forEach((s, j) => {
    // User-side users first: they are the ones that need the shared lock.
    const users = [...s.user, ...s.kernel].filter((id) => shown.has(id));
    if (users.length === 0) return;
    const linked = users.slice(0, MAX_DATA_LINKS);
    const where = s.file !== undefined ? ` (${path.basename(s.file)}${s.line !== undefined ? `:${s.line}` : ''})` : '';
    const list = (ids: string[]): string => (ids.length > 20 ? `${ids.slice(0, 20).map((id) => names.get(id)).join(', ')} and ${ids.length - 20} more` : ids.map((id) => names.get(id)).join(', '));
    const node = q(`data ${s.id}`);
    out.push(
      `  ${node} ${attrs({
        id: `data-${j}`,
        class: 'shared',
        shape: 'note',
        style: 'filled',
        fillcolor: COLORS.shared.fill,
        color: COLORS.shared.border,
        fontsize: 10,
        label: `${s.name}\nshared by ${s.kernel.length} kernel + ${s.user.length} user\nlock ${s.lock}${linked.length < users.length ? `\n(${users.length - linked.length} links not drawn)` : ''}`,
        tooltip: `${s.kind === 'global' ? 'global ' : ''}${s.name}${where}: used on both sides, guarded by ${s.lock}\nkernel: ${list(s.kernel)}\nuser: ${list(s.user)}`,
      })};`,
    );
    for (const id of linked) {
      out.push(`  ${node} -> ${q(id)} ${attrs({ class: 'uses', dir: 'none', style: 'dotted', color: COLORS.shared.border, weight: 0, tooltip: `${names.get(id)} uses ${s.name}` })};`);
    }
  });
  out.push('}');
  return { dot: out.join('\n') + '\n', shown: shownIdx, edges, limited };
}

function legend(plan: Plan, limited: string | null): string {
  const k = plan.summary.kernel;
  const u = plan.summary.user;
  const p = plan.summary.predicted;
  const rows = [
    `<TR><TD COLSPAN="6">split-driver plan: kernel ${k.functions} functions / ${k.lines} lines, user ${u.functions} functions / ${u.lines} lines, ${plan.cutEdges.length} cut edges${plan.profiled ? `, ${num(p.crossings)} crossings in the profiled run` : ' (no profile: call sites stand for calls)'}</TD></TR>`,
    '<TR>' +
      `<TD BGCOLOR="${COLORS.kernel.fill}" COLOR="${COLORS.kernel.border}" BORDER="1">kernel side</TD>` +
      `<TD BGCOLOR="${COLORS.user.fill}" COLOR="${COLORS.user.border}" BORDER="1">user side</TD>` +
      `<TD COLOR="${COLORS.root}" BORDER="2">◆ critical root (reasons)</TD>` +
      `<TD><FONT COLOR="${COLORS.cut}">- - -&gt; cut edge ×calls</FONT></TD>` +
      `<TD BGCOLOR="${COLORS.shared.fill}" COLOR="${COLORS.shared.border}" BORDER="1">shared data</TD>` +
      '<TD>box size: lines; edge width: log calls</TD>' +
      '</TR>',
  ];
  if (limited) rows.push(`<TR><TD COLSPAN="6"><FONT COLOR="${COLORS.cut}">${h(limited)}</FONT></TD></TR>`);
  return `<TABLE BORDER="0" CELLSPACING="6" CELLPADDING="4">${rows.join('')}</TABLE>`;
}

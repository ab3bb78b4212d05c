/**
 * One self-contained HTML report of a plan: the call graph picture inline, a
 * search box that finds a function, highlights it and explains in a panel why
 * it went where it went, and tables of the functions, cut edges and shared
 * data. Nothing is loaded from the network (a Content-Security-Policy forbids it).
 */
import path from 'node:path';
import type { CallGraph } from '../graph/model.js';
import type { Plan } from '../partition/plan.js';
import { COLORS, displayNames } from './dot.js';
import { explainReason, isRootReason, rootTags } from './reasons.js';
import { renderPlanSvg } from './svg.js';

/** What the page's script knows about one function (plan.functions order = `fn-<i>` in the SVG). */
interface PageFunction {
  id: string;
  name: string;
  file: string;
  line: number;
  lines: number;
  side: 'kernel' | 'user';
  root: boolean;
  pinned: boolean;
  tags: string[];
  reasons: string[];
  callsIn: number;
  callers: PageCall[];
  callees: PageCall[];
  shared: { name: string; lock: string }[];
  kernelCalls: { api: string; calls: number }[];
  /** How the kernel reaches it besides calls: ops tables, registered handlers. */
  entries: string[];
  drawn: boolean;
}

interface PageCall {
  /** Index of the other function. */
  f: number;
  calls: number;
  sites: number;
  cut: boolean;
  /** `call-<k>` in the SVG, -1 when not drawn. */
  edge: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** The SVG document without its XML prolog, for inlining. */
function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg');
  return start < 0 ? svg : svg.slice(start);
}

function pageData(graph: CallGraph, plan: Plan, drawn: Set<number>, edges: { caller: string; callee: string }[]): PageFunction[] {
  const index = new Map(plan.functions.map((f, i) => [f.id, i]));
  const names = displayNames(plan);
  const cut = new Set(plan.cutEdges.map((c) => `${c.caller}\u0000${c.callee}`));
  const edgeNo = new Map(edges.map((e, k) => [`${e.caller}\u0000${e.callee}`, k]));
  const shared = new Map<string, { name: string; lock: string }[]>();
  for (const s of plan.shared) {
    for (const id of [...s.kernel, ...s.user]) {
      const list = shared.get(id) ?? [];
      list.push({ name: s.name, lock: s.lock });
      shared.set(id, list);
    }
  }
  return plan.functions.map((f, i) => {
    const callers: PageCall[] = [];
    const callees: PageCall[] = [];
    graph.forEachInEdge(f.id, (_k, a, src) => {
      const key = `${src}\u0000${f.id}`;
      callers.push({ f: index.get(src)!, calls: Number(a.calls), sites: a.sites.length, cut: cut.has(key), edge: edgeNo.get(key) ?? -1 });
    });
    graph.forEachOutEdge(f.id, (_k, a, _s, dst) => {
      const key = `${f.id}\u0000${dst}`;
      callees.push({ f: index.get(dst)!, calls: Number(a.calls), sites: a.sites.length, cut: cut.has(key), edge: edgeNo.get(key) ?? -1 });
    });
    const byCalls = (x: PageCall, y: PageCall): number => y.calls - x.calls || y.sites - x.sites;
    return {
      id: f.id,
      name: f.name,
      file: f.file,
      line: f.line,
      lines: f.lines,
      side: f.side,
      root: f.reasons.some(isRootReason),
      pinned: f.pinned,
      tags: rootTags(f.reasons),
      reasons: f.reasons.map((r) => explainReason(r, (id) => names.get(id) ?? id)),
      callsIn: Number(graph.getNodeAttribute(f.id, 'callsIn')),
      callers: callers.sort(byCalls),
      callees: callees.sort(byCalls),
      shared: shared.get(f.id) ?? [],
      kernelCalls: f.kernelCalls.map((k) => ({ api: k.api, calls: k.calls })),
      entries: graph.getNodeAttribute(f.id, 'entry').map((e) => `${e.structType !== undefined ? `${e.structType}.${e.field}` : (e.api ?? e.kind)} (${path.basename(e.file)}:${e.line})`),
      drawn: drawn.has(i),
    };
  });
}

export async function renderHtml(graph: CallGraph, plan: Plan): Promise<string> {
  const pic = await renderPlanSvg(graph, plan);
  const fns = pageData(graph, plan, new Set(pic.shown), pic.edges);
  const files = [...new Set(plan.functions.map((f) => path.basename(f.file)))];
  const title = `split-driver plan: ${files.slice(0, 4).join(', ')}${files.length > 4 ? ` and ${files.length - 4} more` : ''}`;
  const s = plan.summary;
  // `<` escaped: the JSON sits inside a <script> element.
  const data = JSON.stringify({ functions: fns, profiled: plan.profiled }).replace(/</g, '\\u003c');

  const fnRows = fns
    .map(
      (f, i) =>
        `<tr data-fn="${i}" class="${f.side}"><td class="name">${f.root ? '◆ ' : ''}${esc(f.name)}</td><td>${esc(f.file)}:${f.line}</td>` +
        `<td><span class="badge ${f.side}">${f.side}</span></td><td class="num">${f.lines}</td><td class="num">${n(f.callsIn)}</td>` +
        `<td>${esc(f.tags.length > 0 ? f.tags.join(', ') : (f.reasons[0] ?? ''))}</td></tr>`,
    )
    .join('\n');
  const byId = new Map(fns.map((f, i) => [f.id, i]));
  const fnLink = (id: string): string => `<a href="#fn=${encodeURIComponent(id)}" data-fn="${byId.get(id)}">${esc(fns[byId.get(id)!].name)}</a>`;
  const cutRows = plan.cutEdges
    .map(
      (c) =>
        `<tr><td>${fnLink(c.caller)}</td><td>${fnLink(c.callee)}</td><td>${c.direction}</td><td class="num">${n(c.calls)}</td><td class="num">${n(c.assumed)}</td>` +
        `<td>${esc(c.sites.map((x) => `${path.basename(x.file)}:${x.line}`).join(', '))}</td></tr>`,
    )
    .join('\n');
  const sharedRows = plan.shared
    .map(
      (d) =>
        `<tr><td>${esc(d.name)}</td><td>${esc(d.file !== undefined ? `${d.file}${d.line !== undefined ? `:${d.line}` : ''}` : '')}</td><td><code>${esc(d.lock)}</code></td>` +
        `<td>${d.kernel.map(fnLink).join(', ')}</td><td>${d.user.map(fnLink).join(', ')}</td></tr>`,
    )
    .join('\n');
  const notes = [...(pic.limited ? [pic.limited] : []), ...plan.notes];

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="summary"><span class="badge kernel">kernel</span> ${s.kernel.functions} functions, ${s.kernel.lines} lines
&nbsp; <span class="badge user">user</span> ${s.user.functions} functions, ${s.user.lines} lines
&nbsp; ${plan.cutEdges.length} cut edges${plan.profiled ? `, ${n(s.predicted.crossings)} crossings in the profiled run (about ${n(s.predicted.overheadUs)} µs)` : ' (no profile: call sites stand for calls)'}
&nbsp; cost ${n(s.cost.total)} = ${n(s.cost.kernelLines)} kernel lines + ${n(s.cost.crossingCost)} for crossings</p>
${notes.length > 0 ? `<ul class="notes">${notes.map((t) => `<li>${esc(t)}</li>`).join('')}</ul>` : ''}
</header>
<div class="toolbar">
<label for="search">Find a function</label>
<input id="search" type="search" list="fn-names" placeholder="name, e.g. ${esc(fns[0]?.name ?? '')}" autocomplete="off" spellcheck="false">
<datalist id="fn-names">${[...new Set(fns.map((f) => f.name))].map((x) => `<option value="${esc(x)}">`).join('')}</datalist>
<span id="search-status" role="status"></span>
<span class="zoom"><button type="button" data-zoom="0.8" title="Zoom out">−</button><button type="button" data-zoom="fit" title="Fit the picture to the window">fit</button><button type="button" data-zoom="1.25" title="Zoom in">+</button></span>
</div>
<main>
<div id="graph">${inlineSvg(pic.svg)}</div>
<aside id="panel" aria-live="polite"><p class="hint">Type a function name above, or click a box in the picture, to see which side it went to and why.</p></aside>
</main>
<section>
<h2>All functions (${fns.length})</h2>
<table id="functions"><thead><tr><th>Function</th><th>Where</th><th>Side</th><th>Lines</th><th>Calls in</th><th>Why</th></tr></thead>
<tbody>
${fnRows}
</tbody></table>
<h2>Cut edges (${plan.cutEdges.length})</h2>
${plan.cutEdges.length > 0 ? `<table id="cut-edges"><thead><tr><th>Caller</th><th>Callee</th><th>Direction</th><th>Calls measured</th><th>Calls assumed</th><th>Call sites</th></tr></thead><tbody>\n${cutRows}\n</tbody></table>` : '<p>No call crosses the boundary.</p>'}
<h2>Shared data (${plan.shared.length})</h2>
${plan.shared.length > 0 ? `<table id="shared"><thead><tr><th>Data</th><th>Where</th><th>Lock both sides take</th><th>Kernel users</th><th>User users</th></tr></thead><tbody>\n${sharedRows}\n</tbody></table>` : '<p>No data is used on both sides.</p>'}
</section>
<script type="application/json" id="plan-data">${data}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const CSS = `
:root { --k-fill: ${COLORS.kernel.fill}; --k: ${COLORS.kernel.border}; --u-fill: ${COLORS.user.fill}; --u: ${COLORS.user.border}; --cut: ${COLORS.cut}; }
body { font: 14px/1.4 Arial, Helvetica, sans-serif; margin: 0; color: #222; }
header { padding: 8px 16px 0; }
h1 { font-size: 20px; margin: 4px 0; }
h2 { font-size: 16px; margin: 18px 0 6px; }
.summary { margin: 4px 0; }
.notes { margin: 4px 0; padding-left: 20px; color: #8a4b00; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; border: 1px solid; font-weight: bold; }
.badge.kernel { background: var(--k-fill); border-color: var(--k); color: #0b3c70; }
.badge.user { background: var(--u-fill); border-color: var(--u); color: #145a2a; }
.badge.root { background: #fff; border-color: #08306b; color: #08306b; }
.toolbar { position: sticky; top: 0; z-index: 2; background: #fafafa; border-bottom: 1px solid #ddd; padding: 8px 16px; display: flex; gap: 10px; align-items: center; }
.toolbar label { font-weight: bold; }
#search { font-size: 15px; padding: 4px 8px; width: 22em; }
#search-status { color: #555; }
.zoom { margin-left: auto; }
.zoom button { font-size: 14px; min-width: 2.2em; }
main { display: flex; gap: 12px; padding: 8px 16px; height: calc(100vh - 150px); min-height: 420px; }
#graph { flex: 1; overflow: auto; border: 1px solid #ddd; background: #fff; }
#panel { width: 380px; flex: none; overflow: auto; border: 1px solid #ddd; padding: 8px 12px; background: #fcfcfc; }
#panel h2 { margin-top: 2px; word-break: break-all; }
#panel ul { padding-left: 18px; margin: 4px 0; }
#panel table { font-size: 13px; }
.hint { color: #666; }
section { padding: 0 16px 24px; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 2px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#functions tbody tr { cursor: pointer; }
#functions tbody tr:hover { background: #f3f3f3; }
tr.selected, tr.selected:hover { background: #ffe9a8 !important; }
.cut-mark { color: var(--cut); font-weight: bold; }
a { color: #0645ad; }
#graph svg g.node, #graph svg g.edge { transition: opacity 0.15s; }
#graph svg g.node { cursor: pointer; }
#graph svg.focus g.node, #graph svg.focus g.edge { opacity: 0.18; }
#graph svg.focus g.near, #graph svg.focus g.selected { opacity: 1; }
#graph svg g.selected path, #graph svg g.selected polygon { stroke: #ff7f00; stroke-width: 4px; }
`;

/** The page's behaviour: search, select, explain. Plain ES2020, no libraries. */
const SCRIPT = `
'use strict';
const data = JSON.parse(document.getElementById('plan-data').textContent);
const fns = data.functions;
const svg = document.querySelector('#graph svg');
const search = document.getElementById('search');
const status = document.getElementById('search-status');
const panel = document.getElementById('panel');
const rows = document.querySelectorAll('#functions tbody tr');
const fmt = (x) => x.toLocaleString('en-US');
const plural = (x, what) => fmt(x) + ' ' + what + (x === 1 ? '' : 's');

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}
function badge(side) { return el('span', { class: 'badge ' + side }, side + ' side'); }
function fnLink(i) {
  const a = el('a', { href: '#fn=' + encodeURIComponent(fns[i].id), 'data-fn': String(i) }, fns[i].name);
  return a;
}
function callText(c) {
  if (data.profiled) return c.calls > 0 ? plural(c.calls, 'call') : 'never called in the profiled run';
  return plural(c.sites, 'call site');
}
function callList(title, calls) {
  const box = el('div', {}, el('h3', {}, title + ' (' + calls.length + ')'));
  if (calls.length === 0) { box.append(el('p', { class: 'hint' }, 'none')); return box; }
  const t = el('table', {});
  for (const c of calls) {
    const other = fns[c.f];
    const tr = el('tr', {}, el('td', {}, fnLink(c.f)), el('td', {}, el('span', { class: 'badge ' + other.side }, other.side)), el('td', { class: 'num' }, callText(c)));
    tr.append(el('td', {}, c.cut ? el('span', { class: 'cut-mark' }, 'cut') : ''));
    t.append(tr);
  }
  box.append(t);
  return box;
}

function select(i, from) {
  const f = fns[i];
  panel.replaceChildren();
  panel.append(el('h2', {}, f.name));
  const head = el('p', { class: 'side-line' }, badge(f.side));
  if (f.root) head.append(' ', el('span', { class: 'badge root' }, '◆ critical root'));
  else if (f.pinned) head.append(' ', el('span', { class: 'badge root' }, 'must stay in the kernel'));
  panel.append(head);
  panel.append(el('p', {}, f.file + ':' + f.line + ' · ' + f.lines + ' lines' + (data.profiled ? ' · called ' + plural(f.callsIn, 'time') : '')));
  panel.append(el('h3', {}, 'Why it is on the ' + f.side + ' side'));
  const why = el('ul', { class: 'reasons' });
  for (const r of f.reasons) why.append(el('li', {}, r));
  if (f.reasons.length === 0) why.append(el('li', {}, 'no reason recorded'));
  panel.append(why);
  if (f.entries.length > 0) {
    const ul = el('ul', { class: 'entries' });
    for (const e of f.entries) ul.append(el('li', {}, e));
    panel.append(el('h3', {}, 'Entry point: the kernel calls it through'), ul);
  }
  panel.append(callList('Callers', f.callers), callList('Callees', f.callees));
  const cuts = [...f.callers.filter((c) => c.cut).map((c) => [c.f, i, c]), ...f.callees.filter((c) => c.cut).map((c) => [i, c.f, c])];
  const cutBox = el('div', { class: 'cut-edges' }, el('h3', {}, 'Cut edges (' + cuts.length + ')'));
  if (cuts.length === 0) cutBox.append(el('p', { class: 'hint' }, 'none: no call of or from it crosses the boundary'));
  else {
    const ul = el('ul', {});
    for (const [a, b, c] of cuts) ul.append(el('li', {}, fnLink(a), ' → ', fnLink(b), ' (' + fns[a].side + ' → ' + fns[b].side + ', ' + callText(c) + ')'));
    cutBox.append(ul);
  }
  panel.append(cutBox);
  const sh = el('div', { class: 'shared' }, el('h3', {}, 'Shared data it touches (' + f.shared.length + ')'));
  if (f.shared.length === 0) sh.append(el('p', { class: 'hint' }, 'none'));
  else { const ul = el('ul', {}); for (const d of f.shared) ul.append(el('li', {}, d.name + ', guarded by ' + d.lock)); sh.append(ul); }
  panel.append(sh);
  if (f.kernelCalls.length > 0) {
    const ul = el('ul', {});
    for (const k of f.kernelCalls) ul.append(el('li', {}, k.api + (data.profiled ? ': ' + plural(k.calls, 'call') : '')));
    panel.append(el('h3', {}, 'Kernel services it calls from user space'), ul);
  }
  if (!f.drawn) panel.append(el('p', { class: 'hint' }, 'This function is not drawn in the limited picture.'));

  for (const r of rows) r.classList.toggle('selected', r.dataset.fn === String(i));
  if (svg) {
    for (const g of svg.querySelectorAll('g.selected, g.near')) g.classList.remove('selected', 'near');
    const node = svg.getElementById('fn-' + i);
    if (node) {
      svg.classList.add('focus');
      node.classList.add('selected');
      for (const c of [...f.callers, ...f.callees]) {
        const o = svg.getElementById('fn-' + c.f);
        if (o) o.classList.add('near');
        const e = c.edge >= 0 ? svg.getElementById('call-' + c.edge) : null;
        if (e) e.classList.add('near');
      }
      // Scroll only the picture's box: scrollIntoView would scroll the page too.
      const box = document.getElementById('graph');
      const r = node.getBoundingClientRect();
      const b = box.getBoundingClientRect();
      box.scrollLeft += r.left + r.width / 2 - (b.left + b.width / 2);
      box.scrollTop += r.top + r.height / 2 - (b.top + b.height / 2);
    } else svg.classList.remove('focus');
  }
  if (from !== 'hash') history.replaceState(null, '', '#fn=' + encodeURIComponent(f.id));
  if (from !== 'search') search.value = f.name;
  status.textContent = '';
}

function find(q) {
  const s = q.trim().toLowerCase();
  if (s === '') return [];
  const exact = fns.map((f, i) => i).filter((i) => fns[i].name.toLowerCase() === s || fns[i].id.toLowerCase() === s);
  if (exact.length > 0) return exact;
  return fns.map((f, i) => i).filter((i) => fns[i].name.toLowerCase().includes(s));
}

function onSearch(commit) {
  const hits = find(search.value);
  if (search.value.trim() === '') { status.textContent = ''; return; }
  if (hits.length === 0) { status.textContent = 'no function matches'; return; }
  if (hits.length === 1 || commit) { select(hits[0], 'search'); status.textContent = hits.length > 1 ? hits.length + ' matches, showing the first' : ''; return; }
  status.textContent = hits.length + ' matches: ' + hits.slice(0, 5).map((i) => fns[i].name).join(', ') + (hits.length > 5 ? ', …' : '');
}
search.addEventListener('input', () => onSearch(false));
search.addEventListener('keydown', (e) => { if (e.key === 'Enter') onSearch(true); });

document.addEventListener('click', (e) => {
  const t = e.target instanceof Element ? e.target : null;
  const link = t && t.closest('[data-fn]');
  if (link && !link.closest('svg')) { e.preventDefault(); select(Number(link.getAttribute('data-fn')), 'link'); return; }
  const node = t && t.closest('svg g.node');
  if (node && node.id.startsWith('fn-')) select(Number(node.id.slice(3)), 'click');
});

let scale = 1;
const natural = svg ? { w: svg.width.baseVal.valueInSpecifiedUnits, h: svg.height.baseVal.valueInSpecifiedUnits } : null;
function zoomTo(s) {
  scale = Math.max(0.1, Math.min(4, s));
  svg.setAttribute('width', natural.w * scale + 'pt');
  svg.setAttribute('height', natural.h * scale + 'pt');
}
for (const b of document.querySelectorAll('[data-zoom]')) {
  b.addEventListener('click', () => {
    if (!svg) return;
    const z = b.getAttribute('data-zoom');
    if (z === 'fit') { const box = document.getElementById('graph'); zoomTo(Math.min(box.clientWidth / (natural.w * 4 / 3), box.clientHeight / (natural.h * 4 / 3))); }
    else zoomTo(scale * Number(z));
  });
}

function fromHash() {
  const m = /^#fn=(.*)$/.exec(location.hash);
  if (!m) return;
  const hits = find(decodeURIComponent(m[1]));
  if (hits.length > 0) select(hits[0], 'hash');
}
window.addEventListener('hashchange', fromHash);
fromHash();
`;

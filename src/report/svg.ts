/**
 * Lays the plan's DOT graph out with Graphviz compiled to WebAssembly
 * (@viz-js/viz): no system Graphviz needed.
 */
import { instance, type Viz } from '@viz-js/viz';
import type { CallGraph } from '../graph/model.js';
import type { Plan } from '../partition/plan.js';
import { planToDot, type DotGraph, type DotOptions } from './dot.js';

let viz: Promise<Viz> | undefined;

/** The WASM module is compiled once per process. */
function getViz(): Promise<Viz> {
  viz ??= instance();
  return viz;
}

export interface RenderedSvg extends DotGraph {
  svg: string;
}

/** DOT to SVG; a layout failure is a bug in the DOT we made, not bad input. */
export async function layoutDot(dot: string): Promise<string> {
  const v = await getViz();
  const r = v.render(dot, { format: 'svg', engine: 'dot' });
  if (r.status !== 'success') throw new Error(`Graphviz could not lay out the plan: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.output;
}

export async function renderPlanSvg(graph: CallGraph, plan: Plan, opts: DotOptions = {}): Promise<RenderedSvg> {
  const d = planToDot(graph, plan, opts);
  return { ...d, svg: await layoutDot(d.dot) };
}

/** A standalone SVG file of the plan's call graph. */
export async function renderSvg(graph: CallGraph, plan: Plan): Promise<string> {
  return (await renderPlanSvg(graph, plan)).svg;
}

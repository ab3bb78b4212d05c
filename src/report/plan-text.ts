/** The split, and why, as `analyze` prints it for people. */
import chalk from 'chalk';
import { describeReason } from '../partition/describe.js';
import type { Plan, PlanFunction } from '../partition/plan.js';
import { isRootReason } from './reasons.js';

function pct(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(0)}%`;
}

function why(f: PlanFunction): string {
  const roots = f.reasons.filter(isRootReason);
  const shown = roots.length > 0 ? roots : f.reasons;
  return shown.map(describeReason).join('; ') || 'no reason recorded';
}

export function planText(plan: Plan): string {
  const { kernel, user, predicted } = plan.summary;
  const lines = plan.functions.reduce((s, f) => s + f.lines, 0);
  const out: string[] = [
    chalk.bold('Split'),
    `  kernel: ${kernel.functions} functions, ${kernel.lines} lines (${pct(kernel.lines, lines)})`,
    `  user:   ${user.functions} functions, ${user.lines} lines (${pct(user.lines, lines)})`,
    plan.profiled
      ? `  crossings: ${plan.cutEdges.length} cut call edges; ${predicted.crossings} calls of the profiled run cross, ` +
        `about ${predicted.overheadUs.toFixed(0)} µs at ${plan.config.lpcRoundTripUs} µs per LPC (lpc-cost ${plan.config.lpcCost} line units)`
      : `  crossings: ${plan.cutEdges.length} cut call edges; no profile was given, so the cut assumed ` +
        `${plan.config.staticCallEstimate} call(s) per call site and no crossings are predicted`,
  ];
  const byName = (a: PlanFunction, b: PlanFunction) => a.name.localeCompare(b.name);
  const userSide = plan.functions.filter((f) => f.side === 'user').sort(byName);
  if (userSide.length) {
    out.push('', chalk.bold('Moved to user space'));
    for (const f of userSide) out.push(`  ${f.name} (${f.file}:${f.line}, ${f.lines} lines): ${why(f)}`);
  }
  const kept = plan.functions.filter((f) => f.side === 'kernel').sort(byName);
  if (kept.length) {
    out.push('', chalk.bold('Kept in the kernel'));
    for (const f of kept) out.push(`  ${f.name} (${f.file}:${f.line}, ${f.lines} lines): ${why(f)}`);
  }
  if (plan.cutEdges.length) {
    out.push('', chalk.bold('Cut edges (each call is an LPC)'));
    for (const e of [...plan.cutEdges].sort((a, b) => b.calls - a.calls || a.caller.localeCompare(b.caller))) {
      out.push(`  ${e.caller} -> ${e.callee} (${e.direction}): ${e.calls} calls${e.assumed ? `, ${e.assumed} assumed` : ''}`);
    }
  }
  if (plan.shared.length) {
    out.push('', chalk.bold('Shared data (one lock each, used by both halves)'));
    for (const s of plan.shared) out.push(`  ${s.name} (${s.kind}) via ${s.lock}: kernel ${s.kernel.join(', ') || '-'}; user ${s.user.join(', ') || '-'}`);
  }
  if (plan.notes.length) {
    out.push('', chalk.bold('Notes'));
    for (const n of plan.notes) out.push(`  ${n}`);
  }
  return out.join('\n');
}

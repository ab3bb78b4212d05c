/** Reading a plan back (check, emit) and applying forced sides to it. */
import { InputError } from '../errors.js';
import { PLAN_VERSION, computePlanHash, type Plan, type PlanFunction } from './plan.js';

/** Parse and validate plan.json. Anything malformed is an InputError naming the file. */
export function readPlan(text: string, file: string): Plan {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`not a JSON plan: ${(e as Error).message}`, file);
  }
  const bad = (msg: string): never => {
    throw new InputError(`not a valid plan: ${msg}`, file);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('expected a JSON object');
  const p = v as Partial<Plan> & { version?: unknown };
  if (p.version !== PLAN_VERSION) bad(`plan format version ${JSON.stringify(p.version)}; this split-driver reads version ${PLAN_VERSION}`);
  if (!Array.isArray(p.functions)) bad('"functions" must be an array');
  const ids = new Set<string>();
  p.functions!.forEach((f: Partial<PlanFunction>, i) => {
    if (typeof f !== 'object' || f === null) bad(`functions[${i}] must be an object`);
    if (typeof f.id !== 'string' || f.id === '') bad(`functions[${i}].id must be a function id`);
    if (f.side !== 'kernel' && f.side !== 'user') bad(`functions[${i}].side (${f.id}) must be "kernel" or "user"`);
    if (ids.has(f.id!)) bad(`functions[${i}]: ${f.id} is placed twice`);
    ids.add(f.id!);
    if (!Array.isArray(f.reasons)) f.reasons = [];
  });
  const c = p.config;
  if (typeof c !== 'object' || c === null || !Array.isArray(c.kernel) || !Array.isArray(c.user) || typeof c.thresholds !== 'object') {
    bad('"config" must hold kernel[], user[] and thresholds');
  }
  return p as Plan;
}

/**
 * Move functions to the side the user forces (`check --plan p --user f`).
 * Names are ids or bare function names; an unknown one is an InputError.
 */
export function overrideSides(plan: Plan, forced: { kernel?: string[]; user?: string[] }): Plan {
  const functions = plan.functions.map((f) => ({ ...f }));
  const config = { ...plan.config, kernel: [...plan.config.kernel], user: [...plan.config.user] };
  for (const side of ['kernel', 'user'] as const) {
    const other = side === 'kernel' ? 'user' : 'kernel';
    for (const name of forced[side] ?? []) {
      const hit = functions.filter((f) => f.id === name || f.name === name);
      if (hit.length === 0) throw new InputError(`--${side}: the plan has no function "${name}"`);
      for (const f of hit) {
        f.side = side;
        f.reasons = [{ kind: 'forced', side, origin: `--${side} on the command line` }, ...f.reasons.filter((r) => r.kind !== 'forced')];
      }
      if (!config[side].includes(name)) config[side].push(name);
      config[other] = config[other].filter((n) => n !== name);
    }
  }
  const notes = [...plan.notes, 'sides overridden on the command line; summary, cut edges and shared data are those of the original plan'];
  return { ...plan, config, functions, notes, planHash: computePlanHash(functions) };
}

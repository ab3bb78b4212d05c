/** The options that decide a split, shared by analyze, check and emit. */
import fs from 'node:fs';
import type { Argv } from 'yargs';
import { indexAll, planForEmit } from '../emit/index.js';
import { InputError, type WarningSink } from '../errors.js';
import type { Analysis } from '../input/load.js';
import { applyOverrides, loadConfig, splitNames } from '../partition/config.js';
import { overrideSides, readPlan } from '../partition/plan-io.js';
import { partition, type Plan } from '../partition/plan.js';

export interface PlanArgs {
  inputs: string[];
  kernel?: string[];
  user?: string[];
  config?: string;
  lpcCost?: number;
  hotCalls?: number;
  hotShare?: number;
  closure?: string;
  event?: string;
  forEmit?: boolean;
}

export function withPlanOptions<T>(y: Argv<T>): Argv<T & PlanArgs> {
  return y
    .option('kernel', { type: 'string', array: true, describe: 'keep these functions in the kernel (comma-separated, repeatable)' })
    .option('user', { type: 'string', array: true, describe: 'move these functions to user space (comma-separated, repeatable)' })
    .option('config', { type: 'string', describe: 'config file (default: split-driver.json beside the sources)' })
    .option('lpc-cost', { type: 'number', describe: 'cost of one boundary crossing, in kernel lines kept (default 1; docs/config.md)' })
    .option('hot-calls', { type: 'number', describe: 'a function called at least this often in the profile is hot' })
    .option('hot-share', { type: 'number', describe: 'a function with at least this share (0..1] of the inclusive cost is hot' })
    .option('closure', { type: 'string', choices: ['all', 'atomic'], describe: 'what a critical root pins: everything it reaches (all) or only its atomic closure' })
    .option('event', { type: 'string', describe: 'profile event for costs (default: the first)' })
    .option('for-emit', {
      type: 'boolean',
      describe: 'plan as emit does: a function whose arguments or data cannot cross the boundary stays in the kernel (reason cannot-cross); slower on large trees',
    }) as unknown as Argv<T & PlanArgs>;
}

/** The plan computed from the sources, with the config file and the command line applied. */
export function computePlan(analysis: Analysis, args: PlanArgs, warn?: WarningSink): Plan {
  const base = loadConfig({ inputs: args.inputs, configPath: args.config });
  const config = applyOverrides(base, {
    kernel: args.kernel,
    user: args.user,
    lpcCost: args.lpcCost,
    hotCalls: args.hotCalls,
    hotShare: args.hotShare,
    closure: args.closure,
    event: args.event,
  });
  if (args.forEmit) return planForEmit(analysis.model, analysis.graph, config, indexAll(analysis.model), warn);
  return partition(analysis.graph, config);
}

/** A plan written earlier (`analyze --plan`), with sides forced on the command line applied. */
export function loadPlan(file: string, args: PlanArgs): Plan {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read the plan: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
  const plan = readPlan(text, file);
  const kernel = splitNames(args.kernel);
  const user = splitNames(args.user);
  return kernel.length || user.length ? overrideSides(plan, { kernel, user }) : plan;
}

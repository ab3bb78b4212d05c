import type { CommandModule } from 'yargs';
import { checkPlan } from '../../check/check.js';
import { FORMATS, formatBreaches, type Format } from '../../check/format/index.js';
import { loadAnalysis } from '../../input/load.js';
import { progress, warn } from '../io.js';
import { computePlan, loadPlan, withPlanOptions, type PlanArgs } from '../plan-options.js';

interface Args extends PlanArgs {
  plan?: string;
  format: Format;
}

export const checkCommand: CommandModule<object, Args> = {
  command: 'check <inputs..>',
  describe: 'The CI gate: fail when a split would divide a critical section between kernel and user (exit 1 on a breach)',
  builder: (y) =>
    withPlanOptions(
      y
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'the driver sources (and profiles) the plan is for' })
        .option('plan', { type: 'string', describe: 'verify this plan (default: the one computed from the inputs)' })
        .option('format', { choices: FORMATS, default: 'text' as Format, describe: 'text, json, sarif (2.1.0) or github (workflow annotations)' }),
    ) as never,
  handler: async (args) => {
    const analysis = await loadAnalysis(args.inputs, { onWarning: warn, onProgress: progress('parsing') });
    const plan = args.plan ? loadPlan(args.plan, args) : computePlan(analysis, args, warn);
    const breaches = checkPlan(analysis.graph, plan, { planFile: args.plan });
    const text = formatBreaches(args.format, breaches, { color: process.stdout.isTTY === true });
    if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    process.exitCode = breaches.length > 0 ? 1 : 0;
  },
};

import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { InputError } from '../../errors.js';
import { emitDriver, indexAll, planForEmit } from '../../emit/index.js';
import { loadAnalysis } from '../../input/load.js';
import { applyOverrides, loadConfig } from '../../partition/config.js';
import { PLAN_VERSION, type Plan } from '../../partition/plan.js';
import { progress, warn } from '../io.js';

interface Args {
  inputs: string[];
  plan?: string;
  out: string;
  config?: string;
  kernel?: string[];
  user?: string[];
  name?: string;
}

function readPlan(file: string): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(readFileSync(file, 'utf8')) as Plan;
  } catch (e) {
    throw new InputError(`cannot read the plan: ${(e as Error).message}`, file);
  }
  if (plan?.version !== PLAN_VERSION || !Array.isArray(plan.functions) || typeof plan.planHash !== 'string') {
    throw new InputError(`not a version ${PLAN_VERSION} plan (expected "version", "planHash" and "functions")`, file);
  }
  return plan;
}

export const emitCommand: CommandModule<object, Args> = {
  command: 'emit <inputs..>',
  describe: 'Write the split driver: DIR/kmod (the kernel half) and DIR/udaemon (the user half)',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'the driver\'s C files or directories, and Callgrind profiles' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory (kmod/ and udaemon/ are replaced)' })
      .option('plan', { type: 'string', describe: 'a plan written by `analyze --plan`; default: compute it from the sources' })
      .option('config', { type: 'string', describe: 'split-driver.json (default: the one beside the inputs)' })
      .option('kernel', { type: 'string', array: true, describe: 'keep these functions in the kernel (computing the plan)' })
      .option('user', { type: 'string', array: true, describe: 'move these functions to user space (computing the plan)' })
      .option('name', { type: 'string', describe: 'module name (default: the driver\'s file or directory name)' }) as never,
  handler: async (args) => {
    const { model, graph, inputs } = await loadAnalysis(args.inputs, { onWarning: warn, onProgress: progress('parsing') });
    const config = applyOverrides(loadConfig({ inputs: inputs.sources, configPath: args.config }), { kernel: args.kernel, user: args.user });
    let plan: Plan;
    if (args.plan !== undefined) {
      if (args.kernel || args.user) throw new InputError('--kernel and --user shape a computed plan; with --plan, edit the plan instead');
      plan = readPlan(args.plan);
    } else {
      plan = planForEmit(model, graph, config, indexAll(model), warn);
    }
    let r: ReturnType<typeof emitDriver>;
    try {
      r = emitDriver({ model, plan, annotations: config.annotations, configName: config.file ?? 'split-driver.json', out: args.out, name: args.name, onWarning: warn });
    } catch (e) {
      // A given plan is followed as it is; say how to get one that emit can follow.
      if (!(e instanceof InputError) || args.plan === undefined || !/cannot cross|moves to user space/.test(e.message)) throw e;
      throw new InputError(`${e.message}; \`analyze --for-emit --plan ${args.plan}\` writes a plan that keeps such functions in the kernel`, e.file, e.line);
    }
    process.stderr.write(
      `split-driver: wrote ${args.out}/kmod (${r.module}.ko: ${r.split.procedures.size} procedures in user space, ${r.split.exports.size} kernel exports) and ${args.out}/udaemon\n`,
    );
  },
};

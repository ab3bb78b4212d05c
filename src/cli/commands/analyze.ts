import fs from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { InputError } from '../../errors.js';
import { loadAnalysis } from '../../input/load.js';
import { analysisDocument, analysisTable } from '../../report/analysis.js';
import { stringifyExact } from '../../report/json.js';
import { renderHtml } from '../../report/html.js';
import { planText } from '../../report/plan-text.js';
import { renderSvg } from '../../report/svg.js';
import { progress, warn } from '../io.js';
import { computePlan, withPlanOptions, type PlanArgs } from '../plan-options.js';

interface Args extends PlanArgs {
  json: boolean;
  top: number;
  plan?: string;
  svg?: string;
  html?: string;
}

async function writeOutput(file: string, text: string): Promise<void> {
  try {
    await fs.writeFile(file, text);
  } catch (e) {
    throw new InputError(`cannot write: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
}

export const analyzeCommand: CommandModule<object, Args> = {
  command: 'analyze <inputs..>',
  describe: 'Parse driver C and Callgrind profiles into one weighted call graph, split it into kernel and user halves, and say why',
  builder: (y) =>
    withPlanOptions(
      y
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'C files, directories of C files, Callgrind profiles (recognised by content)' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON document (graph and plan) instead of the report' })
        .option('top', { type: 'number', default: 40, describe: 'rows of the function table (0 = all)' })
        .option('plan', { type: 'string', describe: 'write the plan (versioned JSON, docs/plan-format.md) to this file' })
        .option('svg', { type: 'string', describe: 'draw the call graph split into kernel and user sides to this SVG file' })
        .option('html', { type: 'string', describe: 'write a self-contained HTML report (picture, search, why each function went where) to this file' }),
    ) as never,
  handler: async (args) => {
    const analysis = await loadAnalysis(args.inputs, { onWarning: warn, onProgress: progress('parsing') });
    const { model, graph } = analysis;
    const events = graph.getAttribute('events');
    if (args.event !== undefined && !events.includes(args.event)) {
      throw new InputError(`--event ${args.event}: the profile has ${events.length ? events.join(', ') : 'no events (no profile given)'}`);
    }
    const plan = computePlan(analysis, args, warn);
    if (args.plan) await writeOutput(args.plan, stringifyExact(plan) + '\n');
    if (args.svg) await writeOutput(args.svg, await renderSvg(graph, plan));
    if (args.html) await writeOutput(args.html, await renderHtml(graph, plan));
    if (args.json) {
      process.stdout.write(stringifyExact({ ...analysisDocument(graph, model), plan }) + '\n');
    } else {
      process.stdout.write(analysisTable(graph, model, { event: args.event, top: args.top }) + '\n\n' + planText(plan) + '\n');
    }
  },
};

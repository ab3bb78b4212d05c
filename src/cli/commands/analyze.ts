import type { CommandModule } from 'yargs';
import { loadAnalysis } from '../../input/load.js';
import { analysisDocument, analysisTable } from '../../report/analysis.js';
import { stringifyExact } from '../../report/json.js';
import { InputError } from '../../errors.js';
import { progress, warn } from '../io.js';

interface Args {
  inputs: string[];
  json: boolean;
  event?: string;
  top: number;
}

export const analyzeCommand: CommandModule<object, Args> = {
  command: 'analyze <inputs..>',
  describe: 'Parse driver C and Callgrind profiles into one weighted call graph and report it',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'C files, directories of C files, Callgrind profiles (recognised by content)' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON document instead of the table' })
      .option('event', { type: 'string', describe: 'profile event the table sorts by (default: the first)' })
      .option('top', { type: 'number', default: 40, describe: 'rows of the table (0 = all)' }) as never,
  handler: async (args) => {
    const { model, graph } = await loadAnalysis(args.inputs, { onWarning: warn, onProgress: progress('parsing') });
    const events = graph.getAttribute('events');
    if (args.event !== undefined && !events.includes(args.event)) {
      throw new InputError(`--event ${args.event}: the profile has ${events.length ? events.join(', ') : 'no events (no profile given)'}`);
    }
    if (args.json) process.stdout.write(stringifyExact(analysisDocument(graph, model)) + '\n');
    else process.stdout.write(analysisTable(graph, model, { event: args.event, top: args.top }) + '\n');
  },
};

/**
 * The front of the pipeline every command shares: inputs -> driver model +
 * profile -> weighted call graph.
 */
import { readProfile } from '../callgrind/parse.js';
import type { Profile } from '../callgrind/model.js';
import { InputError, type WarningSink } from '../errors.js';
import { buildGraph } from '../graph/build.js';
import type { CallGraph } from '../graph/model.js';
import { parseSources } from '../parse/index.js';
import type { DriverModel } from '../parse/model.js';
import { classifyInputs, type Inputs } from './classify.js';

export interface Analysis {
  inputs: Inputs;
  model: DriverModel;
  profile?: Profile;
  graph: CallGraph;
}

export interface LoadOptions {
  onWarning?: WarningSink;
  onProgress?: (done: number, total: number) => void;
}

export async function loadAnalysis(paths: string[], opts: LoadOptions = {}): Promise<Analysis> {
  const inputs = await classifyInputs(paths);
  if (inputs.sources.length === 0) throw new InputError('no C source among the inputs: give the driver\'s .c files or a directory');
  const model = await parseSources(inputs.sources, { onWarning: opts.onWarning, onProgress: opts.onProgress });
  const profile = inputs.profiles.length > 0 ? await readProfile(inputs.profiles, { onWarning: opts.onWarning }) : undefined;
  return { inputs, model, profile, graph: buildGraph(model, profile) };
}

/**
 * Child process of the C-parsing benchmark: parses the files listed (one per line) in
 * argv[2], builds the call graph, and prints timings and this process's peak memory as JSON.
 */
import { readFileSync } from 'node:fs';
import { buildGraph } from '../src/graph/build.js';
import { parseSources } from '../src/parse/index.js';

const list = process.argv[2];
if (!list) {
  process.stderr.write('usage: cparse-worker FILE-LIST\n');
  process.exit(2);
}
const files = readFileSync(list, 'utf8').split('\n').filter((f) => f !== '');
const t0 = process.hrtime.bigint();
const model = await parseSources(files);
const t1 = process.hrtime.bigint();
const graph = buildGraph(model);
const t2 = process.hrtime.bigint();
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({
    parseMs: Number(t1 - t0) / 1e6,
    graphMs: Number(t2 - t1) / 1e6,
    cpuS: (cpu.user + cpu.system) / 1e6,
    functions: model.functions.length,
    calls: model.calls.length,
    unresolved: model.unresolved.length,
    locks: model.locks.length,
    nodes: graph.order,
    edges: graph.size,
    maxRssKb: process.resourceUsage().maxRSS,
  }) + '\n',
);

/**
 * Child process of the profile benchmark: reads one profile and prints its
 * parse time and the peak memory of this process, as JSON.
 */
import { readProfile } from '../src/callgrind/parse.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: profile-worker FILE\n');
  process.exit(2);
}
const t0 = process.hrtime.bigint();
const p = await readProfile([file]);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(
  JSON.stringify({
    ms,
    functions: p.functions.length,
    calls: p.calls.length,
    totals: p.totals.map(String),
    maxRssKb: process.resourceUsage().maxRSS,
  }) + '\n',
);

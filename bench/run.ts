/**
 * `npm run bench`: each benchmark against its named peer, in the same run on
 * the same input, written to bench/report.md. Timings on a shared machine
 * are noisy: the report gives ratios, not verdicts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCParse } from './cparse.js';
import { benchPartition } from './partition.js';
import { benchProfile } from './profile.js';

const benches: [string, (lines: string[]) => Promise<void>][] = [
  ['Profile parsing: split-driver vs callgrind_annotate', benchProfile],
  ['C parsing and graph building on drivers/net: split-driver vs cflow', benchCParse],
  ['Partitioning a graph of 100,000 functions', benchPartition],
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const report = [
    '# split-driver benchmarks',
    '',
    `Run ${new Date().toISOString()} on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    '',
  ];
  for (const [title, run] of benches) {
    if (only.length && !only.some((o) => title.toLowerCase().includes(o.toLowerCase()))) continue;
    process.stderr.write(`bench: ${title}\n`);
    report.push(`## ${title}`, '');
    await run(report);
    report.push('');
  }
  const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/report.md');
  await fs.writeFile(out, report.join('\n'));
  process.stdout.write(report.join('\n') + '\n');
  process.stderr.write(`bench: report written to ${path.relative(process.cwd(), out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench: error: ${(err as Error).message}\n`);
  process.exit(1);
});

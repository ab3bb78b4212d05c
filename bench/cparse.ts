/**
 * C-parsing benchmark: all .c files of drivers/net (extracted from the kernel source
 * tarball) through parseSources + buildGraph in a child process, against cflow run once
 * per file (as one process cflow degrades superlinearly and merges same-named statics).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { kernelSourceDir } from '../test/support/kernel-source.js';

const run = promisify(execFile);
const TIME = '/usr/bin/time';

function cFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...cFiles(p));
    else if (e.name.endsWith('.c')) out.push(p);
  }
  return out.sort();
}

/** Runs a command under GNU time when present; wall seconds, peak RSS in KB (0 when unknown), stdout. */
async function measure(cmd: string, args: string[]): Promise<{ wallS: number; peakKb: number; stdout: string }> {
  const timed = existsSync(TIME);
  const t0 = process.hrtime.bigint();
  const child = spawn(timed ? TIME : cmd, timed ? ['-f', '%M', cmd, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`${cmd} failed (${code}): ${stderr.slice(-500)}`);
  return { wallS, peakKb: timed ? Number(stderr.trim().split('\n').pop()) : 0, stdout };
}

/** cflow on every file, two at a time (the parser also uses two workers). */
async function cflowAll(files: string[]): Promise<{ wallS: number; peakKb: number; edges: number }> {
  const t0 = process.hrtime.bigint();
  let next = 0;
  let peakKb = 0;
  let edges = 0;
  const lane = async () => {
    while (next < files.length) {
      const f = files[next++];
      const args = ['--omit-arguments', '-AA', '-i', '_', '-d', '2', f];
      const r = existsSync(TIME)
        ? await run(TIME, ['-f', '%M', 'cflow', ...args], { maxBuffer: 256 * 1024 * 1024 }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }))
        : await run('cflow', args, { maxBuffer: 256 * 1024 * 1024 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '', stderr: '' }));
      const kb = Number(r.stderr.trim().split('\n').pop());
      if (Number.isFinite(kb)) peakKb = Math.max(peakKb, kb);
      edges += r.stdout.split('\n').filter((l) => /^\s{4}\S/.test(l)).length;
    }
  };
  await Promise.all([lane(), lane()]);
  return { wallS: Number(process.hrtime.bigint() - t0) / 1e9, peakKb, edges };
}

export async function benchCParse(reportLines: string[]): Promise<void> {
  const dir = await kernelSourceDir('drivers/net');
  const files = cFiles(dir);
  let lines = 0;
  for (const f of files) lines += readFileSync(f, 'utf8').split('\n').length - 1;
  const list = path.join(os.tmpdir(), `split-driver-cparse-${process.pid}.txt`);
  writeFileSync(list, files.join('\n'));
  const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cparse-worker.js');

  const ours = await measure(process.execPath, [worker, list]);
  const r = JSON.parse(ours.stdout.trim().split('\n').pop() as string) as {
    parseMs: number; graphMs: number; cpuS: number; functions: number; calls: number; unresolved: number; locks: number; nodes: number; edges: number; maxRssKb: number;
  };
  const cflow = await cflowAll(files);

  const kLines = (s: number) => `${Math.round(lines / s / 1000)} k`;
  const mb = (kb: number) => (kb > 0 ? (kb / 1024).toFixed(0) : 'n/a');
  reportLines.push(
    `### drivers/net: ${files.length} .c files, ${(lines / 1e6).toFixed(2)} M lines`,
    '',
    '| tool | wall s | lines/s | peak RSS MB | output |',
    '| --- | ---: | ---: | ---: | --- |',
    `| split-driver parseSources + buildGraph (child process, 2 worker threads) | ${ours.wallS.toFixed(1)} | ${kLines(ours.wallS)} | ${mb(ours.peakKb || r.maxRssKb)} | ${r.functions} functions, ${r.calls} call sites (${r.edges} graph edges), ${r.unresolved} unresolved indirect calls, ${r.locks} lock regions |`,
    `| cflow --omit-arguments -AA -i _ -d 2, once per file, 2 at a time | ${cflow.wallS.toFixed(1)} | ${kLines(cflow.wallS)} | ${mb(cflow.peakKb)} (largest single run) | ${cflow.edges} caller-callee lines, no indirect calls, no locks |`,
    `| ratio split-driver / cflow | ${(ours.wallS / cflow.wallS).toFixed(1)}x the time | | | |`,
    '',
    `split-driver phases: parse + extraction ${(r.parseMs / 1000).toFixed(1)} s, graph ${(r.graphMs / 1000).toFixed(1)} s, ${r.cpuS.toFixed(1)} s CPU over all threads. Target: under 60 s wall${ours.wallS < 60 ? ' (met)' : ' (MISSED)'}.`,
    '',
  );
}

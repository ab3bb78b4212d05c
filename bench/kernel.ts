/**
 * `npm run bench:kernel`: the seed paper's benchmarks in a real kernel, in
 * one QEMU guest run, written to bench/kernel-report.md.
 *
 * - The NULL function called from an application: the sample driver as a
 *   traditional module (`!null` handled in the kernel) against the split
 *   driver whose sample_null runs in user space (application -> kernel ->
 *   daemon -> kernel -> application); and a kernel-to-daemon call carrying a
 *   4 KiB buffer, as the seed did (REQUEST_LPC of the LPC self-test module's
 *   user procedure `nop` with 4096 argument bytes).
 * - The factorial workload (20!, 10,000 times): traditional module, in user
 *   space through the daemon, split equally between the halves, and a plain
 *   C program.
 * Every hybrid case is served by the TypeScript daemon and by a minimal C
 * daemon running the same user-half library (test/qemu/progs/cdaemon.c),
 * both answering with RESPONSE_POLL (answer and poll in one ioctl).
 * Timings under software emulation mean nothing in absolute terms: the
 * report compares them only within the run.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestKernel, runInGuest } from '../test/qemu/harness.js';
import { selftestLibrary } from '../test/qemu/support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
const FACT_N = 20;
const FACT_COUNT = 10_000;
const NULL_COUNT = 3_000;
const WARMUP = 3_000;
/** The 4 KiB case's calls are split into this many rounds per daemon, alternating. */
const ROUNDS = 5;
const WORKERS = 4;
/** The self-test module's plan hash (kmod/test/lpc_selftest.c). */
const SELFTEST_PLAN = Buffer.from('split-driver lpc selftest plan').toString('hex').padEnd(64, '0');

function run(cmd: string, args: string[], cwd?: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: 'pipe', maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/** Everything the guest needs, built on the host: guest file name -> host path. */
function build(tmp: string): { files: Record<string, string>; hybridPlan: string } {
  const k = guestKernel();
  const cc = (out: string, src: string, ...flags: string[]) => {
    run('gcc', ['-O2', '-Wall', '-Werror', '-I', path.join(root, 'kmod'), ...flags, '-o', path.join(tmp, out), src]);
    return path.join(tmp, out);
  };
  // The traditional module: the fixture as it is.
  const trad = path.join(tmp, 'trad');
  cpSync(path.join(root, 'fixtures/chardev'), trad, { recursive: true });
  run('make', [`KDIR=${k.build}`], trad);
  // The hybrid: the benchmark functions moved to user space.
  const out = path.join(tmp, 'split');
  run('node', [cli, 'emit', path.join(root, 'fixtures/chardev'), '--user', 'sample_null,sample_factorial', '--out', out]);
  run('make', [`KDIR=${k.build}`], path.join(out, 'kmod'));
  run('make', [], path.join(out, 'udaemon'));
  const manifest = JSON.parse(readFileSync(path.join(out, 'udaemon/manifest.json'), 'utf8')) as { planHash: string; library: string };
  // The LPC self-test module and its user half, for the 4 KiB call.
  const lpc = path.join(tmp, 'lpc');
  cpSync(path.join(root, 'kmod'), lpc, { recursive: true });
  run('make', ['-C', k.build, `M=${path.join(lpc, 'test')}`, 'modules']);
  return {
    hybridPlan: manifest.planHash,
    files: {
      'trad.ko': path.join(trad, 'sampledrv.ko'),
      'split.ko': path.join(out, 'kmod/sampledrv.ko'),
      'split.json': path.join(out, 'udaemon/manifest.json'),
      [manifest.library]: path.join(out, 'udaemon', manifest.library),
      'lpcselftest.ko': path.join(lpc, 'test/lpcselftest.ko'),
      'selftest.json': path.join(root, 'test/qemu/progs/selftest_user.json'),
      'selftest_user.so': selftestLibrary(path.join(tmp, 'selftest_user.so')),
      'selftest_handlers.mjs': path.join(root, 'test/qemu/progs/selftest_handlers.mjs'),
      bench_app: cc('bench_app', path.join(root, 'bench/progs/bench_app.c')),
      cdaemon: cc('cdaemon', path.join(root, 'test/qemu/progs/cdaemon.c'), '-pthread', '-ldl'),
    },
  };
}

/** The guest's job: each measurement prints one "SAMPLES label total_us t1,t2,..." line. */
function script(hybridPlan: string, library: string): string {
  const fact = `'!fact ${FACT_N}'`;
  return `
set -u
chmod +x bench_app cdaemon
mkdir -p split selftest
cp split.json split/manifest.json && cp ${library} split/
cp selftest.json selftest/manifest.json && cp selftest_user.so selftest_handlers.mjs selftest/
app() { ./bench_app "$@" || { echo "FAILED $1"; cat ud.log; exit 1; }; }
wait_for() { # file-or-log-pattern
  n=0
  while ! { [ -e "$1" ] || grep -q "$1" ud.log 2>/dev/null; }; do
    n=$((n + 1)); [ $n -gt 1500 ] && { echo "TIMEOUT $1"; cat ud.log; exit 1; }
    sleep 0.2
  done
}
stop() { kill "$1"; wait "$1" 2>/dev/null; }

# The traditional module, and the plain C program.
insmod ./trad.ko || exit 1
app warm write /dev/sampledrv '!null' ${WARMUP} > /dev/null
app null_trad write /dev/sampledrv '!null' ${NULL_COUNT}
app fact_trad write /dev/sampledrv ${fact} ${FACT_COUNT}
app fact_split_kernel write /dev/sampledrv ${fact} ${FACT_COUNT / 2}
rmmod sampledrv
app fact_c local ${FACT_N} ${FACT_COUNT}

# Each daemon, started on a device: the C floor (cd) and the TypeScript daemon (ts),
# both ready to serve when the function returns. $1 plan hash, $2 the user half's directory
# (manifest.json and the library $3), $4 the LPC device.
start_cd() {
  ./cdaemon -n ${WORKERS} -p "$1" -l "$2/$3" "$4" > ud.log 2>&1 &
  D=$!
  wait_for 'attached generation'
}
start_ts() {
  rm -f ts.json
  node ${cli} udaemon "$2" --workers ${WORKERS} --report-s 0 --metrics ts.json > ud.log 2>&1 &
  D=$!
  # The supervisor's standby starts once the daemon attached: not during the timing.
  wait_for 'standby pid [0-9]* ready'
}

# The split driver, served by each daemon in turn.
for d in cd ts; do
  insmod ./split.ko || exit 1
  start_$d ${hybridPlan} ./split ${library} /dev/sampledrv_lpc
  wait_for /dev/sampledrv
  app warm write /dev/sampledrv '!null' ${WARMUP} > /dev/null
  app null_split_$d write /dev/sampledrv '!null' ${NULL_COUNT}
  app fact_user_$d write /dev/sampledrv ${fact} ${FACT_COUNT}
  app fact_split_user_$d write /dev/sampledrv ${fact} ${FACT_COUNT / 2}
  stop $D
  rmmod sampledrv
done

# Kernel to daemon with a 4 KiB buffer: REQUEST_LPC of the self-test's user procedure nop,
# in rounds that alternate the daemons, so that a slow stretch of the host falls on both.
insmod ./lpcselftest.ko || exit 1
for r in $(seq ${ROUNDS}); do
  for d in cd ts; do
    start_$d ${SELFTEST_PLAN} ./selftest selftest_user.so /dev/lpcselftest_lpc
    app warm request /dev/lpcselftest_lpc nop 4096 ${WARMUP} > /dev/null
    app null4k_\${d}_\$r request /dev/lpcselftest_lpc nop 4096 ${NULL_COUNT / ROUNDS}
    stop $D
    # The daemon's own count of the calls it served, and how many in its native loop.
    if [ $d = ts ]; then echo "METRICS null4k_ts_$r $(tr -d ' \\n' < ts.json)"; fi
  done
done
rmmod lpcselftest
echo BENCH-DONE
`;
}

interface Series {
  totalUs: number;
  samples: number[];
}

function parse(output: string): Map<string, Series> {
  const m = new Map<string, Series>();
  for (const [, label, total, list] of output.matchAll(/^SAMPLES (\w+) ([\d.]+) ([\d.,]+)$/gm)) {
    m.set(label, { totalUs: Number(total), samples: list.split(',').map(Number) });
  }
  return m;
}

/** The TypeScript daemon's metrics file (udaemon/supervisor.ts) after each 4 KiB round. */
function parseMetrics(output: string): { served: number; servedInline: number }[] {
  return [...output.matchAll(/^METRICS null4k_ts_\d+ (\{.*\})$/gm)].map((m) => JSON.parse(m[1]) as { served: number; servedInline: number });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.round(p * (sorted.length - 1))];
}

interface Row {
  name: string;
  n: number;
  totalUs: number;
  median: number;
  p90: number;
  p99: number;
}

function row(name: string, ...parts: Series[]): Row {
  const all = parts.flatMap((s) => s.samples).sort((a, b) => a - b);
  return {
    name,
    n: all.length,
    totalUs: parts.reduce((t, s) => t + s.totalUs, 0),
    median: percentile(all, 0.5),
    p90: percentile(all, 0.9),
    p99: percentile(all, 0.99),
  };
}

const us = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

function table(rows: Row[], base: Row, baseName: string, total: boolean): string[] {
  const head = total
    ? `| Variant | Calls | Total (ms) | Median (µs) | p90 (µs) | p99 (µs) | Total vs ${baseName} |`
    : `| Variant | Calls | Median (µs) | p90 (µs) | p99 (µs) | Median vs ${baseName} |`;
  const lines = [head, `|${' --- |'.repeat(total ? 7 : 6)}`];
  for (const r of rows) {
    lines.push(
      total
        ? `| ${r.name} | ${r.n} | ${(r.totalUs / 1000).toFixed(1)} | ${us(r.median)} | ${us(r.p90)} | ${us(r.p99)} | ${ratio(r.totalUs, base.totalUs)} |`
        : `| ${r.name} | ${r.n} | ${us(r.median)} | ${us(r.p90)} | ${us(r.p99)} | ${ratio(r.median, base.median)} |`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'split-driver-bench-kernel-'));
  try {
    process.stderr.write('bench:kernel: building the modules, the user half and the programs\n');
    const { files, hybridPlan } = build(tmp);
    const library = Object.keys(files).find((f) => f.endsWith('.so') && f !== 'selftest_user.so')!;
    process.stderr.write('bench:kernel: running the guest (QEMU TCG, a few minutes)\n');
    const guest = await runInGuest({ script: script(hybridPlan, library), files, timeoutMs: 1_500_000 });
    if (guest.exitCode !== 0 || !guest.output.includes('BENCH-DONE') || guest.kernelFaults.length) {
      throw new Error(`the guest run failed (exit ${guest.exitCode}, timed out: ${guest.timedOut}):\n${guest.output.slice(-4000)}\n${guest.kernelFaults.join('\n')}`);
    }
    const s = parse(guest.output);
    const get = (l: string) => {
      const v = s.get(l);
      if (!v) throw new Error(`no measurement "${l}" in the guest's output`);
      return v;
    };
    const nullRows = [
      row('Traditional module (`!null` in the kernel)', get('null_trad')),
      row('Hybrid, C daemon (application → kernel → daemon → kernel)', get('null_split_cd')),
      row('Hybrid, TypeScript daemon', get('null_split_ts')),
    ];
    const rounds = Array.from({ length: ROUNDS }, (_, i) => i + 1);
    const kRows = [row('C daemon', ...rounds.map((r) => get(`null4k_cd_${r}`))), row('TypeScript daemon', ...rounds.map((r) => get(`null4k_ts_${r}`)))];
    const roundRatios = rounds.map((r) => (row('', get(`null4k_ts_${r}`)).median / row('', get(`null4k_cd_${r}`)).median).toFixed(2));
    const factRows = [
      row('Traditional module', get('fact_trad')),
      row('Workload in user space, C daemon', get('fact_user_cd')),
      row('Workload in user space, TypeScript daemon', get('fact_user_ts')),
      row('Split equally, C daemon', get('fact_split_kernel'), get('fact_split_user_cd')),
      row('Split equally, TypeScript daemon', get('fact_split_kernel'), get('fact_split_user_ts')),
      row('Plain C program', get('fact_c')),
    ];
    const tsVsC = kRows[1].median / kRows[0].median;
    const tsMetrics = parseMetrics(guest.output);
    if (tsMetrics.length !== ROUNDS) throw new Error(`the TypeScript daemon's metrics came from ${tsMetrics.length} of ${ROUNDS} rounds`);
    const tsServed = tsMetrics.reduce((t, m) => t + m.served, 0);
    const tsInline = tsMetrics.reduce((t, m) => t + m.servedInline, 0);
    const report = [
      '# split-driver kernel benchmarks (the seed paper\'s)',
      '',
      `Run ${new Date().toISOString()} by \`npm run bench:kernel\`: one QEMU guest (TCG, 2 vCPUs, kernel ${guestKernel().version}) on a host with ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}. ` +
        'Software emulation slows everything, and unevenly: compare the numbers only within this run, as ratios. ' +
        `Every hybrid case ran with ${WORKERS} daemon threads, after ${WARMUP} warm-up calls. Times are per call, measured by the application (bench/progs/bench_app.c) around each write() or ioctl().`,
      '',
      '## The NULL function, called from an application',
      '',
      `The application writes \`!null\` to /dev/sampledrv ${NULL_COUNT} times. The traditional module is fixtures/chardev built as it is; the hybrid is \`split-driver emit fixtures/chardev --user sample_null,sample_factorial\`, so \`sample_null()\` runs in the daemon.`,
      '',
      ...table(nullRows, nullRows[0], 'traditional', false),
      '',
      `TypeScript daemon / C daemon (medians): **${(nullRows[2].median / nullRows[1].median).toFixed(2)}**.`,
      '',
      '## Kernel to daemon and back with a 4 KiB buffer',
      '',
      `The emitted \`sample_null\` stub carries no arguments, so this is the seed's variant with a buffer: REQUEST_LPC (the kernel half's call path, started by the application) of the LPC self-test module's user procedure \`nop\` with 4096 argument bytes copied to the daemon and room for 4096 bytes of answer, ${NULL_COUNT} times, in ${ROUNDS} rounds of ${NULL_COUNT / ROUNDS} per daemon that alternate the daemons (each round a fresh daemon and ${WARMUP} warm-up calls), so that a slow stretch of the emulating host falls on both. Both daemons run the same user-half library (test/qemu/progs/selftest_user.c) and the protocol's shortest path: a thread answers a request and polls for the next one in one RESPONSE_POLL ioctl. The C daemon (test/qemu/progs/cdaemon.c) is N threads looping lpc_user_dispatch() → RESPONSE_POLL, the floor for any daemon on this kernel; the TypeScript daemon's leader threads (udaemon/worker.ts) serve C procedures inline through lpc_user_serve() (udaemon/native/lpc_serve.c, linked into the library): one koffi call runs the procedure, answers it and polls the next in the same RESPONSE_POLL, and goes on so while the requests are for the same procedure and the pool lets it, up to 256 requests or a metrics period, timing one request in 16 itself; then the worker's JavaScript does its bookkeeping (metrics, the watchdog's procedure name, the leaders' baton) and calls it again.`,
      '',
      `By its own metrics the TypeScript daemon served ${tsInline} of the ${tsServed} calls of its rounds (warm-up included) in that loop.`,
      '',
      ...table(kRows, kRows[0], 'C daemon', false),
      '',
      `TypeScript daemon round trip / C daemon round trip (medians): **${tsVsC.toFixed(2)}** (target: at most 1.5); round by round: ${roundRatios.join(', ')}.`,
      '',
      '## The factorial workload, 10,000 times',
      '',
      `One iteration computes ${FACT_N}! (\`sample_factorial(${FACT_N})\`). Traditional module: the application writes \`!fact ${FACT_N}\` ${FACT_COUNT} times and the kernel computes it. ` +
        `Workload in user space: the same writes on the split driver, whose \`sample_factorial\` runs in the daemon. ` +
        `Split equally: ${FACT_COUNT / 2} iterations with the workload in the kernel half (the traditional module) and ${FACT_COUNT / 2} with it in the user half (the split driver), run one after the other; the total is their sum and the percentiles are over all ${FACT_COUNT}. ` +
        `Plain C program: the same function called ${FACT_COUNT} times in a user program, no driver (each iteration timed like the others, so its per-call times are mostly the clock's cost).`,
      '',
      ...table(factRows, factRows[0], 'traditional', true),
      '',
    ].join('\n');
    writeFileSync(path.join(root, 'bench/kernel-report.md'), report);
    process.stdout.write(report);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:kernel: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

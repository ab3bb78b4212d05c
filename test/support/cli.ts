import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const up = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The checkout: two levels up from test/support, three from its build under dist/ (the benchmarks run that). */
export const repoRoot = path.basename(up) === 'dist' ? path.dirname(up) : up;

/** Runs the built CLI as a user would (npm test builds dist/ first). */
export function runCli(args: string[], opts: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist/src/cli/main.js'), ...args], {
    cwd: opts.cwd ?? repoRoot,
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, FORCE_COLOR: '0' },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

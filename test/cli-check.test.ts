import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './support/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-check-'));
const fixture = (name: string) => {
  const dir = path.join(repoRoot, 'fixtures', name);
  const c = fs.readdirSync(dir).filter((f) => f.endsWith('.c')).map((f) => path.join(dir, f));
  return [...c, path.join(dir, 'callgrind.out')];
};

describe.each(['chardev', 'irqdev'])('split-driver check on fixtures/%s', (name) => {
  it('passes the computed plan, and the plan written by analyze', () => {
    expect(runCli(['check', ...fixture(name)]).status).toBe(0);
    const planFile = path.join(tmp, `${name}.plan.json`);
    const a = runCli(['analyze', ...fixture(name), '--plan', planFile]);
    expect(a.status).toBe(0);
    const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    expect(plan.version).toBe(1);
    for (const f of plan.functions) {
      expect(['kernel', 'user']).toContain(f.side);
      expect(Array.isArray(f.reasons)).toBe(true);
    }
    // A reader learns why each kernel-side function stayed.
    expect(plan.functions.filter((f: any) => f.side === 'kernel').every((f: any) => f.reasons.length > 0)).toBe(true);
    const c = runCli(['check', ...fixture(name), '--plan', planFile]);
    expect(c.stdout).toMatch(/no breach/);
    expect(c.status).toBe(0);
  });
});

describe('split-driver check breaches', () => {
  const spinCallee = { chardev: ['sample_stats_account', 'sample_accumulate', 'dev->stats_lock'], irqdev: ['irqdev_ring_pop', 'irqdev_read', 'priv->lock'] } as const;

  it.each(Object.entries(spinCallee))('fails %s when a function called under a spinlock is forced to user space', (name, [callee, holder, lock]) => {
    const r = runCli(['check', ...fixture(name), '--user', callee]);
    expect(r.status).toBe(1);
    const atomic = r.stdout.split('\n').find((l) => l.includes('[atomic-user]'));
    expect(atomic).toBeDefined();
    expect(atomic).toMatch(new RegExp(`^${path.join(repoRoot, 'fixtures', name)}/\\w+\\.c:\\d+: error: `));
    expect(atomic).toContain(callee);
    expect(atomic).toContain(holder);
    expect(atomic).toContain(lock);
  });

  it('applies --user to a saved plan and reports it in SARIF and GitHub form', () => {
    const planFile = path.join(tmp, 'chardev.plan.json');
    expect(runCli(['analyze', ...fixture('chardev'), '--plan', planFile]).status).toBe(0);
    const sarif = runCli(['check', ...fixture('chardev'), '--plan', planFile, '--user', 'sample_stats_account', '--format', 'sarif']);
    expect(sarif.status).toBe(1);
    const log = JSON.parse(sarif.stdout);
    expect(log.version).toBe('2.1.0');
    const results = log.runs[0].results;
    expect(results.some((r: any) => r.ruleId === 'atomic-user' && r.locations[0].physicalLocation.region.startLine > 0)).toBe(true);
    const gh = runCli(['check', ...fixture('chardev'), '--plan', planFile, '--user', 'sample_stats_account', '--format', 'github']);
    expect(gh.status).toBe(1);
    expect(gh.stdout).toMatch(/^::error file=.*sampledrv\.c,line=\d+/m);
  });

  it('is a usage error (exit 2) for a plan that is not one, or a function the sources lack', () => {
    const bogus = path.join(tmp, 'bogus.json');
    fs.writeFileSync(bogus, '{"version": 99}');
    const r = runCli(['check', ...fixture('chardev'), '--plan', bogus]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bogus\.json: not a valid plan/);
    const u = runCli(['check', ...fixture('chardev'), '--user', 'no_such_function']);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/no_such_function/);
  });
});

import { describe, expect, it } from 'vitest';
import { RULES, type Breach } from '../../src/check/check.js';
import { formatBreaches } from '../../src/check/format/index.js';
import { toSarif } from '../../src/check/format/sarif.js';

const breaches: Breach[] = [
  { file: 'drv.c', line: 110, rule: 'atomic-user', lock: 'struct p.lock', holder: 'isr', misplaced: 'tx_done', message: 'tx_done is called while isr holds p->lock' },
  { file: 'dir,odd:name.c', line: 7, rule: 'lock-split', lock: 'm', holder: 'a', misplaced: 'b', message: '100% split\nsecond line' },
];

describe('check output formats', () => {
  it('text: one file:line diagnostic per breach and a verdict', () => {
    const out = formatBreaches('text', breaches);
    expect(out.split('\n')[0]).toBe('drv.c:110: error: tx_done is called while isr holds p->lock [atomic-user]');
    expect(out).toContain('2 breaches');
    expect(formatBreaches('text', [])).toContain('no breach');
    expect(formatBreaches('text', breaches, { color: false })).not.toContain('\u001b[');
  });

  it('json: the breaches as written', () => {
    const v = JSON.parse(formatBreaches('json', breaches));
    expect(v).toEqual({ version: 1, clean: false, breaches });
  });

  it('github: workflow error commands with escaped properties and data', () => {
    const lines = formatBreaches('github', breaches).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/^::error file=[^,:]+,line=\d+,title=[^,:]+::.+$/);
    expect(lines[0]).toBe('::error file=drv.c,line=110,title=split-driver atomic-user::tx_done is called while isr holds p->lock');
    expect(lines[1]).toBe('::error file=dir%2Codd%3Aname.c,line=7,title=split-driver lock-split::100%25 split%0Asecond line');
    expect(formatBreaches('github', [])).toBe('');
  });

  it('sarif: the required structure of SARIF 2.1.0', () => {
    const log = JSON.parse(formatBreaches('sarif', breaches)) as ReturnType<typeof toSarif> & Record<string, any>;
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-schema-2\.1\.0\.json$/);
    expect(Array.isArray(log.runs)).toBe(true);
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(typeof run.tool.driver.name).toBe('string');
    const ids = run.tool.driver.rules.map((r: any) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(Object.keys(RULES).sort());
    for (const r of run.tool.driver.rules) expect(typeof r.shortDescription.text).toBe('string');
    expect(run.results).toHaveLength(2);
    for (const res of run.results) {
      expect(typeof res.message.text).toBe('string');
      expect(['none', 'note', 'warning', 'error']).toContain(res.level);
      expect(run.tool.driver.rules[res.ruleIndex].id).toBe(res.ruleId);
      const loc = res.locations[0].physicalLocation;
      expect(typeof loc.artifactLocation.uri).toBe('string');
      expect(Number.isInteger(loc.region.startLine) && loc.region.startLine >= 1).toBe(true);
    }
    expect(run.results[0].locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'drv.c' }, region: { startLine: 110 } });
    expect(run.results[0].properties).toEqual({ misplaced: 'tx_done', lock: 'struct p.lock', holder: 'isr' });
    expect(JSON.parse(formatBreaches('sarif', [])).runs[0].results).toEqual([]);
  });
});

/** SARIF 2.1.0, for code-scanning dashboards. */
import type { Breach, Rule } from '../check.js';
import { RULES } from '../check.js';

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

export function toSarif(breaches: Breach[]): object {
  const ruleIds = Object.keys(RULES) as Rule[];
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'split-driver',
            rules: ruleIds.map((id) => ({
              id,
              name: id.replace(/(^|-)([a-z])/g, (_m, _d: string, ch: string) => ch.toUpperCase()),
              shortDescription: { text: RULES[id].title },
              fullDescription: { text: RULES[id].description },
              defaultConfiguration: { level: 'error' },
            })),
          },
        },
        results: breaches.map((b) => ({
          ruleId: b.rule,
          ruleIndex: ruleIds.indexOf(b.rule),
          level: 'error',
          message: { text: b.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: b.file.split('\\').join('/') },
                region: { startLine: Math.max(1, b.line) },
              },
            },
          ],
          properties: { misplaced: b.misplaced, ...(b.lock !== undefined ? { lock: b.lock } : {}), ...(b.holder !== undefined ? { holder: b.holder } : {}) },
        })),
      },
    ],
  };
}

export function formatSarif(breaches: Breach[]): string {
  return JSON.stringify(toSarif(breaches), null, 2) + '\n';
}

/** Machine-readable result: `{version, clean, breaches[]}`. */
import type { Breach } from '../check.js';

export function formatJson(breaches: Breach[]): string {
  return JSON.stringify({ version: 1, clean: breaches.length === 0, breaches }, null, 2) + '\n';
}

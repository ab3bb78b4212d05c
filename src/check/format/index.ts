import type { Breach } from '../check.js';
import { formatGithub } from './github.js';
import { formatJson } from './json.js';
import { formatSarif } from './sarif.js';
import { formatText } from './text.js';

export const FORMATS = ['text', 'json', 'sarif', 'github'] as const;
export type Format = (typeof FORMATS)[number];

export function formatBreaches(format: Format, breaches: Breach[], opts: { color?: boolean } = {}): string {
  switch (format) {
    case 'text':
      return formatText(breaches, opts);
    case 'json':
      return formatJson(breaches);
    case 'sarif':
      return formatSarif(breaches);
    case 'github':
      return formatGithub(breaches);
  }
}

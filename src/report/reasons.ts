/**
 * Why a function went where it went, in words a reader of the pictures
 * understands: a short tag for the node label and a sentence for the panel.
 */
import type { Reason } from '../partition/roots.js';
import { ROOT_KINDS } from '../partition/roots.js';

/** A critical root: a reason that pins the function to the kernel on its own. */
export function isRootReason(r: Reason): boolean {
  return ROOT_KINDS.has(r.kind) && !(r.kind === 'forced' && r.side === 'user');
}

const TAGS: Record<Reason['kind'], string> = {
  forced: 'forced',
  'irq-context': 'irq',
  atomic: 'atomic',
  'user-memory': 'user memory',
  dma: 'DMA',
  'hardware-hot': 'hardware',
  hot: 'hot',
  'data-path': 'data path',
  'reachable-from': 'reached',
  'min-cut': 'min-cut',
  'lock-group': 'lock',
  'cannot-cross': 'cannot cross',
};

/** Short, distinct tags of the root reasons, for a node label. */
export function rootTags(reasons: Reason[]): string[] {
  return [...new Set(reasons.filter(isRootReason).map((r) => TAGS[r.kind]))];
}

const fmt = (n: number): string => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 }));

/** One sentence for a reason; `name` turns a function id into the name a reader knows. */
export function explainReason(r: Reason, name: (id: string) => string = (id) => id): string {
  switch (r.kind) {
    case 'forced':
      return `forced to the ${r.side} side by ${r.origin}`;
    case 'irq-context':
      return `runs in interrupt or atomic context: registered through ${r.via} at ${r.file}:${r.line}`;
    case 'atomic':
      return r.role === 'holder'
        ? `holds ${r.lock} (${r.lockClass}) at ${r.file}:${r.line}: user space cannot run in atomic context`
        : `called while ${name(r.holder)} holds ${r.lock} (${r.lockClass}) at ${r.file}:${r.line}`;
    case 'user-memory':
      return `touches the calling process's memory (${r.api} at ${r.file}:${r.line})`;
    case 'dma':
      return `uses the DMA API (${r.api} at ${r.file}:${r.line})`;
    case 'hardware-hot':
      return `touches the hardware (${r.api} at ${r.file}:${r.line}) on ${r.path === 'atomic' ? 'an atomic' : 'a hot'} path from ${name(r.root)}`;
    case 'hot':
      return r.by === 'calls'
        ? `hot: called ${fmt(r.calls)} times in the profiled run`
        : `hot: ${(r.share * 100).toFixed(1)}% of the run's ${r.event ?? 'cost'}`;
    case 'data-path':
      return `data-path entry point ${r.structType}.${r.field} (${r.file}:${r.line})`;
    case 'reachable-from':
      return `reachable from the critical root ${name(r.root)} (called by ${name(r.via)}): everything a root reaches stays in the kernel`;
    case 'min-cut': {
      const cheaper = r.userCost < r.kernelCost ? 'user space' : r.kernelCost < r.userCost ? 'the kernel' : 'neither side';
      return `placed by the minimum cut: in the kernel it would cost ${fmt(r.kernelCost)}, in user space ${fmt(r.userCost)} (lines kept in the kernel plus crossings times the LPC cost); on its own ${cheaper} is cheaper`;
    }
    case 'cannot-cross':
      return `cannot cross the kernel/user boundary, so emit keeps it in the kernel: ${r.why} (${r.file}:${r.line})`;
    case 'lock-group':
      return `kept on one side with ${name(r.with)}: both take part in lock ${r.lock}`;
  }
}

import type { Reason } from './roots.js';

/** One line of text for a reason, as shown to the user. */
export function describeReason(r: Reason): string {
  switch (r.kind) {
    case 'forced':
      return `forced to the ${r.side} side (${r.origin})`;
    case 'irq-context':
      return `runs in interrupt/atomic context (${r.via}, ${r.file}:${r.line})`;
    case 'atomic':
      return r.role === 'holder' ? `holds ${r.lock} (${r.lockClass}, ${r.file}:${r.line})` : `called while ${r.holder} holds ${r.lock} (${r.file}:${r.line})`;
    case 'user-memory':
      return `touches user memory (${r.api}, ${r.file}:${r.line})`;
    case 'dma':
      return `uses the DMA API (${r.api}, ${r.file}:${r.line})`;
    case 'hardware-hot':
      return `touches the hardware on a${r.path === 'atomic' ? 'n atomic' : ' hot'} path (${r.api}, ${r.file}:${r.line}, from ${r.root})`;
    case 'hot':
      return r.by === 'calls' ? `hot: ${r.calls} calls` : `hot: ${(r.share * 100).toFixed(1)}% of ${r.event ?? 'the cost'}`;
    case 'data-path':
      return `data-path entry ${r.structType}.${r.field} (${r.file}:${r.line})`;
    case 'reachable-from':
      return `reachable from ${r.root} via ${r.via}`;
    case 'min-cut':
      return `placed by the minimum cut (kernel ${r.kernelCost}, user ${r.userCost})`;
    case 'cannot-cross':
      return `cannot cross the kernel/user boundary: ${r.why} (${r.file}:${r.line})`;
    case 'lock-group':
      return `shares lock ${r.lock} with ${r.with}${r.fixedBy === undefined ? '' : `; the group includes ${r.fixedBy}, whose side is fixed`}`;
  }
}

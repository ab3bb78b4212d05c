/** The partitioner and the check on the sample drivers, through the real parser and graph builder. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../src/check/check.js';
import { formatText } from '../../src/check/format/text.js';
import { loadAnalysis } from '../../src/input/load.js';
import { applyOverrides, defaultConfig } from '../../src/partition/config.js';
import { partition, type Plan } from '../../src/partition/plan.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string): string => path.join(repo, 'fixtures', name);
const fn = (plan: Plan, name: string) => {
  const f = plan.functions.find((x) => x.name === name);
  if (!f) throw new Error(`no function ${name} in the plan`);
  return f;
};

describe('partition of the sample drivers', () => {
  it('irqdev: interrupt, timer and read paths stay in the kernel with their reasons; init moves out; the plan checks clean', async () => {
    const { graph } = await loadAnalysis([fixture('irqdev')]);
    const plan = partition(graph, defaultConfig());
    expect(fn(plan, 'irqdev_interrupt')).toMatchObject({ side: 'kernel' });
    expect(fn(plan, 'irqdev_interrupt').reasons).toContainEqual(expect.objectContaining({ kind: 'irq-context', via: 'request_irq' }));
    expect(fn(plan, 'irqdev_timer_fn').reasons).toContainEqual(expect.objectContaining({ kind: 'irq-context', via: 'timer_setup' }));
    expect(fn(plan, 'irqdev_read').reasons).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'data-path', structType: 'file_operations', field: 'read' }), expect.objectContaining({ kind: 'user-memory', api: 'copy_to_user' })]),
    );
    expect(fn(plan, 'irqdev_ring_pop').reasons).toContainEqual(expect.objectContaining({ kind: 'atomic', role: 'called', lock: 'struct irqdev_priv.lock', line: 216 }));
    expect(fn(plan, 'irqdev_init').side).toBe('user');
    expect(plan.notes.some((n) => /irqdev_init runs at module load/.test(n))).toBe(true);
    expect(checkPlan(graph, plan)).toEqual([]);
  });

  it('irqdev: --user on a function called under the spinlock fails the check at the call', async () => {
    const { graph } = await loadAnalysis([fixture('irqdev')]);
    const plan = partition(graph, applyOverrides(defaultConfig(), { user: ['irqdev_ring_pop'] }));
    const breaches = checkPlan(graph, plan);
    const b = breaches.find((x) => x.rule === 'atomic-user' && x.line === 216);
    expect(b).toMatchObject({ lock: 'struct irqdev_priv.lock' });
    expect(b!.holder).toMatch(/irqdev_read$/);
    expect(b!.misplaced).toMatch(/irqdev_ring_pop$/);
    expect(formatText(breaches)).toMatch(/irqdev\.c:216: error: \S*irqdev_ring_pop is called while \S*irqdev_read holds priv->lock \(spin_lock_irqsave at \S*irqdev\.c:215\)/);
  });

  it('chardev: the command code stays with sample_write because it runs under io_sem, and the plan says so', async () => {
    const { graph } = await loadAnalysis([fixture('chardev')]);
    // Even when a data-path entry does not pin what it reaches, the semaphore
    // sample_write holds around sample_dispatch keeps the commands on its side.
    const plan = partition(graph, applyOverrides(defaultConfig(), { closure: 'atomic' }));
    const selftest = fn(plan, 'sample_cmd_selftest');
    expect(selftest.side).toBe('kernel');
    expect(selftest.pinned).toBe(false);
    expect(selftest.reasons).toContainEqual({ kind: 'lock-group', lock: 'struct sample_dev.io_sem', with: expect.stringMatching(/sample_write$/) });
    expect(fn(plan, 'sample_init').side).toBe('user');
    expect(checkPlan(graph, plan)).toEqual([]);
    // Moving one command out splits the io_sem critical section.
    const moved = partition(graph, applyOverrides(defaultConfig(), { closure: 'atomic', user: ['sample_cmd_selftest'] }));
    expect(checkPlan(graph, moved)).toContainEqual(expect.objectContaining({ rule: 'lock-call-side', lock: 'struct sample_dev.io_sem', misplaced: expect.stringMatching(/sample_cmd_selftest$/) }));
  });
});

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
    expect(fn(plan, 'irqdev_ring_pop').reasons).toContainEqual(expect.objectContaining({ kind: 'atomic', role: 'called', lock: 'struct irqdev_priv.lock', line: 234 }));
    expect(fn(plan, 'irqdev_init').side).toBe('user');
    expect(plan.notes.some((n) => /irqdev_init runs at module load/.test(n))).toBe(true);
    expect(checkPlan(graph, plan)).toEqual([]);
  });

  it('irqdev: --user on a function called under the spinlock fails the check at the call', async () => {
    const { graph } = await loadAnalysis([fixture('irqdev')]);
    const plan = partition(graph, applyOverrides(defaultConfig(), { user: ['irqdev_ring_pop'] }));
    const breaches = checkPlan(graph, plan);
    const b = breaches.find((x) => x.rule === 'atomic-user' && x.line === 234);
    expect(b).toMatchObject({ lock: 'struct irqdev_priv.lock' });
    expect(b!.holder).toMatch(/irqdev_read$/);
    expect(b!.misplaced).toMatch(/irqdev_ring_pop$/);
    expect(formatText(breaches)).toMatch(/irqdev\.c:234: error: \S*irqdev_ring_pop is called while \S*irqdev_read holds priv->lock \(spin_lock_irqsave at \S*irqdev\.c:233\)/);
  });

  it('chardev: the config code stays with sample_cmd_set because it runs under config_lock, and the plan says so', async () => {
    const { graph } = await loadAnalysis([fixture('chardev')]);
    // Commands run without io_sem (sample_write drops it before dispatching), so
    // nothing pins them; the config_lock mutex still ties set and update together.
    const plan = partition(graph, applyOverrides(defaultConfig(), { closure: 'atomic' }));
    const update = fn(plan, 'sample_config_update');
    expect(update.side).toBe(fn(plan, 'sample_cmd_set').side);
    expect(update.pinned).toBe(false);
    expect(update.reasons).toContainEqual({ kind: 'lock-group', lock: 'struct sample_dev.config_lock', with: expect.stringMatching(/sample_cmd_set$/) });
    expect(fn(plan, 'sample_cmd_selftest').side).toBe('user');
    expect(fn(plan, 'sample_init').side).toBe('user');
    expect(checkPlan(graph, plan)).toEqual([]);
    // Keeping the update in the kernel alone splits the config_lock critical section.
    const split = partition(graph, applyOverrides(defaultConfig(), { closure: 'atomic', kernel: ['sample_config_update'], user: ['sample_cmd_set'] }));
    expect(checkPlan(graph, split)).toContainEqual(
      expect.objectContaining({ rule: 'lock-call-side', lock: 'struct sample_dev.config_lock', misplaced: expect.stringMatching(/sample_config_update$/) }),
    );
  });
});

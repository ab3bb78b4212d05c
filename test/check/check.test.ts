import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../src/check/check.js';
import { formatText } from '../../src/check/format/text.js';
import { InputError } from '../../src/errors.js';
import { applyOverrides, defaultConfig } from '../../src/partition/config.js';
import { partition } from '../../src/partition/plan.js';
import { overrideSides } from '../../src/partition/plan-io.js';
import { CFG_MUTEX, driverGraph, PRIV_LOCK } from '../partition/fixture-graph.js';
import { makeGraph } from '../partition/graph-helper.js';

describe('check', () => {
  it('passes the plan the partitioner computes', () => {
    const graph = driverGraph();
    expect(checkPlan(graph, partition(graph, defaultConfig()))).toEqual([]);
  });

  it('fails a plan that forces a function called under a spinlock into user space, naming lock, holder and line', () => {
    const graph = driverGraph();
    const plan = partition(graph, applyOverrides(defaultConfig(), { user: ['drv_tx_done'] }));
    const breaches = checkPlan(graph, plan);
    expect(breaches).toContainEqual({
      file: 'drv.c',
      line: 110,
      rule: 'atomic-user',
      lock: PRIV_LOCK,
      holder: 'drv_interrupt',
      misplaced: 'drv_tx_done',
      message: 'drv_tx_done is called while drv_interrupt holds p->lock (spin_lock at drv.c:105) but is on the user side; a spinlock or interrupts-off region must stay in the kernel',
    });
    expect(breaches).toContainEqual(expect.objectContaining({ rule: 'critical-user', misplaced: 'drv_tx_done', file: 'drv.c', line: 140 }));
    // drv_ack, reached from the handler through drv_tx_done, is still in the kernel: no breach for it.
    expect(breaches.some((b) => b.misplaced === 'drv_ack')).toBe(false);
    expect(formatText(breaches)).toContain('drv.c:110: error: drv_tx_done is called while drv_interrupt holds p->lock');
  });

  it('reports a spinlock holder placed in user space', () => {
    const graph = driverGraph();
    const plan = overrideSides(partition(graph, defaultConfig()), { user: ['drv_interrupt'] });
    expect(checkPlan(graph, plan)).toContainEqual(expect.objectContaining({ file: 'drv.c', line: 105, rule: 'atomic-user', holder: 'drv_interrupt', misplaced: 'drv_interrupt' }));
  });

  it('reports a call under a mutex that crosses to the other side', () => {
    const graph = driverGraph();
    const plan = overrideSides(partition(graph, defaultConfig()), { kernel: ['drv_cfg_apply'] });
    expect(checkPlan(graph, plan)).toEqual([
      {
        file: 'drv.c',
        line: 607,
        rule: 'lock-call-side',
        lock: CFG_MUTEX,
        holder: 'drv_cfg_set',
        misplaced: 'drv_cfg_apply',
        message: 'drv_cfg_apply is called while drv_cfg_set holds p->cfg_mutex (mutex_lock at drv.c:605); it is on the kernel side and drv_cfg_set on the user side',
      },
    ]);
  });

  it('follows the calls made under a lock transitively', () => {
    const graph = makeGraph({
      functions: [{ id: 'holder', holds: [{ lock: 'm', lockClass: 'mutex', atomic: false, primitive: 'mutex_lock', line: 12, calls: [{ callee: 'mid', line: 13 }] }] }, { id: 'mid', line: 30 }, { id: 'leaf', line: 50 }],
      calls: [
        { from: 'holder', to: 'mid', line: 13 },
        { from: 'mid', to: 'leaf', line: 33 },
      ],
    });
    // A hand-edited plan: holder and mid in the kernel, leaf in user space, nothing forced.
    const base = partition(graph, defaultConfig());
    const plan = { ...base, functions: base.functions.map((f) => ({ ...f, side: f.id === 'leaf' ? ('user' as const) : ('kernel' as const) })) };
    expect(checkPlan(graph, plan)).toEqual([expect.objectContaining({ file: 'drv.c', line: 33, rule: 'lock-call-side', holder: 'holder', misplaced: 'leaf', lock: 'm' })]);
    expect(checkPlan(graph, plan)[0].message).toContain('leaf is called (via mid) while holder holds');
  });

  it('reports a lock taken in one function and released in another on different sides', () => {
    const graph = makeGraph({ functions: [{ id: 'take', line: 10, acquires: ['dev.lock'] }, { id: 'give', line: 40, releases: ['dev.lock'] }] });
    const plan = overrideSides(partition(graph, defaultConfig()), { kernel: ['take'], user: ['give'] });
    expect(checkPlan(graph, plan)).toEqual([
      {
        file: 'drv.c',
        line: 40,
        rule: 'lock-split',
        lock: 'dev.lock',
        holder: 'take',
        misplaced: 'give',
        message: 'dev.lock is taken in take (kernel side) and released in give (user side); both must be on one side',
      },
    ]);
  });

  it('reports a critical root in user space with its reasons, and a function its kernel closure calls', () => {
    const graph = driverGraph();
    const plan = overrideSides(partition(graph, defaultConfig()), { user: ['drv_write', 'drv_hot'] });
    const breaches = checkPlan(graph, plan);
    const write = breaches.find((b) => b.misplaced === 'drv_write')!;
    expect(write).toMatchObject({ rule: 'critical-user', file: 'drv.c', line: 200 });
    expect(write.message).toContain('data-path entry file_operations.write (drv.c:500)');
    expect(write.message).toContain('touches user memory (copy_from_user, drv.c:210)');
    // drv_hot is a root itself (5000 calls): reported as such, at its definition.
    expect(breaches.find((b) => b.misplaced === 'drv_hot')).toMatchObject({ rule: 'critical-user', line: 490 });
  });

  it('reports a non-root function reached from kernel code of a critical root', () => {
    const graph = makeGraph({ functions: [{ id: 'isr', entry: [{ kind: 'irq', api: 'request_irq' }] }, { id: 'helper', line: 60 }], calls: [{ from: 'isr', to: 'helper', line: 15 }] });
    const plan = overrideSides(partition(graph, defaultConfig()), { user: ['helper'] });
    expect(checkPlan(graph, plan)).toEqual([expect.objectContaining({ rule: 'closure-user', file: 'drv.c', line: 15, holder: 'isr', misplaced: 'helper' })]);
  });

  it('refuses a plan made from other sources', () => {
    const graph = driverGraph();
    const plan = partition(graph, defaultConfig());
    const stale = { ...plan, functions: plan.functions.filter((f) => f.id !== 'drv_probe') };
    expect(() => checkPlan(graph, stale, { planFile: 'plan.json' })).toThrow(InputError);
    expect(() => checkPlan(graph, stale)).toThrow(/does not place drv_probe/);
  });
});

/**
 * Shared data on the kernel side: the kept functions that touch a global
 * the user half also works on take its LPC lock (wrapped), and emit refuses,
 * with file:line and the fix, the cases where taking it would be wrong.
 * test/emit/sdrv holds one case per global.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'split-driver-shared-'));

function emit(...args: string[]) {
  return runCli(['emit', 'test/emit/sdrv', ...args, '--out', path.join(work, args.join('_').replace(/\W+/g, '-'))]);
}

function refused(r: ReturnType<typeof runCli>, line: number): string {
  expect(r.status).toBe(2);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const m = new RegExp(`^split-driver: error: test/emit/sdrv/sdrv\\.c:${line}: (.*)$`, 'm').exec(r.stderr);
  expect(m, r.stderr).not.toBeNull();
  return m![1];
}

describe('emit refuses shared data it cannot guard on the kernel side', () => {
  it('a global the interrupt handler touches (the lock sleeps)', () => {
    const msg = refused(emit('--user', 'sd_irq_reset'), 26);
    expect(msg).toMatch(/^sd_irq runs in atomic context and uses irq_count/);
    expect(msg).toContain('--kernel sd_irq_reset');
  });

  it('a module parameter sysfs can write, at its module_param line', () => {
    const msg = refused(emit('--user', 'sd_set_level', '--kernel', 'sd_ioctl'), 15);
    expect(msg).toMatch(/^level is a module parameter writable through sysfs \(0644\)/);
    expect(msg).toContain('make it read-only (0444)');
    expect(msg).toContain('--kernel sd_set_level');
  });

  it('a kernel function the user half calls (EXEC) that touches it', () => {
    const msg = refused(emit('--user', 'sd_add_twice', '--kernel', 'sd_add'), 64);
    expect(msg).toMatch(/^sd_add is called from the user half and uses total/);
    expect(msg).toContain('would wait for itself');
    expect(msg).toContain('--kernel sd_add_twice');
  });

  it('a function whose return type cannot report that it was killed while waiting for the lock', () => {
    const msg = refused(emit('--user', 'sd_hits_clear'), 53);
    expect(msg).toMatch(/^sd_hit uses hits, .* it returns unsigned int/);
    expect(msg).toContain('--kernel sd_hits_clear');
  });
});

describe('emit guards what it can', () => {
  it('a read-only module parameter: the kernel code reading it takes its lock, the stubs give it back', () => {
    const out = path.join(work, 'quiet');
    const r = runCli(['emit', 'test/emit/sdrv', '--user', 'sd_quiet_get', '--kernel', 'sd_ioctl,sd_irq_reset', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const k = readFileSync(path.join(out, 'kmod/sdrv_main.c'), 'utf8');
    // sd_ioctl reads quiet: its body moves to sd_ioctl_locked, the wrapper keeps its name for the ops table.
    expect(k).toMatch(/static long sd_ioctl_locked\(struct file \*file, unsigned int cmd,\n\s+unsigned long arg\)\n\{\n\tswitch/);
    expect(k).toMatch(/static long sd_ioctl\(struct file \*file, unsigned int cmd, unsigned long arg\)\n\{\n\tlong lpc_ret;\n\n\tif \(lpc_guard_take\(&lpc_guard_quiet\)\)\n\t\treturn -EINTR;\n\tlpc_ret = sd_ioctl_locked\(file, cmd, arg\);\n\tlpc_guard_give\(&lpc_guard_quiet\);\n\treturn lpc_ret;\n\}/);
    expect(k).toMatch(/lpc_guards_drop\(&lpc_held\);\n\tlpc_ret = lpc_call_user\(lpc_dev_get\(\), "sd_quiet_get"[^;]*;\n\tlpc_guards_retake\(&lpc_held\);/);
    expect(k).toContain('struct lpc_guard lpc_guard_quiet = { .lock = &sdrv_lpc_locks[0] };');
    // The interrupt handler touches no shared data: not wrapped.
    expect(k).not.toContain('sd_irq_locked');
  });
});

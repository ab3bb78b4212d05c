/** Shared by the emit tests: running tools, building an emitted split driver, checkpatch. */
import path from 'node:path';
import { sh } from '../support/kbuild.js';
import { guestKernel } from '../qemu/harness.js';

export { checkpatch, diagnostics, sh } from '../support/kbuild.js';

/** `make W=1 C=1` in DIR/kmod against the installed kernel's headers (KDIR=, as the README says). */
export function buildKmod(dir: string): Promise<{ code: number; out: string }> {
  return sh('make', [`KDIR=${guestKernel().build}`, 'W=1', 'C=1'], path.join(dir, 'kmod'));
}

export function buildUdaemon(dir: string): Promise<{ code: number; out: string }> {
  return sh('make', [], path.join(dir, 'udaemon'));
}

/** Moved to user space in the chardev tests: numbers, strings, structs in and out, buffers, EXEC, shared data. */
export const CHARDEV_USER = [
  'sample_factorial',
  'sample_selftest_checksum',
  'sample_selftest_factorial',
  'sample_config_update',
  'sample_mode_parse',
  'sample_config_validate',
  'sample_format_config',
  'sample_config_defaults',
].join(',');

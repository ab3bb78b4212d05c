/**
 * Kernel source for tests and benches, extracted on demand from the distribution's
 * linux-source tarball (never committed). Each distinct member list is extracted once
 * into its own directory under os.tmpdir() and reused by later runs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The tarball's top directory. */
const TOP = 'linux-source-6.1';

export function kernelTarball(): string {
  const tarball = process.env.LINUX_SOURCE_TARBALL ?? '/usr/src/linux-source-6.1.tar.xz';
  if (!existsSync(tarball)) {
    throw new Error(
      `kernel source tarball ${tarball} not found: install the linux-source-6.1 package or set LINUX_SOURCE_TARBALL`,
    );
  }
  return tarball;
}

/**
 * Extracts the listed members (paths relative to the kernel tree, shell wildcards allowed,
 * directories extract whole) and returns the root that holds them, e.g.
 * `${root}/drivers/net/ethernet/realtek/8139too.c`.
 */
export async function kernelSourceFiles(members: string[]): Promise<string> {
  const tarball = kernelTarball();
  const st = statSync(tarball);
  const key = createHash('sha1')
    .update(`${tarball}\0${st.size}\0${st.mtimeMs}\0${[...members].sort().join('\0')}`)
    .digest('hex')
    .slice(0, 16);
  const cache = path.join(os.tmpdir(), 'split-driver-kernel-source');
  const root = path.join(cache, key);
  if (existsSync(path.join(root, TOP))) return path.join(root, TOP);
  // Extract beside the final place and rename, so a concurrent test never sees a half tree.
  const tmp = `${root}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await run('tar', ['-xJf', tarball, '-C', tmp, '--wildcards', ...members.map((m) => `${TOP}/${m}`)], {
      maxBuffer: 64 * 1024 * 1024,
    });
    try {
      renameSync(tmp, root);
    } catch {
      if (!existsSync(path.join(root, TOP))) throw new Error(`cannot move kernel source into ${root}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return path.join(root, TOP);
}

/** Extracts a whole directory of the kernel tree (e.g. 'drivers/net') and returns its path. */
export async function kernelSourceDir(dir: string): Promise<string> {
  const root = await kernelSourceFiles([dir]);
  return path.join(root, dir);
}

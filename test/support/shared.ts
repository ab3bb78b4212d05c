/**
 * Where the shared corpus lives: $SPLIT_DRIVER_SHARED, else `../shared`
 * beside the repository.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function sharedDir(): string {
  return process.env.SPLIT_DRIVER_SHARED ?? resolve(repoRoot, '../shared');
}

/** The corpus folder of one kind (`callgrind`, ...), or the corpus root. */
export function corpusDir(kind?: string): string {
  const root = join(sharedDir(), 'corpus');
  return kind ? join(root, kind) : root;
}

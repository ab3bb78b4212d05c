import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons (tree-sitter, koffi) are safest in their own processes.
    pool: 'forks',
    // Two cores: QEMU guests and kernel builds must not starve each other.
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});

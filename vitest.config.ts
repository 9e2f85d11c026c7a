import { defineConfig } from 'vitest/config';

// Two projects: fast unit/exchange/fuzz tests, and interop tests that drive real
// strongSwan clients in network namespaces (root, Linux). Interop runs one file at a
// time because every file builds its own namespaces and charon instances.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/exchange/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // The native addon and the kernel's XFRM netlink, in private network namespaces (root).
        test: {
          name: 'native',
          include: ['test/native/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});

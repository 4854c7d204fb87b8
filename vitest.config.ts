import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Tests build images, start containers and servers: files run one at a
    // time so two of them never fight over /var/lib/lxc or the CPU.
    fileParallelism: false,
    reporters: ['default'],
  },
});

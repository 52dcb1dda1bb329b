// SPDX-License-Identifier: GPL-2.0-only
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'threads',
    setupFiles: ['test/support/setup.ts'],
  },
});

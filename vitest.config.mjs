import { defineConfig } from 'vitest/config';
import os from 'os';
import path from 'path';

export default defineConfig({
  // The suite also runs as `nobody`, who cannot write to node_modules/.vite.
  cacheDir: path.join(os.tmpdir(), `sbx-native-vitest-${process.getuid?.() ?? 0}`),
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30000,
    hookTimeout: 30000,
    pool: 'forks',
  },
});

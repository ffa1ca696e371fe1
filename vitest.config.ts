import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Rendering and ONNX tests do real work on 2 cores; the default 5 s is too tight.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

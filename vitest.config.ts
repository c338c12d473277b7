import { defineConfig } from 'vitest/config';

/**
 * Many tests run real processes, encoders and browsers: on a 2-core CI machine a test that
 * waits for one can take longer than vitest's 5 s default without anything being wrong.
 * Speed is measured by `npm run bench`, never by a test's timeout.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

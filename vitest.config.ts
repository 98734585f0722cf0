import { defineConfig } from 'vitest/config';

// One run for the whole repository, so the run ends with one summary line. Integration tests share
// one test host (one Docker engine, one sshd), so files run one at a time.
export default defineConfig({
  resolve: { conditions: ['titan-source'] },
  ssr: { resolve: { conditions: ['titan-source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'action-*/test/**/*.test.ts', 'action-*/*/test/**/*.test.ts', 'test/**/*.test.ts', 'cli/test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default'],
    // GitHub's workflow parser imports its JSON schema without an import attribute (it is built for
    // bundlers): the test workers load JSON modules with one (scripts/json-modules.mjs).
    execArgv: ['--import', './scripts/json-modules.mjs'],
  },
});

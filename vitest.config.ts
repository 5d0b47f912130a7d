import { defineConfig, type ViteUserConfig } from 'vitest/config'

// `sync-kit` and `sync-kit/*` resolve to the source through tsconfig.json `paths` (as in tsc and tsx), so
// the examples import the package by name and test the code beside them, not a stale `dist/`.
const resolve = { tsconfigPaths: true }

const config: ViteUserConfig = defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'test/**/*.test.ts',
            'examples/**/*.test.ts',
            'bench/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', 'dist/**'],
          typecheck: {
            enabled: true,
            include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'],
            tsconfig: './tsconfig.json',
          },
          testTimeout: 30_000,
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: [
            'src/**/*.int.test.ts',
            'test/**/*.int.test.ts',
            'examples/**/*.int.test.ts',
            'bench/**/*.int.test.ts',
          ],
          exclude: ['**/*.browser.int.test.ts', '**/node_modules/**', 'dist/**'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Tests in real Chromium (test/chromium.fixture.ts); alone: `npm run test:browser`.
        resolve,
        test: {
          name: 'browser',
          include: ['src/**/*.browser.int.test.ts', 'test/**/*.browser.int.test.ts'],
          testTimeout: 15_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
})

export default config

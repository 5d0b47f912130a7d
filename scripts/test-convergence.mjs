// `npm run test:convergence -- --runs N [--seed S | --seed random]`: runs the convergence property
// test (src/sync/convergence.property.test.ts) with more runs or another seed. Vitest has no
// `--runs` flag, so this sets SYNC_KIT_RUNS / SYNC_KIT_SEED, which the test reads, and runs it.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const USAGE = `Usage: npm run test:convergence -- [--runs N] [--seed S | --seed random]

  --runs N    property runs, a positive integer (default: 300, as in CI)
  --seed S    fast-check seed: an integer (e.g. one printed by a failure) or "random"
              (default: the fixed CI seed)`

let values
try {
  ;({ values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }))
} catch (error) {
  console.error(`[sync-kit] [test:convergence] ${error.message}\n\n${USAGE}`)
  process.exit(2)
}
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const env = { ...process.env }
if (values.runs !== undefined) {
  if (!/^[1-9][0-9]*$/.test(values.runs) || !Number.isSafeInteger(Number(values.runs))) {
    console.error(
      `[sync-kit] [test:convergence] --runs must be a positive integer, got "${values.runs}"`,
    )
    process.exit(2)
  }
  env.SYNC_KIT_RUNS = values.runs
}
if (values.seed !== undefined) {
  if (values.seed !== 'random' && !/^-?[0-9]+$/.test(values.seed)) {
    console.error(
      `[sync-kit] [test:convergence] --seed must be an integer or "random", got "${values.seed}"`,
    )
    process.exit(2)
  }
  env.SYNC_KIT_SEED = values.seed
}

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url))
const child = spawn(
  process.execPath,
  [vitest, 'run', '--project', 'unit', 'src/sync/convergence.property.test.ts'],
  { cwd: fileURLToPath(new URL('..', import.meta.url)), env, stdio: 'inherit' },
)
child.on('exit', (code) => process.exit(code ?? 1))

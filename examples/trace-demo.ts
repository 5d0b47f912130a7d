/**
 * `npm run demo`: replays a real keystroke trace through sync-kit and checks that every replica
 * converges on the trace's final document. Run `npm run demo -- --help` for the flags.
 *
 * Imports the library by name (`sync-kit`, `sync-kit/http`, …) as an app does. In the sync-kit
 * checkout, tsconfig.json `paths` map those names to the source (`src/`; tsx, tsc and vitest read
 * them), so it needs no build; copied into an app, it runs on the installed package.
 *
 * @example
 * ```sh
 * npm run demo
 * npm run demo -- --trace examples/data/sequential-seph-blog1.json.gz --replicas 5 --segment 200
 * ```
 *
 * @module
 */
import { runDemoCli } from './traces/cli.js'

process.exitCode = await runDemoCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
})

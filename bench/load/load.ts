/**
 * `npm run load`: the load test of issue 10 — one real `sync-kit serve` (SQLite), or several on
 * one PostgreSQL database (issue 12), and hundreds of live `SyncManager` clients over HTTP in
 * worker processes. See `npm run load -- --help` and
 * docs/benchmarks.md ("Load test").
 *
 * Prints the JSON report on stdout (and to `--json FILE`), a summary on stderr. Exit code 0 when
 * every client settled in time and the exactly-once check passed, 1 when not (or the run broke),
 * 2 for a bad command line.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises'

import { LOAD_USAGE, LoadUsageError, parseLoadArgs } from './load-options.js'
import { formatSummary } from './load-report.js'
import { runLoad } from './load-run.js'
import { launcherFor } from './servers.js'

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

async function main(argv: readonly string[]): Promise<number> {
  let options
  try {
    options = parseLoadArgs(argv)
  } catch (error) {
    if (!(error instanceof LoadUsageError)) throw error
    progress(`[load] ${error.message}\n\n${LOAD_USAGE}`)
    return 2
  }
  if (options === 'help') {
    process.stdout.write(`${LOAD_USAGE}\n`)
    return 0
  }
  if (options.pgUrl === undefined && process.env['SYNC_KIT_TEST_PG'] !== undefined) {
    options = { ...options, pgUrl: process.env['SYNC_KIT_TEST_PG'] }
  }
  let launcher
  try {
    launcher = launcherFor(options.store, options.serverInstances, options.pgUrl)
  } catch (error) {
    progress(error instanceof Error ? error.message : String(error))
    return 2
  }
  const report = await runLoad(options, launcher, progress)
  const json = `${JSON.stringify(report, null, 2)}\n`
  process.stdout.write(json)
  if (options.json !== undefined) await writeFile(options.json, json)
  progress(formatSummary(report))
  return report.check.passed ? 0 : 1
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  progress(
    `[load] the run broke: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  )
  process.exitCode = 1
}

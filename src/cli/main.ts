/**
 * The `sync-kit` executable (package.json `bin`): runs {@link runCli} on `process`, with
 * SIGINT/SIGTERM as shutdown signals. Built to `dist/cli/main.js` with a `#!/usr/bin/env node`
 * banner; run it from the source with `node --import tsx src/cli/main.ts`.
 *
 * @example
 * ```sh
 * npx sync-kit serve --db ./sync.db --port 8787
 * npx sync-kit serve --db :memory: --port 0
 * npx sync-kit --help
 * ```
 *
 * @module
 */
import { readPackageVersion } from './package-version.js'
import { runCli } from './run-cli.js'

/** Signals that start the graceful shutdown. */
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const
/**
 * After a command finished, how long the event loop may take to drain (pending log writes)
 * before the process exits anyway: a leaked handle must not keep a stopped server alive.
 */
const EXIT_DRAIN_MS = 2_000

const writeLine =
  (stream: NodeJS.WriteStream) =>
  (line: string): void => {
    stream.write(`${line}\n`)
  }

// A reader that went away (EPIPE: `sync-kit serve | head`) must not crash a running server.
process.stdout.on('error', () => undefined)
process.stderr.on('error', () => undefined)

const stderr = writeLine(process.stderr)
const fatal = (kind: string) => (error: unknown) => {
  stderr(
    JSON.stringify({
      level: 'error',
      time: new Date().toISOString(),
      msg: kind,
      code: 'internal',
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    }),
  )
  process.exit(1)
}
process.on('uncaughtException', fatal('uncaught exception'))
process.on('unhandledRejection', fatal('unhandled rejection'))

const code = await runCli(process.argv.slice(2), {
  stdout: writeLine(process.stdout),
  stderr,
  onSignal: (listener) => {
    for (const signal of SHUTDOWN_SIGNALS) process.on(signal, listener)
    return () => {
      for (const signal of SHUTDOWN_SIGNALS) process.off(signal, listener)
    }
  },
  exit: (exitCode) => process.exit(exitCode),
  version: readPackageVersion(),
})
process.exitCode = code
setTimeout(() => process.exit(code), EXIT_DRAIN_MS).unref()

/**
 * The `sync-kit` command, independent of the process: parses the command line, prints help or
 * the version, or runs `serve` or `epoch`. `main.ts` wires it to `process`.
 *
 * @example
 * ```ts
 * import { runCli } from './run-cli.js'
 *
 * const code = await runCli(['--version'], {
 *   stdout: console.log,
 *   stderr: console.error,
 *   onSignal: () => () => undefined,
 *   exit: (code) => process.exit(code),
 *   version: '0.1.0',
 * })
 * ```
 *
 * @module
 */
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { parseCliArgs } from './cli-args.js'
import type { CliCommand } from './cli-args.js'
import { createCliLog, errorFields } from './json-log.js'
import type { CliOutput } from './json-log.js'
import { runEpoch } from './epoch-command.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runServe } from './serve-command.js'
import type { ServeDependencies } from './serve-command.js'

/** What {@link runCli} needs: output streams, signals, exit and the version. */
export interface CliEnvironment extends CliOutput, Omit<ServeDependencies, 'log'> {}

/**
 * Runs the `sync-kit` command line to completion.
 * @param argv - the arguments after the program name.
 * @param env - output, signal source, exit and version.
 * @returns the exit code: 0 success, 1 runtime failure, 2 bad command line (the message goes to
 * stderr, with a pointer to `--help`).
 * @example
 * ```ts
 * import { runCli } from './run-cli.js'
 *
 * const lines: string[] = []
 * const code = await runCli(['serve', '--bogus'], {
 *   stdout: (line) => lines.push(line),
 *   stderr: (line) => lines.push(line),
 *   onSignal: () => () => undefined,
 *   exit: () => undefined,
 *   version: '0.1.0',
 * })
 * // code === 2, lines[0] explains the unknown flag
 * ```
 */
export async function runCli(argv: readonly string[], env: CliEnvironment): Promise<number> {
  let command: CliCommand
  try {
    command = parseCliArgs(argv)
  } catch (error) {
    env.stderr(error instanceof Error ? error.message : String(error))
    return isSyncKitError(error, 'invalid-argument') ? EXIT_USAGE : EXIT_FAILURE
  }
  if (command.kind === 'help') {
    env.stdout(command.text)
    return EXIT_OK
  }
  if (command.kind === 'version') {
    env.stdout(env.version)
    return EXIT_OK
  }
  if (command.kind === 'epoch') {
    const log = createCliLog({ stdout: env.stdout, stderr: env.stderr })
    return runEpoch(command.options, {
      log,
      ...(env.cwd === undefined ? {} : { cwd: env.cwd }),
      ...(env.importPg === undefined ? {} : { importPg: env.importPg }),
    })
  }
  const log = createCliLog({
    stdout: env.stdout,
    stderr: env.stderr,
    level: command.options.logLevel,
  })
  try {
    return await runServe(command.options, { ...env, log })
  } catch (error) {
    log.error('server failed', errorFields(error))
    return EXIT_FAILURE
  }
}

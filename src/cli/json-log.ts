/**
 * The structured log of `sync-kit serve`: one JSON object per line (JSON Lines), `info` on
 * stdout, `warn` and `error` on stderr, each with `level`, `time` (ISO 8601) and `msg` first.
 *
 * @example
 * ```ts
 * import { createCliLog } from './json-log.js'
 *
 * const log = createCliLog({
 *   stdout: (line) => process.stdout.write(`${line}\n`),
 *   stderr: (line) => process.stderr.write(`${line}\n`),
 * })
 * log.info('listening', { url: 'http://127.0.0.1:8787' })
 * // {"level":"info","time":"2025-01-01T00:00:00.000Z","msg":"listening","url":"http://127.0.0.1:8787"}
 * ```
 *
 * @module
 */
import { isSyncKitError } from '../errors/sync-kit-error.js'
import type { SyncLogEntry } from '../transports/http/index.js'
import type { Clock } from '../types/index.js'
import type { LogLevel } from './cli-args.js'

/** Where the CLI writes: one call per line, without the newline. */
export interface CliOutput {
  /** Receives `info` records and the help and version text. */
  readonly stdout: (line: string) => void
  /** Receives `warn` and `error` records and usage errors. */
  readonly stderr: (line: string) => void
}

/** Options of {@link createCliLog}. */
export interface CliLogOptions extends CliOutput {
  /** Least severe level written. @defaultValue `'info'` */
  readonly level?: LogLevel
  /** Time source of the `time` field. @defaultValue `Date` */
  readonly clock?: Clock
}

/** Extra fields of a record; `undefined` values are left out. */
export type LogFields = Readonly<Record<string, unknown>>

/** The CLI's logger. */
export interface CliLog {
  /**
   * Writes an `info` record to stdout.
   * @param msg - what happened, e.g. `listening`.
   * @param fields - extra fields.
   */
  info(msg: string, fields?: LogFields): void
  /**
   * Writes a `warn` record to stderr.
   * @param msg - what happened.
   * @param fields - extra fields.
   */
  warn(msg: string, fields?: LogFields): void
  /**
   * Writes an `error` record to stderr.
   * @param msg - what happened.
   * @param fields - extra fields; see {@link errorFields}.
   */
  error(msg: string, fields?: LogFields): void
  /**
   * Writes one request record of the sync handler (`msg: "request"`), at its own level.
   * @param entry - the handler's record.
   */
  request(entry: SyncLogEntry): void
}

const RANK: Readonly<Record<LogLevel, number>> = { info: 0, warn: 1, error: 2 }

/**
 * Creates the JSON-lines logger of the CLI. A record that cannot be serialised (a cycle, a
 * `bigint`) is written with its fields replaced by a note, never thrown.
 * @param options - the two output streams, the least severe level and the clock.
 * @returns the logger.
 * @example
 * ```ts
 * import { createCliLog } from './json-log.js'
 *
 * const log = createCliLog({ stdout: console.log, stderr: console.error, level: 'warn' })
 * log.info('ignored at level warn')
 * log.error('start failed', { code: 'unavailable' })
 * ```
 */
export function createCliLog(options: CliLogOptions): CliLog {
  const threshold = RANK[options.level ?? 'info']
  const clock = options.clock ?? Date
  const write = (
    level: LogLevel,
    msg: string,
    fields: LogFields | undefined,
    time?: string,
  ): void => {
    if (RANK[level] < threshold) return
    const record = { level, time: time ?? new Date(clock.now()).toISOString(), msg, ...fields }
    let line: string
    try {
      line = JSON.stringify(record)
    } catch {
      line = JSON.stringify({
        level,
        time: record.time,
        msg,
        note: 'the fields of this record could not be serialised',
      })
    }
    if (level === 'info') options.stdout(line)
    else options.stderr(line)
  }
  return {
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    request: (entry) => {
      const { level, time, method, path, status, ms, ...rest } = entry
      write(level, 'request', { method, path, status, ms, ...rest }, time)
    },
  }
}

/**
 * The log fields describing a thrown value: `code` and `message` for a sync-kit error, plus
 * `stack` for anything else (an unexpected failure is a bug worth its stack trace).
 * @param error - any thrown value.
 * @returns the fields.
 * @example
 * ```ts
 * import { createCliLog, errorFields } from './json-log.js'
 *
 * const log = createCliLog({ stdout: console.log, stderr: console.error })
 * try {
 *   JSON.parse('{')
 * } catch (error) {
 *   log.error('parse failed', errorFields(error))
 * }
 * ```
 */
export function errorFields(error: unknown): LogFields {
  if (isSyncKitError(error)) return { code: error.code, message: error.message }
  if (error instanceof Error)
    return { code: 'internal', message: error.message, stack: error.stack }
  return { code: 'internal', message: String(error) }
}

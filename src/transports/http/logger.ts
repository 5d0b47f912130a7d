/**
 * One structured log record of the sync server: one per request, two per stream.
 * @example
 * ```ts
 * import type { SyncLogEntry } from 'sync-kit/http'
 *
 * const slow = (entry: SyncLogEntry) => entry.stream === undefined && entry.ms > 1000
 * ```
 */
export interface SyncLogEntry {
  /** `info` for 2xx, `warn` for 4xx, `error` for 5xx and failures inside a stream. */
  readonly level: 'info' | 'warn' | 'error'
  /** ISO-8601 time the record was written. */
  readonly time: string
  /** HTTP method. */
  readonly method: string
  /** URL path (no query string: it may carry tenant or aggregate ids). */
  readonly path: string
  /** Response status. */
  readonly status: number
  /** Milliseconds from receiving the request to the response (to the end, for streams). */
  readonly ms: number
  /** The error code, for errors. */
  readonly code?: string
  /** The error message, for errors. */
  readonly message?: string
  /** Events received (push) or sent (pull, stream). */
  readonly events?: number
  /** Events stored for the first time (push). */
  readonly stored?: number
  /** Events that were already stored (push). */
  readonly duplicates?: number
  /** The principal's tenant, when the request was scoped to one. */
  readonly tenant?: string
  /** `open` when a stream starts, `closed` when it ends. */
  readonly stream?: 'open' | 'closed'
}

/**
 * Receives the server's structured log records. Must not throw.
 * @example
 * ```ts
 * import { createSyncHandler, type SyncLogger } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const logger: SyncLogger = (entry) => {
 *   if (entry.level !== 'info') console.warn(entry.method, entry.path, entry.status, entry.code)
 * }
 * const handler = createSyncHandler({ store: createMemoryStore(), logger })
 * ```
 */
export type SyncLogger = (entry: SyncLogEntry) => void

/**
 * A logger that writes each record as one line of JSON (JSON Lines), for log shippers.
 * @param write - where lines go.
 * @defaultValue write `console.log`
 * @returns the logger.
 * @example
 * ```ts
 * import { createSyncHandler, createJsonLineLogger } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({
 *   store: createMemoryStore(),
 *   logger: createJsonLineLogger((line) => process.stdout.write(line + '\n')),
 * })
 * ```
 */
export function createJsonLineLogger(
  write: (line: string) => void = (line) => console.log(line),
): SyncLogger {
  return (entry) => write(JSON.stringify(entry))
}

import type { Clock } from '../../types/index.js'
import type { SyncServer } from '../../server/index.js'
import type { BodyBudget } from './body-budget.js'
import type { SyncLogEntry, SyncLogger } from './logger.js'
import type { StoreHealth } from './store-health.js'

/** A log record being filled in while a request is served. */
export type LogDraft = { -readonly [K in keyof SyncLogEntry]?: SyncLogEntry[K] }

/** What every route needs: the server core and the handler's own settings. */
export interface HandlerContext {
  readonly server: SyncServer
  readonly maxBodyBytes: number
  readonly maxDecompressedBytes: number
  readonly heartbeatMs: number
  readonly clock: Clock
  /** Ends each open stream; emptied by the handler's `close()`. */
  readonly streams: Set<() => void>
  /** Most streams open at once. */
  readonly maxStreams: number
  /** Streams open or opening (taken before the first await, so the limit is exact). */
  readonly streamSlots: { taken: number }
  /** The global budget of request-body bytes. */
  readonly budget: BodyBudget
  /** The store's write health, for `/v1/health`. */
  readonly health: StoreHealth
  /** Writes one record, if there is a logger. */
  writeLog(request: Request, started: number, entry: LogDraft): void
}

/** One authorised request: the principal's tenant and its log record. */
export interface RequestContext {
  readonly tenant: string | undefined
  readonly log: LogDraft
}

/**
 * Makes the handler's log writer.
 * @param logger - the logger option; `undefined` writes nothing.
 * @param clock - time source for `time` and `ms`.
 * @returns the writer.
 */
export function createLogWriter(
  logger: SyncLogger | undefined,
  clock: Clock,
): HandlerContext['writeLog'] {
  return (request, started, entry) => {
    if (logger === undefined) return
    const status = entry.status ?? 500
    const record: SyncLogEntry = {
      ...entry,
      level: status >= 500 || entry.level === 'error' ? 'error' : status >= 400 ? 'warn' : 'info',
      time: new Date(clock.now()).toISOString(),
      method: request.method,
      path: safePath(request.url),
      status,
      ms: Math.max(0, clock.now() - started),
    }
    try {
      logger(record)
    } catch {
      // A failing logger must not fail the request.
    }
  }
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname.slice(0, 300)
  } catch {
    return ''
  }
}

import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { EventStore, Filter, SignalOptions } from '../../types/index.js'
import { badArgument as badOption } from './faults.js'
import type { InjectedFailure, LoopbackOp } from './faults.js'

/** True when the value looks like an `EventStore` (the methods the hub calls). */
export function isStore(value: unknown): value is EventStore {
  if (typeof value !== 'object' || value === null) return false
  const s = value as Record<string, unknown>
  return ['store', 'load', 'latestVersion', 'parseVersion', 'close'].every(
    (method) => typeof s[method] === 'function',
  )
}

/** Checks a latency in ms (≥ 0, finite); `what` names it in the message. */
export function checkLatency(ms: unknown, what: string): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw badOption(
      'latencyMs',
      `${what} must be a finite number of ms ≥ 0 (or a function returning one), got ${String(ms)}`,
    )
  }
}

/** Copies filters as if they crossed a wire (malformed ones are left for `compileFilters`). */
export function copyFilters(filters: readonly Filter[] | undefined): readonly Filter[] | undefined {
  if (filters === undefined) return undefined
  if (!Array.isArray(filters)) return filters // compileFilters rejects it with a clear message
  return filters.map((f: unknown) =>
    typeof f === 'object' && f !== null ? { ...(f as Filter) } : (f as Filter),
  )
}

/** `{ signal }` when there is one, else `{}` (exact optional properties). */
export function signalOf(
  options: { readonly signal?: AbortSignal | undefined } | undefined,
): SignalOptions {
  return options?.signal === undefined ? {} : { signal: options.signal }
}

/** The error of a call aborted during its latency. */
export function aborted(op: LoopbackOp, signal: AbortSignal | undefined): SyncKitError<'aborted'> {
  return new SyncKitError(
    'aborted',
    `[sync-kit] [loopback] ${op} was aborted`,
    {},
    {
      cause: signal?.reason,
    },
  )
}

/** The error of an injected failure. */
export function injected(
  failure: InjectedFailure,
  op: LoopbackOp,
  latencyMs: number,
): SyncKitError {
  const what = failure.afterStore
    ? `${op} failed after the hub stored the events (injected lost acknowledgement); retrying is safe: the hub reports them as duplicates`
    : `${op} failed (injected ${failure.code}); retry with backoff`
  const message = `[sync-kit] [loopback] ${what}`
  return failure.code === 'timeout'
    ? new SyncKitError('timeout', message, { timeoutMs: latencyMs })
    : new SyncKitError('unavailable', message, {})
}

/** A store's failure as the client sees it (`internal` for a non-sync-kit error). */
export function asSyncKitError(error: unknown, op: LoopbackOp): SyncKitError {
  if (isSyncKitError(error)) return error
  return new SyncKitError(
    'internal',
    `[sync-kit] [loopback] ${op} failed in the hub's store: ${error instanceof Error ? error.message : String(error)}`,
    {},
    { cause: error },
  )
}

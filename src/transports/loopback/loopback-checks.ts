import { compileFilters } from '../../core/filters.js'
import { describe } from '../../core/json-value.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { Filter } from '../../types/index.js'
import type { LoopbackConnection, LoopbackOp } from './loopback-transport.js'

/** Longest client id accepted: 256 characters. */
const MAX_CLIENT_ID_LENGTH = 256

/** An `invalid-argument` error of the loopback hub, naming the argument. */
export function badArgument(argument: string, message: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `[sync-kit] [loopback] ${message}`, { argument })
}

/**
 * Checks a client id.
 * @param clientId - the value given.
 * @throws SyncKitError `invalid-argument` unless it is a string of 1–256 characters.
 */
export function checkClientId(clientId: unknown): asserts clientId is string {
  if (typeof clientId !== 'string' || clientId === '' || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw badArgument(
      'clientId',
      `client id must be a string of 1-${MAX_CLIENT_ID_LENGTH} characters, got ${describe(clientId)}`,
    )
  }
}

/** Throws `transport-closed` for a call on a closed connection. */
export function checkOpen(connection: LoopbackConnection, op: LoopbackOp): void {
  if (connection.closed) {
    throw new SyncKitError(
      'transport-closed',
      `[sync-kit] [loopback] ${op} on a closed transport (client "${connection.clientId}"); ` +
        'get a new one from hub.connect()',
      {},
    )
  }
}

/**
 * Checks a call's filters and copies them as if they crossed a wire.
 * @param filters - the caller's filters, if any.
 * @returns the copies (`[]` for none).
 * @throws SyncKitError `invalid-argument` or `unsupported-filter`, from `compileFilters`.
 */
export function checkFilters(filters: readonly Filter[] | undefined): readonly Filter[] {
  compileFilters(filters, 'loopback')
  return filters === undefined ? [] : filters.map((filter) => ({ ...filter }))
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

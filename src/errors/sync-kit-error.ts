/**
 * Every error code sync-kit throws, with the shape of `details` for each.
 *
 * - `invalid-event` — an event failed validation (empty id/type/aggregateId, non-JSON data).
 * - `event-id-conflict` — an event id already exists with different content; nothing changed.
 * - `epoch-mismatch` — a push conditioned on the remote's epoch (`ifEpoch`) found another epoch:
 *   the remote was wiped or replaced; nothing was stored.
 * - `version-parse` — a version string could not be parsed.
 * - `version-mismatch` — two versions of different kinds were compared, or a store got a foreign
 *   version.
 * - `invalid-argument` — a bad argument (e.g. a non-positive `limit`).
 * - `unsupported-filter` — a filter key the adapter does not support.
 * - `clock-drift` — a remote HLC stamp is further ahead of the local wall clock than allowed (a
 *   server refuses such a pushed event, naming it in `eventId`).
 * - `clock-overflow` — the HLC counter or wall time is out of its representable range.
 * - `closed` — the store was closed.
 * - `transport-closed` — the transport was closed.
 * - `aborted` — the call's `AbortSignal` fired.
 * - `unavailable` — the remote could not be reached (transient; safe to retry).
 * - `timeout` — the remote did not answer in time (transient; safe to retry).
 * - `payload-too-large` — a request body exceeded a limit.
 * - `unauthorized`, `forbidden` — authentication or authorisation failed.
 * - `protocol` — the remote answered with something that is not the sync-kit protocol.
 * - `resolver-failed` — a conflict resolver threw.
 * - `incompatible-database` — a database the store cannot use: written by a newer schema version,
 *   or holding tables with the store's names that it did not create; nothing was changed.
 * - `internal` — a bug or an unexpected failure; `cause` has the original error.
 */
export interface SyncKitErrorDetails {
  'invalid-event': { readonly eventId?: string; readonly field?: string }
  'event-id-conflict': { readonly eventId: string }
  'epoch-mismatch': { readonly expected: string; readonly actual: string }
  'version-parse': { readonly value: string }
  'version-mismatch': { readonly expected?: string; readonly actual?: string }
  'invalid-argument': { readonly argument: string }
  'unsupported-filter': { readonly key: string }
  'clock-drift': {
    readonly stamp: string
    readonly driftMs: number
    readonly maxDriftMs: number
    /** The event carrying the stamp, when a server refused a push for it. */
    readonly eventId?: string
  }
  'clock-overflow': { readonly stamp?: string }
  closed: Record<string, never>
  'transport-closed': Record<string, never>
  aborted: Record<string, never>
  unavailable: { readonly status?: number }
  timeout: { readonly timeoutMs: number }
  'payload-too-large': { readonly limitBytes: number }
  unauthorized: Record<string, never>
  forbidden: Record<string, never>
  protocol: { readonly status?: number }
  'resolver-failed': { readonly aggregateId: string }
  'incompatible-database': {
    readonly userVersion: number
    readonly supportedVersion: number
    readonly table?: string
  }
  internal: Record<string, never>
}

/** A sync-kit error code (kebab-case string). */
export type SyncKitErrorCode = keyof SyncKitErrorDetails

const TRANSIENT: ReadonlySet<string> = new Set(['unavailable', 'timeout'])

/**
 * The one error class of sync-kit: a string `code`, typed `details`, and the original error as
 * `cause`.
 *
 * Check for it with {@link isSyncKitError}, which also works across two copies of the package.
 * `instanceof SyncKitError` holds for an error from any entry point (`sync-kit/http`,
 * `sync-kit/sqlite`, …), since each build format holds one class; it fails across copies (an
 * ESM and a CJS copy loaded side by side, two installed versions), where `isSyncKitError` works.
 *
 * @typeParam TCode - the error code.
 * @example
 * ```ts
 * import { SyncKitError, isSyncKitError } from 'sync-kit'
 *
 * try {
 *   await store.store(event)
 * } catch (error) {
 *   if (isSyncKitError(error, 'event-id-conflict')) console.warn(error.details.eventId)
 * }
 * ```
 */
export class SyncKitError<TCode extends SyncKitErrorCode = SyncKitErrorCode> extends Error {
  /** Always `'SyncKitError'`, so the class is recognisable across package copies. */
  override readonly name = 'SyncKitError' as const
  /** The error code. */
  readonly code: TCode
  /** Structured details for the code. */
  readonly details: SyncKitErrorDetails[TCode]

  /**
   * Creates an error.
   * @param code - the error code.
   * @param message - what was wrong and what to do; prefixed with `[sync-kit]` if not already.
   * @param details - structured details for the code.
   * @param options - `cause`: the original error.
   */
  constructor(
    code: TCode,
    message: string,
    details: SyncKitErrorDetails[TCode],
    options?: { cause?: unknown },
  ) {
    super(message.startsWith('[sync-kit]') ? message : `[sync-kit] ${message}`, options)
    this.code = code
    this.details = details
  }

  /** True for codes that are worth retrying with backoff (`unavailable`, `timeout`). */
  get transient(): boolean {
    return TRANSIENT.has(this.code)
  }
}

/**
 * Tells whether a value is a {@link SyncKitError}, optionally with a given code. Checks `name` and
 * `code` rather than `instanceof`, so it works across two copies of the package.
 *
 * @param error - any value.
 * @param code - the code to match; any code when absent.
 * @returns true when `error` is a sync-kit error (with that code).
 * @example
 * ```ts
 * import { isSyncKitError } from 'sync-kit'
 *
 * if (isSyncKitError(err, 'aborted')) return
 * ```
 */
export function isSyncKitError<TCode extends SyncKitErrorCode = SyncKitErrorCode>(
  error: unknown,
  code?: TCode,
): error is SyncKitError<TCode> {
  if (typeof error !== 'object' || error === null) return false
  const e = error as { name?: unknown; code?: unknown }
  if (e.name !== 'SyncKitError' || typeof e.code !== 'string') return false
  return code === undefined || e.code === code
}

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
 * - `missing-dependency` — an optional peer dependency the call needs is not installed (or too
 *   old); `details.dependency` names the package to install.
 * - `internal` — a bug or an unexpected failure; `cause` has the original error.
 */
export interface SyncKitErrorDetails {
  /** An event failed validation. */
  'invalid-event': {
    /** The event's id, when it has a usable one. */
    readonly eventId?: string
    /** The field that failed, e.g. `aggregateId` or `metadata.tenant`. */
    readonly field?: string
  }
  /** An event id is taken by an event with other content. */
  'event-id-conflict': {
    /** The id. */
    readonly eventId: string
  }
  /** A push conditioned on the remote's epoch found another one. */
  'epoch-mismatch': {
    /** The epoch the push was conditioned on (`ifEpoch`), cut to 1024 characters. */
    readonly expected: string
    /** The remote's epoch. */
    readonly actual: string
  }
  /** A version string could not be parsed. */
  'version-parse': {
    /** The string. */
    readonly value: string
  }
  /** A version of another kind. */
  'version-mismatch': {
    /** The kind expected: `hlc`, `vector-clock` or `sequence`. */
    readonly expected?: string
    /** The version given, in its string form (cut to 80 characters). */
    readonly actual?: string
  }
  /** A bad argument or option. */
  'invalid-argument': {
    /** Its name, e.g. `limit` or `nodeId`. */
    readonly argument: string
  }
  /** A filter key the adapter does not support. */
  'unsupported-filter': {
    /** The key. */
    readonly key: string
  }
  /** An HLC stamp too far ahead of the wall clock. */
  'clock-drift': {
    /** The stamp, in its string form. */
    readonly stamp: string
    /** How far ahead of the clock it is, in ms. */
    readonly driftMs: number
    /** The bound it passed, in ms. */
    readonly maxDriftMs: number
    /** The event carrying the stamp, when a server refused a push for it. */
    readonly eventId?: string
  }
  /** The HLC counter or wall time out of range. */
  'clock-overflow': {
    /** The stamp that would have overflowed, when there is one. */
    readonly stamp?: string
  }
  /** The store was closed. */
  closed: Record<string, never>
  /** The transport was closed. */
  'transport-closed': Record<string, never>
  /** The call's `AbortSignal` fired. */
  aborted: Record<string, never>
  /** The remote could not be reached (transient). */
  unavailable: {
    /** The HTTP status the remote answered with, when it answered. */
    readonly status?: number
  }
  /** The remote did not answer in time (transient). */
  timeout: {
    /** The time allowed, in ms. */
    readonly timeoutMs: number
  }
  /** A request, a batch or one event over a size limit. */
  'payload-too-large': {
    /**
     * The byte limit passed: of one event, or of the request body (the body's, or 0, for a push of
     * more events than the server's `maxBatchEvents`).
     */
    readonly limitBytes: number
    /** The one event over the limit, when a single event is refused for its size. */
    readonly eventId?: string
  }
  /** Authentication failed. */
  unauthorized: Record<string, never>
  /** Authorisation failed. */
  forbidden: Record<string, never>
  /** The remote's answer is not the sync-kit protocol. */
  protocol: {
    /** The HTTP status of the answer, when there was one. */
    readonly status?: number
  }
  /** A conflict resolver threw or returned something unusable. */
  'resolver-failed': {
    /** The aggregate of the conflict. */
    readonly aggregateId: string
  }
  /** A database the store cannot use. */
  'incompatible-database': {
    /** The database's schema version (SQLite `user_version`; 0 for a database sync-kit never wrote). */
    readonly userVersion: number
    /** The newest schema version this sync-kit knows. */
    readonly supportedVersion: number
    /** The table that is missing, or that sync-kit did not create. */
    readonly table?: string
  }
  /** An optional peer dependency the call needs is not installed, or is too old. */
  'missing-dependency': {
    /** The npm package to install, e.g. `better-sqlite3`. */
    readonly dependency: string
  }
  /** A bug or an unexpected failure; `cause` has the original error. */
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

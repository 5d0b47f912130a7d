import * as v from 'valibot'
import type { WireErrorBody } from './protocol.js'

/**
 * Valibot schemas for every body of the wire protocol (see `docs/protocol.md`). The server checks
 * requests with them before anything is stored; the client checks responses with them so that a
 * proxy's HTML error page or a foreign server becomes a `protocol` error instead of garbage.
 */

/** Longest id, type or aggregate id accepted on the wire. */
export const MAX_IDENTIFIER_LENGTH = 512

/** An event as it travels: the `Event` fields with `data` and `metadata` as parsed JSON. */
export interface WireEvent {
  readonly id: string
  readonly type: string
  readonly aggregateId: string
  readonly data: unknown
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/** `POST /v1/events` request body. */
export interface PushRequestBody {
  readonly events: readonly unknown[]
  /** Store only while the server's epoch is this one (see `PushOptions.ifEpoch`). */
  readonly ifEpoch?: string | undefined
}

/** `POST /v1/events` response body. */
export interface PushResponseBody {
  readonly stored: number
  readonly duplicates: number
  readonly epoch: string
  readonly latestVersion: string
}

/** An event with the server's version of it. */
export interface WireEventWithVersion {
  readonly event: WireEvent
  readonly version: string
}

/** `GET /v1/events` response body. */
export interface PullResponseBody {
  readonly events: readonly WireEventWithVersion[]
  readonly hasMore: boolean
  readonly nextSince?: string | undefined
  readonly epoch: string
}

/** `GET /v1/version` response body. */
export interface VersionResponseBody {
  readonly latestVersion: string
  readonly epoch: string
}

/** Data of the stream's `hello` message. */
export interface HelloMessage {
  readonly epoch: string
  readonly latestVersion: string
  readonly cursor: string
}

/** A schema checking unknown input and producing `TOutput`. */
export type Schema<TOutput> = v.GenericSchema<unknown, TOutput>

const identifier = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_IDENTIFIER_LENGTH))

/**
 * A JSON object, passed through unchanged (its values are checked by `validateEvent`). Not
 * `v.record`: that drops keys named `__proto__`, `constructor` and `prototype`, so the server would
 * store, and the client receive, a different event than was sent.
 */
const jsonObject = v.custom<Readonly<Record<string, unknown>>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  (issue) => `Invalid type: Expected Object but received ${issue.received}`,
)

/** One event as pushed by a client: exactly the `Event` fields, nothing else. */
export const wireEventSchema: Schema<WireEvent> = v.strictObject({
  id: identifier,
  type: identifier,
  aggregateId: identifier,
  data: v.unknown(),
  metadata: v.optional(jsonObject),
})

/** `POST /v1/events` request body. Unknown top-level keys are ignored (forward compatible). */
export const pushRequestSchema: Schema<PushRequestBody> = v.object({
  events: v.array(v.unknown()),
  ifEpoch: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(1024))),
})

const count = v.pipe(v.number(), v.integer(), v.minValue(0))
const versionString = v.pipe(v.string(), v.minLength(1), v.maxLength(1024))
const epochString = v.pipe(v.string(), v.minLength(1), v.maxLength(1024))

/** `POST /v1/events` response body. */
export const pushResponseSchema: Schema<PushResponseBody> = v.object({
  stored: count,
  duplicates: count,
  epoch: epochString,
  latestVersion: versionString,
})

/** An event as the server returns it (extra keys from a newer server are dropped). */
export const responseEventSchema: Schema<WireEvent> = v.object({
  id: v.string(),
  type: v.string(),
  aggregateId: v.string(),
  data: v.unknown(),
  metadata: v.optional(jsonObject),
})

/** An event with the server's version of it, as in pull pages and stream messages. */
export const eventWithVersionSchema: Schema<WireEventWithVersion> = v.object({
  event: responseEventSchema,
  version: versionString,
})

const EVENT_KEYS = new Set(['id', 'type', 'aggregateId', 'data', 'metadata'])

/**
 * Tells whether a parsed event is one an event schema takes as it is (its output would be an equal
 * copy): an object with only the `Event` keys, identifiers that `isIdentifier` accepts, `data`
 * present, `metadata` absent or an object. Checked by hand where every event of a push or a stream
 * passes (the schema's copy of each event cost time and garbage); false says nothing (the schema
 * then decides, and names the problem).
 * @param value - a parsed event.
 * @param isIdentifier - what the schema takes as `id`, `type` and `aggregateId`.
 * @returns true when the value may be used as it is.
 */
export function isPlainWireEvent(
  value: unknown,
  isIdentifier: (value: unknown) => boolean,
): value is WireEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const e = value as Readonly<Record<string, unknown>>
  for (const key in e) if (!EVENT_KEYS.has(key)) return false
  const { metadata } = e
  return (
    isIdentifier(e['id']) &&
    isIdentifier(e['type']) &&
    isIdentifier(e['aggregateId']) &&
    e['data'] !== undefined &&
    (metadata === undefined ||
      (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)))
  )
}

const isString = (value: unknown): boolean => typeof value === 'string'

/**
 * Tells whether a parsed `{ event, version }` is one {@link eventWithVersionSchema} takes as it is:
 * only those keys, a plain event ({@link isPlainWireEvent}, any string as an identifier), a
 * version of 1 to 1,024 characters. Checked by hand for every message of a live stream; false
 * says nothing (the schema then decides).
 * @param value - a parsed message.
 * @returns true when the value may be used as it is.
 */
export function isPlainEventWithVersion(value: unknown): value is WireEventWithVersion {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const item = value as Readonly<Record<string, unknown>>
  let keys = 0
  for (const key in item) if (key === 'event' || key === 'version') keys++
  if (keys !== Object.keys(item).length || keys !== 2) return false
  const { event, version } = item
  if (typeof version !== 'string' || version.length < 1 || version.length > 1024) return false
  return isPlainWireEvent(event, isString)
}

/** `GET /v1/events` response body. */
export const pullResponseSchema: Schema<PullResponseBody> = v.object({
  events: v.array(eventWithVersionSchema),
  hasMore: v.boolean(),
  nextSince: v.optional(versionString),
  epoch: epochString,
})

/** `GET /v1/version` response body. */
export const versionResponseSchema: Schema<VersionResponseBody> = v.object({
  latestVersion: versionString,
  epoch: epochString,
})

/** The `hello` message that opens every stream. */
export const helloSchema: Schema<HelloMessage> = v.object({
  epoch: epochString,
  latestVersion: versionString,
  cursor: versionString,
})

/** The error body of every non-2xx response (and of a stream's `error` message). */
export const errorBodySchema: Schema<WireErrorBody> = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.optional(v.record(v.string(), v.union([v.string(), v.number()]))),
  }),
})

export { exceedsDepth } from '../../core/json-value.js'

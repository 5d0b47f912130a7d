import fc from 'fast-check'
import { expect } from 'vitest'
import type { Event } from '../../types/index.js'
import { BASE } from './test-helpers.fixture.js'

/**
 * Test-only generators of hostile requests for the sync server (used by the handler-level
 * property test and the smaller run over real HTTP). Not exported from the package.
 */

/** A request to build either as a `Request` (handler level) or a `fetch` call (real HTTP). */
export interface HostileRequest {
  readonly label: string
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Uint8Array<ArrayBuffer>
  /** Whether the server may accept it (a well-formed push or read); otherwise it must be 4xx. */
  readonly mayAccept: boolean
}

/** The limits the server under test runs with, small so oversize bodies stay cheap. */
export const HOSTILE_LIMITS: {
  readonly maxBodyBytes: number
  readonly maxDecompressedBytes: number
  readonly maxBatchEvents: number
} = {
  maxBodyBytes: 64 * 1024,
  maxDecompressedBytes: 256 * 1024,
  maxBatchEvents: 50,
}

export const ERROR_CODES: ReadonlySet<string> = new Set([
  'protocol',
  'invalid-event',
  'invalid-argument',
  'version-parse',
  'version-mismatch',
  'unsupported-filter',
  'event-id-conflict',
  'payload-too-large',
  'unauthorized',
  'forbidden',
])

const encoder = new TextEncoder()
const bytes = (text: string): Uint8Array<ArrayBuffer> => encoder.encode(text)

const identifier = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme-ascii' })

const validEvent: fc.Arbitrary<Event> = fc
  .record(
    {
      id: identifier,
      type: fc.constantFrom('A', 'B', 'TodoAdded'),
      aggregateId: identifier,
      data: fc.jsonValue({ maxDepth: 3 }),
      metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), {
        maxKeys: 3,
      }),
    },
    { requiredKeys: ['id', 'type', 'aggregateId', 'data'] },
  )
  .map((event): Event => {
    // Reserved metadata keys must be strings; keep the generated valid events valid.
    const metadata =
      event.metadata === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(event.metadata).filter(
              ([key]) => !['tenant', 'hlc', 'origin', 'causal'].includes(key),
            ),
          )
    return (metadata === undefined ? event : { ...event, metadata }) as Event
  })

const validEvents = fc.uniqueArray(validEvent, {
  minLength: 0,
  maxLength: 6,
  selector: (e) => e.id,
})

/** Values that are never valid for the field: wrong type, empty, too long, or not well-formed. */
const invalidIdentifier = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(''),
  fc.constant('x'.repeat(600)),
  fc.constant('lone \ud800 surrogate'),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
)
const invalidFor: Readonly<Record<string, fc.Arbitrary<unknown>>> = {
  id: invalidIdentifier,
  type: invalidIdentifier,
  aggregateId: invalidIdentifier,
  data: fc.constantFrom('\udc00', { text: 'a\ud800b' }, ['\udfff'], { ['\ud800']: 1 }),
  metadata: fc.oneof(
    fc.integer(),
    fc.string({ maxLength: 5 }),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.boolean(),
    fc.constantFrom({ tenant: 5 }, { hlc: [] }, { origin: {} }, { causal: true }),
  ),
}

/** Parses text and tells whether it could be a well-formed push envelope. */
function looksLikePush(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && 'events' in value
  } catch {
    return false
  }
}

type Mutation = (events: Event[]) => fc.Arbitrary<{ text: string; label: string }>

const json = (value: unknown): string => JSON.stringify(value) ?? 'null'

/** Mutations of a valid push body, each a different way of being wrong. */
const mutations: Mutation[] = [
  // Wrong type for one field of one event.
  (events) =>
    fc
      .constantFrom('id', 'type', 'aggregateId', 'data', 'metadata')
      .chain((field) =>
        fc.tuple(fc.nat(), fc.constant(field), invalidFor[field] ?? fc.constant(null)),
      )
      .map(([i, field, value]) => {
        const copy: Record<string, unknown>[] = events.map((e) => ({ ...e }))
        const target = copy[i % Math.max(1, copy.length)] ?? {}
        target[field] = value
        if (copy.length === 0) copy.push(target)
        return { text: json({ events: copy }), label: `wrong type ${field}` }
      }),
  // A missing field.
  (events) =>
    fc.constantFrom('id', 'type', 'aggregateId', 'data').map((field) => {
      const copy: Record<string, unknown>[] = events.map((e) => ({ ...e }))
      if (copy.length === 0) copy.push({ id: 'x', type: 'T', aggregateId: 'a', data: 1 })
      copy[0] = Object.fromEntries(Object.entries(copy[0] ?? {}).filter(([key]) => key !== field))
      return { text: json({ events: copy }), label: `missing ${field}` }
    }),
  // Huge strings.
  (events) =>
    fc.constantFrom('id', 'data', 'type').map((field) => {
      const huge = 'h'.repeat(field === 'data' ? 80_000 : 5_000)
      const event = { id: 'huge', type: 'T', aggregateId: 'a', data: 1, [field]: huge }
      return { text: json({ events: [...events, event] }), label: `huge ${field}` }
    }),
  // Deep nesting.
  () =>
    fc.integer({ min: 300, max: 20_000 }).map((depth) => ({
      text: `{"events":[{"id":"deep","type":"T","aggregateId":"a","data":${'['.repeat(depth)}${']'.repeat(depth)}}]}`,
      label: `nesting ${depth}`,
    })),
  // Wrong envelope.
  (events) =>
    fc
      .constantFrom(
        json(events),
        json({ event: events }),
        json({ events: Object.fromEntries(events.map((e, i) => [i, e])) }),
        'null',
        '"events"',
        '42',
      )
      .map((text) => ({ text, label: 'wrong envelope' })),
  // Too many events.
  () =>
    fc
      .integer({ min: HOSTILE_LIMITS.maxBatchEvents + 1, max: HOSTILE_LIMITS.maxBatchEvents + 20 })
      .map((n) => ({
        text: json({
          events: Array.from({ length: n }, (_, i) => ({
            id: `m${i}`,
            type: 'T',
            aggregateId: 'a',
            data: i,
          })),
        }),
        label: `${n} events`,
      })),
  // Truncated or random JSON text.
  (events) =>
    fc.oneof(
      fc.nat().map((cut) => {
        const text = json({ events })
        return { text: text.slice(0, cut % Math.max(1, text.length)), label: 'truncated' }
      }),
      fc
        .json()
        .filter((text) => !looksLikePush(text))
        .map((text) => ({ text, label: 'random json' })),
      fc
        .string({ maxLength: 40 })
        .filter((text) => !looksLikePush(text))
        .map((text) => ({ text, label: 'random text' })),
    ),
  // Duplicate ids with different content inside one batch.
  (events) =>
    fc.constant({
      text: json({
        events: [
          ...events,
          { id: 'dup', type: 'T', aggregateId: 'a', data: 1 },
          { id: 'dup', type: 'T', aggregateId: 'a', data: 2 },
        ],
      }),
      label: 'duplicate id in batch',
    }),
]

/** Bodies that are wrong at the byte level. */
const byteBodies: fc.Arbitrary<{
  body: Uint8Array<ArrayBuffer>
  headers: Record<string, string>
  label: string
}> = fc.oneof(
  // Bytes that never occur in UTF-8 (0xF8–0xFF) spliced into a valid body.
  fc
    .tuple(
      validEvents,
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 4, min: 0xf8, max: 0xff }),
    )
    .map(([events, at, bad]) => {
      const good = bytes(json({ events }))
      const cut = at % good.length
      const body = new Uint8Array(good.length + bad.length)
      body.set(good.subarray(0, cut))
      body.set(bad, cut)
      body.set(good.subarray(cut), cut + bad.length)
      return { body, headers: { 'content-type': 'application/json' }, label: 'invalid utf-8' }
    }),
  // Random bytes claiming to be gzip.
  fc.uint8Array({ maxLength: 200 }).map((body) => ({
    body: new Uint8Array(body),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    label: 'gzip garbage',
  })),
  // Oversize (no gzip).
  fc
    .integer({ min: HOSTILE_LIMITS.maxBodyBytes + 1, max: HOSTILE_LIMITS.maxBodyBytes * 2 })
    .map((size) => ({
      body: new Uint8Array(size).fill(0x20),
      headers: { 'content-type': 'application/json' },
      label: `oversize ${size}`,
    })),
)

const contentTypes = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/jsonx',
  '',
)

/**
 * Every kind of hostile request: mutated pushes, byte-level garbage, wrong content types and
 * encodings, gzip bombs (`gzipBombs`, precomputed), odd methods, paths and query strings — plus a
 * share of valid pushes and reads, so acceptance is exercised too.
 * @param gzipBombs - gzip bodies that inflate past `maxDecompressedBytes`.
 */
export function hostileRequests(
  gzipBombs: readonly Uint8Array<ArrayBuffer>[],
): fc.Arbitrary<HostileRequest> {
  const post = (
    body: Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
    label: string,
    mayAccept = false,
  ): HostileRequest => ({
    label,
    method: 'POST',
    path: '/v1/events',
    headers,
    body,
    mayAccept,
  })
  const jsonHeaders = { 'content-type': 'application/json' }
  return fc.oneof(
    validEvents.map((events) => post(bytes(json({ events })), jsonHeaders, 'valid push', true)),
    validEvents
      .chain((events) => fc.oneof(...mutations.map((mutate) => mutate(events))))
      .map(({ text, label }) => post(bytes(text), jsonHeaders, label)),
    byteBodies.map(({ body, headers, label }) => post(body, headers, label)),
    fc
      .tuple(validEvents, contentTypes)
      .map(([events, type]) =>
        post(
          bytes(json({ events })),
          type === '' ? {} : { 'content-type': type },
          `content-type ${type}`,
        ),
      ),
    fc
      .tuple(validEvents, fc.constantFrom('br', 'deflate', 'compress', 'gzip, br', 'identity;q=0'))
      .map(([events, encoding]) =>
        post(
          bytes(json({ events })),
          { ...jsonHeaders, 'content-encoding': encoding },
          `encoding ${encoding}`,
        ),
      ),
    fc
      .constantFrom(...gzipBombs)
      .map((bomb) => post(bomb, { ...jsonHeaders, 'content-encoding': 'gzip' }, 'gzip bomb')),
    fc
      .tuple(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.constantFrom(
          '/v1/events',
          '/v1/version',
          '/v1/stream',
          '/v1/health',
          '/v1',
          '/v2/events',
          '/',
          '/v1/events/x',
          '/%ZZ',
          '/v1/../v1/events',
        ),
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
      )
      .filter(([method, path]) => !(method === 'GET' && path === '/v1/stream'))
      .map(([method, path, body]) => ({
        label: `${method} ${path}`,
        method,
        path,
        headers: jsonHeaders,
        ...(body === undefined || method === 'GET' ? {} : { body: new Uint8Array(body) }),
        mayAccept: method === 'GET' || (method === 'POST' && path === '/v1/events'),
      })),
    fc
      .tuple(
        fc.constantFrom('/v1/events', '/v1/stream'),
        fc.array(
          fc.tuple(
            fc.constantFrom('since', 'limit', 'type', 'tenant', 'aggregate_id', 'x', ''),
            fc.oneof(
              fc.string({ maxLength: 8 }),
              fc.constantFrom('0', '1', '-1', '1e3', '99999999999999999999', '2', 'NaN'),
            ),
          ),
          { maxLength: 4 },
        ),
      )
      .map(([path, params]) => ({
        label: `GET ${path} query`,
        method: 'GET',
        path: `${path}?${new URLSearchParams(params).toString()}`,
        headers: {},
        mayAccept: true,
      })),
  )
}

export function toRequest(spec: HostileRequest): Request {
  const init: RequestInit = { method: spec.method, headers: spec.headers }
  if (spec.body !== undefined && spec.method !== 'GET') init.body = spec.body
  return new Request(`${BASE}${spec.path}`, init)
}

/** The status each kind of request must get, by label (all others: any status below 500). */
const EXPECTED_STATUS: readonly (readonly [RegExp, readonly number[]])[] = [
  [/^oversize /, [413]],
  [/^gzip bomb$/, [413]],
  [/^\d+ events$/, [413]],
  [/^huge data$/, [413]],
  [/^content-type /, [415]],
  [/^encoding /, [415]],
  [/^(invalid utf-8|gzip garbage|truncated|random json|random text|wrong envelope)$/, [400]],
  [/^nesting \d+$/, [400]],
  [/^(wrong type|missing) \w+$/, [422]],
  [/^huge (id|type)$/, [422]],
  [/^duplicate id in batch$/, [409, 422]],
  [/^[A-Z]+ (\/v1|\/v2\/events|\/|\/v1\/events\/x|\/%ZZ)$/, [404]],
  [/^(PUT|DELETE|PATCH) \/v1\/(events|version|stream|health)$/, [405]],
  [/^POST \/v1\/(version|stream|health)$/, [405]],
  [/^valid push$/, [200, 409]],
]

/** Checks one answer (vitest `expect`): never 5xx, the error body shape, and nothing stored when rejected. */
export async function checkAnswer(
  spec: HostileRequest,
  response: Response,
  sizeBefore: number,
  sizeAfter: number,
  context: string,
): Promise<void> {
  const where = `${context}: ${spec.label} (${spec.method} ${spec.path.slice(0, 60)}) → ${response.status}`
  expect(response.status, where).toBeLessThan(500)
  for (const [pattern, statuses] of EXPECTED_STATUS) {
    if (pattern.test(spec.label)) expect(statuses, where).toContain(response.status)
  }
  if (response.status >= 400) {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } }
    expect(typeof body.error?.code, where).toBe('string')
    expect(
      ERROR_CODES.has(body.error?.code as string),
      `${where}: code ${String(body.error?.code)}`,
    ).toBe(true)
    expect(body.error?.message, where).toMatch(/^\[sync-kit\] \[[a-z-]+\] ./)
    expect(sizeAfter, `${where}: a rejected request stored nothing`).toBe(sizeBefore)
    if (response.status === 405) expect(response.headers.get('allow'), where).toBeTruthy()
    return
  }
  expect(spec.mayAccept, `${where}: accepted a request that must be rejected`).toBe(true)
  if (spec.method === 'POST') {
    const body = (await response.json()) as { stored: number; duplicates: number }
    expect(sizeAfter - sizeBefore, where).toBe(body.stored)
  } else {
    await response.body?.cancel()
  }
}

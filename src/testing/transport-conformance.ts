import type {
  Event,
  EventWithVersion,
  PullResult,
  Subscription,
  Transport,
  Version,
} from '../types/index.js'
import {
  assert,
  assertEqual,
  assertRejects,
  checkSkips,
  checkSuiteOptions,
  fail,
} from './conformance-api.js'
import type { ConformanceSkips, ConformanceTestApi } from './conformance-api.js'

/**
 * What `createTransport` returns for one case: a transport to a fresh, empty remote.
 *
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 * import type { TransportConformanceSetup } from 'sync-kit/testing'
 *
 * const hub = createLoopbackHub()
 * const setup: TransportConformanceSetup = {
 *   transport: hub.connect('a'),
 *   peer: hub.connect('b'),
 *   cleanup: () => hub.close(),
 * }
 * ```
 */
export interface TransportConformanceSetup {
  /** The transport under test, connected to a remote holding no events. */
  readonly transport: Transport
  /**
   * A second client of the same remote, for the fan-out cases: its pushes must reach
   * `transport`'s subscriptions. Without it those cases push through `transport` itself.
   */
  readonly peer?: Transport
  /** Releases the remote (stop a server, delete a database); runs after the case. */
  readonly cleanup?: () => Promise<void>
}

/**
 * Options for {@link transportConformance}.
 *
 * @example
 * ```ts
 * import type { TransportConformanceOptions } from 'sync-kit/testing'
 *
 * const extra: Partial<TransportConformanceOptions> = {
 *   subscribe: false, // a polling-only transport: the subscribe cases are skipped with a reason
 *   timeoutMs: 10_000,
 *   skip: { 'pull filters by type and aggregate_id': 'the remote has no filter support yet' },
 * }
 * ```
 */
export interface TransportConformanceOptions {
  /** Names the transport in the report, e.g. `loopback` or `http`. */
  readonly name: string
  /**
   * Creates a transport to a fresh, empty remote; called once per case. The suite closes
   * `transport` and `peer` after the case, then calls `cleanup`.
   */
  readonly createTransport: () => Promise<TransportConformanceSetup> | TransportConformanceSetup
  /** The test runner's functions. */
  readonly test: ConformanceTestApi
  /**
   * Cases to skip (case name from {@link TRANSPORT_CASES} → reason). An unknown name is an error,
   * so a typo never skips silently.
   * @defaultValue no skips
   */
  readonly skip?: ConformanceSkips
  /**
   * Whether the transport offers the optional live `subscribe`. When false the subscribe cases
   * are registered as skipped with that reason; when true and `subscribe` is missing they fail.
   * @defaultValue true
   */
  readonly subscribe?: boolean
  /**
   * How long a case waits for a live delivery before it fails, in ms. A bound for slow remotes,
   * not a performance target.
   * @defaultValue 5000
   */
  readonly timeoutMs?: number
}

/**
 * Names of the cases of {@link transportConformance}, usable as keys of its `skip` option.
 *
 * @example
 * ```ts
 * import { TRANSPORT_CASES } from 'sync-kit/testing'
 *
 * const live = TRANSPORT_CASES.filter((name) => name.includes('subscribe'))
 * ```
 */
export const TRANSPORT_CASES: readonly string[] = Object.freeze([
  'push then pull returns the events in order with increasing versions',
  'pull returns only events strictly after the given version',
  'pull pages with limit and hasMore, every event exactly once',
  'pull filters by type and aggregate_id',
  'push is idempotent by event id and counts duplicates',
  'push of an empty batch stores nothing',
  'push rejects a different event under an existing id with event-id-conflict, storing nothing',
  'push rejects an invalid event with invalid-event, storing nothing from the batch',
  'latestVersion is zero while empty, then equals the last pulled version',
  'parseVersion round-trips versions and rejects garbage with version-parse',
  'epoch stays the same across calls',
  'push with ifEpoch stores only while the epoch matches',
  'events crossing the transport are copies',
  'JSON values and Unicode round-trip unchanged',
  'a pre-aborted signal rejects every call with aborted and stores nothing',
  'close makes every call reject with transport-closed',
  'subscribe delivers events pushed by a peer',
  'subscribe with since replays exactly the events after it, then live ones',
  'unsubscribe stops delivery',
  'aborting the subscribe signal stops delivery',
])

const SUBSCRIBE_CASES: ReadonlySet<string> = new Set([
  'subscribe delivers events pushed by a peer',
  'subscribe with since replays exactly the events after it, then live ones',
  'unsubscribe stops delivery',
  'aborting the subscribe signal stops delivery',
])

/** Time given to a misbehaving transport to deliver what it must not, before checking. */
const GRACE_MS = 50

interface CaseContext {
  readonly transport: Transport
  /** The peer, or the transport itself when the setup has no peer. */
  readonly pusher: Transport
  readonly peer: Transport | undefined
  readonly timeoutMs: number
}

type CaseBody = (context: CaseContext) => Promise<void>

/**
 * Registers the transport conformance suite: runner-agnostic cases that check a {@link Transport}
 * against its contract (paged pull strictly after a version, idempotent push, conflicts and
 * invalid events rejected atomically, versions and epochs, copying, Unicode, abort, close, and
 * live subscribe with `since`, unsubscribe and abort). Each case gets a fresh remote from
 * `createTransport`.
 *
 * @param options - the transport factory, the runner's functions, skips; see
 * {@link TransportConformanceOptions}.
 * @throws SyncKitError `invalid-argument` for malformed options or an unknown case in `skip`.
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import { createLoopbackHub } from 'sync-kit'
 * import { transportConformance } from 'sync-kit/testing'
 *
 * transportConformance({
 *   name: 'loopback',
 *   createTransport: async () => {
 *     const hub = createLoopbackHub()
 *     return { transport: hub.connect('a'), peer: hub.connect('b'), cleanup: () => hub.close() }
 *   },
 *   test: { describe, it: (name, fn) => it(name, fn), skip: (name, reason) => it.skip(`${name} (${reason})`, () => {}) },
 * })
 * ```
 */
export function transportConformance(options: TransportConformanceOptions): void {
  const suite = `transport conformance (${String(options?.name)})`
  checkOptions(suite, options)
  const skips = checkSkips(suite, TRANSPORT_CASES, options.skip)
  const timeoutMs = options.timeoutMs ?? 5000
  const hasSubscribe = options.subscribe ?? true
  const { test } = options

  test.describe(`transport conformance: ${options.name}`, () => {
    for (const name of TRANSPORT_CASES) {
      const body = CASES[name]
      if (body === undefined) throw new Error(`transport conformance: no body for case "${name}"`)
      const reason = skips[name]
      if (reason !== undefined) {
        test.skip(name, reason)
      } else if (!hasSubscribe && SUBSCRIBE_CASES.has(name)) {
        test.skip(name, 'the transport has no live subscribe (optional capability)')
      } else {
        test.it(name, () => runCase(options, timeoutMs, body))
      }
    }
  })
}

async function runCase(
  options: TransportConformanceOptions,
  timeoutMs: number,
  body: CaseBody,
): Promise<void> {
  const setup = await options.createTransport()
  if (typeof setup !== 'object' || setup === null || typeof setup.transport !== 'object') {
    fail('createTransport must resolve to { transport, peer?, cleanup? }')
  }
  const { transport, peer } = setup
  try {
    await body({ transport, pusher: peer ?? transport, peer, timeoutMs })
  } finally {
    await transport.close().catch(() => undefined)
    await peer?.close().catch(() => undefined)
    await setup.cleanup?.()
  }
}

function checkOptions(suite: string, options: TransportConformanceOptions): void {
  const bad = checkSuiteOptions(
    suite,
    options,
    'createTransport',
    'transport ({ transport, peer?, cleanup? })',
  )
  const { timeoutMs } = options
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw bad('timeoutMs', 'timeoutMs must be a positive number of ms')
  }
}

// ---- fixtures and helpers -----------------------------------------------------------------------

function makeEvent(id: string, overrides: Partial<Event> = {}): Event {
  return {
    id,
    type: 'ItemChanged',
    aggregateId: `agg-${id}`,
    data: { name: `item ${id}`, n: 1 },
    ...overrides,
  }
}

function makeEvents(count: number, prefix = 'e'): Event[] {
  return Array.from({ length: count }, (_, i) => makeEvent(`${prefix}${i + 1}`))
}

async function pullAll(
  transport: Transport,
  since: Version | null = null,
): Promise<EventWithVersion[]> {
  const all: EventWithVersion[] = []
  let cursor = since
  for (let page = 0; page < 1000; page++) {
    const result: PullResult = await transport.pull(cursor, { limit: 100 })
    all.push(...result.events)
    const last = result.events.at(-1)
    if (!result.hasMore) return all
    assert(last !== undefined, 'a page with hasMore true must contain events')
    cursor = last.version
  }
  fail('pull reported hasMore for more than 1000 pages')
}

function ids(items: readonly EventWithVersion[]): string[] {
  return items.map((item) => item.event.id)
}

function assertIncreasing(items: readonly EventWithVersion[], what: string): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    assert(item !== undefined, what)
    assert(!item.version.isZero(), `${what}: version of "${item.event.id}" must not be zero`)
    const previous = items[i - 1]
    if (previous !== undefined) {
      assert(
        item.version.compare(previous.version) > 0,
        `${what}: version ${item.version.toString()} of "${item.event.id}" must be greater than ${previous.version.toString()}`,
      )
    }
  }
}

function sameVersion(a: Version, b: Version): boolean {
  return a.compare(b) === 0 && a.toString() === b.toString()
}

function needSubscribe(transport: Transport): NonNullable<Transport['subscribe']> {
  const subscribe = transport.subscribe
  if (typeof subscribe !== 'function') {
    fail('the transport has no subscribe; pass `subscribe: false` to skip the subscribe cases')
  }
  return subscribe.bind(transport)
}

interface Collector {
  readonly received: EventWithVersion[]
  readonly handler: (batch: readonly EventWithVersion[]) => void
}

function collector(): Collector {
  const received: EventWithVersion[] = []
  return { received, handler: (batch) => void received.push(...batch) }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

/** Tries to change a returned value in place; frozen values may refuse, which is just as good. */
function tamper(mutate: () => void): void {
  try {
    mutate()
  } catch {
    // A frozen value throws in strict mode: the transport protected it.
  }
}

// ---- the cases ----------------------------------------------------------------------------------

const CASES: Readonly<Record<string, CaseBody>> = {
  'push then pull returns the events in order with increasing versions': async ({ transport }) => {
    const events = [
      makeEvent('e1'),
      makeEvent('e2', { metadata: { tenant: 't1', origin: 'replica-a' } }),
      makeEvent('e3', { aggregateId: 'agg-e1' }),
    ]
    const pushed = await transport.push(events)
    assertEqual(pushed.stored, 3, 'push reports 3 stored')
    assertEqual(pushed.duplicates, 0, 'push reports 0 duplicates')
    const page = await transport.pull(null)
    assertEqual(ids(page.events), ['e1', 'e2', 'e3'], 'pull returns the pushed events in order')
    page.events.forEach((item, i) => assertEqual(item.event, events[i], `event ${i} is unchanged`))
    assertIncreasing(page.events, 'pulled versions')
    assertEqual(page.hasMore, false, 'hasMore is false when everything was returned')
  },

  'pull returns only events strictly after the given version': async ({ transport }) => {
    await transport.push(makeEvents(5))
    const all = await pullAll(transport)
    const second = all[1]
    const last = all.at(-1)
    assert(second !== undefined && last !== undefined, 'five events were pulled')
    assertEqual(ids(await pullAll(transport, second.version)), ['e3', 'e4', 'e5'], 'after e2')
    const reparsed = transport.parseVersion(second.version.toString())
    assertEqual(ids(await pullAll(transport, reparsed)), ['e3', 'e4', 'e5'], 'after parsed e2')
    const tail = await transport.pull(last.version)
    assertEqual(tail.events.length, 0, 'nothing after the last version')
    assertEqual(tail.hasMore, false, 'no more after the last version')
  },

  'pull pages with limit and hasMore, every event exactly once': async ({ transport }) => {
    const total = 7
    await transport.push(makeEvents(total))
    for (const limit of [1, 3, 7]) {
      const seen: EventWithVersion[] = []
      let cursor: Version | null = null
      let pages = 0
      for (;;) {
        pages++
        assert(pages <= Math.ceil(total / limit) + 1, `limit ${limit}: too many pages`)
        const page: PullResult = await transport.pull(cursor, { limit })
        assert(page.events.length <= limit, `limit ${limit}: a page holds at most ${limit} events`)
        seen.push(...page.events)
        if (!page.hasMore) break
        const last = page.events.at(-1)
        assert(last !== undefined, `limit ${limit}: a page with hasMore true holds events`)
        cursor = last.version
      }
      assertEqual(ids(seen), ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'], `limit ${limit}: all`)
      assertIncreasing(seen, `limit ${limit}`)
    }
  },

  'pull filters by type and aggregate_id': async ({ transport }) => {
    await transport.push([
      makeEvent('e1', { type: 'A', aggregateId: 'x' }),
      makeEvent('e2', { type: 'B', aggregateId: 'x' }),
      makeEvent('e3', { type: 'A', aggregateId: 'y' }),
      makeEvent('e4', { type: 'C', aggregateId: 'x' }),
    ])
    const byType = await transport.pull(null, { filters: [{ key: 'type', value: 'A' }] })
    assertEqual(ids(byType.events), ['e1', 'e3'], 'type A')
    const either = await transport.pull(null, {
      filters: [
        { key: 'type', value: 'A' },
        { key: 'type', value: 'C' },
        { key: 'aggregate_id', value: 'x' },
      ],
    })
    assertEqual(ids(either.events), ['e1', 'e4'], '(type A or C) and aggregate x')
  },

  'push is idempotent by event id and counts duplicates': async ({ transport }) => {
    const [e1, e2, e3] = makeEvents(3)
    assert(e1 !== undefined && e2 !== undefined && e3 !== undefined, 'fixtures')
    assertEqual(await stripEpoch(transport.push([e1, e2])), { stored: 2, duplicates: 0 }, 'first')
    assertEqual(await stripEpoch(transport.push([e1, e2])), { stored: 0, duplicates: 2 }, 'again')
    assertEqual(await stripEpoch(transport.push([e2, e3])), { stored: 1, duplicates: 1 }, 'mixed')
    assertEqual(ids(await pullAll(transport)), ['e1', 'e2', 'e3'], 'each event stored once')
  },

  'push of an empty batch stores nothing': async ({ transport }) => {
    assertEqual(await stripEpoch(transport.push([])), { stored: 0, duplicates: 0 }, 'empty push')
    assertEqual((await pullAll(transport)).length, 0, 'nothing stored')
    assert((await transport.latestVersion()).isZero(), 'latestVersion stays zero')
  },

  'push rejects a different event under an existing id with event-id-conflict, storing nothing':
    async ({ transport }) => {
      const original = makeEvent('e1')
      await transport.push([original])
      const changed = makeEvent('e1', { data: { name: 'changed', n: 2 } })
      const error = await assertRejects(
        () => transport.push([makeEvent('e2'), changed]),
        'event-id-conflict',
        'a different event under id e1',
      )
      const eventId = (error.details as { eventId?: unknown } | undefined)?.eventId
      assert(eventId === undefined || eventId === 'e1', 'details.eventId names e1 when present')
      const all = await pullAll(transport)
      assertEqual(ids(all), ['e1'], 'e2 from the rejected push was not stored')
      assertEqual(all[0]?.event, original, 'e1 keeps its original content')
    },

  'push rejects an invalid event with invalid-event, storing nothing from the batch': async ({
    transport,
  }) => {
    const invalid: unknown[] = [
      { id: '', type: 'T', aggregateId: 'a', data: {} },
      { id: 'bad-type', type: 42, aggregateId: 'a', data: {} },
      { id: 'no-aggregate', type: 'T', data: {} },
      'not an event',
    ]
    for (const [i, bad] of invalid.entries()) {
      await assertRejects(
        () => transport.push([makeEvent(`ok${i}`), bad as Event]),
        'invalid-event',
        `invalid event #${i}`,
      )
    }
    assertEqual((await pullAll(transport)).length, 0, 'no event of the rejected batches stored')
  },

  'latestVersion is zero while empty, then equals the last pulled version': async ({
    transport,
  }) => {
    assert((await transport.latestVersion()).isZero(), 'latestVersion of an empty remote is zero')
    await transport.push(makeEvents(3))
    const latest = await transport.latestVersion()
    assert(!latest.isZero(), 'latestVersion is non-zero once events exist')
    const last = (await pullAll(transport)).at(-1)
    assert(last !== undefined, 'events were pulled')
    assert(
      sameVersion(latest, last.version),
      `latestVersion ${latest.toString()} equals the last pulled version ${last.version.toString()}`,
    )
  },

  'parseVersion round-trips versions and rejects garbage with version-parse': async ({
    transport,
  }) => {
    await transport.push(makeEvents(2))
    const versions = [
      ...(await pullAll(transport)).map((i) => i.version),
      await transport.latestVersion(),
    ]
    for (const version of versions) {
      const parsed = transport.parseVersion(version.toString())
      assert(sameVersion(parsed, version), `parseVersion("${version.toString()}") round-trips`)
    }
    for (const garbage of ['', 'not a version ✗', '{"v":1}']) {
      await assertRejects(
        () => transport.parseVersion(garbage),
        'version-parse',
        `parseVersion(${JSON.stringify(garbage)})`,
      )
    }
  },

  'epoch stays the same across calls': async ({ transport, pusher }) => {
    const first = await transport.push([makeEvent('e1')])
    const pulled = await transport.pull(null)
    const second = await pusher.push([makeEvent('e2')])
    const again = await transport.pull(null, { limit: 1 })
    const epochs = [first.epoch, pulled.epoch, second.epoch, again.epoch]
    assert(
      epochs.every((epoch) => epoch === epochs[0]),
      `every call reports the same epoch, got ${JSON.stringify(epochs)}`,
    )
    assert(
      epochs[0] === undefined || (typeof epochs[0] === 'string' && epochs[0] !== ''),
      'a reported epoch is a non-empty string',
    )
  },

  'push with ifEpoch stores only while the epoch matches': async ({ transport }) => {
    const first = await transport.push([makeEvent('e1')])
    const epoch = first.epoch
    if (epoch === undefined) {
      // A remote without epochs ignores the condition.
      await transport.push([makeEvent('e2')], { ifEpoch: 'any-epoch' })
      assertEqual(ids(await pullAll(transport)), ['e1', 'e2'], 'ifEpoch ignored without epochs')
      return
    }
    const matching = await transport.push([makeEvent('e2')], { ifEpoch: epoch })
    assertEqual(matching.stored, 1, 'a push with the current epoch is stored')
    const stale = `${epoch}-stale`
    const error = await assertRejects(
      () => transport.push([makeEvent('e3')], { ifEpoch: stale }),
      'epoch-mismatch',
      'a push with another epoch',
    )
    assertEqual(
      error.details,
      { expected: stale, actual: epoch },
      'epoch-mismatch details name both epochs',
    )
    assertEqual(ids(await pullAll(transport)), ['e1', 'e2'], 'nothing stored from the stale push')
  },

  'events crossing the transport are copies': async ({ transport }) => {
    const input = makeEvent('e1', { data: { list: [1, 2], nested: { k: 'v' } } })
    await transport.push([input])
    tamper(() => {
      ;(input.data as { list: number[] }).list.push(3)
    })
    const first = await transport.pull(null)
    const pulled = first.events[0]?.event
    assertEqual(pulled?.data, { list: [1, 2], nested: { k: 'v' } }, 'pushed value was copied')
    tamper(() => {
      ;(pulled?.data as { nested: { k: string } }).nested.k = 'changed'
    })
    const second = await transport.pull(null)
    assertEqual(
      second.events[0]?.event.data,
      { list: [1, 2], nested: { k: 'v' } },
      'changing a pulled event does not change the remote',
    )
  },

  'JSON values and Unicode round-trip unchanged': async ({ transport }) => {
    const event: Event = {
      id: 'ü-🔑-1',
      type: 'Tÿpe✓',
      aggregateId: 'agg-中文-שלום',
      data: {
        text: 'héllo wörld 👋🏽 e\u0301 שלום 中文 \u0000 "quotes" \\ \n\t',
        numbers: [0, -1, 1.5, -2.25e-7, 1e21, 9007199254740991, -9007199254740991],
        flags: [true, false, null],
        empty: { object: {}, array: [], string: '' },
        deep: { a: { b: { c: [[{ d: 'e' }]] } } },
        'key with spaces & ✨': 'value',
      },
      metadata: { tenant: 'tenant-✓', origin: 'replica-ä', custom: { list: ['x', 1, null] } },
    }
    await transport.push([event])
    const pulled = await transport.pull(null)
    assertEqual(pulled.events[0]?.event, event, 'the event comes back unchanged')
  },

  'a pre-aborted signal rejects every call with aborted and stores nothing': async ({
    transport,
  }) => {
    const controller = new AbortController()
    controller.abort()
    const { signal } = controller
    await assertRejects(() => transport.push([makeEvent('e1')], { signal }), 'aborted', 'push')
    await assertRejects(() => transport.pull(null, { signal }), 'aborted', 'pull')
    await assertRejects(() => transport.latestVersion({ signal }), 'aborted', 'latestVersion')
    if (typeof transport.subscribe === 'function') {
      await assertRejects(
        () => transport.subscribe?.(() => undefined, { signal }),
        'aborted',
        'subscribe',
      )
    }
    assertEqual((await pullAll(transport)).length, 0, 'the aborted push stored nothing')
  },

  'close makes every call reject with transport-closed': async ({ transport, peer, timeoutMs }) => {
    const live = collector()
    const sentinel = collector()
    const subscription = await transport.subscribe?.(live.handler)
    const peerSubscription = await peer?.subscribe?.(sentinel.handler)
    await transport.close()
    await transport.close() // idempotent
    await assertRejects(() => transport.push([makeEvent('e1')]), 'transport-closed', 'push')
    await assertRejects(() => transport.pull(null), 'transport-closed', 'pull')
    await assertRejects(() => transport.latestVersion(), 'transport-closed', 'latestVersion')
    if (typeof transport.subscribe === 'function') {
      await assertRejects(
        () => transport.subscribe?.(() => undefined),
        'transport-closed',
        'subscribe',
      )
    }
    if (peer !== undefined && subscription !== undefined && peerSubscription !== undefined) {
      // The peer's live subscription shows when the event would have arrived.
      await peer.push([makeEvent('e2')])
      await waitFor(() => sentinel.received.length > 0, "the peer's delivery", timeoutMs)
      await sleep(GRACE_MS)
      assertEqual(live.received.length, 0, 'a closed transport delivers nothing')
      await peerSubscription.unsubscribe()
    }
    await subscription?.unsubscribe()
  },

  'subscribe delivers events pushed by a peer': async ({ transport, pusher, timeoutMs }) => {
    const live = collector()
    const subscription = await needSubscribe(transport)(live.handler)
    const events = [makeEvent('e1'), makeEvent('e2', { metadata: { tenant: 't1' } })]
    await pusher.push(events)
    await waitFor(() => live.received.length >= 2, 'two live events', timeoutMs)
    assertEqual(ids(live.received), ['e1', 'e2'], 'delivered in order, once')
    live.received.forEach((item, i) => assertEqual(item.event, events[i], `event ${i} unchanged`))
    const pulled = await pullAll(transport)
    live.received.forEach((item, i) => {
      const expected = pulled[i]
      assert(
        expected !== undefined && sameVersion(item.version, expected.version),
        `live version of ${item.event.id} equals its pulled version`,
      )
    })
    await subscription.unsubscribe()
  },

  'subscribe with since replays exactly the events after it, then live ones': async ({
    transport,
    pusher,
    timeoutMs,
  }) => {
    await pusher.push(makeEvents(3))
    const first = (await pullAll(transport))[0]
    assert(first !== undefined, 'three events were pulled')
    const live = collector()
    const subscription = await needSubscribe(transport)(live.handler, { since: first.version })
    await waitFor(() => live.received.length >= 2, 'the replay of e2 and e3', timeoutMs)
    await pusher.push([makeEvent('e4')])
    await waitFor(() => live.received.length >= 3, 'live e4', timeoutMs)
    await pusher.push([makeEvent('e5')])
    await waitFor(() => ids(live.received).includes('e5'), 'live e5', timeoutMs)
    assertEqual(ids(live.received), ['e2', 'e3', 'e4', 'e5'], 'nothing lost, nothing repeated')
    assertIncreasing(live.received, 'delivered versions')
    await subscription.unsubscribe()
  },

  'unsubscribe stops delivery': async ({ transport, pusher, timeoutMs }) => {
    const subscribe = needSubscribe(transport)
    const stopped = collector()
    const sentinel = collector()
    const subscription = await subscribe(stopped.handler)
    const control = await subscribe(sentinel.handler)
    await pusher.push([makeEvent('e1')])
    await waitFor(() => stopped.received.length === 1, 'e1 before unsubscribing', timeoutMs)
    await subscription.unsubscribe()
    await subscription.unsubscribe() // idempotent
    await pusher.push([makeEvent('e2')])
    await waitFor(() => sentinel.received.length === 2, 'e2 on the other subscription', timeoutMs)
    await sleep(GRACE_MS)
    assertEqual(ids(stopped.received), ['e1'], 'nothing delivered after unsubscribe')
    await control.unsubscribe()
  },

  'aborting the subscribe signal stops delivery': async ({ transport, pusher, timeoutMs }) => {
    const subscribe = needSubscribe(transport)
    const controller = new AbortController()
    const aborted = collector()
    const sentinel = collector()
    await subscribe(aborted.handler, { signal: controller.signal })
    const control: Subscription = await subscribe(sentinel.handler)
    await pusher.push([makeEvent('e1')])
    await waitFor(() => aborted.received.length === 1, 'e1 before aborting', timeoutMs)
    controller.abort()
    await pusher.push([makeEvent('e2')])
    await waitFor(() => sentinel.received.length === 2, 'e2 on the other subscription', timeoutMs)
    await sleep(GRACE_MS)
    assertEqual(ids(aborted.received), ['e1'], 'nothing delivered after the signal aborted')
    await control.unsubscribe()
  },
}

async function stripEpoch(
  result: Promise<{ stored: number; duplicates: number; epoch?: string }>,
): Promise<{ stored: number; duplicates: number }> {
  const { stored, duplicates } = await result
  return { stored, duplicates }
}

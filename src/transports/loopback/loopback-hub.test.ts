import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { TestClock } from '../../testing/test-clock.js'
import { TRANSPORT_CASES, transportConformance } from '../../testing/transport-conformance.js'
import type { ConformanceTestApi } from '../../testing/conformance-api.js'
import type { Event, EventStore, EventWithVersion, Transport } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { createLoopbackHub } from './index.js'
import { createTestHub } from './testing.js'
import type { LoopbackTransport } from './index.js'

const test: ConformanceTestApi = {
  describe,
  it: (name, fn) => it(name, fn),
  skip: (name, reason) => it.skip(`${name} (${reason})`, () => undefined),
}

// Exactly as a third party runs it.
transportConformance({
  name: 'loopback',
  createTransport: async () => {
    const hub = createLoopbackHub()
    return { transport: hub.connect('a'), peer: hub.connect('b'), cleanup: () => hub.close() }
  },
  test,
})

// The suite must not depend on instant answers: real timers with jitter, and no peer.
transportConformance({
  name: 'loopback with jittered latency and no peer',
  createTransport: async () => {
    let seed = 7
    const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647
    const hub = createTestHub({ latencyMs: () => Math.floor(random() * 3), random })
    return { transport: hub.connect('a'), cleanup: () => hub.close() }
  },
  test,
})

const event = (id: string, overrides: Partial<Event> = {}): Event => ({
  id,
  type: 'Changed',
  aggregateId: `agg-${id}`,
  data: { id },
  ...overrides,
})

function collect(): {
  received: EventWithVersion[]
  batches: string[][]
  handler: (batch: readonly EventWithVersion[]) => void
} {
  const received: EventWithVersion[] = []
  const batches: string[][] = []
  return {
    received,
    batches,
    handler: (batch) => {
      batches.push(batch.map((item) => item.event.id))
      received.push(...batch)
    },
  }
}

const idsOf = (items: readonly EventWithVersion[]): string[] => items.map((i) => i.event.id)

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  )
}

function expectCode(error: unknown, code: string): void {
  expect(isSyncKitError(error) ? error.code : error).toBe(code)
  expect((error as Error).message).toMatch(/^\[sync-kit\] \[loopback\] /)
}

/** A Park–Miller generator: a seeded random source for the hub. */
function seeded(seed: number): () => number {
  let state = seed % 2147483647 || 1
  return () => (state = (state * 16807) % 2147483647) / 2147483647
}

describe('loopback conformance registration', () => {
  it('Given a typo in skip, When registering, Then it is rejected with invalid-argument', () => {
    expect(() =>
      transportConformance({
        name: 'x',
        createTransport: () => ({ transport: createLoopbackHub().connect('a') }),
        test,
        skip: { 'no such case': 'typo' },
      }),
    ).toThrow(expect.objectContaining({ code: 'invalid-argument' }) as Error)
  })

  it('Given subscribe: false, When registering, Then the subscribe cases are skipped with a reason', () => {
    const registered: string[] = []
    const skipped: [string, string][] = []
    transportConformance({
      name: 'polling only',
      createTransport: () => ({ transport: createLoopbackHub().connect('a') }),
      test: {
        describe: (_name, fn) => fn(),
        it: (name) => void registered.push(name),
        skip: (name, reason) => void skipped.push([name, reason]),
      },
      subscribe: false,
    })
    expect(registered.length + skipped.length).toBe(TRANSPORT_CASES.length)
    expect(TRANSPORT_CASES.length).toBeGreaterThanOrEqual(12)
    expect(skipped.map(([name]) => name)).toEqual(
      TRANSPORT_CASES.filter((name) => name.startsWith('subscribe') || name.includes('subscribe ')),
    )
    for (const [, reason] of skipped) expect(reason).toMatch(/no live subscribe/)
  })

  it('Given a transport without subscribe that claims it, When a subscribe case runs, Then it fails clearly', async () => {
    const cases = new Map<string, () => Promise<void>>()
    transportConformance({
      name: 'liar',
      createTransport: () => {
        const t = createLoopbackHub().connect('a')
        const polling: Transport = {
          push: (e, o) => t.push(e, o),
          pull: (s, o) => t.pull(s, o),
          latestVersion: (o) => t.latestVersion(o),
          parseVersion: (v) => t.parseVersion(v),
          close: () => t.close(),
        }
        return { transport: polling }
      },
      test: {
        describe: (_name, fn) => fn(),
        it: (name, fn) => void cases.set(name, fn),
        skip: () => undefined,
      },
    })
    const run = cases.get('subscribe delivers events pushed by a peer')
    expect(run).toBeDefined()
    await expect(run?.()).rejects.toThrow(/subscribe: false/)
  })
})

describe('loopback hub: pushes, pulls and copies', () => {
  it('Given a push, When a hub-side value and a pulled value are changed, Then nothing else changes', async () => {
    const hub = createLoopbackHub()
    const a = hub.connect('a')
    const b = hub.connect('b')
    const input = event('e1', { data: { list: [1] } })
    await a.push([input])
    ;(input.data as { list: number[] }).list.push(2)
    const fromA = (await a.pull(null)).events[0]
    const fromB = (await b.pull(null)).events[0]
    expect(fromA?.event.data).toEqual({ list: [1] })
    // What a client receives is the log's own event, deep-frozen: shared, never copied per puller.
    expect(() => (fromA?.event.data as { list: number[] }).list.push(3)).toThrow(TypeError)
    expect(Object.isFrozen(fromA?.event)).toBe(true)
    expect(fromB?.event.data).toEqual({ list: [1] })
    const stored = await hub.store.load(null)
    expect(stored[0]?.event.data).toEqual({ list: [1] })
    expect(fromA?.version).toBeInstanceOf(SequenceVersion)
    // The version is the log's own too: its position is private, so no puller can change it.
    expect(fromA?.version).toBe(stored[0]?.version)
    expect(() => {
      ;(fromA?.version as unknown as { value: bigint }).value = 7n
    }).toThrow(TypeError)
    expect(fromB?.version.toString()).toBe('1')
  })

  it('Given two subscribers, When one mutates its delivered event, Then the other sees the original', async () => {
    const hub = createLoopbackHub()
    const seenByA = collect()
    const seenByB = collect()
    await hub.connect('a').subscribe(seenByA.handler)
    await hub.connect('b').subscribe(seenByB.handler)
    await hub.connect('c').push([event('e1', { data: { k: 'v' } })])
    await hub.settle()
    expect(() => ((seenByA.received[0]?.event.data as { k: string }).k = 'changed')).toThrow(
      TypeError,
    )
    expect(seenByB.received[0]?.event.data).toEqual({ k: 'v' })
    expect(seenByA.received[0]?.event.data).toEqual({ k: 'v' })
  })

  it('Given a pushing client with a subscription, When it pushes, Then it also receives its own events', async () => {
    const hub = createLoopbackHub()
    const a = hub.connect('a')
    const own = collect()
    await a.subscribe(own.handler)
    await a.push([event('e1')])
    await hub.settle()
    expect(idsOf(own.received)).toEqual(['e1'])
  })

  it('Given more events than the page limit, When pulling without limit, Then pages use pageLimit', async () => {
    const hub = createLoopbackHub({ pageLimit: 2 })
    const a = hub.connect('a')
    await a.push([event('e1'), event('e2'), event('e3')])
    const first = await a.pull(null)
    expect(idsOf(first.events)).toEqual(['e1', 'e2'])
    expect(first.hasMore).toBe(true)
    const second = await a.pull(first.events[1]?.version ?? null)
    expect(idsOf(second.events)).toEqual(['e3'])
    expect(second.hasMore).toBe(false)
  })

  it('Given bad arguments, When calling, Then each fails with a clear code and is recorded', async () => {
    const hub = createTestHub()
    const a = hub.connect('a')
    expectCode(await rejection(a.pull(null, { limit: 0 })), 'invalid-argument')
    expectCode(
      await rejection(a.pull(null, { filters: [{ key: 'colour', value: 'red' }] })),
      'unsupported-filter',
    )
    const parse = await rejection(
      a.pull({ compare: () => 0, isZero: () => false, toString: () => 'x' }),
    )
    expect(isSyncKitError(parse, 'version-parse')).toBe(true)
    expectCode(await rejection(a.push('nope' as unknown as Event[])), 'invalid-argument')
    expectCode(await rejection(a.subscribe('nope' as never)), 'invalid-argument')
    expect(hub.calls.filter((c) => !c.ok).map((c) => c.error)).toEqual([
      'invalid-argument',
      'unsupported-filter',
      'version-parse',
      'invalid-argument',
      'invalid-argument',
    ])
  })

  it('Given options that make no sense, When creating a hub or connecting, Then invalid-argument', () => {
    const bad: unknown[] = [
      { latencyMs: -1 },
      { latencyMs: Number.NaN },
      { pageLimit: 0 },
      { offlineDeliveries: 'sometimes' },
      { store: {} },
      { random: 4 },
      { epoch: '' },
      { timers: { setTimeout: () => 1 } },
      { clock: {} },
    ]
    for (const options of bad) {
      expect(() => createTestHub(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'invalid-argument' }) as Error,
      )
    }
    const hub = createTestHub()
    expect(() => hub.connect('')).toThrow(/client id/)
    expect(() => hub.connect('x'.repeat(257))).toThrow(/client id/)
    expect(() => hub.connect('a', { latencyMs: -5 })).toThrow(/latencyMs/)
  })

  it('Given the old top-level setTimeout / clearTimeout options, When creating a test hub, Then invalid-argument says to use timers (they were silently ignored)', () => {
    for (const old of [{ setTimeout: () => 1 }, { clearTimeout: () => undefined }]) {
      expect(() => createTestHub(old as never)).toThrow(/was renamed: use timers/)
    }
  })

  it('Given an option of the test hub, When creating a plain hub, Then invalid-argument names createTestHub', () => {
    const testOnly: Record<string, unknown>[] = [
      { latencyMs: 10 },
      { clock: new TestClock() },
      { timers: new TestClock() },
      { offlineDeliveries: 'drop' },
    ]
    for (const options of testOnly) {
      const name = Object.keys(options)[0] as string
      expect(() => createLoopbackHub(options as never), name).toThrow(
        expect.objectContaining({
          code: 'invalid-argument',
          details: { argument: name },
          message: expect.stringMatching(/createTestHub \(sync-kit\/testing\)/) as string,
        }) as Error,
      )
    }
    expect(createTestHub({ latencyMs: 10, offlineDeliveries: 'drop' }).epoch).toMatch(/^loopback-/)
  })

  it('Given a store without storeBatch, When pushing, Then events are stored one by one', async () => {
    const inner = createMemoryStore()
    const plain: EventStore = {
      store: inner.store.bind(inner),
      load: inner.load.bind(inner),
      loadByAggregate: inner.loadByAggregate.bind(inner),
      latestVersion: inner.latestVersion.bind(inner),
      parseVersion: inner.parseVersion.bind(inner),
      getCheckpoint: inner.getCheckpoint.bind(inner),
      setCheckpoint: inner.setCheckpoint.bind(inner),
      close: inner.close.bind(inner),
    }
    const hub = createLoopbackHub({ store: plain })
    const a = hub.connect('a')
    expect(await a.push([event('e1'), event('e2'), event('e1')])).toMatchObject({
      stored: 2,
      duplicates: 1,
    })
    expect(idsOf((await a.pull(null)).events)).toEqual(['e1', 'e2'])
  })
})

describe('loopback hub: injected failures', () => {
  it('Given failNext(2) hub-wide, When clients call, Then the next two calls fail unavailable', async () => {
    const hub = createTestHub()
    const a = hub.connect('a')
    const b = hub.connect('b')
    hub.failNext(2)
    const first = await rejection(a.pull(null))
    expectCode(first, 'unavailable')
    expect(isSyncKitError(first) && first.transient).toBe(true)
    expectCode(await rejection(b.push([event('e1')])), 'unavailable')
    expect(await b.push([event('e1')])).toMatchObject({ stored: 1 })
    expect((await hub.store.load(null)).length).toBe(1)
  })

  it('Given failNext for one client and one op, When others call, Then only that client and op fail', async () => {
    const hub = createTestHub()
    const a = hub.connect('a')
    const b = hub.connect('b')
    hub.client('a').failNext(1, { op: 'latestVersion', code: 'timeout' })
    await b.latestVersion()
    await a.push([event('e1')])
    await a.pull(null)
    const error = await rejection(a.latestVersion())
    expectCode(error, 'timeout')
    expect(await a.latestVersion()).toEqual(SequenceVersion.parse('1'))
  })

  it('Given a per-client and a hub-wide failure, When the client calls, Then its own is used first', async () => {
    const hub = createTestHub()
    const a = hub.connect('a')
    hub.failNext(1, { code: 'unavailable' })
    hub.client('a').failNext(1, { code: 'timeout' })
    expectCode(await rejection(a.pull(null)), 'timeout')
    expectCode(await rejection(a.pull(null)), 'unavailable')
    await a.pull(null)
  })

  it('Given afterStore, When the push fails, Then the hub kept the events and a retry reports duplicates', async () => {
    const hub = createTestHub()
    const a = hub.connect('a')
    const live = collect()
    await hub.connect('b').subscribe(live.handler)
    hub.client('a').failNext(1, { afterStore: true })
    const error = await rejection(a.push([event('e1'), event('e2')]))
    expectCode(error, 'unavailable')
    expect((error as Error).message).toMatch(/after the hub stored/)
    expect(await a.push([event('e1'), event('e2')])).toEqual({
      stored: 0,
      duplicates: 2,
      epoch: hub.epoch,
    })
    await hub.settle()
    expect(idsOf(live.received)).toEqual(['e1', 'e2'])
    expect(hub.calls.map((c) => [c.op, c.ok, c.events])).toEqual([
      ['subscribe', true, 0],
      ['push', false, 2],
      ['push', true, 2],
    ])
  })

  it('Given malformed fault arguments, When injecting, Then invalid-argument', () => {
    const hub = createTestHub()
    expect(() => hub.failNext(0)).toThrow(/positive safe integer/)
    expect(() => hub.failNext(1.5)).toThrow(/positive safe integer/)
    expect(() => hub.failNext(1, { code: 'boom' as never })).toThrow(/unavailable/)
    expect(() => hub.failNext(1, { op: 'delete' as never })).toThrow(/op must be/)
    expect(() => hub.failNext(1, { op: 'pull', afterStore: true })).toThrow(/pushes only/)
    expect(() => hub.dropNextDeliveries(-1)).toThrow(/positive/)
    expect(() => hub.client('a').duplicateNextDeliveries(0)).toThrow(/positive/)
    expect(() => hub.reorderDeliveries('yes' as never)).toThrow(/boolean/)
  })

  it('Given pending faults, When clearFaults is called on the hub, Then every client is clean again', async () => {
    const hub = createTestHub()
    const a = hub.connect('a')
    hub.failNext(5)
    hub.client('a').failNext(5)
    hub.clearFaults()
    await a.pull(null)
    expect(hub.calls.every((c) => c.ok)).toBe(true)
  })
})

describe('loopback hub: offline clients and partitions', () => {
  it('Given a client goes offline, When it calls and others push, Then calls fail and deliveries wait until it is back', async () => {
    const hub = createTestHub()
    const a = hub.connect('a')
    const b = hub.connect('b')
    const live = collect()
    const errors: unknown[] = []
    await a.subscribe(live.handler, { onError: (e) => errors.push(e) })
    hub.setOffline('a', true)
    expect(hub.isOffline('a')).toBe(true)
    expect(errors).toHaveLength(1)
    expectCode(errors[0], 'unavailable')
    expectCode(await rejection(a.pull(null)), 'unavailable')
    expectCode(await rejection(a.subscribe(() => undefined)), 'unavailable')
    await b.push([event('e1')])
    await b.push([event('e2')])
    await hub.settle()
    expect(live.received).toEqual([])
    hub.setOffline('a', false)
    await hub.settle()
    expect(live.batches).toEqual([['e1'], ['e2']])
    expect(errors).toHaveLength(1)
  })

  it("Given offlineDeliveries 'drop', When the client is back, Then what it missed live is gone but pullable", async () => {
    const hub = createTestHub({ offlineDeliveries: 'drop' })
    const a = hub.connect('a')
    const live = collect()
    await a.subscribe(live.handler)
    hub.setOffline('a', true)
    await hub.connect('b').push([event('e1')])
    hub.setOffline('a', false)
    await hub.connect('b').push([event('e2')])
    await hub.settle()
    expect(idsOf(live.received)).toEqual(['e2'])
    expect(idsOf((await a.pull(null)).events)).toEqual(['e1', 'e2'])
  })

  it('Given a partition, When clients push, Then cut-off clients see nothing until heal', async () => {
    const hub = createTestHub()
    const [a, b, c] = ['a', 'b', 'c'].map((id) => hub.connect(id)) as [
      LoopbackTransport,
      LoopbackTransport,
      LoopbackTransport,
    ]
    const seenByB = collect()
    const seenByC = collect()
    await b.subscribe(seenByB.handler)
    await c.subscribe(seenByC.handler)
    hub.partition([['a'], ['b', 'c']])
    expect([hub.isOffline('a'), hub.isOffline('b'), hub.isOffline('c')]).toEqual([
      false,
      true,
      true,
    ])
    await a.push([event('e1')])
    expectCode(await rejection(b.push([event('e2')])), 'unavailable')
    await hub.settle()
    expect(seenByB.received).toEqual([])
    hub.heal()
    await hub.settle()
    expect(idsOf(seenByB.received)).toEqual(['e1'])
    expect(idsOf(seenByC.received)).toEqual(['e1'])
    await b.push([event('e2')])
    expect((await hub.store.load(null)).length).toBe(2)
  })

  it('Given setOffline and a partition, When the partition heals, Then setOffline still holds', () => {
    const hub = createTestHub()
    hub.setOffline('b', true)
    hub.partition([['a'], ['b']])
    hub.heal()
    expect(hub.isOffline('b')).toBe(true)
    hub.setOffline('b', false)
    expect(hub.isOffline('b')).toBe(false)
  })

  it('Given malformed groups, When partitioning, Then invalid-argument', () => {
    const hub = createTestHub()
    expect(() => hub.partition([])).toThrow(/non-empty/)
    expect(() => hub.partition([['a'], ['a']])).toThrow(/two partition groups/)
    expect(() => hub.partition(['a'] as never)).toThrow(/must be an array/)
    expect(() => hub.partition([[''], ['b']])).toThrow(/client id/)
  })
})

describe('loopback hub: live delivery faults', () => {
  it('Given dropNextDeliveries(1), When two batches are pushed, Then the first delivery is lost', async () => {
    const hub = createTestHub()
    const live = collect()
    await hub.connect('a').subscribe(live.handler)
    hub.dropNextDeliveries(1)
    const b = hub.connect('b')
    await b.push([event('e1')])
    await b.push([event('e2')])
    await hub.settle()
    expect(idsOf(live.received)).toEqual(['e2'])
  })

  it('Given a per-client drop, When a batch is fanned out, Then only that client misses it', async () => {
    const hub = createTestHub()
    const seenByA = collect()
    const seenByB = collect()
    await hub.connect('a').subscribe(seenByA.handler)
    await hub.connect('b').subscribe(seenByB.handler)
    hub.client('a').dropNextDeliveries(1)
    await hub.connect('c').push([event('e1')])
    await hub.settle()
    expect(seenByA.received).toEqual([])
    expect(idsOf(seenByB.received)).toEqual(['e1'])
  })

  it('Given duplicateNextDeliveries(1), When a batch is pushed, Then it is delivered twice', async () => {
    const hub = createTestHub()
    const live = collect()
    await hub.connect('a').subscribe(live.handler)
    hub.duplicateNextDeliveries(1)
    await hub.connect('b').push([event('e1'), event('e2')])
    await hub.connect('b').push([event('e3')])
    await hub.settle()
    expect(live.batches).toEqual([['e1', 'e2'], ['e1', 'e2'], ['e3']])
  })

  it('Given reordering and a slow handler, When batches queue up, Then they arrive in the seeded random order', async () => {
    // random() always ~0.99: the pump picks the newest waiting batch.
    const hub = createTestHub({ random: () => 0.99 })
    hub.reorderDeliveries(true)
    const order: string[] = []
    let release = (): void => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    await hub.connect('a').subscribe(async (batch) => {
      order.push(...batch.map((i) => i.event.id))
      if (order.length === 1) await gate
    })
    const b = hub.connect('b')
    for (const id of ['e1', 'e2', 'e3', 'e4']) await b.push([event(id)])
    release()
    await hub.settle()
    expect(order).toEqual(['e1', 'e4', 'e3', 'e2'])

    hub.reorderDeliveries(false)
    order.length = 0
    for (const id of ['e5', 'e6']) await b.push([event(id)])
    await hub.settle()
    expect(order).toEqual(['e5', 'e6'])
  })
})

describe('loopback hub: subscriptions', () => {
  it('Given a slow handler, When batches arrive, Then the next batch waits for the handler (backpressure)', async () => {
    const hub = createLoopbackHub()
    let running = 0
    let maxRunning = 0
    const seen: string[] = []
    await hub.connect('a').subscribe(async (batch) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      await new Promise((resolve) => setTimeout(resolve, 1))
      seen.push(...batch.map((i) => i.event.id))
      running--
    })
    const b = hub.connect('b')
    await Promise.all([b.push([event('e1')]), b.push([event('e2')]), b.push([event('e3')])])
    await hub.settle()
    expect(maxRunning).toBe(1)
    expect(seen).toEqual(['e1', 'e2', 'e3'])
  })

  it('Given filters, When subscribing with since, Then the replay and live events are filtered', async () => {
    const hub = createLoopbackHub()
    const b = hub.connect('b')
    await b.push([
      event('e1', { type: 'A' }),
      event('e2', { type: 'B' }),
      event('e3', { type: 'A' }),
    ])
    const live = collect()
    await hub.connect('a').subscribe(live.handler, {
      since: SequenceVersion.ZERO,
      filters: [{ key: 'type', value: 'A' }],
    })
    await b.push([event('e4', { type: 'B' }), event('e5', { type: 'A' })])
    await hub.settle()
    expect(idsOf(live.received)).toEqual(['e1', 'e3', 'e5'])
  })

  it('Given a handler that throws, When a batch arrives, Then onError gets the error and the subscription ends', async () => {
    const hub = createLoopbackHub()
    const errors: unknown[] = []
    const failure = new Error('handler broke')
    await hub.connect('a').subscribe(
      () => {
        throw failure
      },
      { onError: (e) => errors.push(e) },
    )
    expect(hub.subscriptions).toBe(1)
    await hub.connect('b').push([event('e1')])
    await hub.settle()
    expect(errors).toEqual([failure])
    expect(hub.subscriptions).toBe(0)
  })

  it('Given a transport with subscriptions, When it closes, Then they end and the hub forgets them', async () => {
    const hub = createLoopbackHub()
    const a = hub.connect('a')
    const live = collect()
    await a.subscribe(live.handler)
    await a.subscribe(live.handler)
    expect(hub.subscriptions).toBe(2)
    await a.close()
    expect(a.closed).toBe(true)
    expect(hub.subscriptions).toBe(0)
    await hub.connect('b').push([event('e1')])
    await hub.settle()
    expect(live.received).toEqual([])
  })

  it('Given a replay longer than a page with pushes during it, When it hands over to live, Then nothing is lost or repeated', async () => {
    const hub = createLoopbackHub({ pageLimit: 2 })
    const b = hub.connect('b')
    await b.push(['e1', 'e2', 'e3', 'e4', 'e5'].map((id) => event(id)))
    const live = collect()
    const pushes = Promise.all([b.push([event('e6')]), b.push([event('e7')])])
    await hub.connect('a').subscribe(live.handler, { since: SequenceVersion.parse('1') })
    await pushes
    await b.push([event('e8')])
    await hub.settle()
    expect(idsOf(live.received)).toEqual(['e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'])
    expect(live.batches.slice(0, 2)).toEqual([
      ['e2', 'e3'],
      ['e4', 'e5'],
    ])
  })

  it('Property: whatever the interleaving of pushes and a subscribe with since, each later event arrives once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        async (batchSizes, sinceIndex, subscribeAt, pageLimit) => {
          const hub = createLoopbackHub({ pageLimit })
          const pushers = [hub.connect('p1'), hub.connect('p2')]
          const live = collect()
          let n = 0
          const batches = batchSizes.map((size) =>
            Array.from({ length: size }, () => event(`e${++n}`)),
          )
          const before = batches.slice(0, subscribeAt)
          const after = batches.slice(subscribeAt)
          for (const [i, batch] of before.entries()) await pushers[i % 2]?.push(batch)
          const stored = await hub.store.load(null)
          const since = Math.min(sinceIndex, stored.length)
          const sinceVersion = since === 0 ? SequenceVersion.ZERO : stored[since - 1]?.version
          // The subscribe races the remaining pushes.
          const racing = after.map((batch, i) => pushers[i % 2]?.push(batch))
          await hub.connect('s').subscribe(live.handler, { since: sinceVersion ?? null })
          await Promise.all(racing)
          await hub.settle()
          const all = await hub.store.load(null)
          expect(idsOf(live.received)).toEqual(idsOf(all).slice(since))
          expect(live.received.map((i) => i.version.toString())).toEqual(
            all.slice(since).map((i) => i.version.toString()),
          )
          await hub.close()
        },
      ),
      { numRuns: 150 },
    )
  })

  it('Property: with duplicates, reordering and offline spells (withheld), every stored event is delivered with its version', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('push' as const), size: fc.integer({ min: 1, max: 3 }) }),
            fc.record({ kind: fc.constant('duplicate' as const) }),
            fc.record({ kind: fc.constant('reorder' as const), on: fc.boolean() }),
            fc.record({ kind: fc.constant('offline' as const), on: fc.boolean() }),
          ),
          { maxLength: 20 },
        ),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (steps, seed) => {
          const hub = createTestHub({ random: seeded(seed) })
          const pusher = hub.connect('p')
          const live = collect()
          await hub.connect('s').subscribe(live.handler)
          let n = 0
          for (const step of steps) {
            if (step.kind === 'push') {
              await pusher.push(Array.from({ length: step.size }, () => event(`e${++n}`)))
            } else if (step.kind === 'duplicate') {
              hub.client('s').duplicateNextDeliveries(1)
            } else if (step.kind === 'reorder') {
              hub.reorderDeliveries(step.on)
            } else {
              hub.setOffline('s', step.on)
            }
          }
          hub.setOffline('s', false)
          await hub.settle()
          const stored = await hub.store.load(null)
          const versionOf = new Map(stored.map((i) => [i.event.id, i.version.toString()]))
          expect(new Set(idsOf(live.received))).toEqual(new Set(idsOf(stored)))
          for (const item of live.received) {
            expect(item.version.toString()).toBe(versionOf.get(item.event.id))
          }
          await hub.close()
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('loopback hub: latency with a TestClock, and settle', () => {
  it('Given 100 ms latency, When the clock advances, Then the push lands only after 100 ms', async () => {
    const clock = new TestClock(1_000)
    const hub = createTestHub({ clock, latencyMs: 100 })
    const a = hub.connect('a')
    let done = false
    const push = a.push([event('e1')]).then((r) => {
      done = true
      return r
    })
    await clock.advance(99)
    expect(done).toBe(false)
    expect((await hub.store.load(null)).length).toBe(0)
    await clock.advance(1)
    expect(done).toBe(true)
    expect(await push).toMatchObject({ stored: 1 })
    expect(hub.calls).toEqual([{ clientId: 'a', op: 'push', events: 1, ok: true, at: 1_100 }])
  })

  it('Given latency, When the caller changes its events during the flight, Then the hub stores what was sent', async () => {
    const clock = new TestClock()
    const hub = createTestHub({ clock, latencyMs: 10 })
    const input = event('e1', { data: { v: 1 } })
    const push = hub.connect('a').push([input])
    ;(input.data as { v: number }).v = 2
    await clock.advance(10)
    await push
    expect((await hub.store.load(null))[0]?.event.data).toEqual({ v: 1 })
  })

  it('Given a call in flight, When its signal aborts, Then it rejects aborted, stores nothing and leaves no timer', async () => {
    const clock = new TestClock()
    const hub = createTestHub({ clock, latencyMs: 50 })
    const controller = new AbortController()
    const push = rejection(hub.connect('a').push([event('e1')], { signal: controller.signal }))
    expect(clock.pendingTimers).toBe(1)
    controller.abort()
    expectCode(await push, 'aborted')
    expect(clock.pendingTimers).toBe(0)
    await clock.advance(100)
    expect((await hub.store.load(null)).length).toBe(0)
  })

  it('Given a latency function and a per-connection override, When calling, Then each call gets its own latency', async () => {
    const clock = new TestClock()
    const asked: string[] = []
    const hub = createTestHub({
      clock,
      latencyMs: ({ clientId, op }) => {
        asked.push(`${clientId}:${op}`)
        return op === 'pull' ? 30 : 10
      },
    })
    const a = hub.connect('a')
    const fast = hub.connect('fast', { latencyMs: 0 })
    const pull = a.pull(null)
    const latest = a.latestVersion()
    await fast.pull(null)
    await clock.advance(10)
    await latest
    expect(hub.calls.map((c) => `${c.clientId}:${c.op}@${c.at}`)).toEqual([
      'fast:pull@0',
      'a:latestVersion@10',
    ])
    await clock.advance(20)
    await pull
    expect(asked).toEqual(['a:pull', 'a:latestVersion'])
  })

  it('Given a latency function returning nonsense, When calling, Then the call fails with invalid-argument', async () => {
    const hub = createTestHub({ latencyMs: () => -1 })
    expectCode(await rejection(hub.connect('a').pull(null)), 'invalid-argument')
  })

  it('Given latency on a TestClock, When settle is started and the clock advanced, Then settle resolves after the work', async () => {
    const clock = new TestClock()
    const hub = createTestHub({ clock, latencyMs: 20 })
    const live = collect()
    const subscribing = hub.connect('a').subscribe(live.handler)
    await clock.advance(20)
    await subscribing
    void hub.connect('b').push([event('e1')])
    let settled = false
    const settling = hub.settle().then(() => (settled = true))
    await Promise.resolve()
    expect(settled).toBe(false)
    await clock.advance(20)
    await settling
    expect(idsOf(live.received)).toEqual(['e1'])
  })

  it('Given a client whose transport closed during the latency, When the call lands, Then it rejects transport-closed', async () => {
    const clock = new TestClock()
    const hub = createTestHub({ clock, latencyMs: 5 })
    const a = hub.connect('a')
    const pull = rejection(a.pull(null))
    await a.close()
    await clock.advance(5)
    expectCode(await pull, 'transport-closed')
  })
})

describe('loopback hub: epoch, reset, records and close', () => {
  it('Given the same seed, When two hubs are created, Then their epochs are equal; a given epoch is used as is', () => {
    expect(createLoopbackHub({ random: seeded(3) }).epoch).toBe(
      createLoopbackHub({ random: seeded(3) }).epoch,
    )
    expect(createLoopbackHub({ random: seeded(3) }).epoch).not.toBe(
      createLoopbackHub({ random: seeded(4) }).epoch,
    )
    expect(createLoopbackHub({ epoch: 'server-1' }).epoch).toBe('server-1')
  })

  it('Given a hub with events and a subscription, When it is reset, Then the log is empty, the epoch new and the subscription ended', async () => {
    const hub = createLoopbackHub({ epoch: 'first', random: () => 0 })
    const a = hub.connect('a')
    const errors: unknown[] = []
    await a.subscribe(() => undefined, { onError: (e) => errors.push(e) })
    expect((await a.push([event('e1')])).epoch).toBe('first')
    const oldStore = hub.store
    await hub.reset()
    expect(hub.epoch).not.toBe('first')
    expect(hub.subscriptions).toBe(0)
    expect(errors).toHaveLength(1)
    expectCode(errors[0], 'unavailable')
    const page = await a.pull(null)
    expect(page).toEqual({ events: [], hasMore: false, epoch: hub.epoch })
    expect((await a.latestVersion()).isZero()).toBe(true)
    expect(isSyncKitError(await rejection(oldStore.latestVersion()), 'closed')).toBe(true)
    const second = hub.epoch
    await hub.reset()
    expect(hub.epoch).not.toBe(second)
  })

  it('Given a store instance, When reset is asked, Then it is refused with invalid-argument and the log kept', async () => {
    const store = createMemoryStore()
    const hub = createLoopbackHub({ store })
    await hub.connect('a').push([event('e1')])
    expectCode(await rejection(hub.reset()), 'invalid-argument')
    expect(store.size).toBe(1)
    await hub.close()
    expect((await store.load(null)).length).toBe(1) // the caller's store stays open
  })

  it('Given a store factory, When reset, Then the factory makes the new store', async () => {
    let made = 0
    const hub = createLoopbackHub({
      store: () => {
        made++
        return createMemoryStore()
      },
    })
    await hub.reset()
    expect(made).toBe(2)
  })

  it('Given calls, When reading hub.calls, Then each is recorded with client, op, count and outcome', async () => {
    const clock = new TestClock(5)
    const hub = createTestHub({ clock })
    const a = hub.connect('a')
    await a.push([event('e1'), event('e2')])
    await a.pull(null)
    hub.client('a').failNext(1, { op: 'pull', code: 'timeout' })
    await rejection(a.pull(null))
    await a.latestVersion()
    await rejection(a.push([event('')]))
    expect(hub.calls).toEqual([
      { clientId: 'a', op: 'push', events: 2, ok: true, at: 5 },
      { clientId: 'a', op: 'pull', events: 2, ok: true, at: 5 },
      { clientId: 'a', op: 'pull', events: 0, ok: false, error: 'timeout', at: 5 },
      { clientId: 'a', op: 'latestVersion', events: 0, ok: true, at: 5 },
      { clientId: 'a', op: 'push', events: 1, ok: false, error: 'invalid-event', at: 5 },
    ])
    expect(Object.isFrozen(hub.calls)).toBe(true)
    hub.clearCalls()
    expect(hub.calls).toEqual([])
  })

  it('Given a hub, When it closes, Then every transport is closed, connect fails and its own store is closed', async () => {
    const hub = createLoopbackHub()
    const a = hub.connect('a')
    await a.subscribe(() => undefined)
    const store = hub.store
    await hub.close()
    await hub.close()
    expect(a.closed).toBe(true)
    expect(hub.subscriptions).toBe(0)
    expectCode(await rejection(a.pull(null)), 'transport-closed')
    expect(() => hub.connect('b')).toThrow(
      expect.objectContaining({ code: 'transport-closed' }) as Error,
    )
    expect(isSyncKitError(await rejection(store.latestVersion()), 'closed')).toBe(true)
    expectCode(await rejection(hub.reset()), 'transport-closed')
  })
})

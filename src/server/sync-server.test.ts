import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SERVER_EPOCH_CHECKPOINT_KEY } from '../core/epoch.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { TestClock } from '../testing/test-clock.js'
import type { Event, EventStore, EventWithVersion } from '../types/index.js'
import { Hlc } from '../versions/hlc.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import {
  createAccessPolicy,
  createSyncServer,
  loadOrCreateEpoch,
  renewEpoch,
  wireJson,
} from './index.js'
import type { FeedBatch, SyncServer, SyncServerOptions } from './index.js'

const event = (id: string, extra: Partial<Event> = {}): Event => ({
  id,
  type: 'T',
  aggregateId: 'a',
  data: { n: id },
  ...extra,
})

const ids = (items: readonly EventWithVersion[]): string[] => items.map((i) => i.event.id)

/** A store without the optional capabilities: the server falls back to its own ways. */
function plainStore(inner = createMemoryStore()): EventStore {
  const plain = delegatingStore(inner)
  delete plain.storeBatch
  return plain
}

/** A server as the HTTP handler makes it (with an access policy), unless told otherwise. */
function serverOn(
  options: Partial<SyncServerOptions> = {},
  access: Parameters<typeof createAccessPolicy>[0] = {},
): SyncServer {
  return createSyncServer({
    store: createMemoryStore(),
    epoch: 'e-1',
    access: createAccessPolicy(access),
    ...options,
  })
}

async function push(server: SyncServer, events: readonly unknown[], tenant?: string) {
  return server.push(server.checkPush(events, tenant === undefined ? {} : { tenant }))
}

async function refusal(fn: () => unknown): Promise<SyncKitError> {
  try {
    await fn()
  } catch (error) {
    if (isSyncKitError(error)) return error
    throw error
  }
  throw new Error('expected a refusal')
}

describe('server core: push', () => {
  it('Given new and repeated events, When pushed, Then it counts stored and duplicates and reports the head and epoch', async () => {
    const server = serverOn()
    expect(await push(server, [event('e1'), event('e2')])).toMatchObject({
      stored: 2,
      duplicates: 0,
      epoch: 'e-1',
    })
    const again = await push(server, [event('e2'), event('e3')])
    expect(again).toMatchObject({ stored: 1, duplicates: 1 })
    expect(again.latestVersion.toString()).toBe('3')
  })

  it('Given an empty push, When stored, Then nothing is written and the head is reported', async () => {
    const server = serverOn()
    await push(server, [event('e1')])
    const result = await push(server, [])
    expect(result).toMatchObject({ stored: 0, duplicates: 0 })
    expect(result.latestVersion.toString()).toBe('1')
  })

  it('Given ifEpoch of another log, When pushed, Then epoch-mismatch names both and nothing is stored', async () => {
    const server = serverOn()
    const error = await refusal(() =>
      server.push(server.checkPush([event('e1')]), { ifEpoch: 'old' }),
    )
    expect(error.code).toBe('epoch-mismatch')
    expect(error.details).toEqual({ expected: 'old', actual: 'e-1' })
    expect((await server.store.latestVersion()).toString()).toBe('0')
    expect((await server.push(server.checkPush([event('e1')]), { ifEpoch: 'e-1' })).stored).toBe(1)
  })

  it('Given a tenant, When events without one are pushed, Then they are stored with it', async () => {
    const server = serverOn()
    await push(server, [event('e1')], 'acme')
    const [stored] = await server.store.load(null)
    expect(stored?.event.metadata).toEqual({ tenant: 'acme' })
  })

  it('Given requireTenant, When an event names no tenant, Then invalid-event names it and the field', async () => {
    const server = serverOn({}, { requireTenant: true })
    const error = await refusal(() =>
      server.checkPush([event('ok', { metadata: { tenant: 'acme' } }), event('bare')], {
        tenant: 'acme',
      }),
    )
    expect(error.code).toBe('invalid-event')
    expect(error.details).toEqual({ eventId: 'bare', field: 'metadata.tenant' })
    expect(error.message).toContain('events[1]')
  })

  it('Given a tenant, When an event names another tenant, Then the push is forbidden', async () => {
    const server = serverOn()
    const error = await refusal(() =>
      server.checkPush([event('e1', { metadata: { tenant: 'globex' } })], { tenant: 'acme' }),
    )
    expect(error.code).toBe('forbidden')
  })

  it('Given an invalid event, When checked, Then invalid-event names the event and the field', async () => {
    const server = serverOn()
    const error = await refusal(() =>
      server.checkPush([event('ok'), { id: 'bad', type: 'T', aggregateId: 'a' }]),
    )
    expect(error.code).toBe('invalid-event')
    expect(error.details).toMatchObject({ eventId: 'bad', field: 'data' })
  })

  it('Given an event over maxEventBytes, When checked, Then payload-too-large names it and its size', async () => {
    const server = serverOn({}, { maxEventBytes: 100 })
    const error = await refusal(() =>
      server.checkPush([event('small'), event('big', { data: 'x'.repeat(200) })]),
    )
    expect(error.code).toBe('payload-too-large')
    expect(error.details).toEqual({ limitBytes: 100, eventId: 'big' })
    expect(error.message).toContain('"big"')
  })

  it('Given more events than maxBatchEvents, When checked, Then payload-too-large before any event is looked at', async () => {
    const server = serverOn({}, { maxBatchEvents: 2 })
    const error = await refusal(() =>
      server.checkPush([event('e1'), 'not an event', event('e3')], { bodyLimitBytes: 42 }),
    )
    expect(error.code).toBe('payload-too-large')
    expect(error.details).toEqual({ limitBytes: 42 })
  })

  it('Given a wire check, When checking, Then it runs on each item before validateEvent', async () => {
    const server = serverOn()
    const seen: number[] = []
    server.checkPush([event('e1'), event('e2')], {
      parse: (item, index) => {
        seen.push(index)
        return item
      },
    })
    expect(seen).toEqual([0, 1])
  })

  it('Given a changed event under a stored id, When pushed, Then event-id-conflict names only the id', async () => {
    const server = serverOn()
    await push(server, [event('e1')])
    const error = await refusal(() => push(server, [event('e1', { data: 'other' })]))
    expect(error.code).toBe('event-id-conflict')
    expect(error.details).toEqual({ eventId: 'e1' })
  })

  it('Given a store without storeBatch, When pushed, Then the events are stored one by one', async () => {
    const server = serverOn({ store: plainStore() })
    expect(await push(server, [event('e1'), event('e2'), event('e1')])).toMatchObject({
      stored: 2,
      duplicates: 1,
    })
  })

  it('Given no access policy (the loopback hub), When pushing any number and size of events, Then all are admitted, and a tenant is refused', async () => {
    const server = createSyncServer({ epoch: 'e' })
    const many = Array.from({ length: 1_500 }, (_, i) => event(`e${i}`, { data: 'z'.repeat(i) }))
    expect((await push(server, many)).stored).toBe(1_500)
    expect((await refusal(() => server.checkPush([event('x')], { tenant: 't' }))).code).toBe(
      'internal',
    )
    expect((await refusal(() => server.pull(null, { tenant: 't' }))).code).toBe('internal')
  })

  it('Given something else than a checked push, When pushed, Then invalid-argument', async () => {
    const server = serverOn()
    const error = await refusal(() => server.push({ events: [event('e1')] } as never))
    expect(error.code).toBe('invalid-argument')
  })
})

describe('server core: pull pages', () => {
  async function filled(count: number, access: Parameters<typeof createAccessPolicy>[0] = {}) {
    const server = serverOn({}, access)
    await push(
      server,
      Array.from({ length: count }, (_, i) =>
        event(`e${i + 1}`, { type: i % 2 === 0 ? 'A' : 'B', data: 'x'.repeat(100) }),
      ),
    )
    return server
  }

  it('Given more events than the limit, When pulling, Then a full page says hasMore; an exact end does not', async () => {
    const server = await filled(5)
    const first = await server.pull(null, { limit: 4 })
    expect(ids(first.events)).toEqual(['e1', 'e2', 'e3', 'e4'])
    expect(first).toMatchObject({ hasMore: true, epoch: 'e-1' })
    const exact = await server.pull(null, { limit: 5 })
    expect(exact.hasMore).toBe(false)
    expect(exact.events).toHaveLength(5)
  })

  it('Given no limit, When pulling, Then pageLimit applies, and a larger limit is clamped to maxPageLimit', async () => {
    const server = await filled(30, { pageLimit: 7, maxPageLimit: 10 })
    expect((await server.pull(null)).events).toHaveLength(7)
    expect((await server.pull(null, { limit: 50 })).events).toHaveLength(10)
  })

  it('Given no access policy, When pulling without a limit, Then the page holds everything, without JSON', async () => {
    const server = createSyncServer({ epoch: 'e' })
    await push(
      server,
      Array.from({ length: 1_200 }, (_, i) => event(`e${i}`)),
    )
    const page = await server.pull(null)
    expect(page.events).toHaveLength(1_200)
    expect(page).toMatchObject({ hasMore: false, epoch: 'e' })
    expect(page.json).toBeUndefined()
  })

  it('Given a byte budget, When pulling, Then pages stop at it, carry each event’s wire JSON, and every event arrives once', async () => {
    const server = await filled(40, { maxPageBytes: 700 })
    const seen: string[] = []
    let since = null
    for (;;) {
      const page = await server.pull(since, { limit: 100 })
      expect(page.json).toEqual(page.events.map(wireJson))
      const bytes = (page.json ?? []).reduce(
        (n, text) => n + new TextEncoder().encode(text).length,
        0,
      )
      expect(page.events.length === 1 || bytes <= 700).toBe(true)
      seen.push(...ids(page.events))
      since = page.events.at(-1)?.version ?? since
      if (!page.hasMore) break
      expect(page.events.length).toBeLessThan(100)
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => `e${i + 1}`))
  })

  it('Given one event larger than the budget, When pulling, Then it arrives alone on its page', async () => {
    const server = serverOn({}, { maxPageBytes: 50 })
    await push(server, [event('big', { data: 'y'.repeat(300) }), event('small')])
    const page = await server.pull(null)
    expect(ids(page.events)).toEqual(['big'])
    expect(page.hasMore).toBe(true)
  })

  it('Given filters, When pulling, Then only matching events come, paged after the cursor', async () => {
    const server = await filled(10, {})
    const page = await server.pull(SequenceVersion.parse('2'), {
      filters: [{ key: 'type', value: 'A' }],
      limit: 3,
    })
    expect(ids(page.events)).toEqual(['e3', 'e5', 'e7'])
    expect(page.hasMore).toBe(true)
  })

  it('Given a tenant, When pulling, Then only its events come; a filter naming another tenant is forbidden', async () => {
    const server = serverOn()
    await push(server, [event('a1')], 'acme')
    await push(server, [event('g1')], 'globex')
    await push(server, [event('a2')], 'acme')
    expect(ids((await server.pull(null, { tenant: 'acme' })).events)).toEqual(['a1', 'a2'])
    const error = await refusal(() =>
      server.pull(null, { tenant: 'acme', filters: [{ key: 'tenant', value: 'globex' }] }),
    )
    expect(error.code).toBe('forbidden')
  })

  it('Given a bad limit, When pulling, Then invalid-argument', async () => {
    const error = await refusal(() => serverOn().pull(null, { limit: 0 }))
    expect(error.code).toBe('invalid-argument')
  })
})

/** A server whose epoch is the store's, as the HTTP handler makes it. */
function storeEpochServer(store: EventStore, generate: () => string): SyncServer {
  return createSyncServer({ store, epoch: () => loadOrCreateEpoch(store, generate, 'server') })
}

describe('server core: epoch', () => {
  it('Given a store with loadOrCreateEpoch, When servers are created on it, Then they share the first epoch and the head carries it', async () => {
    const store = createMemoryStore()
    const generated = ['gen-1', 'gen-2']
    const first = storeEpochServer(store, () => generated.shift() ?? 'x')
    const second = storeEpochServer(store, () => 'other')
    expect(await first.epoch()).toBe('gen-1')
    expect(await second.epoch()).toBe('gen-1')
    expect((await second.latestVersion()).epoch).toBe('gen-1')
  })

  it('Given a store without the capability, When asked, Then the epoch is kept in the sync-kit:server checkpoint', async () => {
    const inner = createMemoryStore()
    const server = storeEpochServer(plainStore(inner), () => 'fallback')
    expect(await server.epoch()).toBe('fallback')
    expect((await inner.getCheckpoint(SERVER_EPOCH_CHECKPOINT_KEY))?.epoch).toBe('fallback')
    const again = storeEpochServer(plainStore(inner), () => 'new')
    expect(await again.epoch()).toBe('fallback')
  })

  it('Given concurrent first calls, When they resolve, Then they agree and the store was asked once', async () => {
    for (const store of [createMemoryStore(), plainStore()]) {
      let generated = 0
      const server = storeEpochServer(store, () => `gen-${++generated}`)
      const epochs = await Promise.all([server.epoch(), server.epoch(), server.latestVersion()])
      expect(epochs.slice(0, 2)).toEqual(['gen-1', 'gen-1'])
      expect(generated).toBe(1)
    }
  })

  it('Given a store whose first epoch write fails, When asked again, Then the load is retried', async () => {
    const inner = createMemoryStore()
    let failures = 1
    const store: EventStore = {
      ...plainStore(inner),
      setCheckpoint: (key, value) =>
        failures-- > 0
          ? Promise.reject(new SyncKitError('unavailable', 'disk busy', {}))
          : inner.setCheckpoint(key, value),
    }
    const server = storeEpochServer(store, () => 'gen')
    expect((await refusal(() => server.epoch())).code).toBe('unavailable')
    expect(await server.epoch()).toBe('gen')
  })

  it('Given a fixed epoch, When asked, Then it is used as is and the store is not touched; an empty one is refused', async () => {
    const store = createMemoryStore()
    expect(await createSyncServer({ store, epoch: 'fixed' }).epoch()).toBe('fixed')
    expect(await store.getCheckpoint(SERVER_EPOCH_CHECKPOINT_KEY)).toBeUndefined()
    expect(() => createSyncServer({ store, epoch: '' })).toThrow(/epoch/)
    expect(() => createSyncServer({ store } as never)).toThrow(/epoch/)
  })
})

describe('server core: renewing the epoch and the drift bound', () => {
  it('Given a store with and without renewEpoch, When the epoch is renewed, Then a server started afterwards serves the new one', async () => {
    for (const store of [createMemoryStore(), plainStore()]) {
      await storeEpochServer(store, () => 'old').epoch()
      expect(await renewEpoch(store, 'new', 'test')).toBe('new')
      expect(await storeEpochServer(store, () => 'other').epoch()).toBe('new')
    }
    await expect(renewEpoch(createMemoryStore(), '', 'test')).rejects.toMatchObject({
      code: 'invalid-argument',
    })
  })

  it('Given an access policy with a drift bound and a clock, When a push holds an event stamped past it, Then checkPush refuses it with clock-drift naming the event, for every wire alike', () => {
    const clock = new TestClock(Date.UTC(2025, 0, 1))
    const server = serverOn({}, { maxDriftMs: 1000, clock })
    const ahead = (id: string, ms: number): Event =>
      event(id, { metadata: { hlc: new Hlc(clock.now() + ms, 0, 'n1').toString() } })

    expect(server.checkPush([ahead('ok', 1000)]).events).toHaveLength(1)
    const error = (() => {
      try {
        server.checkPush([ahead('ok', 0), ahead('far', 1001)])
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(isSyncKitError(error, 'clock-drift')).toBe(true)
    expect((error as SyncKitError<'clock-drift'>).details).toMatchObject({
      eventId: 'far',
      driftMs: 1001,
      maxDriftMs: 1000,
    })
    expect(() => createAccessPolicy({ maxDriftMs: -5 })).toThrow(/maxDriftMs/)
    expect(
      serverOn({}, { maxDriftMs: 0, clock }).checkPush([ahead('far', 1e9)]).events,
    ).toHaveLength(1)
  })
})

/** Collects the batches of a push-style subscription. */
function collector(slowMs = 0) {
  const batches: FeedBatch[] = []
  let running = 0
  let maxRunning = 0
  return {
    batches,
    events: () => batches.flatMap((b) => b.events),
    maxRunning: () => maxRunning,
    handler: async (batch: FeedBatch) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      if (slowMs > 0) await new Promise((resolve) => setTimeout(resolve, slowMs))
      batches.push(batch)
      running--
    },
  }
}

describe('server core: live feeds', () => {
  for (const soleWriter of [true, false]) {
    const mode = soleWriter ? 'a sole writer' : 'a shared store'
    it(`Property (${mode}): whatever the interleaving of pushes and a subscribe with since, each later event arrives once, in order`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
          fc.integer({ min: 0, max: 8 }),
          fc.integer({ min: 0, max: 10 }),
          fc.integer({ min: 1, max: 4 }),
          async (sizes, subscribeAt, sinceIndex, limit) => {
            const server = serverOn({ soleWriter })
            let n = 0
            const batches = sizes.map((size) =>
              Array.from({ length: size }, () => event(`e${++n}`)),
            )
            for (const batch of batches.slice(0, subscribeAt)) await push(server, batch)
            const before = await server.store.load(null)
            const since = Math.min(sinceIndex, before.length)
            const sinceVersion = since === 0 ? SequenceVersion.ZERO : before[since - 1]?.version
            const racing = batches.slice(subscribeAt).map((batch) => push(server, batch))
            const live = collector()
            await server.subscribe(live.handler, { since: sinceVersion ?? null, limit })
            await Promise.all(racing)
            await server.idle()
            const all = await server.store.load(null)
            expect(ids(live.events())).toEqual(ids(all).slice(since))
            await server.close()
          },
        ),
        { numRuns: 100 },
      )
    })
  }

  it('Property (a sole writer written to by others too): each event arrives once, in order, and every batch follows the one before it (after)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 3 }), foreign: fc.boolean() }), {
          minLength: 1,
          maxLength: 10,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (writes, limit, filtered) => {
          const server = serverOn({ soleWriter: true })
          const live = collector()
          const filters = filtered ? [{ key: 'type', value: 'A' }] : []
          await server.subscribe(live.handler, { since: SequenceVersion.ZERO, limit, filters })
          let n = 0
          const make = (size: number) =>
            Array.from({ length: size }, () => {
              n++
              return event(`e${n}`, { type: n % 3 === 0 ? 'B' : 'A' })
            })
          for (const { size, foreign } of writes) {
            // Another process on the same store: nobody announces its writes.
            if (foreign) for (const e of make(size)) await server.store.store(e)
            else await push(server, make(size))
          }
          // A last push: the sole writer notices what others wrote before it.
          await push(server, make(1))
          await server.idle()
          const all = await server.store.load(null)
          const matching = all.filter((item) => !filtered || item.event.type === 'A')
          expect(ids(live.events())).toEqual(ids(matching))
          let previous: string = SequenceVersion.ZERO.toString()
          for (const batch of live.batches) {
            expect(batch.after?.toString()).toBe(previous)
            previous = (batch.events.at(-1) as EventWithVersion).version.toString()
          }
          await server.close()
        },
      ),
      { numRuns: 150 },
    )
  })

  it('Given a subscription with since, When it replays then goes live, Then replayed batches are marked so and live ones follow', async () => {
    const server = serverOn({ soleWriter: true })
    await push(server, [event('e1'), event('e2'), event('e3')])
    const live = collector()
    await server.subscribe(live.handler, { since: SequenceVersion.ZERO, limit: 2 })
    await server.idle()
    await push(server, [event('e4')])
    await server.idle()
    expect(live.batches.map((b) => [ids(b.events), b.live])).toEqual([
      [['e1', 'e2'], false],
      [['e3'], false],
      [['e4'], true],
    ])
  })

  it('Given a shared store whose head is read slowly, When a push lands while a feed without since starts, Then the feed still delivers it (regression: the start reset the stale mark)', async () => {
    // Given a store that answers latestVersion with a value read before a push lands
    const inner = createMemoryStore()
    const slowHead: EventStore = {
      ...plainStore(inner),
      latestVersion: async (o) => {
        const head = await inner.latestVersion(o)
        await new Promise((resolve) => setTimeout(resolve, 20))
        return head
      },
    }
    const server = serverOn({ store: slowHead, soleWriter: false })
    const live = collector()
    // When a feed starts (registered, then reading the head) and a push lands meanwhile
    const subscribed = server.subscribe(live.handler)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await push(server, [event('e1')])
    await subscribed
    await server.idle()
    // Then the pushed event is delivered live
    expect(ids(live.events())).toEqual(['e1'])
    await server.close()
  })

  it('Given no since, When subscribing, Then only events pushed afterwards arrive', async () => {
    const server = serverOn()
    await push(server, [event('old')])
    const live = collector()
    await server.subscribe(live.handler)
    await push(server, [event('new')])
    await server.idle()
    expect(ids(live.events())).toEqual(['new'])
  })

  it('Given a slow handler, When batches arrive, Then the next waits for it (backpressure)', async () => {
    const server = serverOn({ soleWriter: true })
    const live = collector(2)
    await server.subscribe(live.handler)
    await Promise.all([push(server, [event('e1')]), push(server, [event('e2')])])
    await push(server, [event('e3')])
    await server.idle()
    expect(live.maxRunning()).toBe(1)
    expect(ids(live.events())).toEqual(['e1', 'e2', 'e3'])
  })

  it('Given events written to the store by someone else, When notify() is called, Then feeds read them from the store', async () => {
    for (const soleWriter of [true, false]) {
      // watch: false — the memory store would announce a write through the same object itself.
      const server = serverOn({ soleWriter, watch: false })
      const live = collector()
      await server.subscribe(live.handler)
      await server.store.store(event('outside'))
      await server.idle()
      expect(live.events()).toEqual([])
      server.notify()
      await server.idle()
      expect(ids(live.events())).toEqual(['outside'])
    }
  })

  it('Given a shared store and a feed waiting with waitMs, When the time passes, Then it returns an empty batch and the next call finds writes nobody announced', async () => {
    const clock = new TestClock()
    // watch: false — a write nobody announced (the memory store's own watch would announce it).
    const server = serverOn({ clock, watch: false })
    const feed = await server.openFeed({ since: SequenceVersion.ZERO })
    expect(await feed.next({ waitMs: 0 })).toEqual({
      events: [],
      live: true,
      after: SequenceVersion.ZERO,
    })
    const waiting = feed.next({ waitMs: 1_000 })
    await server.store.store(event('outside'))
    await clock.advance(1_000)
    expect((await waiting)?.events).toEqual([])
    expect(ids((await feed.next({ waitMs: 0 }))?.events ?? [])).toEqual(['outside'])
  })

  it('Given a tenant and filters, When subscribed, Then only its matching events arrive', async () => {
    const server = serverOn()
    const live = collector()
    await server.subscribe(live.handler, {
      tenant: 'acme',
      filters: [{ key: 'type', value: 'A' }],
    })
    await push(server, [event('a1', { type: 'A' }), event('a2', { type: 'B' })], 'acme')
    await push(server, [event('g1', { type: 'A' })], 'globex')
    await server.idle()
    expect(ids(live.events())).toEqual(['a1'])
  })

  it('Given a handler that throws, When a batch arrives, Then onError gets it once and the subscription ends', async () => {
    const server = serverOn()
    const errors: unknown[] = []
    const failure = new Error('handler broke')
    await server.subscribe(
      () => {
        throw failure
      },
      { onError: (error) => errors.push(error) },
    )
    await push(server, [event('e1')])
    await push(server, [event('e2')])
    await server.idle()
    expect(errors).toEqual([failure])
  })

  it('Given feeds, When the server closes, Then waiting feeds end, new ones are refused, and pushes still work', async () => {
    const server = serverOn()
    const feed = await server.openFeed()
    const waiting = feed.next()
    const live = collector()
    await server.subscribe(live.handler)
    await server.close()
    expect(await waiting).toBeUndefined()
    expect(feed.ended).toBe(true)
    expect((await refusal(() => server.openFeed())).code).toBe('closed')
    expect((await push(server, [event('e1')])).stored).toBe(1)
    await server.idle()
    expect(live.events()).toEqual([])
  })

  it('Given a feed, When next() is called twice at once, Then the second is refused; an aborted wait rejects aborted', async () => {
    const server = serverOn()
    const feed = await server.openFeed()
    const abort = new AbortController()
    const first = feed.next({ signal: abort.signal })
    expect((await refusal(() => feed.next())).code).toBe('invalid-argument')
    abort.abort()
    expect((await refusal(() => first)).code).toBe('aborted')
    feed.close()
    expect(await feed.next()).toBeUndefined()
  })
})

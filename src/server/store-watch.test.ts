import { describe, expect, it } from 'vitest'
import { SyncKitError } from '../errors/sync-kit-error.js'
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { Event, EventStore, StoreWatchOptions } from '../types/index.js'
import { createSyncServer } from './index.js'
import type { FeedBatch, SyncServerOptions } from './index.js'

const event = (id: string): Event => ({ id, type: 'T', aggregateId: 'a', data: { n: id } })

/**
 * A memory store standing in for one shared by several processes: `write` stores an event as
 * another instance would (not through the server), and `fire` is its watcher's wake-up.
 */
function sharedStore() {
  const inner = createMemoryStore()
  const listeners = new Set<(latest?: string) => void>()
  const watchCalls: (StoreWatchOptions | undefined)[] = []
  let stops = 0
  let pendingBatches = 0
  let peakBatches = 0
  let release: (() => void) | undefined
  const store: EventStore = {
    ...delegatingStore(inner),
    storeBatch: async (events, o) => {
      pendingBatches++
      peakBatches = Math.max(peakBatches, pendingBatches)
      try {
        if (release === undefined) await new Promise<void>((resolve) => (release = resolve))
        return await inner.storeBatch(events, o)
      } finally {
        pendingBatches--
      }
    },
    watch: (listener, options) => {
      watchCalls.push(options)
      listeners.add(listener)
      return () => {
        stops++
        listeners.delete(listener)
        return Promise.resolve()
      }
    },
  }
  return {
    store,
    write: (e: Event) => inner.store(e),
    fire: (latest?: string) => {
      for (const listener of listeners) listener(latest)
    },
    /** Lets every held `storeBatch` go, and those after it. */
    releaseBatches: () => {
      const go = release
      release = () => undefined
      go?.()
    },
    get watching() {
      return listeners.size
    },
    get watchCalls() {
      return watchCalls
    },
    get stops() {
      return stops
    },
    get peakBatches() {
      return peakBatches
    },
  }
}

function serverOn(
  shared: ReturnType<typeof sharedStore>,
  options: Partial<SyncServerOptions> = {},
) {
  return createSyncServer({ store: shared.store, epoch: 'e-1', ...options })
}

describe('server core: a store shared by several processes (watch)', () => {
  it.each([
    ['shares its store', {}],
    ['is the sole writer but not alone after all', { soleWriter: true }],
  ] as const)(
    'Given a server that %s and a store that watches for other writers, When another process appends, Then a live feed delivers it without notify()',
    async (_, options) => {
      const shared = sharedStore()
      const server = serverOn(shared, options)
      // Given a live subscription (no watching before the first feed)
      expect(shared.watching).toBe(0)
      const batches: FeedBatch[] = []
      const sub = await server.subscribe((batch) => {
        batches.push(batch)
      })
      expect(shared.watching).toBe(1)
      // When another instance writes and the store's watcher wakes
      await shared.write(event('elsewhere'))
      shared.fire('1')
      await server.idle()
      // Then the feed read it from the store
      expect(batches.flatMap((b) => b.events.map((e) => e.event.id))).toEqual(['elsewhere'])
      await sub.unsubscribe()
      await server.close()
    },
  )

  it('Given watch options, When the first feeds open, Then the store is watched once with them, and close() stops it', async () => {
    const shared = sharedStore()
    const server = serverOn(shared, { watch: { pollIntervalMs: 1234 } })
    const one = await server.openFeed()
    const two = await server.openFeed()
    expect(shared.watchCalls).toEqual([{ pollIntervalMs: 1234 }])
    one.close()
    two.close()
    // Still watching while the server lives: the next feed needs no new connection.
    expect(shared.watching).toBe(1)
    await server.close()
    expect(shared.stops).toBe(1)
    expect(shared.watching).toBe(0)
  })

  it('Given watch: false, When feeds open, Then the store is not watched (a sole writer too)', async () => {
    for (const options of [{ soleWriter: true, watch: false }, { watch: false }] as const) {
      const shared = sharedStore()
      const server = serverOn(shared, options)
      const feed = await server.openFeed()
      expect(shared.watching).toBe(0)
      feed.close()
      await server.close()
    }
  })

  it('Given a store that refuses to watch after its close, When a feed opens, Then the feed still works (it re-reads on its own)', async () => {
    const shared = sharedStore()
    const store: EventStore = {
      ...shared.store,
      watch: () => {
        throw new SyncKitError('closed', '[sync-kit] [test] closed', {})
      },
    }
    const server = createSyncServer({ store, epoch: 'e-1' })
    const feed = await server.openFeed({ since: null })
    await shared.write(event('x'))
    const batch = await feed.next({ waitMs: 0 })
    expect(batch?.events).toEqual([])
    const next = await feed.next({ waitMs: 0 })
    expect(next?.events.map((e) => e.event.id)).toEqual(['x'])
    feed.close()
    await server.close()
  })

  it('Given no sole writer, When pushes arrive together, Then they reach the store together (a store may merge them), and close() waits for them', async () => {
    const shared = sharedStore()
    const server = serverOn(shared)
    const pushes = [1, 2, 3].map((n) => server.push(server.checkPush([event(`p${n}`)])))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(shared.peakBatches).toBe(3)
    let closed = false
    const closing = server.close().then(() => (closed = true))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(closed).toBe(false)
    shared.releaseBatches()
    const results = await Promise.all(pushes)
    await closing
    expect(results.map((r) => r.stored)).toEqual([1, 1, 1])
  })

  it('Given a sole writer, When pushes arrive together, Then they reach the store one at a time', async () => {
    const shared = sharedStore()
    const server = serverOn(shared, { soleWriter: true })
    const pushes = [1, 2, 3].map((n) => server.push(server.checkPush([event(`p${n}`)])))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(shared.peakBatches).toBe(1)
    shared.releaseBatches()
    await Promise.all(pushes)
    expect(shared.peakBatches).toBe(1)
    await server.close()
  })

  it('Given a server (no sole writer) on a store that wakes its watchers in-process (memory, SQLite), When it stores pushes, Then each feed reads each push once, and an append by other code on the same store is still delivered', async () => {
    // Given the memory store (its watch wakes synchronously inside storeBatch), seen through a
    // wrapper that counts the feeds' reads
    const inner = createMemoryStore()
    let loads = 0
    const store: EventStore = {
      ...delegatingStore(inner),
      load: (since, options) => {
        loads++
        return inner.load(since, options)
      },
      watch: (listener, options) => inner.watch(listener, options),
    }
    const server = createSyncServer({ store, epoch: 'e-1' })
    const batches: FeedBatch[][] = [[], []]
    const subs = await Promise.all(
      batches.map((into) => server.subscribe((batch) => void into.push(batch))),
    )
    await server.idle()
    loads = 0
    // When the server stores five pushes, one after the other
    for (let n = 1; n <= 5; n++) {
      await server.push(server.checkPush([event(`p${n}`)]))
      await server.idle()
    }
    // Then each of the two feeds read the store once per push: its own write's wake-up did not
    // make it read a second time
    expect(loads).toBe(2 * 5)
    // And an append by other code of this process on the same store reaches the feeds through the
    // store's wake-up
    await inner.store(event('beside'))
    await server.idle()
    for (const into of batches) {
      expect(into.flatMap((b) => b.events.map((e) => e.event.id))).toEqual([
        'p1',
        'p2',
        'p3',
        'p4',
        'p5',
        'beside',
      ])
    }
    for (const sub of subs) await sub.unsubscribe()
    await server.close()
  })
})

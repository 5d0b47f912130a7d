import { describe, expect, it } from 'vitest'
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { Event, EventStore, EventWithVersion } from '../types/index.js'
import { TestClock } from '../testing/test-clock.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import type { FeedBatch } from './index.js'
import { createSyncServer } from './index.js'

const event = (id: string): Event => ({ id, type: 'T', aggregateId: 'a', data: { n: id } })
const ids = (items: readonly EventWithVersion[]): string[] => items.map((i) => i.event.id)

describe('server core: a sole writer on a store without storeBatch', () => {
  it('Given a store written one event at a time, When another process stores an event between two events of one push, Then the live feed still delivers it and every batch follows the one before it', async () => {
    const inner = createMemoryStore()
    // No storeBatch (the server stores one event at a time) and no watch (nobody announces the
    // other process's write).
    const plain: EventStore = delegatingStore(inner)
    delete plain.storeBatch
    const store: EventStore = {
      ...plain,
      store: async (e, o) => {
        // Another process writes right before the push's second event.
        if (e.id === 'p2') await inner.store(event('foreign'))
        return inner.store(e, o)
      },
    }
    const server = createSyncServer({ store, epoch: 'e-1', soleWriter: true })
    const batches: FeedBatch[] = []
    await server.subscribe(
      (batch) => {
        batches.push(batch)
      },
      { since: SequenceVersion.ZERO },
    )
    await server.push(server.checkPush([event('p0')]))
    await server.push(server.checkPush([event('p1'), event('p2')]))
    await server.push(server.checkPush([event('p3')]))
    await server.idle()
    expect(ids(batches.flatMap((b) => b.events))).toEqual(ids(await inner.load(null)))
    let previous = SequenceVersion.ZERO.toString()
    for (const batch of batches) {
      expect(batch.after?.toString()).toBe(previous)
      previous = (batch.events.at(-1) as EventWithVersion).version.toString()
    }
    await server.close()
  })
})

describe('server core: a sole writer whose store others write to unannounced', () => {
  it('Given a sole writer (sync-kit serve on SQLite) and another process on its store, When an idle feed waits out its heartbeat, Then the next call finds the write nobody announced', async () => {
    const clock = new TestClock()
    // watch: false — the SQLite store hears only its own process's appends.
    const server = createSyncServer({
      store: createMemoryStore(),
      epoch: 'e-1',
      soleWriter: true,
      watch: false,
      clock,
    })
    const feed = await server.openFeed({ since: SequenceVersion.ZERO })
    expect((await feed.next({ waitMs: 0 }))?.events).toEqual([])
    const waiting = feed.next({ waitMs: 1_000 })
    await server.store.store(event('outside'))
    await clock.advance(1_000)
    expect((await waiting)?.events).toEqual([])
    expect(ids((await feed.next({ waitMs: 0 }))?.events ?? [])).toEqual(['outside'])
    await server.close()
  })
})

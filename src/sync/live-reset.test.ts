/**
 * Live mode across a replaced remote (issue 9 §7): after the loopback hub is reset (a new, empty
 * log and a new epoch), a live manager with a one-hour interval gets new events through a new
 * subscription, and re-sends what the new log lacks — without waiting for its interval.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { EventStore, Transport } from '../types/index.js'
import { liveMode } from './live-mode.js'
import { SyncManager } from './sync-manager.js'
import { closedAfterEach, eventually } from './sync-parts.fixture.js'

const managers = closedAfterEach(afterEach)
const until = eventually

const ids = async (store: EventStore): Promise<string[]> =>
  (await store.load(null)).map((e) => e.event.id).sort()

describe('SyncManager live mode: the remote is replaced', () => {
  it('Given a live manager, When the hub is reset twice and another replica pushes to the new log, Then the live manager pulls it promptly and re-sends its own events', async () => {
    // Given a live manager holding one own event, synced with the hub
    const hub = createLoopbackHub()
    const store = createMemoryStore()
    const a = new SyncManager({
      store,
      transport: hub.connect('a'),
      nodeId: 'a',
      intervalMs: 3_600_000,
      backoff: { initialMs: 5, maxMs: 20 },
      features: [liveMode()],
    })
    managers.push(a)
    const epochs: unknown[] = []
    a.on('epoch-changed', (e) => epochs.push(e))
    await a.record({ id: 'a1', type: 'T', aggregateId: 'x', data: {} })
    a.start()
    await until(async () => (await ids(hub.store)).includes('a1'))

    for (const round of [1, 2]) {
      // When the hub is replaced, and another replica writes to the new log
      await hub.reset()
      const b = new SyncManager({
        store: createMemoryStore(),
        transport: hub.connect(`b${round}`),
        nodeId: `b${round}`,
      })
      managers.push(b)
      await b.record({ id: `b${round}`, type: 'T', aggregateId: 'y', data: {} })
      await b.sync()

      // Then the live manager pulls it without its interval, and the new log gets a1 again
      await until(async () => (await ids(store)).includes(`b${round}`))
      await until(async () => (await ids(hub.store)).includes('a1'))
    }
    expect(epochs.length).toBeGreaterThanOrEqual(2)
    expect(await ids(store)).toEqual(['a1', 'b1', 'b2'])
  })

  it('Given a live stream that failed and was replaced, When an event is stored after the replacing sync pulled and before the new subscription opened, Then the manager still pulls it without its interval', async () => {
    // Given a transport whose first stream fails once it is open, and whose second subscribe is
    // preceded by another replica's push (after the replacing sync, before the new stream's head)
    const hub = createLoopbackHub()
    const inner = hub.connect('a')
    let subscribes = 0
    const transport: Transport = {
      push: (events, o) => inner.push(events, o),
      pull: (since, o) => inner.pull(since, o),
      latestVersion: (o) => inner.latestVersion(o),
      parseVersion: (v) => inner.parseVersion(v),
      close: () => inner.close(),
      async subscribe(handler, options) {
        subscribes++
        if (subscribes === 2) {
          await hub.connect('other').push([{ id: 'gap', type: 'T', aggregateId: 'g', data: {} }])
        }
        const sub = await (inner.subscribe as NonNullable<Transport['subscribe']>)(handler, options)
        if (subscribes === 1) {
          setTimeout(
            () => options?.onError?.(new SyncKitError('unavailable', 'stream lost', {})),
            20,
          )
        }
        return sub
      },
    }
    const store = createMemoryStore()
    const a = new SyncManager({
      store,
      transport,
      nodeId: 'a',
      intervalMs: 3_600_000,
      backoff: { initialMs: 5, maxMs: 20 },
      features: [liveMode()],
    })
    managers.push(a)
    a.on('error', () => undefined)

    // When it runs (the first stream fails and is replaced)
    a.start()

    // Then the event stored in the gap arrives
    await until(async () => subscribes >= 2)
    await until(async () => (await ids(store)).includes('gap'))
  })
})

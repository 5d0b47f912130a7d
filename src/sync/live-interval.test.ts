/**
 * The interval's sync in live mode runs push-only while the stream stored a batch since the last
 * tick (`LiveMode.covered`). These cases guard what a full sync's pull pass did besides fetching
 * events, and must still happen on a busy stream: the pulled events the local store refused are
 * retried.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import { TestClock } from '../testing/test-clock.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { EventStore } from '../types/index.js'
import { liveMode } from './live-mode.js'
import { refusalList } from './refusal-list.js'
import { SyncManager } from './sync-manager.js'
import { closedAfterEach, eventually as until } from './sync-parts.fixture.js'

const PULL = { remote: 'default', direction: 'pull' } as const
const INTERVAL = 60_000
const managers = closedAfterEach(afterEach)

const ids = async (store: EventStore): Promise<string[]> =>
  (await store.load(null)).map((e) => e.event.id)

/** A memory store that refuses the event `bad` (as invalid) while `refusing` is set. */
function refusingStore(): EventStore & { refusing: boolean } {
  const inner = createMemoryStore()
  const store: EventStore & { refusing: boolean } = {
    ...delegatingStore(inner),
    refusing: true,
    store: (event, o) => {
      if (store.refusing && event.id === 'bad') {
        throw new SyncKitError('invalid-event', '[sync-kit] [test] event "bad" refused', {})
      }
      return inner.store(event, o)
    },
  }
  // One event at a time, so that the refusal is of `bad` alone.
  delete store.storeBatch
  return store
}

describe('SyncManager live mode: what the interval’s sync does on a busy stream', () => {
  it('Given a live replica whose store refused a delivered event (refusal list), When the store accepts it again and the stream stores a batch in every interval, Then an interval’s sync still retries the refused event', async () => {
    // Given a started live replica with a refusal list, whose interval runs on the test's timers
    const timers = new TestClock(0)
    const hub = createLoopbackHub()
    const store = refusingStore()
    const manager = new SyncManager({
      store,
      transport: hub.connect('r'),
      nodeId: 'r',
      intervalMs: INTERVAL,
      timers,
      features: [liveMode(), refusalList()],
    })
    managers.push(manager)
    manager.on('error', () => undefined)
    const writer = new SyncManager({
      store: createMemoryStore(),
      transport: hub.connect('w'),
      nodeId: 'w',
    })
    managers.push(writer)
    const write = async (id: string): Promise<void> => {
      await writer.record({ id, type: 'T', aggregateId: id, data: {} })
      await writer.sync()
    }
    await write('w0')
    manager.start()
    await timers.advance(0)
    await until(async () => (await store.getCheckpoint(PULL)) !== undefined)
    await until(async () => timers.pendingTimers === 1)
    // The stream delivers `bad`, which the store refuses: it goes to the refusal list
    await write('bad')
    await until(async () => (await manager.refusals()).length === 1)

    // When the store accepts it again, and the stream stores a batch in each of 3 intervals
    store.refusing = false
    for (let round = 1; round <= 3; round++) {
      await write(`w${round}`)
      await until(async () => (await ids(store)).includes(`w${round}`))
      let synced = false
      const off = manager.on('sync', () => (synced = true))
      await timers.advance(INTERVAL)
      await until(async () => synced && timers.pendingTimers === 1)
      off()
    }

    // Then the refused event was retried and is stored
    expect(await manager.refusals()).toEqual([])
    expect(await ids(store)).toContain('bad')
  })
})

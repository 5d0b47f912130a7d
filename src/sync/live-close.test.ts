/**
 * Closing a live replica while its subscription's handler stores a batch (issue 10): `stop()` and
 * `close()` resolve only after the batch in flight was stored, and a batch a transport hands over
 * after that writes nothing — so an app may close its store right after `await manager.close()`,
 * whichever transport it uses (the loopback's `unsubscribe` does not wait for the handler).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { EventHandler, EventStore, Transport } from '../types/index.js'
import { liveMode } from './live-mode.js'
import { SyncManager } from './sync-manager.js'
import { closedAfterEach, eventually } from './sync-parts.fixture.js'

const PULL = { remote: 'default', direction: 'pull' } as const
const managers = closedAfterEach(afterEach)
const event = (id: string) => ({ id, type: 'T', aggregateId: 'a', data: { id } })
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A memory store whose writes wait while `held` is set; counts writes started and finished. */
function slowStore() {
  const inner = createMemoryStore()
  const writes = { started: 0, finished: 0, held: false }
  let release: () => void = () => undefined
  let gate = Promise.resolve()
  const write =
    <TArgs extends unknown[], TResult>(fn: (...args: TArgs) => Promise<TResult>) =>
    async (...args: TArgs): Promise<TResult> => {
      writes.started++
      if (writes.held) await gate
      try {
        return await fn(...args)
      } finally {
        writes.finished++
      }
    }
  const store: EventStore = {
    ...inner,
    store: write(inner.store.bind(inner)),
    storeBatch: write((inner.storeBatch as NonNullable<EventStore['storeBatch']>).bind(inner)),
    setCheckpoint: write(inner.setCheckpoint.bind(inner)),
    load: inner.load.bind(inner),
    loadByAggregate: inner.loadByAggregate.bind(inner),
    latestVersion: inner.latestVersion.bind(inner),
    parseVersion: inner.parseVersion.bind(inner),
    getCheckpoint: inner.getCheckpoint.bind(inner),
    close: inner.close.bind(inner),
  }
  const hold = (): void => {
    writes.held = true
    gate = new Promise<void>((resolve) => (release = resolve))
  }
  return { store, writes, hold, release: () => release() }
}

describe('SyncManager live mode: closing while a live batch is stored', () => {
  it('Given a live replica whose store is slow to take a live batch, When close() is called meanwhile, Then it resolves only after the batch was stored, and a batch handed over afterwards writes nothing', async () => {
    // Given a replica that pulled e1, e2 and holds a live subscription
    const hub = createLoopbackHub({ epoch: 'E' })
    await hub.connect('w').push([event('e1'), event('e2')])
    const inner = hub.connect('r')
    let handler: EventHandler | undefined
    const transport: Transport = {
      push: (events, o) => inner.push(events, o),
      pull: (since, o) => inner.pull(since, o),
      latestVersion: (o) => inner.latestVersion(o),
      parseVersion: (v) => inner.parseVersion(v),
      subscribe: (h, o) => {
        handler = h
        return inner.subscribe(h, o)
      },
      close: () => inner.close(),
    }
    const { store, writes, hold, release } = slowStore()
    const manager = new SyncManager({
      store,
      transport,
      nodeId: 'r',
      intervalMs: 3_600_000,
      features: [liveMode()],
    })
    managers.push(manager)
    manager.start()
    await eventually(async () => (await store.getCheckpoint(PULL)) !== undefined)
    await eventually(() => Promise.resolve(handler !== undefined))
    // (the sync that follows the subscription settled: nothing else writes)
    await manager.sync()

    // When another replica writes e3, the stream delivers it, and the store holds the write
    hold()
    const before = writes.started
    await hub.connect('w').push([event('e3')])
    await eventually(() => Promise.resolve(writes.started > before))
    let closed = false
    const closing = manager.close().then(() => (closed = true))
    for (let i = 0; i < 20; i++) await turn()

    // Then close() waits for the write in flight
    expect(closed).toBe(false)
    release()
    await closing
    expect(writes.finished).toBe(writes.started)
    expect((await store.load(null)).map((e) => e.event.id)).toEqual(['e1', 'e2', 'e3'])

    // And a batch a transport still hands over after close() writes nothing
    const started = writes.started
    const after = await hub.store.latestVersion()
    await hub.connect('w').push([event('e4')])
    await handler?.(await hub.store.load(after), { epoch: 'E', after })
    for (let i = 0; i < 20; i++) await turn()
    expect(writes.started).toBe(started)
  })
})

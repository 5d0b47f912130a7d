/**
 * Live mode stores the batches a live subscription delivers as they come (issue 10): a batch that
 * continues the pull checkpoint (same epoch, no gap) is stored, checkpointed and checked for
 * conflicts without a pull of the same events; anything else (no position, another epoch, a gap)
 * is left to a pull, so nothing is lost.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import { TestClock } from '../testing/test-clock.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { EventHandler, EventStore, Transport } from '../types/index.js'
import { liveMode } from './live-mode.js'
import { SyncManager } from './sync-manager.js'
import { closedAfterEach, counting, eventually } from './sync-parts.fixture.js'

const PULL = { remote: 'default', direction: 'pull' } as const
const managers = closedAfterEach(afterEach)
const until = eventually

const ids = async (store: EventStore): Promise<string[]> =>
  (await store.load(null)).map((e) => e.event.id)

function liveReplica(transport: Transport, nodeId: string) {
  const store = createMemoryStore()
  const manager = new SyncManager({
    store,
    transport,
    nodeId,
    intervalMs: 3_600_000,
    features: [liveMode()],
  })
  managers.push(manager)
  return { store, manager }
}

async function writer(hub: ReturnType<typeof createLoopbackHub>) {
  const manager = new SyncManager({
    store: createMemoryStore(),
    transport: hub.connect('w'),
    nodeId: 'w',
  })
  managers.push(manager)
  return async (n: number, from: number) => {
    for (let i = from; i < from + n; i++) {
      await manager.record({ id: `w${i}`, type: 'T', aggregateId: `x${i % 3}`, data: { i } })
    }
    await manager.sync()
  }
}

describe('SyncManager live mode: live batches are stored as they come', () => {
  it('Given a live replica synced once, When another replica pushes 30 events in 10 syncs, Then it holds all 30 in log order, its checkpoint follows, and it pulled none of them', async () => {
    // Given a live replica whose first sync set its pull checkpoint
    const hub = createLoopbackHub()
    const transport = counting(hub.connect('r'))
    const { store, manager } = liveReplica(transport, 'r')
    const syncs: number[] = []
    manager.on('sync', (result) => syncs.push(result.pulled))
    const write = await writer(hub)
    await write(1, 0)
    manager.start()
    await until(async () => (await ids(store)).length === 1)
    await until(async () => (await store.getCheckpoint(PULL)) !== undefined)
    const pulledBefore = transport.pulledEvents

    // When another replica pushes 30 events in 10 syncs
    for (let round = 0; round < 10; round++) await write(3, 1 + round * 3)

    // Then the live replica holds them all, in the hub's order, and pulled none of them
    const hubIds = await ids(hub.store)
    await until(async () => (await ids(store)).length === 31)
    expect(await ids(store)).toEqual(hubIds)
    expect(transport.pulledEvents).toBe(pulledBefore)
    const head = await hub.store.latestVersion()
    await until(async () => (await store.getCheckpoint(PULL))?.version === head.toString())
    // Each stored batch is reported as a sync, as a pull would be.
    expect(syncs.reduce((a, b) => a + b, 0)).toBe(31)
  })

  it('Given a stream whose batches claim to follow a later version than the checkpoint (a gap), When batches arrive, Then the manager pulls instead and holds every event once', async () => {
    // Given a live replica whose transport drops every other live batch before the handler
    const hub = createLoopbackHub()
    let n = 0
    const transport = counting(hub.connect('r'), (handler) => (events, info) => {
      if (n++ % 2 === 1) return undefined
      return handler(events, info)
    })
    const { store, manager } = liveReplica(transport, 'r')
    const write = await writer(hub)
    await write(1, 0)
    manager.start()
    await until(async () => (await store.getCheckpoint(PULL)) !== undefined)

    // When 8 batches are pushed, half of them never reaching the manager
    for (let round = 0; round < 8; round++) await write(2, 1 + round * 2)
    // (the last batch reaches it: a dropped last batch is left to the interval)
    await write(1, 100)

    // Then every event is there once, in the hub's order: the gaps were pulled
    const hubIds = await ids(hub.store)
    await until(async () => (await ids(store)).length === hubIds.length)
    expect(await ids(store)).toEqual(hubIds)
    expect(transport.pulledEvents).toBeGreaterThan(1)
  })

  it('Given a replica that has pulled nothing and a stream that opened after events were written, When its first batch comes, Then it is not stored as the log’s start: the replica pulls and holds every event once, in order', async () => {
    const hub = createLoopbackHub()
    const write = await writer(hub)
    await write(3, 0)
    const transport = counting(hub.connect('r'))
    // Its first sync fails, so nothing is pulled before the stream delivers.
    let failPulls = 1
    const flaky: Transport = {
      ...transport,
      pull: (since, o) =>
        failPulls-- > 0
          ? Promise.reject(new SyncKitError('unavailable', 'down', {}))
          : transport.pull(since, o),
    }
    const { store, manager } = liveReplica(flaky, 'r')
    manager.on('error', () => undefined)
    manager.start()
    await new Promise((resolve) => setTimeout(resolve, 20))
    await write(2, 3)
    await until(async () => (await ids(store)).length === 5)
    expect(await ids(store)).toEqual(await ids(hub.store))
  })

  it('Given a stream that reports no position (a custom transport), When batches arrive, Then each batch makes the manager pull, as before', async () => {
    const hub = createLoopbackHub()
    const transport = counting(hub.connect('r'), (handler) => (events) => handler(events))
    const { store, manager } = liveReplica(transport, 'r')
    const write = await writer(hub)
    await write(1, 0)
    manager.start()
    await until(async () => (await ids(store)).length === 1)
    const pulledBefore = transport.pulledEvents

    await write(5, 1)

    await until(async () => (await ids(store)).length === 6)
    expect(await ids(store)).toEqual(await ids(hub.store))
    expect(transport.pulledEvents).toBeGreaterThanOrEqual(pulledBefore + 5)
  })
})

describe('SyncManager live mode: records are pushed as they are made', () => {
  it('Given two started live replicas, When one records 40 events without calling sync(), Then the other holds them all through its stream, the writer used few pushes, and nothing was pulled twice', async () => {
    const hub = createLoopbackHub()
    let pushes = 0
    const inner = hub.connect('a')
    const writerTransport: Transport = {
      ...counting(inner),
      push: (events, o) => {
        pushes++
        return inner.push(events, o)
      },
    }
    const a = liveReplica(writerTransport, 'a')
    const readerTransport = counting(hub.connect('b'))
    const b = liveReplica(readerTransport, 'b')
    // The first events set both pull checkpoints (a live batch needs one to follow).
    await hub.connect('w').push([{ id: 'w0', type: 'T', aggregateId: 'x', data: null }])
    a.manager.start()
    b.manager.start()
    await until(async () => (await b.store.getCheckpoint(PULL)) !== undefined)
    await until(async () => (await a.store.getCheckpoint(PULL)) !== undefined)
    const pushesBefore = pushes
    const pulledBefore = readerTransport.pulledEvents

    for (let i = 0; i < 40; i++) {
      await a.manager.record({ id: `a${i}`, type: 'T', aggregateId: `x${i % 4}`, data: { i } })
    }

    await until(async () => (await ids(hub.store)).length === 41)
    await until(async () => (await ids(b.store)).length === 41)
    expect(await ids(b.store)).toEqual(await ids(hub.store))
    // Records made while a push ran shared the next one: far fewer pushes than records.
    expect(pushes - pushesBefore).toBeLessThan(40)
    expect(pushes - pushesBefore).toBeGreaterThan(0)
    expect(readerTransport.pulledEvents).toBe(pulledBefore)
  })

  it('Given a live replica that is not started, or syncs pull-only, When it records, Then nothing is pushed by itself', async () => {
    const hub = createLoopbackHub()
    const idle = liveReplica(hub.connect('a'), 'a')
    await idle.manager.record({ id: 'a0', type: 'T', aggregateId: 'x', data: null })
    const pullOnly = new SyncManager({
      store: createMemoryStore(),
      transport: hub.connect('p'),
      nodeId: 'p',
      intervalMs: 3_600_000,
      direction: 'pull',
      features: [liveMode()],
    })
    managers.push(pullOnly)
    pullOnly.start()
    await pullOnly.record({ id: 'p0', type: 'T', aggregateId: 'x', data: null })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await ids(hub.store)).toEqual([])
  })
})

describe('SyncManager live mode: the interval while the stream stores batches', () => {
  it('Given a live replica whose stream stored batches since the last interval, When the interval comes, Then its sync pushes and does not pull; and after an interval without batches it pulls again', async () => {
    // Given a started live replica whose interval is driven by the test's timers
    const INTERVAL = 60_000
    const timers = new TestClock(0)
    const hub = createLoopbackHub()
    const transport = counting(hub.connect('r'))
    const store = createMemoryStore()
    const manager = new SyncManager({
      store,
      transport,
      nodeId: 'r',
      intervalMs: INTERVAL,
      timers,
      features: [liveMode()],
    })
    managers.push(manager)
    const write = await writer(hub)
    await write(1, 0)
    manager.start()
    await timers.advance(0)
    await until(async () => (await store.getCheckpoint(PULL)) !== undefined)
    // The start's sync and the subscription's are done when the interval's timer waits.
    await until(async () => timers.pendingTimers === 1)
    // The replica records (live mode pushes it; the stream brings it back), another writes 3
    await manager.record({ id: 'r1', type: 'T', aggregateId: 'x0', data: { r: 1 } })
    await until(async () => (await ids(hub.store)).includes('r1'))
    await write(3, 1)
    await until(async () => (await ids(store)).length === 5)
    const pullsBefore = transport.pullCalls

    // When the interval comes after the stream stored those batches
    let synced = 0
    manager.on('sync', () => synced++)
    await timers.advance(INTERVAL)
    await until(async () => synced > 0 && timers.pendingTimers === 1)

    // Then that sync pulled nothing
    expect(transport.pullCalls).toBe(pullsBefore)

    // And after an interval in which the stream stored nothing, the interval's sync pulls
    synced = 0
    await timers.advance(INTERVAL)
    await until(async () => synced > 0 && timers.pendingTimers === 1)
    expect(transport.pullCalls).toBeGreaterThan(pullsBefore)
    expect(await ids(store)).toEqual(await ids(hub.store))
  })
})

describe('SyncManager live mode: a live batch after a failed sync', () => {
  it('Given a live replica whose sync failed while its server was restored from a backup (same epoch, lower head), When a stream delivers what others write after the restore, Then the replica finds the regression and holds those events', async () => {
    // Given a replica that pulled e1..e5 from the server (epoch E)
    const event = (id: string) => ({ id, type: 'T', aggregateId: 'a', data: { id } })
    const before = createLoopbackHub({ epoch: 'E' })
    await before.connect('w').push(['e1', 'e2', 'e3', 'e4', 'e5'].map(event))
    let current: Transport | undefined = before.connect('r')
    let handler: EventHandler | undefined
    const via = (): Transport => {
      if (current === undefined) throw new SyncKitError('unavailable', 'the server is down', {})
      return current
    }
    const transport: Transport = {
      push: (events, o) => via().push(events, o),
      pull: (since, o) => via().pull(since, o),
      latestVersion: (o) => via().latestVersion(o),
      parseVersion: (v) => before.connect('p').parseVersion(v),
      subscribe: (h) => {
        handler = h
        return Promise.resolve({ unsubscribe: () => Promise.resolve() })
      },
      close: () => Promise.resolve(),
    }
    const { store, manager } = liveReplica(transport, 'r')
    manager.start()
    await until(async () => (await ids(store)).length === 5 && handler !== undefined)
    await until(async () => (await store.getCheckpoint(PULL)) !== undefined)

    // While the server is down, a sync fails; it comes back from a backup holding e1..e3 only
    current = undefined
    await expect(manager.sync()).rejects.toThrow('down')
    const backup = createMemoryStore()
    for (const item of (await before.store.load(null)).slice(0, 3)) await backup.store(item.event)
    const restored = createLoopbackHub({ epoch: 'E', store: backup })
    current = restored.connect('r')

    // When others write n4, n5, n6 (versions 4..6) and a stream opened at the restored head
    // delivers each
    for (const id of ['n4', 'n5', 'n6']) {
      const after = await restored.store.latestVersion()
      await restored.connect('w').push([event(id)])
      const log = await restored.store.load(after)
      await handler?.(log, { epoch: 'E', after })
    }
    await manager.sync()

    // Then the replica holds what the restored server holds (and its own copies of e4, e5)
    await until(async () => (await ids(store)).includes('n5'))
    expect(await ids(store)).toEqual(expect.arrayContaining(['n4', 'n5', 'n6']))
  })
})

describe('SyncManager live mode: pushes of records that fail', () => {
  it('Given a live replica whose pushes fail, When many records share one waiting push run, Then its failure is reported once, not once per record', async () => {
    const hub = createLoopbackHub()
    const inner = hub.connect('a')
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    let pushes = 0
    const transport: Transport = {
      ...inner,
      push: async () => {
        pushes++
        await held
        throw new SyncKitError('unavailable', 'push refused', {})
      },
      pull: (since, o) => inner.pull(since, o),
      latestVersion: (o) => inner.latestVersion(o),
      parseVersion: (v) => inner.parseVersion(v),
      subscribe: (h, o) => (inner.subscribe as NonNullable<Transport['subscribe']>)(h, o),
      close: () => inner.close(),
    }
    const { manager } = liveReplica(transport, 'a')
    const errors: unknown[] = []
    manager.on('error', (error) => errors.push(error))
    manager.start()
    await until(async () => (await manager.sync()).pushed === 0)
    // One push run in flight (held), then 20 records sharing the one that waits behind it.
    await manager.record({ id: 'first', type: 'T', aggregateId: 'x', data: null })
    await until(() => Promise.resolve(pushes === 1))
    for (let i = 0; i < 20; i++) {
      await manager.record({ id: `a${i}`, type: 'T', aggregateId: 'x', data: { i } })
    }
    release()
    await until(() => Promise.resolve(pushes >= 2))
    await manager.stop()
    const refused = errors.filter((e) => (e as Error).message.includes('push refused'))
    // Each failed push run (one transport push each: the first record's, the one the 20 records
    // shared, and any the scheduler's backoff ran) is reported once.
    expect(refused.length).toBeGreaterThanOrEqual(2)
    expect(refused.length).toBeLessThanOrEqual(pushes)
  })
})

// runInOneTab and sharedReplica in Node: fake-indexeddb stores stand for the tabs' store objects
// of one database, a fake Web Locks manager for the origin's locks (tabs.browser.int.test.ts runs
// the leadership in real Chromium tabs).
import { afterEach, describe, expect, it } from 'vitest'
import { causalContextOf } from '../../causality/causal-context.js'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { until } from '../../projections/watch-changes.fixture.js'
import { watchChanges } from '../../projections/watch-changes.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { SyncManager } from '../../sync/sync-manager.js'
import { createLoopbackHub } from '../../transports/loopback/index.js'
import type { Event } from '../../types/index.js'
import { fakeIndexedDb } from './indexeddb.fixture.js'
import { openIndexedDbStore, runInOneTab, sharedReplica } from './index.js'
import type { IndexedDbStore } from './index.js'
import { fakeWebLocks } from './web-locks.fixture.js'
import { expectInvalidArguments } from '../../../test/cases.fixture.js'

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

describe('runInOneTab', () => {
  it('Given two tabs, Then only the first runs; When it stops, Then its cleanup runs and the second takes over', async () => {
    const locks = fakeWebLocks()
    const log: string[] = []
    const tab = (name: string) =>
      runInOneTab(
        'todo-sync',
        (signal) => {
          log.push(`${name} leads`)
          signal.addEventListener('abort', () => log.push(`${name} told to stop`))
          return async () => {
            await tick()
            log.push(`${name} cleaned up`)
          }
        },
        { locks },
      )
    const stopA = tab('A')
    const stopB = tab('B')
    await tick()
    expect(log).toEqual(['A leads'])
    expect(locks.waiting('sync-kit:one-tab:todo-sync')).toBe(1)
    await stopA()
    await until(() => log.includes('B leads'), 'B to lead')
    expect(log).toEqual(['A leads', 'A told to stop', 'A cleaned up', 'B leads'])
    await stopB()
    expect(locks.held()).toEqual([])
  })

  it('Given a waiting tab, When it stops (or its signal aborts) before leading, Then it never runs', async () => {
    const locks = fakeWebLocks()
    const ran: string[] = []
    const stopA = runInOneTab('job', () => void ran.push('A'), { locks })
    const stopB = runInOneTab('job', () => void ran.push('B'), { locks })
    const controller = new AbortController()
    runInOneTab('job', () => void ran.push('C'), { locks, signal: controller.signal })
    runInOneTab('job', () => void ran.push('D'), { locks, signal: AbortSignal.abort() })
    await tick()
    await stopB()
    controller.abort()
    await stopA()
    await tick()
    expect(ran).toEqual(['A'])
    expect(locks.held()).toEqual([])
  })

  it('Given a run that throws, Then onError is told and the lock goes to the next tab', async () => {
    const locks = fakeWebLocks()
    const errors: unknown[] = []
    const ran: string[] = []
    runInOneTab(
      'job',
      () => {
        throw new Error('start failed')
      },
      { locks, onError: (error) => errors.push(error) },
    )
    const stop = runInOneTab('job', () => void ran.push('next'), { locks })
    await until(() => ran.length === 1, 'the next tab')
    expect((errors[0] as Error).message).toBe('start failed')
    await stop()
  })

  it("Given no Web Locks, Then it throws invalid-argument naming secure contexts, unless withoutLocks: 'run' runs it in this tab", async () => {
    expect((globalThis as { navigator?: { locks?: unknown } }).navigator?.locks).toBeUndefined()
    let error: unknown
    try {
      runInOneTab('job', () => undefined)
    } catch (caught) {
      error = caught
    }
    expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    expect((error as Error).message).toMatch(/Web Locks .*secure contexts.*withoutLocks: 'run'/)
    let ran = false
    const stop = runInOneTab('job', () => void (ran = true), { withoutLocks: 'run' })
    await tick()
    expect(ran).toBe(true)
    await stop()
  })

  it('Given bad arguments, Then it throws invalid-argument naming them', () => {
    const locks = fakeWebLocks()
    const cases: [() => unknown, string][] = [
      [() => runInOneTab('', () => undefined, { locks }), 'name'],
      [() => runInOneTab('job', 'run' as never, { locks }), 'run'],
      [
        () => runInOneTab('job', () => undefined, { locks, withoutLocks: 'x' as never }),
        'withoutLocks',
      ],
    ]
    expectInvalidArguments(cases)
  })
})

describe('sharedReplica: several tabs, one replica', () => {
  const open: IndexedDbStore[] = []
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close()
  })

  let databases = 0
  async function tabs(count: number): Promise<IndexedDbStore[]> {
    const db = fakeIndexedDb()
    const name = `replica-${++databases}`
    const stores: IndexedDbStore[] = []
    for (let i = 0; i < count; i++) stores.push(await openIndexedDbStore({ name, ...db }))
    open.push(...stores)
    return stores
  }

  /** Each event's dot (writer and its count) and HLC stamp. */
  function stamps(events: readonly Event[]): { dots: string[]; hlcs: string[] } {
    const dots = events.map((event) => {
      const ctx = causalContextOf(event)
      return `${ctx?.origin}:${ctx?.seq}`
    })
    return { dots, hlcs: events.map((event) => String(event.metadata?.hlc)) }
  }

  /**
   * Two tabs of one replica with sharedReplica() (a leader and a follower manager, one each) and
   * a phone, all on one loopback hub whose log is `hubLog`.
   */
  async function leaderAndFollower(leaderOptions: { readonly intervalMs?: number } = {}) {
    const hubLog = createMemoryStore()
    const hub = createLoopbackHub({ store: hubLog })
    const [leaderStore, followerStore] = (await tabs(2)) as [IndexedDbStore, IndexedDbStore]
    const features = [sharedReplica({ locks: fakeWebLocks() })]
    const tab = (store: IndexedDbStore, extra = {}) =>
      new SyncManager({ store, transport: hub.connect('t'), features, ...extra })
    const phone = new SyncManager({
      store: createMemoryStore(),
      transport: hub.connect('phone'),
      nodeId: 'phone',
    })
    const leader = tab(leaderStore, leaderOptions)
    return { hubLog, followerStore, leader, follower: tab(followerStore), phone }
  }

  async function recordInTurns(managers: readonly SyncManager[], rounds: number): Promise<void> {
    // Every tab records at once, round after round: each round's records race.
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        managers.map((manager, tab) =>
          manager.record({ type: 'Edited', aggregateId: `doc-${round % 3}`, data: { tab, round } }),
        ),
      )
    }
  }

  it('Given two tabs without it, When both record at once, Then their events share dots (the hazard it exists for)', async () => {
    const [a, b] = (await tabs(2)) as [IndexedDbStore, IndexedDbStore]
    const transport = createLoopbackHub().connect('x')
    const managers = [a, b].map((store) => new SyncManager({ store, transport }))
    await recordInTurns(managers, 5)
    const { dots } = stamps((await a.load(null)).map((item) => item.event))
    expect(new Set(dots).size).toBeLessThan(dots.length)
  })

  it('Given three tabs with sharedReplica(), When they record at once, Then every event has a dot and an HLC stamp of its own, each tab continuing after the others', async () => {
    const stores = await tabs(3)
    const locks = fakeWebLocks()
    const transport = createLoopbackHub().connect('x')
    const managers = stores.map(
      (store) => new SyncManager({ store, transport, features: [sharedReplica({ locks })] }),
    )
    expect(managers.map((m) => m.nodeId)).toEqual(stores.map(() => stores[0]?.replicaId))
    await recordInTurns(managers, 8)
    const events = (await stores[0]?.load(null))?.map((item) => item.event) ?? []
    expect(events).toHaveLength(24)
    const { dots, hlcs } = stamps(events)
    expect(new Set(dots).size).toBe(24)
    expect(new Set(hlcs).size).toBe(24)
    // In log order, the dots count 1, 2, 3, …: every record saw all the records before it.
    const replicaId = stores[0]?.replicaId ?? ''
    expect(dots).toEqual(events.map((_, i) => `${replicaId}:${i + 1}`))
    expect([...hlcs].sort()).toEqual(hlcs)
    expect(locks.held()).toEqual([])
  })

  it('Given a leader tab and a follower tab, When the follower records, Then the leader pushes it and every tab sees every change', async () => {
    const { followerStore, leader, follower, phone } = await leaderAndFollower()
    const seenByFollower: string[] = []
    const stop = watchChanges(followerStore, (change) => {
      seenByFollower.push(...change.events.map((item) => item.event.id))
    })
    // When the follower tab records (it never syncs) and the leader syncs
    const { event } = await follower.record({ type: 'TodoAdded', aggregateId: 't1', data: {} })
    const pushed = await leader.sync()
    // Then the leader pushed the follower's record, and the phone gets it
    expect(pushed.pushed).toBe(1)
    await phone.sync()
    expect((await phone.sync()).pulled).toBe(0)
    const onPhone = await phone.record({ type: 'TodoDone', aggregateId: 't1', data: {} })
    await phone.sync()
    await leader.sync()
    // And the follower tab saw its own record and the event the leader pulled
    await until(() => seenByFollower.length === 2, "the follower's changes")
    expect(seenByFollower).toEqual([event.id, onPhone.event.id])
    stop()
    for (const manager of [leader, follower, phone]) await manager.close()
  })

  it('Given a started leader, When a follower tab records, Then the leader pushes it at once, not on its next interval, and pulled events start no sync', async () => {
    const { hubLog, leader, follower, phone } = await leaderAndFollower({ intervalMs: 3_600_000 })
    const syncs: number[] = []
    leader.on('sync', (result) => syncs.push(result.pushed))
    leader.start()
    await until(() => syncs.length === 1, "the leader's first sync")
    // When the follower records, the leader syncs and pushes it (the interval is an hour)
    const { event } = await follower.record({ type: 'TodoAdded', aggregateId: 't1', data: {} })
    await until(() => hubLog.size === 1, 'the push')
    expect((await hubLog.load(null))[0]?.event.id).toBe(event.id)
    await until(() => syncs.length === 2, 'the prompt sync to end')
    expect(syncs).toEqual([0, 1])
    // A pulled event (another writer's, after t1: no conflict to resolve) starts no sync of its own
    await phone.sync()
    await phone.record({ type: 'TodoDone', aggregateId: 't1', data: {} })
    await phone.sync()
    const before = syncs.length
    await leader.sync()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(syncs.length).toBe(before + 1)
    await leader.stop()
    // Stopped: a record waits for the next sync again
    await follower.record({ type: 'TodoAdded', aggregateId: 't2', data: {} })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(hubLog.size).toBe(2)
    for (const manager of [leader, follower, phone]) await manager.close()
  })

  it('Given a tab that reloads, Then its manager takes the same replica id from the store and syncs on without "not in its store"', async () => {
    const hub = createLoopbackHub()
    const db = fakeIndexedDb()
    const name = `reload-${++databases}`
    const first = await openIndexedDbStore({ name, ...db })
    const before = new SyncManager({ store: first, transport: hub.connect('tab') })
    const errors: unknown[] = []
    before.on('error', (error) => errors.push(error))
    await before.record({ type: 'TodoAdded', aggregateId: 't1', data: {} })
    await before.sync()
    await before.close()
    await first.close()
    // The reload: a new store object on the same database, a new manager without a nodeId
    const again = await openIndexedDbStore({ name, ...db })
    open.push(again)
    const after = new SyncManager({ store: again, transport: hub.connect('tab') })
    after.on('error', (error) => errors.push(error))
    expect(after.nodeId).toBe(first.replicaId)
    const { event } = await after.record({ type: 'TodoDone', aggregateId: 't1', data: {} })
    expect(causalContextOf(event)?.seq).toBe(2)
    const result = await after.sync()
    expect(result).toMatchObject({ pushed: 1, pulled: 0 })
    expect(errors).toEqual([])
    await after.close()
  })

  it('Given no Web Locks, Then a manager with sharedReplica() is refused with invalid-argument', async () => {
    const [store] = (await tabs(1)) as [IndexedDbStore]
    let error: unknown
    try {
      new SyncManager({
        store,
        transport: createLoopbackHub().connect('x'),
        features: [sharedReplica()],
      })
    } catch (caught) {
      error = caught
    }
    expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    expect((error as Error).message).toMatch(/sharedReplica\(\) needs Web Locks/)
  })

  it('Given a record waiting for another tab, When its signal aborts, Then it rejects with aborted and stores nothing', async () => {
    const [a, b] = (await tabs(2)) as [IndexedDbStore, IndexedDbStore]
    const locks = fakeWebLocks()
    const transport = createLoopbackHub().connect('x')
    const features = [sharedReplica({ locks })]
    const manager = new SyncManager({ store: b, transport, features })
    // Another tab holds the record lock
    let release: () => void = () => undefined
    void locks.request(
      `sync-kit:record:${a.name}`,
      {},
      () => new Promise<void>((r) => (release = r)),
    )
    const controller = new AbortController()
    const waiting = manager.record(
      { type: 'T', aggregateId: 'x', data: {} },
      {
        signal: controller.signal,
      },
    )
    await tick()
    controller.abort()
    const error = await waiting.catch((caught: unknown) => caught)
    expect(isSyncKitError(error, 'aborted')).toBe(true)
    release()
    expect(await b.load(null)).toEqual([])
    await manager.close()
  })
})

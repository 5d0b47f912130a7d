import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { TestClock } from '../testing/test-clock.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import { createTestHub } from '../transports/loopback/testing.js'
import type { ConflictResolver, EventStore } from '../types/index.js'
import { Hlc } from '../versions/hlc.js'
import { causalRelation } from '../causality/event-relation.js'
import { SyncManager } from './sync-manager.js'
import type { ConflictReport, SyncManagerOptions } from './sync-options.js'
import { liveMode } from './live-mode.js'
import { refusalList } from './refusal-list.js'

let ids = 0
const nextId = (): string => `e${++ids}`

function replica(
  hub: ReturnType<typeof createLoopbackHub>,
  nodeId: string,
  extra: Partial<SyncManagerOptions> = {},
) {
  const store = extra.store ?? createMemoryStore()
  const transport = extra.transport ?? hub.connect(nodeId)
  const conflicts: ConflictReport[] = []
  const errors: unknown[] = []
  const manager = new SyncManager({ store, transport, nodeId, generateId: nextId, ...extra })
  manager.on('conflict', (c) => conflicts.push(c))
  manager.on('error', (e) => errors.push(e))
  return { store, transport, manager, conflicts, errors }
}

async function allIds(store: EventStore): Promise<string[]> {
  return (await store.load(null)).map((e) => e.event.id).sort()
}

describe('SyncManager', () => {
  it('Given two replicas, when A records and both sync, then B holds A’s events and nothing is counted twice', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a')
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'TodoAdded', aggregateId: 't1', data: { title: 'milk' } })
    await a.manager.record({ type: 'TodoAdded', aggregateId: 't2', data: { title: 'eggs' } })

    const pushedByA = await a.manager.sync()
    const pulledByB = await b.manager.sync()
    const again = await a.manager.sync()

    expect(pushedByA).toMatchObject({ pushed: 2, pulled: 0, conflicts: 0 })
    expect(pulledByB).toMatchObject({ pushed: 0, pulled: 2, conflicts: 0 })
    expect(again).toMatchObject({ pushed: 0, pulled: 0, conflicts: 0 })
    expect(await allIds(b.store)).toEqual(await allIds(a.store))
    const stored = (await b.store.load(null))[0]?.event
    expect(stored?.metadata).toMatchObject({ origin: 'a', causal: 'a:1' })
    expect(() => Hlc.parse(String(stored?.metadata?.hlc))).not.toThrow()
  })

  it('Given events pulled from the remote, when the replica syncs again, then it does not push them back', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a')
    const b = replica(hub, 'b')
    for (let i = 0; i < 5; i++) await a.manager.record({ type: 'T', aggregateId: 'x', data: { i } })
    await a.manager.sync()
    await b.manager.sync()

    const second = await b.manager.sync()

    expect(second.pushed).toBe(0)
  })

  it('Given a restart on the same store, when syncing, then nothing already pushed or pulled is sent or received again', async () => {
    const hub = createLoopbackHub()
    const store = createMemoryStore()
    const a = replica(hub, 'a', { store })
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'T', aggregateId: 'x', data: 1 })
    await b.manager.record({ type: 'T', aggregateId: 'y', data: 2 })
    await b.manager.sync()
    await a.manager.sync()
    await a.manager.close()

    const restarted = replica(hub, 'a', { store, transport: hub.connect('a2') })
    const result = await restarted.manager.sync()

    expect(result).toMatchObject({ pushed: 0, pulled: 0 })
    const next = await restarted.manager.record({ type: 'T', aggregateId: 'x', data: 3 })
    expect(next.event.metadata?.causal).toBe('a:2,b:1')
  })

  it('Given concurrent edits of one aggregate, when both replicas sync, then each detects the conflict and last-write-wins picks the same winner', async () => {
    const clock = new TestClock(1_000_000)
    const hub = createTestHub()
    const a = replica(hub, 'a', { clock })
    const b = replica(hub, 'b', { clock })
    await a.manager.record({ type: 'Renamed', aggregateId: 'doc', data: { title: 'A', n: 1 } })
    clock.set(1_000_005)
    await b.manager.record({ type: 'Renamed', aggregateId: 'doc', data: { title: 'B', n: 1 } })

    await a.manager.sync()
    const atB = await b.manager.sync()
    const atA = await a.manager.sync()

    expect(atB.conflicts).toBe(1)
    expect(atA.conflicts).toBe(1)
    const [fromB] = b.conflicts
    const [fromA] = a.conflicts
    expect(fromB?.conflict.changedFields).toEqual(['title'])
    expect(fromB?.resolution.winner).toBeDefined()
    expect(fromB?.resolution.winner).toBe(fromA?.resolution.winner)
    const winner = (await b.store.load(null)).find((e) => e.event.id === fromB?.resolution.winner)
    expect(winner?.event.data).toEqual({ title: 'B', n: 1 })
  })

  it('Given an edit made after seeing another, when synced, then no conflict is raised (happened-before)', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a')
    const b = replica(hub, 'b')
    const first = await a.manager.record({ type: 'Set', aggregateId: 'doc', data: { v: 1 } })
    await a.manager.sync()
    await b.manager.sync()
    const second = await b.manager.record({ type: 'Set', aggregateId: 'doc', data: { v: 2 } })
    await b.manager.sync()

    const result = await a.manager.sync()

    expect(result).toMatchObject({ pulled: 1, conflicts: 0 })
    expect(causalRelation(first.event, second.event)).toBe('before')
    expect(a.conflicts).toHaveLength(0)
    expect(b.conflicts).toHaveLength(0)
  })

  it('Given a push whose acknowledgement is lost, when the sync is retried, then every event is stored once', async () => {
    const hub = createTestHub()
    const a = replica(hub, 'a')
    const b = replica(hub, 'b')
    for (let i = 0; i < 3; i++) await a.manager.record({ type: 'T', aggregateId: 'x', data: { i } })
    hub.client('a').failNext(1, { op: 'push', afterStore: true })

    await expect(a.manager.sync()).rejects.toSatisfy((e) => isSyncKitError(e))
    const retry = await a.manager.sync()
    await b.manager.sync()

    expect(retry.pushed).toBe(3)
    expect(await b.store.latestVersion().then(String)).toBe('3')
    expect(await allIds(b.store)).toEqual(await allIds(a.store))
  })

  it('Given more events than one batch, when syncing, then they travel in batches of batchSize', async () => {
    const hub = createTestHub()
    const a = replica(hub, 'a', { batchSize: 100 })
    const b = replica(hub, 'b', { batchSize: 100 })
    const store = a.store
    await store.storeBatch?.(
      Array.from({ length: 1234 }, (_, i) => ({
        id: `bulk-${i}`,
        type: 'T',
        aggregateId: `g${i % 7}`,
        data: i,
      })),
    )

    const pushed = await a.manager.sync()
    const pulled = await b.manager.sync()

    expect(pushed.pushed).toBe(1234)
    expect(pulled.pulled).toBe(1234)
    const pushCalls = hub.calls.filter((c) => c.clientId === 'a' && c.op === 'push')
    expect(pushCalls).toHaveLength(13)
    expect(await allIds(b.store)).toEqual(await allIds(a.store))
  })

  it('Given concurrent sync() calls, when they overlap, then they coalesce into at most one follow-up run', async () => {
    const hub = createTestHub()
    const a = replica(hub, 'a')
    await a.manager.record({ type: 'T', aggregateId: 'x', data: 1 })

    const results = await Promise.all([a.manager.sync(), a.manager.sync(), a.manager.sync()])

    expect(results[0].pushed).toBe(1)
    expect(results[1]).toBe(results[2])
    expect(results[1].pushed).toBe(0)
    expect(hub.calls.filter((c) => c.op === 'pull' && c.clientId === 'a')).toHaveLength(2)
  })

  it('Given push-only and pull-only managers, when syncing, then each moves events one way only', async () => {
    const hub = createLoopbackHub()
    const writer = replica(hub, 'w', { direction: 'push' })
    const reader = replica(hub, 'r', { direction: 'pull' })
    const other = replica(hub, 'o')
    await writer.manager.record({ type: 'T', aggregateId: 'x', data: 1 })
    await reader.manager.record({ type: 'T', aggregateId: 'y', data: 2 })
    await other.manager.record({ type: 'T', aggregateId: 'z', data: 3 })
    await other.manager.sync()

    expect(await writer.manager.sync()).toMatchObject({ pushed: 1, pulled: 0 })
    expect(await reader.manager.sync()).toMatchObject({ pushed: 0, pulled: 2 })
    expect((await writer.store.load(null)).length).toBe(1)
  })

  it('Given filters, when syncing, then only matching events are pushed and pulled', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a', { filters: [{ key: 'type', value: 'Keep' }] })
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'Keep', aggregateId: 'x', data: 1 })
    await a.manager.record({ type: 'Local', aggregateId: 'x', data: 2 })
    await b.manager.record({ type: 'Drop', aggregateId: 'y', data: 3 })
    await b.manager.record({ type: 'Keep', aggregateId: 'y', data: 4 })
    await b.manager.sync()

    const result = await a.manager.sync()

    expect(result).toMatchObject({ pushed: 1, pulled: 1 })
    const types = (await a.store.load(null)).map((e) => e.event.type)
    expect(types.sort()).toEqual(['Keep', 'Keep', 'Local'])
  })

  it('Given an aborted signal, when syncing, then it rejects with aborted and sends nothing', async () => {
    const hub = createTestHub()
    const a = replica(hub, 'a')
    await a.manager.record({ type: 'T', aggregateId: 'x', data: 1 })
    const controller = new AbortController()
    controller.abort()

    await expect(a.manager.sync({ signal: controller.signal })).rejects.toSatisfy((e) =>
      isSyncKitError(e, 'aborted'),
    )
    expect(hub.calls.filter((c) => c.op === 'push')).toHaveLength(0)
  })

  it('Given a remote that was wiped (new epoch), when syncing, then the replica re-sends everything and reports the epoch change', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a')
    const epochs: unknown[] = []
    a.manager.on('epoch-changed', (e) => epochs.push(e))
    for (let i = 0; i < 4; i++) await a.manager.record({ type: 'T', aggregateId: 'x', data: i })
    await a.manager.sync()

    hub.reset()
    const result = await a.manager.sync()
    const b = replica(hub, 'b')
    await b.manager.sync()

    expect(epochs).toHaveLength(1)
    expect(result.pushed).toBe(4)
    expect(await allIds(b.store)).toEqual(await allIds(a.store))
  })

  it('Given a remote stamp far in the future, when pulled, then the event is kept but the local clock is not dragged forward', async () => {
    const clock = new TestClock(10_000_000)
    const hub = createLoopbackHub()
    const a = replica(hub, 'a', { clock, maxDriftMs: 1_000 })
    const drifts: unknown[] = []
    a.manager.on('clock-drift', (d) => drifts.push(d))
    const future = new Hlc(10_000_000 + 3_600_000, 0, 'evil').toString()
    const rogue = hub.connect('rogue')
    await rogue.push([
      {
        id: 'f1',
        type: 'T',
        aggregateId: 'x',
        data: 1,
        metadata: { hlc: future, origin: 'evil', causal: 'evil:1' },
      },
    ])

    const result = await a.manager.sync()
    const mine = await a.manager.record({ type: 'T', aggregateId: 'y', data: 2 })

    expect(result.pulled).toBe(1)
    expect(drifts).toHaveLength(1)
    expect(Hlc.parse(String(mine.event.metadata?.hlc)).wallMs).toBe(10_000_000)
  })

  it('Given the wall clock steps back after a restart, when recording, then stamps never go backwards', async () => {
    const clock = new TestClock(5_000_000)
    const hub = createLoopbackHub()
    const store = createMemoryStore()
    const first = replica(hub, 'a', { store, clock })
    const before = await first.manager.record({ type: 'T', aggregateId: 'x', data: 1 })
    clock.set(4_000_000)

    const restarted = replica(hub, 'a', { store, clock, transport: hub.connect('a-2') })
    const after = await restarted.manager.record({ type: 'T', aggregateId: 'x', data: 2 })

    const s1 = String(before.event.metadata?.hlc)
    const s2 = String(after.event.metadata?.hlc)
    expect(Hlc.parse(s2).compare(Hlc.parse(s1))).toBe(1)
    expect(s2 > s1).toBe(true)
  })

  it('Given a resolver that throws, when a conflict occurs, then the error is reported and the sync still completes', async () => {
    const hub = createLoopbackHub()
    const broken: ConflictResolver = {
      resolve() {
        return Promise.reject(new Error('boom'))
      },
    }
    const a = replica(hub, 'a', { resolver: broken })
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'T', aggregateId: 'doc', data: { v: 1 } })
    await b.manager.record({ type: 'T', aggregateId: 'doc', data: { v: 2 } })
    await b.manager.sync()

    const result = await a.manager.sync()

    expect(result).toMatchObject({ pulled: 1, conflicts: 1, resolved: 0 })
    expect(a.errors.some((e) => isSyncKitError(e, 'resolver-failed'))).toBe(true)
  })

  it('Given start() with failures, when time passes, then it retries with backoff and recovers', async () => {
    const clock = new TestClock(0)
    const hub = createTestHub()
    const a = replica(hub, 'a', {
      clock,
      timers: clock,
      intervalMs: 10_000,
      backoff: { initialMs: 100, maxMs: 1_000 },
      random: () => 0.5,
    })
    const synced: unknown[] = []
    a.manager.on('sync', (r) => synced.push(r))
    await a.manager.record({ type: 'T', aggregateId: 'x', data: 1 })
    hub.client('a').failNext(2, { op: 'push' })

    a.manager.start()
    await clock.advance(0) // attempt 1 fails
    await clock.advance(50) // backoff 0.5 × 100 ms → attempt 2 fails
    await clock.advance(100) // backoff 0.5 × 200 ms → attempt 3 succeeds
    await a.manager.stop()

    expect(a.errors).toHaveLength(2)
    expect(synced).toHaveLength(1)
    expect(hub.calls.filter((c) => c.op === 'push' && c.ok)).toHaveLength(1)
  })

  it('Given live mode, when another replica pushes, then this replica pulls it without waiting for the interval', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a', { features: [liveMode()], intervalMs: 3_600_000 })
    const b = replica(hub, 'b')
    const pulled = new Promise<void>((resolve) => {
      a.manager.on('sync', (r) => {
        if (r.pulled > 0) resolve()
      })
    })
    a.manager.start()
    await new Promise((r) => setTimeout(r, 20))

    await b.manager.record({ type: 'T', aggregateId: 'x', data: 'live' })
    await b.manager.sync()
    await pulled
    await a.manager.stop()

    expect((await a.store.load(null)).map((e) => e.event.data)).toEqual(['live'])
  })

  it('Given a pulled event whose id exists locally with other content, when syncing, then it is quarantined and the rest still arrives', async () => {
    const hub = createLoopbackHub()
    // The refusal list is the quarantine: without it the pull stops at the refused event.
    const a = replica(hub, 'a', { features: [refusalList()] })
    await a.store.store({ id: 'dup', type: 'T', aggregateId: 'x', data: 'mine' })
    const other = hub.connect('other')
    await other.push([
      { id: 'dup', type: 'T', aggregateId: 'x', data: 'theirs' },
      { id: 'fine', type: 'T', aggregateId: 'x', data: 'ok' },
    ])

    const result = await a.manager.sync({})

    expect(result.pulled).toBe(1)
    expect(a.errors.some((e) => isSyncKitError(e, 'event-id-conflict'))).toBe(true)
    expect((await a.store.load(null)).map((e) => e.event.id)).toContain('fine')
    // (listed twice: the remote refused the local 'dup' too)
    expect((await a.manager.refusals()).map((r) => [r.event.id, r.by, r.code])).toEqual([
      ['dup', 'remote', 'event-id-conflict'],
      ['dup', 'local', 'event-id-conflict'],
    ])
  })
})

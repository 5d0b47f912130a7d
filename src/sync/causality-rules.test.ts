import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { causalContextOf } from '../causality/causal-context.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import { hlcOf } from '../projections/event-order.js'
import { lastWriteWins } from '../resolvers/last-write-wins.js'
import { must } from '../resolvers/resolvers.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import { TestClock } from '../testing/test-clock.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { Event, EventStore } from '../types/index.js'
import { Hlc } from '../versions/hlc.js'
import { DEFAULT_CONTEXT_ENTRIES, MERGED_STAMP_KEY } from './causal-tracker.js'
import type { CausalTrackerOptions } from './causal-tracker.js'
import { SyncManager } from './sync-manager.js'
import type { SyncManagerOptions } from './sync-options.js'

// The SyncManager's side of rules 1, 3 and 4 of docs/causality.md, with real stores and the
// loopback hub: causality first, clocks second; monotonic stamps across restarts; causal contexts
// that never stop a replica.

const T = 1_717_000_000_000
const MINUTE = 60_000
const TEN_YEARS_MS = 10 * 365 * 24 * 60 * MINUTE

let ids = 0
const nextId = (): string => `e${++ids}`

function replica(
  hub: ReturnType<typeof createLoopbackHub>,
  nodeId: string,
  options: Partial<SyncManagerOptions> & CausalTrackerOptions = {},
) {
  const store = options.store ?? createMemoryStore()
  const manager = new SyncManager({
    store,
    transport: hub.connect(nodeId),
    nodeId,
    generateId: nextId,
    resolver: lastWriteWins(),
    ...options,
  } as SyncManagerOptions)
  const drifts: unknown[] = []
  const errors: unknown[] = []
  manager.on('clock-drift', (d) => drifts.push(d))
  manager.on('error', (e) => errors.push(e))
  return { store, manager, drifts, errors }
}

async function stateOf(store: EventStore, aggregateId: string) {
  return materializeAggregate(await store.loadByAggregate(aggregateId, null))
}

describe('rule 1, causality first: the SyncManager', () => {
  it.each([
    ['5 minutes', 5 * MINUTE],
    ['ten years', TEN_YEARS_MS],
  ])(
    'Given replica A’s clock %s fast, when B receives A’s e1 (clock-drift) and then edits the same aggregate, then B’s edit wins on every replica under last-write-wins and in the materialised state',
    async (_label, fast) => {
      const hub = createLoopbackHub()
      const a = replica(hub, 'a', { clock: new TestClock(T + fast) })
      const b = replica(hub, 'b', { clock: new TestClock(T) })
      const c = replica(hub, 'c', { clock: new TestClock(T) })
      const e1 = await a.manager.record({
        type: 'TodoEdited',
        aggregateId: 'todo-1',
        data: { title: 'from A', note: 'kept' },
      })
      await a.manager.sync()

      await b.manager.sync()
      const e2 = await b.manager.record({
        type: 'TodoEdited',
        aggregateId: 'todo-1',
        data: { title: 'from B' },
      })
      await b.manager.sync()
      const results = [await a.manager.sync(), await c.manager.sync()]

      // B's HLC refused to follow e1, so B's later edit is stamped below it.
      expect(b.drifts).toHaveLength(1)
      expect(String(hlcOf(e2.event)) < String(hlcOf(e1.event))).toBe(true)
      // No conflict: B wrote after seeing e1. Every replica shows B's title.
      expect(results.map((r) => r.conflicts)).toEqual([0, 0])
      for (const { store } of [a, b, c]) {
        expect((await stateOf(store, 'todo-1')).data).toEqual({ title: 'from B', note: 'kept' })
      }
    },
  )
})

describe('rule 3, monotonic stamps across restarts', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('Given a replica on a SQLite file that merged a received stamp at T, when it restarts on the reopened file with its wall clock 2 minutes behind and records, then its stamp is above T and its edit wins over a concurrent one stamped before T', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sync-kit-restart-'))
    const path = join(dir, 'b.db')
    const hub = createLoopbackHub()
    const a = replica(hub, 'a', { clock: new TestClock(T) })
    const received = await a.manager.record({ type: 'Edited', aggregateId: 'x', data: { v: 1 } })
    await a.manager.sync()
    const first = replica(hub, 'b', {
      clock: new TestClock(T),
      store: await openSqliteStore({ path }),
    })
    await first.manager.sync()
    await first.manager.close()
    await first.store.close()
    // Meanwhile c, which has seen nothing, edits the aggregate at T − 1 min.
    const c = replica(hub, 'c', { clock: new TestClock(T - MINUTE) })
    await c.manager.record({ type: 'Edited', aggregateId: 'todo-1', data: { title: 'from C' } })
    await c.manager.sync()

    const store = await openSqliteStore({ path })
    const b = replica(hub, 'b', { clock: new TestClock(T - 2 * MINUTE), store })
    const mine = await b.manager.record({
      type: 'Edited',
      aggregateId: 'todo-1',
      data: { title: 'from B' },
    })
    const result = await b.manager.sync()

    expect(
      Hlc.parse(String(hlcOf(mine.event))).compare(Hlc.parse(String(hlcOf(received.event)))),
    ).toBe(1)
    expect(typeof (await store.getState(MERGED_STAMP_KEY))).toBe('string')
    expect(result.conflicts).toBe(1)
    expect((await stateOf(store, 'todo-1')).data).toEqual({ title: 'from B' })
    await b.manager.close()
    await store.close()
  })

  it('Given pulled pages, then the merged stamp is written once per page at most, and not at all when nothing was received', async () => {
    const hub = createLoopbackHub({ pageLimit: 2 })
    const a = replica(hub, 'a', { clock: new TestClock(T) })
    for (let i = 0; i < 5; i++) await a.manager.record({ type: 'E', aggregateId: 'x', data: { i } })
    await a.manager.sync()
    const store = createMemoryStore()
    const writes: string[] = []
    const setState = must(store.setState).bind(store)
    store.setState = async (key, value, options) => {
      // Other parts of the manager keep state of their own (what the remote holds, …).
      if (key === MERGED_STAMP_KEY) writes.push(key)
      await setState(key, value, options)
    }
    const b = replica(hub, 'b', { clock: new TestClock(T), store })

    await b.manager.sync()
    const afterPull = writes.length
    await b.manager.record({ type: 'E', aggregateId: 'x', data: { mine: true } })
    await b.manager.sync()

    expect(afterPull).toBeGreaterThan(0)
    expect(afterPull).toBeLessThanOrEqual(3) // 5 events, pages of 2
    expect(writes.length).toBe(afterPull)
    expect(new Set(writes)).toEqual(new Set([MERGED_STAMP_KEY]))
  })
})

describe('rule 4, causal contexts never stop a replica', () => {
  /**
   * Seeds the hub with one event of each of `writers` replica ids, on two aggregates taken in turn;
   * each writer had seen the previous event of its aggregate (two causal chains, one head each).
   */
  async function seed(hub: ReturnType<typeof createLoopbackHub>, writers: number): Promise<void> {
    const node = (i: number): string => `w${String(i).padStart(4, '0')}`
    const events: Event[] = []
    for (let i = 0; i < writers; i++) {
      events.push({
        id: `seed-${i}`,
        type: 'Edited',
        aggregateId: i % 2 === 0 ? 'even' : 'odd',
        data: { by: node(i) },
        metadata: {
          hlc: new Hlc(T - writers + i, 0, node(i)).toString(),
          origin: node(i),
          causal: i < 2 ? `${node(i)}:1` : `${node(i - 2)}:1,${node(i)}:1`,
        },
      })
    }
    const seeder = hub.connect('seeder')
    for (let i = 0; i < events.length; i += 500) await seeder.push(events.slice(i, i + 500))
  }

  it('Given a log written by 3,000 replica ids, when a replica syncs it, restarts and records, then it still records and syncs, writing contexts of at most 512 entries that keep its own and the aggregate head’s writer', async () => {
    const hub = createLoopbackHub()
    await seed(hub, 3_000)
    const store = createMemoryStore()
    const first = replica(hub, 'b', { clock: new TestClock(T), store })
    const pulled = await first.manager.sync()
    const before = await first.manager.record({
      type: 'Edited',
      aggregateId: 'odd',
      data: { by: 'b' },
    })
    await first.manager.close()

    const b = replica(hub, 'b', { clock: new TestClock(T + 1), store })
    const after = await b.manager.record({ type: 'Edited', aggregateId: 'even', data: { by: 'b' } })
    const synced = await b.manager.sync()

    expect(pulled.pulled).toBe(3_000)
    expect(synced.pushed).toBe(2)
    for (const { event } of [before, after]) {
      const ctx = causalContextOf(event)
      expect(ctx?.origin).toBe('b')
      expect(ctx?.clock.size).toBe(DEFAULT_CONTEXT_ENTRIES)
    }
    // The heads of "even" and "odd" were written by w2998 and w2999: kept, so the edits supersede.
    expect(causalContextOf(after.event)?.clock.get('w2998')).toBe(1)
    expect(causalContextOf(before.event)?.clock.get('w2999')).toBe(1)
    expect((await stateOf(store, 'even')).data).toEqual({ by: 'b' })
    expect(b.errors).toEqual([])
  })

  it('Given contexts from others past the bound (1,500 entries: not a vector clock any replica writes), when pulled and after a restart, then they are stored and ignored for causality, and the replica still records', async () => {
    const hub = createLoopbackHub()
    const huge = Array.from({ length: 1_500 }, (_, i) => `n${String(i).padStart(4, '0')}:1`).join(
      ',',
    )
    await hub.connect('seeder').push([
      {
        id: 'huge',
        type: 'Edited',
        aggregateId: 'x',
        data: { v: 1 },
        metadata: { hlc: new Hlc(T, 0, 'n0000').toString(), origin: 'n0000', causal: huge },
      },
    ])
    const store = createMemoryStore()
    await replica(hub, 'b', { clock: new TestClock(T), store }).manager.sync()

    const b = replica(hub, 'b', { clock: new TestClock(T), store })
    const mine = await b.manager.record({ type: 'Edited', aggregateId: 'x', data: { v: 2 } })

    expect(causalContextOf(mine.event)?.clock.toString()).toBe('b:1')
    expect((await store.load(null)).map((e) => e.event.id)).toEqual(['huge', mine.event.id])
  })

  it('Given a bound of 4 injected for tests and 10 writers, then every context holds at most 4 entries and the replicas still converge', async () => {
    const hub = createLoopbackHub()
    const writers = Array.from({ length: 10 }, (_, i) =>
      replica(hub, `r${i}`, { clock: new TestClock(T + i), maxContextEntries: 4 }),
    )
    for (let round = 0; round < 3; round++) {
      for (const [i, w] of writers.entries()) {
        await w.manager.record({
          type: 'Edited',
          aggregateId: `a${(i + round) % 3}`,
          data: { i, round },
        })
        await w.manager.sync()
      }
    }
    for (const w of writers) await w.manager.sync()

    const all = (await writers[0]?.store.load(null)) ?? []
    expect(all.length).toBeGreaterThanOrEqual(30)
    for (const { event } of all) {
      if (event.metadata?.origin?.toString().startsWith('r')) {
        expect(causalContextOf(event)?.clock.size).toBeLessThanOrEqual(4)
      }
    }
    const states = await Promise.all(writers.map((w) => stateOf(w.store, 'a0')))
    for (const state of states) expect(state).toEqual(states[0])
  })
})

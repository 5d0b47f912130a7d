import { describe, expect, it } from 'vitest'
import { must } from './resolvers.fixture.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import { createTombstone } from '../projections/tombstone.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { SyncManager } from '../sync/sync-manager.js'
import type { ConflictReport } from '../sync/sync-options.js'
import { TestClock } from '../testing/test-clock.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { ConflictResolver, EventStore } from '../types/index.js'
import { additiveMerge } from './additive-merge.js'
import { fieldMerge } from './field-merge.js'
import { manualResolver } from './manual-resolver.js'
import { ruleBased } from './rule-based.js'

// End to end with the SyncManager: replicas that resolve the same conflicts converge to the same
// materialised state.

const FIELDS = { likes: 'counter', title: 'first-write-wins' } as const

function replica(
  hub: ReturnType<typeof createLoopbackHub>,
  nodeId: string,
  clock: TestClock,
  resolver: (store: EventStore) => ConflictResolver,
) {
  const store = createMemoryStore()
  let n = 0
  const conflicts: ConflictReport[] = []
  const errors: unknown[] = []
  const manager = new SyncManager({
    store,
    transport: hub.connect(nodeId),
    nodeId,
    clock,
    resolver: resolver(store),
    generateId: () => `${nodeId}-${++n}`,
  })
  manager.on('conflict', (c) => conflicts.push(c))
  manager.on('error', (e) => errors.push(e))
  return { store, manager, conflicts, errors }
}

async function state(store: EventStore, aggregateId = 'doc', deleteRule?: 'edit-wins') {
  return materializeAggregate(await store.loadByAggregate(aggregateId, null), {
    fields: FIELDS,
    ...(deleteRule ? { deleteRule } : {}),
  })
}

describe('resolvers with the SyncManager', () => {
  it('Given concurrent edits on two replicas, when they sync, then both resolve the conflict alike and materialise the same state', async () => {
    const hub = createLoopbackHub()
    const clock = new TestClock(1_000_000)
    const resolver = () =>
      ruleBased({
        rules: [{ match: { type: 'Liked' }, resolver: additiveMerge({ counters: ['likes'] }) }],
        fallback: fieldMerge({ fields: FIELDS }),
      })
    const a = replica(hub, 'a', clock, resolver)
    const b = replica(hub, 'b', clock, resolver)
    await a.manager.record({
      type: 'Created',
      aggregateId: 'doc',
      data: { title: 'Draft', likes: 0 },
    })
    await a.manager.sync()
    await b.manager.sync()

    // Offline on both sides: a renames first, b renames later and adds a colour.
    clock.set(1_000_100)
    await a.manager.record({ type: 'Renamed', aggregateId: 'doc', data: { title: 'From A' } })
    clock.set(1_000_200)
    await b.manager.record({
      type: 'Renamed',
      aggregateId: 'doc',
      data: { title: 'From B', color: 'blue' },
    })
    await a.manager.sync()
    await b.manager.sync()
    await a.manager.sync()

    expect(b.conflicts).toHaveLength(1)
    expect(b.conflicts[0]?.resolution.decision).toBe('merge')
    expect(a.errors).toEqual([])
    expect(b.errors).toEqual([])
    const onA = await state(a.store)
    const onB = await state(b.store)
    expect(onB).toEqual(onA)
    // title is first-write-wins: A renamed first. B's uncontested colour survives.
    expect(onA.data).toEqual({ title: 'From A', likes: 0, color: 'blue' })
  })

  it('Given a delete on one replica and a concurrent later edit on another, when they sync, then delete-wins keeps it deleted on both', async () => {
    const hub = createLoopbackHub()
    const clock = new TestClock(2_000_000)
    const a = replica(hub, 'a', clock, () => fieldMerge())
    const b = replica(hub, 'b', clock, () => fieldMerge())
    await a.manager.record({ type: 'Created', aggregateId: 'doc', data: { title: 'x' } })
    await a.manager.sync()
    await b.manager.sync()

    clock.set(2_000_010)
    await a.manager.record(createTombstone({ aggregateId: 'doc' }))
    clock.set(2_000_020)
    await b.manager.record({ type: 'Renamed', aggregateId: 'doc', data: { title: 'late' } })
    await a.manager.sync()
    await b.manager.sync()
    await a.manager.sync()

    for (const r of [a, b]) {
      expect((await state(r.store)).status).toBe('deleted')
      expect((await state(r.store, 'doc', 'edit-wins')).data).toEqual({ title: 'late' })
    }
  })

  it('Given a manual resolver, when a conflict is parked on one replica and settled there, then the resolution syncs and both converge', async () => {
    const hub = createLoopbackHub()
    const clock = new TestClock(3_000_000)
    const manuals = new Map<string, ReturnType<typeof manualResolver>>()
    const make = (name: string) => (store: EventStore) => {
      const m = manualResolver({ store })
      manuals.set(name, m)
      return m
    }
    const a = replica(hub, 'a', clock, make('a'))
    const b = replica(hub, 'b', clock, make('b'))
    await a.manager.record({ type: 'Renamed', aggregateId: 'doc', data: { title: 'A' } })
    await b.manager.record({ type: 'Renamed', aggregateId: 'doc', data: { title: 'B' } })
    await a.manager.sync()
    await b.manager.sync()
    await a.manager.sync()

    const [pending] = await must(manuals.get('b')).pendingConflicts()
    expect(pending).toBeDefined()
    await must(manuals.get('b')).resolve(must(pending).id, { data: { title: 'A and B' } })
    await b.manager.sync()
    await a.manager.sync()

    expect(await must(manuals.get('a')).pendingConflicts()).toEqual([])
    expect((await state(a.store)).data).toEqual({ title: 'A and B' })
    expect(await state(b.store)).toEqual(await state(a.store))
  })
})

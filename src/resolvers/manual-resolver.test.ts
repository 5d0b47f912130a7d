import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import { TOMBSTONE_EVENT_TYPE, createTombstone } from '../projections/tombstone.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { Event, EventStore } from '../types/index.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { conflictOf, ev, must, swapped } from './resolvers.fixture.js'
import type { ManualConflictStorage } from './manual-resolver.js'
import { manualResolver } from './manual-resolver.js'

const mine = ev('e1', { title: 'Mine', color: 'red' }, { node: 'a', wall: 1, causal: { a: 1 } })
const theirs = ev('e2', { title: 'Theirs', size: 3 }, { node: 'b', wall: 2, causal: { b: 1 } })

async function storeWith(...events: Event[]): Promise<EventStore> {
  const store = createMemoryStore()
  for (const e of events) await store.store(e)
  return store
}

describe('manualResolver', () => {
  it('Given a conflict, when the manager hands it over, then it is parked (defer) and listed as pending', async () => {
    const store = await storeWith(mine, theirs)
    const manual = manualResolver({ store })

    const result = await manual.resolve(conflictOf(mine, theirs))

    expect(result.decision).toBe('defer')
    expect(result.resolvedEvents).toEqual([])
    const pending = await manual.pendingConflicts()
    expect(pending).toHaveLength(1)
    expect(pending[0]?.id).toMatch(/^conflict:[0-9a-f]{32}$/)
    expect(pending[0]?.conflict.local.event).toEqual(mine)
    expect(pending[0]?.conflict.remote.version.toString()).toBe('2')
  })

  it('parks the same conflict once, with the same id whichever side was local', async () => {
    const store = await storeWith(mine, theirs)
    const manual = manualResolver({ store })
    const c = conflictOf(mine, theirs)
    const one = await manual.resolve(c)
    const two = await manual.resolve(swapped(c))
    expect(two.reasons).toEqual(one.reasons)
    expect(await manual.pendingConflicts()).toHaveLength(1)
  })

  it('Given a parked conflict, when the app restarts with a fresh resolver over the same store, then it is still pending and can be settled', async () => {
    const store = await storeWith(mine, theirs)
    await manualResolver({ store }).resolve(conflictOf(mine, theirs))

    const afterRestart = manualResolver({ store })
    const [pending] = await afterRestart.pendingConflicts()
    const settled = await afterRestart.resolve(must(pending).id, 'keep-local')

    expect(settled).toMatchObject({ decision: 'keep-local', winner: 'e1' })
    const resolution = must(settled.resolvedEvents[1])
    expect(resolution.data).toEqual({ title: 'Mine' })
    expect(resolution.metadata?.['merged']).toEqual(['e1', 'e2'])
    // Stored (so it syncs), and the conflict is gone, also for a third instance.
    expect((await store.loadByAggregate('doc', null)).map((e) => e.event.id)).toContain(
      resolution.id,
    )
    expect(await manualResolver({ store }).pendingConflicts()).toEqual([])
    expect(materializeAggregate(await store.loadByAggregate('doc', null)).data).toEqual({
      title: 'Mine',
      color: 'red',
      size: 3,
    })
  })

  it('settles with merged data, and two replicas making the same choice write the same event', async () => {
    const storeA = await storeWith(mine, theirs)
    const storeB = await storeWith(theirs, mine)
    const a = manualResolver({ store: storeA })
    const b = manualResolver({ store: storeB })
    await a.resolve(conflictOf(mine, theirs))
    await b.resolve(conflictOf(theirs, mine))
    const [pa] = await a.pendingConflicts()
    const [pb] = await b.pendingConflicts()
    expect(must(pa).id).toBe(must(pb).id)

    const ra = await a.resolve(must(pa).id, { data: { title: 'Mine + Theirs' } })
    const rb = await b.resolve(must(pb).id, { data: { title: 'Mine + Theirs' } })

    expect(ra.decision).toBe('merge')
    expect(JSON.stringify(ra.resolvedEvents)).toBe(JSON.stringify(rb.resolvedEvents))
  })

  it('Given a conflict settled on another replica, when its resolution arrives, then the conflict leaves the pending list', async () => {
    const storeA = await storeWith(mine, theirs)
    const storeB = await storeWith(mine, theirs)
    const a = manualResolver({ store: storeA })
    const b = manualResolver({ store: storeB })
    await a.resolve(conflictOf(mine, theirs))
    await b.resolve(conflictOf(theirs, mine))
    const [pending] = await a.pendingConflicts()
    const settled = await a.resolve(must(pending).id, 'keep-remote')

    // Sync delivers the resolution event to B.
    for (const e of settled.resolvedEvents) await storeB.store(e)

    expect(await b.pendingConflicts()).toEqual([])
    // And a conflict detected after the resolution arrived is not parked at all.
    const late = await manualResolver({ store: storeB, name: 'other' }).resolve(
      conflictOf(mine, theirs),
    )
    expect(late.decision).toBe('merge')
    expect(late.resolvedEvents[0]?.id).toBe(settled.resolvedEvents[1]?.id)
  })

  it('keeps a delete by writing a new tombstone, and keeps an edit against a delete by re-creating the aggregate', async () => {
    const del = {
      ...createTombstone({ aggregateId: 'doc', id: 'd1' }),
      metadata: { hlc: '000000000003-0000-b', origin: 'b', causal: 'b:1' },
    }
    const store = await storeWith(mine, del)
    const manual = manualResolver({ store })
    await manual.resolve(conflictOf(mine, del))
    const [p] = await manual.pendingConflicts()

    const keepEdit = await manual.resolve(must(p).id, 'keep-local')
    expect(keepEdit.resolvedEvents[1]?.type).not.toBe(TOMBSTONE_EVENT_TYPE)
    const events = await store.loadByAggregate('doc', null)
    expect(materializeAggregate(events)).toMatchObject({ status: 'live', data: mine.data })

    const other = manualResolver({ store, name: 'second' })
    await other.resolve(conflictOf(mine, { ...del, id: 'd2' }))
    const [q] = await other.pendingConflicts()
    const keepDelete = await other.resolve(must(q).id, 'keep-remote')
    expect(keepDelete.resolvedEvents[1]?.type).toBe(TOMBSTONE_EVENT_TYPE)
  })

  it('works over a custom key-value storage; the caller stores the resolution', async () => {
    let saved: string | undefined
    const storage: ManualConflictStorage = {
      read: async () => saved,
      write: async (v) => {
        saved = v
      },
      parseVersion: (v) => SequenceVersion.parse(v),
    }
    await manualResolver({ store: storage }).resolve(conflictOf(mine, theirs))
    expect(JSON.parse(must(saved))).toMatchObject({ format: 1 })

    const again = manualResolver({ store: storage })
    const [p] = await again.pendingConflicts()
    const settled = await again.resolve(must(p).id, 'keep-remote')
    expect(settled.winner).toBe('e2')
    expect(await again.pendingConflicts()).toEqual([])
  })

  it('rejects unknown ids and bad choices, and leaves unreadable stored state untouched', async () => {
    const store = await storeWith(mine, theirs)
    const manual = manualResolver({ store })
    await expect(manual.resolve('conflict:nope', 'keep-local')).rejects.toSatisfy(
      (e) => isSyncKitError(e, 'invalid-argument') && /pendingConflicts/.test(String(e.message)),
    )
    await manual.resolve(conflictOf(mine, theirs))
    const [p] = await manual.pendingConflicts()
    await expect(manual.resolve(must(p).id, 'keep-both' as never)).rejects.toThrow(/choice must be/)
    expect(await manual.pendingConflicts()).toHaveLength(1)

    const key = { remote: 'sync-kit:manual-resolver:default', direction: 'pull' } as const
    await store.setCheckpoint(key, { version: '{broken' })
    await expect(manualResolver({ store }).pendingConflicts()).rejects.toSatisfy((e) =>
      isSyncKitError(e, 'internal'),
    )
    expect((await store.getCheckpoint(key))?.version).toBe('{broken')
    expect(() => manualResolver({ store: {} as never })).toThrow(/EventStore or/)
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { fieldMerge } from '../resolvers/field-merge.js'
import { lastWriteWins } from '../resolvers/last-write-wins.js'
import { conflictOf, ev, must } from '../resolvers/resolvers.fixture.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { Hlc, HybridLogicalClock } from '../versions/hlc.js'
import { TestClock } from '../testing/test-clock.js'
import { VectorClock } from '../versions/vector-clock.js'
import type { Event, JsonValue } from '../types/index.js'
import { createProjection } from './create-projection.js'
import { compareEvents } from './event-order.js'
import { eventRelation } from '../causality/event-relation.js'
import { materializeAggregate } from './materialize-aggregate.js'
import type { DeleteRule } from './tombstone.js'
import { TOMBSTONE_EVENT_TYPE } from './tombstone.js'

const del = (id: string, options: Parameters<typeof ev>[2]): Event =>
  ev(id, null, { ...options, type: TOMBSTONE_EVENT_TYPE })

describe('materializeAggregate', () => {
  it('Given patches, when applied in HLC order, then fields are set and null clears them', () => {
    const e1 = ev(
      'e1',
      { title: 'a', done: false, note: 'x' },
      { node: 'a', wall: 1, causal: { a: 1 } },
    )
    const e2 = ev('e2', { done: true, note: null }, { node: 'a', wall: 2, causal: { a: 2 } })
    const state = materializeAggregate([{ event: e2, version: new SequenceVersion(2) }, e1])
    expect(state).toEqual({
      aggregateId: 'doc',
      status: 'live',
      data: { done: true, title: 'a' },
      appliedEventIds: ['e1', 'e2'],
      discardedEventIds: [],
      hlc: e2.metadata?.hlc,
    })
  })

  it('returns absent for no events', () => {
    expect(materializeAggregate([])).toEqual({
      aggregateId: undefined,
      status: 'absent',
      data: {},
      appliedEventIds: [],
      discardedEventIds: [],
    })
  })

  describe('deletes', () => {
    const create = ev('e1', { title: 'a' }, { node: 'a', wall: 1, causal: { a: 1 } })
    const tomb = del('d1', { node: 'a', wall: 5, causal: { a: 2 } })
    // b had seen the create, not the delete, and wrote later by the wall clock.
    const concurrentLater = ev(
      'e2',
      { color: 'red' },
      { node: 'b', wall: 9, causal: { a: 1, b: 1 } },
    )

    it('Given a delete and a concurrent later edit, when delete-wins (default), then the aggregate stays deleted', () => {
      const state = materializeAggregate([create, tomb, concurrentLater])
      expect(state).toMatchObject({
        status: 'deleted',
        deletedBy: 'd1',
        data: {},
        discardedEventIds: ['e1', 'e2'],
      })
    })

    it('Given the same events, when edit-wins, then the concurrent later edit keeps the aggregate alive without the deleted fields', () => {
      const state = materializeAggregate([create, tomb, concurrentLater], {
        deleteRule: 'edit-wins',
      })
      expect(state).toMatchObject({
        status: 'live',
        data: { color: 'red' },
        appliedEventIds: ['e2'],
        discardedEventIds: ['e1'],
      })
    })

    it('Given a delete, when an older write arrives late, then it never resurrects the aggregate (either rule)', () => {
      // Concurrent with the delete but stamped before it.
      const older = ev('e0', { title: 'late' }, { node: 'c', wall: 3, causal: { c: 1 } })
      for (const deleteRule of ['delete-wins', 'edit-wins'] as DeleteRule[]) {
        expect(materializeAggregate([create, tomb, older], { deleteRule }).status).toBe('deleted')
      }
      // Without any causal context the stamps decide: before the delete, removed.
      const unstampedCausal = ev('e9', { title: 'x' }, { node: 'c', wall: 4 })
      expect(
        materializeAggregate([create, tomb, unstampedCausal], { deleteRule: 'edit-wins' }).status,
      ).toBe('deleted')
    })

    it('Given a delete, when a writer who had seen it edits again, then the aggregate is re-created from empty', () => {
      const recreate = ev('e3', { title: 'new' }, { node: 'b', wall: 10, causal: { a: 2, b: 1 } })
      const state = materializeAggregate([create, tomb, recreate])
      expect(state).toMatchObject({
        status: 'live',
        data: { title: 'new' },
        appliedEventIds: ['e3'],
      })
      // And a later delete that saw the re-creation removes it again.
      const again = del('d2', { node: 'a', wall: 11, causal: { a: 3, b: 1 } })
      expect(materializeAggregate([create, tomb, recreate, again])).toMatchObject({
        status: 'deleted',
        deletedBy: 'd2',
      })
    })

    it('Given a stamp far in the future on an edit the delete had seen, then causality, not the stamp, decides', () => {
      const seen = ev('e5', { title: 'skewed' }, { node: 'z', wall: 99, causal: { z: 1 } })
      const sawIt = del('d5', { node: 'a', wall: 6, causal: { a: 1, z: 1 } })
      expect(materializeAggregate([seen, sawIt], { deleteRule: 'edit-wins' }).status).toBe(
        'deleted',
      )
    })
  })

  describe('counters and sets', () => {
    const fields = { likes: 'counter', tags: 'set' } as const

    it('sums counter deltas from every replica', () => {
      const events = [
        ev('e1', { likes: 1 }, { node: 'a', wall: 1, causal: { a: 1 } }),
        ev('e2', { likes: 1 }, { node: 'b', wall: 1, causal: { b: 1 } }),
        ev('e3', { likes: -1 }, { node: 'a', wall: 2, causal: { a: 2, b: 1 } }),
      ]
      expect(materializeAggregate(events, { fields }).data).toEqual({ likes: 1 })
    })

    it('Given a remove concurrent with an add of the same tag, then the add wins; a remove that saw the add removes it', () => {
      const add = ev('e1', { tags: { add: ['x', 'y'] } }, { node: 'a', wall: 1, causal: { a: 1 } })
      const reAdd = ev('e2', { tags: { add: ['x'] } }, { node: 'b', wall: 2, causal: { b: 1 } })
      const remove = ev(
        'e3',
        { tags: { remove: ['x', 'y'] } },
        { node: 'a', wall: 3, causal: { a: 2 } },
      )
      expect(materializeAggregate([add, reAdd, remove], { fields }).data).toEqual({ tags: ['x'] })
      const removeAll = ev(
        'e4',
        { tags: { remove: ['x'] } },
        { node: 'c', wall: 4, causal: { a: 2, b: 1, c: 1 } },
      )
      expect(materializeAggregate([add, reAdd, remove, removeAll], { fields }).data).toEqual({
        tags: [],
      })
    })

    it('rejects a malformed set operation with invalid-event naming the field', () => {
      expect(() => materializeAggregate([ev('e1', { tags: ['x'] })], { fields })).toThrow(
        expect.objectContaining({
          code: 'invalid-event',
          details: { eventId: 'e1', field: 'data.tags' },
        }),
      )
    })
  })

  it('ignores duplicates and rejects two different events with one id, events of two aggregates, and non-object data', () => {
    const e1 = ev('e1', { a: 1 }, { wall: 1 })
    expect(materializeAggregate([e1, { ...e1 }, e1]).appliedEventIds).toEqual(['e1'])
    expect(() => materializeAggregate([e1, ev('e1', { a: 2 }, { wall: 1 })])).toThrow(
      expect.objectContaining({ code: 'event-id-conflict' }),
    )
    expect(() => materializeAggregate([e1, ev('e2', {}, { aggregateId: 'other' })])).toThrow(
      /several aggregates/,
    )
    try {
      materializeAggregate([ev('e3', [1, 2])])
      expect.unreachable()
    } catch (error) {
      expect(isSyncKitError(error, 'invalid-event') && error.details.field).toBe('data')
      expect(String(error)).toMatch(/has data of type array/)
    }
    expect(() => materializeAggregate([e1], { deleteRule: 'last' as DeleteRule })).toThrow(
      /deleteRule/,
    )
  })
})

// --- Property: a replicated history, delivered in any causal order, materialises identically. ---

type Op =
  | {
      readonly kind: 'edit'
      readonly replica: number
      readonly data: Readonly<Record<string, JsonValue>>
    }
  | { readonly kind: 'delete'; readonly replica: number }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number }
  | { readonly kind: 'tick'; readonly ms: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      replica: fc.integer({ min: 0, max: 2 }),
      data: fc.dictionary(
        fc.constantFrom('title', 'color', 'likes', 'tags'),
        fc.constantFrom<JsonValue>('a', 'b', null, 1, 2),
        { minKeys: 1, maxKeys: 3 },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      replica: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      from: fc.integer({ min: 0, max: 2 }),
      to: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 0, max: 3 }),
    }),
  },
)

const FIELDS = { likes: 'counter', tags: 'set', title: 'first-write-wins' } as const

/** Plays the operations like SyncManagers would (HLC, vector clocks, conflicts → fieldMerge). */
async function play(ops: readonly Op[]): Promise<Event[]> {
  const clock = new TestClock(1_000)
  const resolver = fieldMerge({ fields: FIELDS })
  const replicas = ['r0', 'r1', 'r2'].map((nodeId) => ({
    nodeId,
    hlc: new HybridLogicalClock({ nodeId, clock }),
    seen: VectorClock.EMPTY,
    events: new Map<string, Event>(),
  }))
  let n = 0
  for (const op of ops) {
    if (op.kind === 'tick') clock.set(clock.now() + op.ms)
    else if (op.kind === 'edit' || op.kind === 'delete') {
      const r = must(replicas[op.replica])
      r.seen = r.seen.increment(r.nodeId)
      const data: Record<string, JsonValue> = {}
      if (op.kind === 'edit') {
        for (const [k, v] of Object.entries(op.data)) {
          // Counter fields carry deltas, set fields operations.
          data[k] =
            k === 'likes'
              ? typeof v === 'number'
                ? v
                : 1
              : k === 'tags'
                ? { add: [String(v)], remove: v === null ? ['a'] : [] }
                : v
        }
      }
      const event: Event = {
        id: `e${++n}`,
        type: op.kind === 'edit' ? 'Edited' : TOMBSTONE_EVENT_TYPE,
        aggregateId: 'doc',
        data: op.kind === 'edit' ? data : null,
        metadata: { hlc: r.hlc.now().toString(), origin: r.nodeId, causal: r.seen.toString() },
      }
      r.events.set(event.id, event)
    } else if (op.from !== op.to) {
      const from = must(replicas[op.from])
      const to = must(replicas[op.to])
      for (const event of [...from.events.values()].sort(compareEvents)) {
        if (to.events.has(event.id)) continue
        const heads = [...to.events.values()]
        to.events.set(event.id, event)
        const causal = event.metadata?.causal
        if (typeof causal === 'string') to.seen = to.seen.merge(VectorClock.parse(causal))
        const stamp = event.metadata?.hlc
        if (typeof stamp === 'string') to.hlc.receive(Hlc.parse(stamp))
        for (const head of heads) {
          if (eventRelation(head, event) !== 'concurrent') continue
          const resolution = await resolver.resolve(conflictOf(head, event))
          for (const e of resolution.resolvedEvents)
            if (!to.events.has(e.id)) to.events.set(e.id, e)
        }
      }
    }
  }
  const all = new Map<string, Event>()
  for (const r of replicas) for (const e of r.events.values()) all.set(e.id, e)
  return [...all.values()]
}

/** A random linear extension of happened-before (a delivery order that respects causality). */
function causalShuffle(events: readonly Event[], choices: readonly number[]): Event[] {
  const left = [...events]
  const out: Event[] = []
  let i = 0
  while (left.length > 0) {
    const ready = left.filter((e) => left.every((o) => o === e || eventRelation(o, e) !== 'before'))
    const pick = must(ready[(choices[i++ % Math.max(choices.length, 1)] ?? 0) % ready.length])
    out.push(pick)
    left.splice(left.indexOf(pick), 1)
  }
  return out
}

describe('materializeAggregate: causality first, clocks second (rule 1)', () => {
  const TEN_YEARS_MS = 10 * 365 * 24 * 3_600_000

  it('Given an event stamped ten years ahead and a later edit made after seeing it, then the later edit wins its fields and the rest stays', () => {
    const ahead = ev(
      'e1',
      { title: 'future', color: 'red' },
      { node: 'a', wall: 1_000 + TEN_YEARS_MS, causal: { a: 1 } },
    )
    const after = ev('e2', { title: 'now' }, { node: 'b', wall: 1_000, causal: { a: 1, b: 1 } })

    const state = materializeAggregate([ahead, after])

    expect(state.data).toEqual({ title: 'now', color: 'red' })
    expect(state.appliedEventIds).toEqual(['e2', 'e1'])
  })

  it('Given a stamp that contradicts causality and a third event concurrent with both, then each field goes to its causally latest write, ties by HLC as the resolver decides them', async () => {
    // x → y, but x is stamped ten years ahead; z is concurrent with both, stamped between them.
    const x = ev('x', { f: 'x' }, { node: 'a', wall: 1_000 + TEN_YEARS_MS, causal: { a: 1 } })
    const y = ev('y', { f: null, g: 'y' }, { node: 'b', wall: 1_000, causal: { a: 1, b: 1 } })
    const z = ev('z', { f: 'z', g: 'z', h: 'z' }, { node: 'c', wall: 2_000, causal: { c: 1 } })

    const state = materializeAggregate([z, y, x])

    // f: y (which cleared it) saw x, so x is superseded; y and z are concurrent: z is later.
    // g: y and z concurrent, z later by HLC; the resolver agrees on that pair.
    expect(state.data).toEqual({ f: 'z', g: 'z', h: 'z' })
    expect((await lastWriteWins().resolve(conflictOf(y, z))).winner).toBe('z')
    // Without z, y's clear of f stands against x's far-future value.
    expect(materializeAggregate([x, y]).data).toEqual({ g: 'y' })
  })

  it('Given a causally later edit that does not set a field, then the earlier value of that field stays', () => {
    const x = ev('x', { f: 'x', g: 'x' }, { node: 'a', wall: 9_000, causal: { a: 1 } })
    const y = ev('y', { g: 'y' }, { node: 'b', wall: 1_000, causal: { a: 1, b: 1 } })
    const w = ev('w', { f: 'w' }, { node: 'c', wall: 5_000, causal: { c: 1 } })

    // f: x and w are both causal frontier writes of f (y did not write f); x is later by HLC.
    expect(materializeAggregate([x, y, w]).data).toEqual({ f: 'x', g: 'y' })
  })
})

describe('materializeAggregate over replicated histories (property, seeded)', () => {
  it('gives the same state for every causal delivery order, with duplicates, in one call or incrementally', async () => {
    // Tallies that prove the generated histories exercise what the property is about.
    const seen = { merges: 0, discarded: 0, deleted: 0, liveAfterDelete: 0 }
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 10 }),
        fc.constantFrom<DeleteRule>('delete-wins', 'edit-wins'),
        async (ops, choices, chunks, deleteRule) => {
          const events = await play(ops)
          if (events.length === 0) return
          const options = { deleteRule, fields: FIELDS }
          const reference = materializeAggregate(events, options)
          if (events.some((e) => e.id.startsWith('merge:'))) seen.merges++
          if (reference.discardedEventIds.length > 0) seen.discarded++
          if (reference.status === 'deleted') seen.deleted++
          if (reference.status === 'live' && events.some((e) => e.type === TOMBSTONE_EVENT_TYPE)) {
            seen.liveAfterDelete++
          }

          const delivered = causalShuffle(events, choices)
          const withDuplicates = [...delivered, ...delivered.slice(0, chunks[0] ?? 0)]
          expect(materializeAggregate(withDuplicates, options)).toEqual(reference)

          const projection = createProjection(options)
          let at = 0
          for (let c = 0; at < withDuplicates.length; c++) {
            const size = (chunks[c % chunks.length] ?? 0) + 1
            projection.apply(withDuplicates.slice(at, at + size))
            at += size
            projection.get('doc') // read between batches: the cache must not go stale
          }
          expect(projection.get('doc')).toEqual(reference)

          // The delete rule holds: every applied edit survived every delete, every discarded one
          // was seen by, stamped before, or (delete-wins) concurrent with some delete.
          const tombstones = events.filter((e) => e.type === TOMBSTONE_EVENT_TYPE)
          const byId = new Map(events.map((e) => [e.id, e]))
          for (const id of reference.appliedEventIds) {
            for (const t of tombstones) {
              const rel = eventRelation(must(byId.get(id)), t)
              expect(
                rel === 'after' ||
                  (rel === 'concurrent' &&
                    deleteRule === 'edit-wins' &&
                    compareEvents(must(byId.get(id)), t) > 0),
              ).toBe(true)
            }
          }
          for (const id of reference.discardedEventIds) {
            expect(
              tombstones.some((t) => {
                const rel = eventRelation(must(byId.get(id)), t)
                return (
                  rel === 'before' ||
                  rel === 'equal' ||
                  (rel === 'concurrent' &&
                    (deleteRule === 'delete-wins' || compareEvents(must(byId.get(id)), t) < 0))
                )
              }),
            ).toBe(true)
          }
        },
      ),
      { seed: 77_2026, numRuns: 150 },
    )
    expect(seen.merges).toBeGreaterThan(5)
    expect(seen.discarded).toBeGreaterThan(5)
    expect(seen.deleted).toBeGreaterThan(5)
    expect(seen.liveAfterDelete).toBeGreaterThan(5)
  })
})

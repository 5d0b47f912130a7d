import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { eventRelation } from '../causality/event-relation.js'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createProjection } from '../projections/create-projection.js'
import { compareEvents, hlcOf } from '../projections/event-order.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import { TOMBSTONE_EVENT_TYPE } from '../projections/tombstone.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { ConflictResolver, Event, JsonValue } from '../types/index.js'
import { Hlc, HybridLogicalClock } from '../versions/hlc.js'
import { VectorClock } from '../versions/vector-clock.js'
import { additiveMerge } from './additive-merge.js'
import { fieldMerge } from './field-merge.js'
import { firstWriteWins } from './first-write-wins.js'
import { lastWriteWins } from './last-write-wins.js'
import { manualResolver } from './manual-resolver.js'
import { resolveWith } from './resolve-with.js'
import { conflictOf, must, swapped } from './resolvers.fixture.js'
import { ruleBased } from './rule-based.js'

// Rule 1 of docs/causality.md under clocks skewed by hours: in random causal histories, played by
// replicas whose wall clocks are off by up to ±6 h (HLCs with the default 60 s drift bound, so
// stamps contradict causality often), every resolver and the projection let the causally later
// event win, and the state is the same for every delivery order.

const HOUR = 3_600_000
const FIELDS = ['f', 'g', 'h'] as const
const REPLICAS = 3

type Op =
  | { kind: 'edit'; replica: number; data: Record<string, JsonValue> }
  | { kind: 'delete'; replica: number }
  | { kind: 'sync'; from: number; to: number }
  | { kind: 'tick'; ms: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      replica: fc.nat({ max: REPLICAS - 1 }),
      data: fc.dictionary(fc.constantFrom(...FIELDS), fc.constantFrom<JsonValue>(1, 2, 'x', null), {
        minKeys: 1,
        maxKeys: 3,
      }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      replica: fc.nat({ max: REPLICAS - 1 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      from: fc.nat({ max: REPLICAS - 1 }),
      to: fc.nat({ max: REPLICAS - 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat({ max: 120_000 }) }),
  },
)

/** The resolvers the replicas of a history use to decide their conflicts. */
const HISTORY_RESOLVERS: [string, () => ConflictResolver][] = [
  ['lastWriteWins', () => lastWriteWins()],
  ['lastWriteWins edit-wins', () => lastWriteWins({ deleteRule: 'edit-wins' })],
  ['firstWriteWins', () => firstWriteWins()],
  ['fieldMerge', () => fieldMerge({ fields: { f: 'first-write-wins', g: 'max' } })],
  ['resolveWith', () => resolveWith(({ earlier, merge }) => merge({ h: earlier.id }))],
]

/** Every resolver, asked about causal pairs of the history. */
const ALL_RESOLVERS: [string, () => ConflictResolver][] = [
  ...HISTORY_RESOLVERS,
  ['additiveMerge', () => additiveMerge({ counters: ['n'] })],
  ['ruleBased', () => ruleBased({ rules: [{ match: {}, resolver: firstWriteWins() }] })],
  ['manualResolver', () => manualResolver({ store: createMemoryStore() })],
]

interface Replica {
  readonly nodeId: string
  readonly hlc: HybridLogicalClock
  seen: VectorClock
  /** Events in arrival order (a causal order). */
  readonly events: Map<string, Event>
}

interface Tally {
  inverted: number
  drifts: number
  conflicts: number
}

/** Plays a history like SyncManagers would (HLC with drift bound, vector clocks, conflicts). */
async function play(
  ops: readonly Op[],
  skews: readonly number[],
  resolver: ConflictResolver,
  tally: Tally,
): Promise<Replica[]> {
  let now = 1_717_000_000_000
  const replicas: Replica[] = skews.map((skew, i) => ({
    nodeId: `r${i}`,
    hlc: new HybridLogicalClock({ nodeId: `r${i}`, clock: { now: () => now + skew } }),
    seen: VectorClock.EMPTY,
    events: new Map(),
  }))
  let n = 0
  const deliver = async (to: Replica, event: Event): Promise<void> => {
    if (to.events.has(event.id)) return
    const heads = [...to.events.values()].filter(
      (e) => ![...to.events.values()].some((o) => eventRelation(e, o) === 'before'),
    )
    to.events.set(event.id, event)
    const causal = event.metadata?.causal
    if (typeof causal === 'string') to.seen = to.seen.merge(VectorClock.parse(causal))
    const stamp = hlcOf(event)
    if (stamp !== undefined && event.metadata?.origin !== to.nodeId) {
      try {
        to.hlc.receive(Hlc.parse(stamp))
      } catch (error) {
        if (!isSyncKitError(error, 'clock-drift')) throw error
        tally.drifts++
      }
    }
    for (const head of heads) {
      if (eventRelation(head, event) !== 'concurrent') continue
      tally.conflicts++
      const resolution = await resolver.resolve(conflictOf(head, event))
      for (const e of resolution.resolvedEvents) await deliver(to, e)
    }
  }
  const sync = async (from: Replica, to: Replica): Promise<void> => {
    for (const event of [...from.events.values()]) await deliver(to, event)
  }
  for (const op of ops) {
    if (op.kind === 'tick') now += op.ms
    else if (op.kind === 'sync') {
      if (op.from !== op.to) await sync(must(replicas[op.from]), must(replicas[op.to]))
    } else {
      const r = must(replicas[op.replica])
      r.seen = r.seen.increment(r.nodeId)
      const event: Event = {
        id: `e${++n}`,
        type: op.kind === 'edit' ? 'Edited' : TOMBSTONE_EVENT_TYPE,
        aggregateId: 'doc',
        data: op.kind === 'edit' ? op.data : null,
        metadata: { hlc: r.hlc.now().toString(), origin: r.nodeId, causal: r.seen.toString() },
      }
      r.events.set(event.id, event)
    }
  }
  // Everyone syncs with everyone until nothing new arrives (resolutions add merge events).
  for (let round = 0; round < 4; round++) {
    for (const from of replicas) for (const to of replicas) if (from !== to) await sync(from, to)
  }
  return replicas
}

/** A permutation of `events` chosen by `keys` (any order, not only causal ones). */
function permute(events: readonly Event[], keys: readonly number[]): Event[] {
  return events
    .map((event, i) => ({ event, key: keys[i % keys.length] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.event)
}

/** The value fields' causally latest writes, by the rule stated in docs/causality.md. */
function expectCausallyLatest(events: readonly Event[], data: Readonly<Record<string, JsonValue>>) {
  for (const field of FIELDS) {
    const writes = events.filter(
      (e) => typeof e.data === 'object' && e.data !== null && field in e.data,
    )
    if (writes.length === 0) continue
    // The frontier: writes of the field no other write of it happened after.
    const frontier = writes.filter((w) => !writes.some((o) => eventRelation(w, o) === 'before'))
    expect(frontier.length).toBeGreaterThan(0)
    const winner = must([...frontier].sort(compareEvents).at(-1))
    const value = (winner.data as Record<string, JsonValue>)[field]
    expect(data[field] ?? null).toEqual(value)
    // The causally later write always beats the earlier one: the winner was seen by no write.
    for (const w of writes) expect(eventRelation(winner, w)).not.toBe('before')
  }
}

describe('causality first under clocks skewed by hours (property, seeded)', () => {
  it.each(HISTORY_RESOLVERS)(
    'with %s, every replica converges on one state for every delivery order, each field going to its causally latest write, and every resolver lets a causally later event win',
    async (_name, makeResolver) => {
      const tally: Tally = { inverted: 0, drifts: 0, conflicts: 0 }
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }),
          fc.array(fc.integer({ min: -6 * HOUR, max: 6 * HOUR }), {
            minLength: REPLICAS,
            maxLength: REPLICAS,
          }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
          fc.constantFrom('delete-wins' as const, 'edit-wins' as const),
          async (ops, skews, keys, deleteRule) => {
            const replicas = await play(ops, skews, makeResolver(), tally)
            const first = must(replicas[0])
            const events = [...first.events.values()]
            if (events.length === 0) return
            for (const r of replicas)
              expect([...r.events.keys()].sort()).toEqual([...first.events.keys()].sort())

            // One state for every delivery order and batching, from any replica's log.
            const reference = materializeAggregate(events, { deleteRule })
            for (const r of replicas) {
              expect(
                materializeAggregate(permute([...r.events.values()], keys), { deleteRule }),
              ).toEqual(reference)
            }
            const projection = createProjection({ deleteRule })
            for (const event of permute(events, [...keys].reverse())) projection.apply([event])
            expect(projection.get('doc')).toEqual(reference)

            // Rule 1 in the projection: each field goes to its causally latest surviving write.
            const applied = new Set(reference.appliedEventIds)
            expectCausallyLatest(
              events.filter((e) => applied.has(e.id)),
              reference.data,
            )

            // Rule 1 in every resolver: for pairs a → b (stamps in any order), b wins, both sides.
            const pairs = events.flatMap((a) =>
              events.filter((b) => eventRelation(a, b) === 'before').map((b) => [a, b] as const),
            )
            const inverted = pairs.filter(([a, b]) => compareEvents(a, b) > 0)
            tally.inverted += inverted.length
            for (const [a, b] of [...inverted.slice(0, 3), ...pairs.slice(0, 2)]) {
              for (const [, make] of ALL_RESOLVERS) {
                const resolver = make()
                const one = await resolver.resolve(conflictOf(a, b))
                const two = await resolver.resolve(swapped(conflictOf(a, b)))
                expect(one).toMatchObject({ winner: b.id, resolvedEvents: [b] })
                expect(two.winner).toBe(b.id)
              }
            }
          },
        ),
        { seed: 9_2026, numRuns: 100 },
      )
      // The histories exercised what the property is about.
      expect(tally.inverted).toBeGreaterThan(200)
      expect(tally.drifts).toBeGreaterThan(200)
      expect(tally.conflicts).toBeGreaterThan(200)
    },
  )
})

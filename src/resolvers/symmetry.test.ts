import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TOMBSTONE_EVENT_TYPE } from '../projections/tombstone.js'
import type { ConflictResolver, Event, JsonValue, ResolvedConflict } from '../types/index.js'
import { additiveMerge } from './additive-merge.js'
import { fieldMerge } from './field-merge.js'
import { firstWriteWins } from './first-write-wins.js'
import { conflictOf, ev, mirrorDecision, swapped } from './resolvers.fixture.js'
import { lastWriteWins } from './last-write-wins.js'
import { resolveWith } from './resolve-with.js'
import { ruleBased } from './rule-based.js'

// Every resolver must give the same outcome for (a, b) and (b, a): the other replica sees the
// same conflict with local and remote swapped. New events must be byte-identical.

const value: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('x', 'y', 'Z', 'é', '\u{1F600}'),
  fc.constant(null),
  fc.array(fc.constantFrom('p', 'q', 'r'), { maxLength: 3 }),
)

const plainData: fc.Arbitrary<JsonValue> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), value, { maxKeys: 4 }),
  },
  { weight: 1, arbitrary: value },
)

const additiveData: fc.Arbitrary<JsonValue> = fc.record(
  {
    n: fc.integer({ min: -2, max: 3 }),
    s: fc.record(
      {
        add: fc.array(fc.constantFrom('p', 'q'), { maxLength: 2 }),
        remove: fc.array(fc.constantFrom('p', 'q'), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    a: value,
  },
  { requiredKeys: [] },
)

function eventArb(id: string, data: fc.Arbitrary<JsonValue>): fc.Arbitrary<Event> {
  return fc
    .record({
      wall: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      counter: fc.integer({ min: 0, max: 1 }),
      node: fc.constantFrom('a', 'b', 'B'),
      seen: fc.integer({ min: 0, max: 2 }),
      tombstone: fc.integer({ min: 0, max: 5 }).map((roll) => roll === 0),
      data,
    })
    .map((r) =>
      ev(id, r.data, {
        node: r.node,
        counter: r.counter,
        ...(r.wall !== undefined ? { wall: r.wall } : {}),
        causal: { [r.node]: 1, ...(r.seen > 0 ? { other: r.seen } : {}) },
        ...(r.tombstone ? { type: TOMBSTONE_EVENT_TYPE } : {}),
      }),
    )
}

function pairArb(data: fc.Arbitrary<JsonValue>): fc.Arbitrary<[Event, Event]> {
  return fc
    .uniqueArray(fc.constantFrom('e1', 'e2', 'E', 'é', '\u{1F600}', 'z9'), {
      minLength: 2,
      maxLength: 2,
    })
    .chain(([i, j]) => fc.tuple(eventArb(i as string, data), eventArb(j as string, data)))
}

async function expectSymmetric(
  resolver: ConflictResolver,
  a: Event,
  b: Event,
): Promise<ResolvedConflict> {
  const conflict = conflictOf(a, b)
  const one = await resolver.resolve(conflict)
  const two = await resolver.resolve(swapped(conflict))
  expect(JSON.stringify(two.resolvedEvents)).toBe(JSON.stringify(one.resolvedEvents))
  expect(two.winner).toBe(one.winner)
  expect(two.reasons).toEqual(one.reasons)
  expect(two.decision).toBe(mirrorDecision(one.decision))
  return one
}

const plainResolvers: [string, ConflictResolver][] = [
  ['lastWriteWins', lastWriteWins()],
  ['lastWriteWins edit-wins', lastWriteWins({ deleteRule: 'edit-wins' })],
  ['firstWriteWins', firstWriteWins()],
  ['fieldMerge', fieldMerge({ fields: { a: 'max', b: 'union', c: 'first-write-wins', d: 'min' } })],
  [
    'fieldMerge custom rule',
    fieldMerge({
      defaultRule: ({ earlier, later }) => [earlier.value, later.value],
      deleteRule: 'edit-wins',
    }),
  ],
  [
    'resolveWith',
    resolveWith(({ earlier, later, keep, merge }) =>
      JSON.stringify(earlier.data).length >= JSON.stringify(later.data).length
        ? keep(earlier)
        : merge({ both: [earlier.id, later.id] }),
    ),
  ],
  [
    'ruleBased',
    ruleBased({
      rules: [
        { match: { type: TOMBSTONE_EVENT_TYPE }, resolver: firstWriteWins() },
        { match: { predicate: ({ later }) => later.id < 'e2' }, resolver: fieldMerge() },
      ],
    }),
  ],
]

describe('resolver symmetry (property, seeded)', () => {
  it.each(plainResolvers)(
    '%s gives the same outcome whichever side is local',
    async (_name, resolver) => {
      await fc.assert(
        fc.asyncProperty(pairArb(plainData), async ([a, b]) => {
          await expectSymmetric(resolver, a, b)
        }),
        { seed: 20260601, numRuns: 250 },
      )
    },
  )

  it('additiveMerge gives the same outcome whichever side is local', async () => {
    const resolver = additiveMerge({ counters: ['n'], sets: ['s'], fields: { a: 'max' } })
    await fc.assert(
      fc.asyncProperty(pairArb(additiveData), async ([a, b]) => {
        await expectSymmetric(resolver, a, b)
      }),
      { seed: 20260602, numRuns: 250 },
    )
  })
})

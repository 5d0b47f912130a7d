import { describe, expect, it } from 'vitest'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import { TOMBSTONE_EVENT_TYPE } from '../projections/tombstone.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { ConflictResolver } from '../types/index.js'
import { additiveMerge } from './additive-merge.js'
import { fieldMerge } from './field-merge.js'
import { firstWriteWins } from './first-write-wins.js'
import { lastWriteWins } from './last-write-wins.js'
import { manualResolver } from './manual-resolver.js'
import { resolveWith } from './resolve-with.js'
import { conflictOf, ev, swapped } from './resolvers.fixture.js'
import { ruleBased } from './rule-based.js'

// Rule 1 of docs/causality.md, "causality first, clocks second": an event written after seeing
// another wins over it in every resolver, whatever the stamps say.

const TEN_YEARS_MS = 10 * 365 * 24 * 3_600_000
const NOW = 1_717_000_000_000

// Replica a's clock is ten years fast; b received e1 (its HLC refused to follow) and then edited.
const ahead = ev(
  'e1',
  { title: 'from the future', n: 1, s: { add: ['x'] } },
  { node: 'a', wall: NOW + TEN_YEARS_MS, causal: { a: 1 } },
)
const after = ev(
  'e2',
  { title: 'seen and changed', n: 1, s: { add: ['y'] } },
  { node: 'b', wall: NOW, causal: { a: 1, b: 1 } },
)

const resolvers: [string, () => ConflictResolver][] = [
  ['lastWriteWins', () => lastWriteWins()],
  ['firstWriteWins', () => firstWriteWins()],
  ['fieldMerge', () => fieldMerge({ fields: { title: 'first-write-wins' }, defaultRule: 'max' })],
  ['additiveMerge', () => additiveMerge({ counters: ['n'], sets: ['s'] })],
  ['ruleBased', () => ruleBased({ rules: [{ match: {}, resolver: firstWriteWins() }] })],
  ['resolveWith', () => resolveWith(({ earlier, keep }) => keep(earlier))],
  ['manualResolver', () => manualResolver({ store: createMemoryStore() })],
]

describe('causality first, clocks second (rule 1) in every resolver', () => {
  it.each(resolvers)(
    'Given an event stamped ten years ahead and an edit made after seeing it, when %s resolves the pair from either side, then the edit wins and nothing is written',
    async (_name, make) => {
      const resolver = make()
      const fromA = await resolver.resolve(conflictOf(ahead, after))
      const fromB = await resolver.resolve(swapped(conflictOf(ahead, after)))

      expect(fromA).toMatchObject({
        winner: 'e2',
        decision: 'keep-remote',
        resolvedEvents: [after],
      })
      expect(fromB).toMatchObject({ winner: 'e2', decision: 'keep-local', resolvedEvents: [after] })
      expect(fromB.reasons).toEqual(fromA.reasons)
      expect(fromA.reasons.join()).toContain('was written after seeing "e1"')
    },
  )

  it('Given a delete and an edit made after seeing it but stamped before it, when resolved under delete-wins, then the edit wins, as in the projection', async () => {
    const tomb = ev('d1', null, {
      node: 'a',
      wall: NOW + 300_000,
      causal: { a: 1 },
      type: TOMBSTONE_EVENT_TYPE,
    })
    const recreate = ev('e3', { title: 'again' }, { node: 'b', wall: NOW, causal: { a: 1, b: 1 } })

    const result = await lastWriteWins({ deleteRule: 'delete-wins' }).resolve(
      conflictOf(tomb, recreate),
    )

    expect(result.winner).toBe('e3')
    expect(materializeAggregate([tomb, recreate])).toMatchObject({
      status: 'live',
      data: { title: 'again' },
    })
  })

  it('Given two concurrent edits, then the HLC still decides (rule 1 changes nothing for them)', async () => {
    const early = ev('c1', { title: 'early' }, { node: 'a', wall: NOW + 1, causal: { a: 1 } })
    const late = ev('c2', { title: 'late' }, { node: 'b', wall: NOW + 2, causal: { b: 1 } })

    expect((await lastWriteWins().resolve(conflictOf(late, early))).winner).toBe('c2')
    expect((await firstWriteWins().resolve(conflictOf(late, early))).winner).toBe('c1')
  })
})

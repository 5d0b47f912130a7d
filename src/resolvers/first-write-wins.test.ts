import { describe, expect, it } from 'vitest'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import { createTombstone } from '../projections/tombstone.js'
import { firstWriteWins } from './first-write-wins.js'
import { conflictOf, ev } from './resolvers.fixture.js'

describe('firstWriteWins', () => {
  it('Given two bookings of one seat, when resolved, then the earlier keeps the seat and a correction event restores its value', async () => {
    const first = ev(
      'e1',
      { holder: 'ann', note: 'window' },
      { node: 'a', wall: 1000, causal: { a: 1 } },
    )
    const second = ev(
      'e2',
      { holder: 'bob', paid: true },
      { node: 'b', wall: 2000, causal: { b: 1 } },
    )

    const result = await firstWriteWins().resolve(conflictOf(second, first))

    expect(result.decision).toBe('keep-remote')
    expect(result.winner).toBe('e1')
    expect(result.resolvedEvents).toHaveLength(2)
    const correction = result.resolvedEvents[1]
    expect(correction?.data).toEqual({ holder: 'ann' })
    // Then the projection shows the first holder; the uncontested field of the loser stays.
    const state = materializeAggregate([first, second, ...result.resolvedEvents])
    expect(state.data).toEqual({ holder: 'ann', note: 'window', paid: true })
  })

  it('writes nothing new when no field is contested', async () => {
    const first = ev('e1', { a: 1 }, { node: 'a', wall: 1 })
    const second = ev('e2', { b: 2, a: 1 }, { node: 'b', wall: 2 })
    const result = await firstWriteWins().resolve(conflictOf(first, second))
    expect(result.resolvedEvents).toEqual([first])
    expect(result.decision).toBe('keep-local')
  })

  it('restores a whole non-object payload', async () => {
    const first = ev('e1', 'draft', { node: 'a', wall: 1 })
    const second = ev('e2', 'final', { node: 'b', wall: 2 })
    const result = await firstWriteWins().resolve(conflictOf(first, second))
    expect(result.resolvedEvents[1]?.data).toBe('draft')
  })

  it('decides a delete against an edit by the delete rule, not by order', async () => {
    const edit = ev('e1', { a: 1 }, { node: 'a', wall: 1 })
    const del = {
      ...createTombstone({ aggregateId: 'doc', id: 'd' }),
      metadata: { hlc: '000000000002-0000-b' },
    }
    expect((await firstWriteWins().resolve(conflictOf(edit, del))).winner).toBe('d')
    expect(
      (await firstWriteWins({ deleteRule: 'edit-wins' }).resolve(conflictOf(edit, del))).winner,
    ).toBe('d')
    const laterEdit = ev('e3', { a: 1 }, { node: 'a', wall: 3 })
    expect(
      (await firstWriteWins({ deleteRule: 'edit-wins' }).resolve(conflictOf(laterEdit, del)))
        .winner,
    ).toBe('e3')
  })
})

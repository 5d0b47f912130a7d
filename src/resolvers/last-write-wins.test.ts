import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createTombstone } from '../projections/tombstone.js'
import { conflictOf, ev, mirrorDecision, swapped } from './resolvers.fixture.js'
import { lastWriteWins } from './last-write-wins.js'

describe('lastWriteWins', () => {
  it('Given two concurrent edits, when resolved, then the one with the greater HLC is kept and nothing new is written', async () => {
    const older = ev('e1', { title: 'old' }, { node: 'a', wall: 1000, causal: { a: 1 } })
    const newer = ev('e2', { title: 'new' }, { node: 'b', wall: 2000, causal: { b: 1 } })

    const fromA = await lastWriteWins().resolve(conflictOf(older, newer))
    const fromB = await lastWriteWins().resolve(conflictOf(newer, older))

    expect(fromA).toEqual({
      resolvedEvents: [newer],
      decision: 'keep-remote',
      winner: 'e2',
      reasons: [expect.stringContaining('"e2"')],
    })
    expect(fromB.decision).toBe('keep-local')
    expect(fromB.resolvedEvents).toEqual(fromA.resolvedEvents)
    expect(fromB.reasons).toEqual(fromA.reasons)
  })

  it('breaks an HLC tie on wall and counter by node id byte order, then by event id', async () => {
    const fromA = ev('z', {}, { node: 'A', wall: 5, counter: 3 })
    const fromLowerCaseA = ev('y', {}, { node: 'a', wall: 5, counter: 3 })
    // 'a' (0x61) sorts after 'A' (0x41) by byte order.
    expect((await lastWriteWins().resolve(conflictOf(fromA, fromLowerCaseA))).winner).toBe('y')

    const x = ev('x1', {}, { hlc: '0000000003e8-0000-n' })
    const y = ev('x2', {}, { hlc: '0000000003e8-0000-n' })
    expect((await lastWriteWins().resolve(conflictOf(y, x))).winner).toBe('x2')
  })

  it('treats a missing or malformed stamp as older than any stamped event (documented fallback)', async () => {
    const unstamped = ev('u', {})
    const malformed = ev('m', {}, { hlc: 'not-a-stamp' })
    const stamped = ev('s', {}, { node: 'a', wall: 1 })
    expect((await lastWriteWins().resolve(conflictOf(stamped, unstamped))).winner).toBe('s')
    expect((await lastWriteWins().resolve(conflictOf(malformed, stamped))).winner).toBe('s')
    // Both without a stamp: by id, in code-point order.
    expect((await lastWriteWins().resolve(conflictOf(unstamped, malformed))).winner).toBe('u')
  })

  it('Given a delete concurrent with a later edit, when delete-wins (default), then the delete is kept; with edit-wins the later edit is', async () => {
    const del = {
      ...createTombstone({ aggregateId: 'doc', id: 'd1' }),
      metadata: { hlc: '0000000003e8-0000-a' },
    }
    const edit = ev('e1', { title: 'x' }, { node: 'b', wall: 2000 })

    const deleteWins = await lastWriteWins().resolve(conflictOf(edit, del))
    expect(deleteWins).toMatchObject({ winner: 'd1', decision: 'keep-remote' })

    const editWins = await lastWriteWins({ deleteRule: 'edit-wins' }).resolve(conflictOf(edit, del))
    expect(editWins).toMatchObject({ winner: 'e1', decision: 'keep-local' })
  })

  it('is symmetric: the same conflict seen from either replica gives the same outcome (property, seeded)', async () => {
    const event = (id: string) =>
      fc
        .record({
          wall: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
          counter: fc.integer({ min: 0, max: 2 }),
          node: fc.constantFrom('a', 'b', 'B'),
          tomb: fc.boolean(),
        })
        .map(({ wall, counter, node, tomb }) =>
          ev(
            id,
            { v: id },
            {
              node,
              counter,
              ...(wall !== undefined ? { wall } : {}),
              ...(tomb ? { type: 'sync-kit:tombstone' } : {}),
            },
          ),
        )
    const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), {
      minLength: 2,
      maxLength: 2,
    })
    await fc.assert(
      fc.asyncProperty(
        ids.chain(([i, j]) => fc.tuple(event(i as string), event(j as string))),
        fc.constantFrom('delete-wins', 'edit-wins') as fc.Arbitrary<'delete-wins' | 'edit-wins'>,
        async ([a, b], deleteRule) => {
          const resolver = lastWriteWins({ deleteRule })
          const c = conflictOf(a, b)
          const one = await resolver.resolve(c)
          const two = await resolver.resolve(swapped(c))
          expect(two.resolvedEvents).toEqual(one.resolvedEvents)
          expect(two.winner).toBe(one.winner)
          expect(two.reasons).toEqual(one.reasons)
          expect(two.decision).toBe(mirrorDecision(one.decision))
        },
      ),
      { seed: 4242, numRuns: 300 },
    )
  })

  it('rejects a malformed conflict with invalid-argument and an unknown deleteRule at construction', async () => {
    const a = ev('e1', {}, { aggregateId: 'x' })
    const b = ev('e2', {}, { aggregateId: 'y' })
    await expect(lastWriteWins().resolve(conflictOf(a, b))).rejects.toSatisfy((e) =>
      isSyncKitError(e, 'invalid-argument'),
    )
    await expect(lastWriteWins().resolve(conflictOf(a, a))).rejects.toThrow(
      /never conflicts with itself/,
    )
    expect(() => lastWriteWins({ deleteRule: 'nope' as 'edit-wins' })).toThrow(/deleteRule/)
  })

  it('rejects with aborted when the signal already fired', async () => {
    const controller = new AbortController()
    controller.abort()
    const c = conflictOf(ev('e1', {}), ev('e2', {}))
    await expect(lastWriteWins().resolve(c, { signal: controller.signal })).rejects.toSatisfy((e) =>
      isSyncKitError(e, 'aborted'),
    )
  })
})

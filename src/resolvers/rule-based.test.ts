import { describe, expect, it } from 'vitest'
import type { ConflictResolver } from '../types/index.js'
import { conflictOf, ev } from './resolvers.fixture.js'
import { ruleBased } from './rule-based.js'

function named(decision: string): ConflictResolver {
  return {
    async resolve(conflict) {
      return { resolvedEvents: [conflict.remote.event], decision, reasons: [decision] }
    },
  }
}

describe('ruleBased', () => {
  const resolver = ruleBased({
    rules: [
      { match: { type: 'Liked' }, resolver: named('likes') },
      {
        match: { aggregateId: ['settings', 'prefs'] },
        resolver: named('settings'),
        name: 'settings rule',
      },
      {
        match: { type: 'Renamed', predicate: ({ later }) => later.metadata?.tenant === 'vip' },
        resolver: named('vip'),
      },
      { match: {}, resolver: named('catch-all') },
    ],
    fallback: named('fallback'),
  })

  it('Given several rules, when a conflict matches more than one, then the first match decides and its reasons say which', async () => {
    const liked = ev('e1', {}, { type: 'Liked', aggregateId: 'settings', wall: 1 })
    const other = ev('e2', {}, { type: 'Renamed', aggregateId: 'settings', wall: 2 })
    const result = await resolver.resolve(conflictOf(other, liked))
    expect(result.decision).toBe('likes')
    expect(result.reasons).toEqual(['rule-based: rule 0 matched', 'likes'])
  })

  it('matches a type on either side, so both replicas pick the same rule', async () => {
    const liked = ev('e1', {}, { type: 'Liked', wall: 1 })
    const renamed = ev('e2', {}, { type: 'Renamed', wall: 2 })
    expect((await resolver.resolve(conflictOf(liked, renamed))).decision).toBe('likes')
    expect((await resolver.resolve(conflictOf(renamed, liked))).decision).toBe('likes')
  })

  it('ANDs criteria: aggregate, then type with a predicate, then the catch-all', async () => {
    const s = await resolver.resolve(
      conflictOf(ev('e1', {}, { aggregateId: 'prefs' }), ev('e2', {}, { aggregateId: 'prefs' })),
    )
    expect(s.reasons[0]).toBe('rule-based: settings rule matched')
    const vip = ev('e2', {}, { type: 'Renamed', wall: 2, tenant: 'vip' })
    expect((await resolver.resolve(conflictOf(ev('e1', {}, { wall: 1 }), vip))).decision).toBe(
      'vip',
    )
    const plain = ev('e2', {}, { type: 'Renamed', wall: 2 })
    expect((await resolver.resolve(conflictOf(ev('e1', {}, { wall: 1 }), plain))).decision).toBe(
      'catch-all',
    )
  })

  it('falls back when nothing matches (lastWriteWins by default)', async () => {
    const onlyLikes = ruleBased({ rules: [{ match: { type: 'Liked' }, resolver: named('likes') }] })
    const a = ev('e1', {}, { wall: 1 })
    const b = ev('e2', {}, { wall: 2 })
    const result = await onlyLikes.resolve(conflictOf(b, a))
    expect(result).toMatchObject({ decision: 'keep-local', winner: 'e2' })
    expect(result.reasons[0]).toBe('rule-based: no rule matched; fallback decides')
  })

  it('rejects malformed rules at construction with invalid-argument', () => {
    expect(() => ruleBased({ rules: 'x' as never })).toThrow(/must be an array/)
    expect(() => ruleBased({ rules: [{ resolver: named('x') } as never] })).toThrow(
      /rules\[0\] needs a match/,
    )
    expect(() => ruleBased({ rules: [{ match: {}, resolver: {} as never }] })).toThrow(
      /needs a resolver/,
    )
    expect(() =>
      ruleBased({ rules: [{ match: { type: 3 as never }, resolver: named('x') }] }),
    ).toThrow(/match.type/)
    expect(() => ruleBased({ rules: [], fallback: {} as never })).toThrow(/fallback/)
  })
})

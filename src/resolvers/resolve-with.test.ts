import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import type { ResolvedConflict } from '../types/index.js'
import { conflictOf, ev } from './resolvers.fixture.js'
import { resolveWith } from './resolve-with.js'

describe('resolveWith', () => {
  const a = ev('e1', { text: 'a long note', n: 1 }, { node: 'a', wall: 1 })
  const b = ev('e2', { text: 'short', n: 2 }, { node: 'b', wall: 2 })

  it('Given a function keeping the longer text, when it keeps the earlier event, then a correction event makes it prevail', async () => {
    const resolver = resolveWith(({ earlier, later, keep }) => {
      const x = (earlier.data as { text: string }).text
      const y = (later.data as { text: string }).text
      return keep(x.length >= y.length ? earlier : later, ['longer text wins'])
    })

    const result = await resolver.resolve(conflictOf(b, a))

    expect(result).toMatchObject({ decision: 'keep-remote', winner: 'e1' })
    expect(result.reasons[0]).toBe('longer text wins')
    expect(materializeAggregate([a, b, ...result.resolvedEvents]).data).toEqual({
      text: 'a long note',
      n: 1,
    })
  })

  it('builds deterministic merge events and defers', async () => {
    const merge = resolveWith(
      ({ earlier, later, merge }) => merge({ n: 10, from: [earlier.id, later.id] }),
      {
        name: 'sum',
      },
    )
    const one = await merge.resolve(conflictOf(a, b))
    const two = await merge.resolve(conflictOf(b, a))
    expect(one.decision).toBe('merge')
    expect(one.resolvedEvents[2]).toEqual(two.resolvedEvents[2])
    expect(one.resolvedEvents[2]?.metadata?.['resolver']).toBe('sum')

    const defer = await resolveWith(({ defer }) => defer(['ask the user'])).resolve(
      conflictOf(a, b),
    )
    expect(defer).toEqual({ resolvedEvents: [], decision: 'defer', reasons: ['ask the user'] })
  })

  it('rejects a result that is not a resolution with resolver-failed, and keep() of a foreign event', async () => {
    const broken = resolveWith(() => ({ decision: 'merge' }) as unknown as ResolvedConflict)
    await expect(broken.resolve(conflictOf(a, b))).rejects.toSatisfy(
      (e) => isSyncKitError(e, 'resolver-failed') && e.details.aggregateId === 'doc',
    )
    const foreign = resolveWith(({ keep }) => keep(ev('x', {})))
    await expect(foreign.resolve(conflictOf(a, b))).rejects.toThrow(/keep\(\) takes one of/)
    expect(() => resolveWith('nope' as never)).toThrow(/needs a function/)
  })

  it('passes the signal on and honours an aborted one', async () => {
    const controller = new AbortController()
    let got: AbortSignal | undefined
    await resolveWith(({ keep, later }, { signal }) => {
      got = signal
      return keep(later)
    }).resolve(conflictOf(a, b), { signal: controller.signal })
    expect(got).toBe(controller.signal)
    controller.abort()
    await expect(
      resolveWith(({ keep, later }) => keep(later)).resolve(conflictOf(a, b), {
        signal: controller.signal,
      }),
    ).rejects.toSatisfy((e) => isSyncKitError(e, 'aborted'))
  })
})

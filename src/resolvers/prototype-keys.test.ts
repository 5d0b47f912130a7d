/**
 * Adversarial regression tests: payload fields named like `Object.prototype` members
 * (`constructor`, `toString`, `__proto__`) are ordinary fields for every resolver and for
 * materialisation. Such keys arrive from any JSON parser (`JSON.parse` makes `__proto__` an own
 * property) and from hostile peers.
 */
import { describe, expect, it } from 'vitest'
import { canonicalJson, validateEvent } from '../core/event-validation.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import type { Conflict, ConflictResolver, Event } from '../types/index.js'
import { Hlc } from '../versions/hlc.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { VectorClock } from '../versions/vector-clock.js'
import { fieldMerge } from './field-merge.js'
import { firstWriteWins } from './first-write-wins.js'
import { lastWriteWins } from './last-write-wins.js'

/** An event stamped by `node` at `wall` ms, concurrent with every other node's first event. */
function stamped(id: string, node: string, wall: number, dataJson: string): Event {
  return validateEvent(
    {
      id,
      type: 'Edited',
      aggregateId: 'doc',
      data: JSON.parse(dataJson) as unknown,
      metadata: {
        hlc: new Hlc(wall, 0, node).toString(),
        origin: node,
        causal: VectorClock.from([[node, 1]]).toString(),
      },
    },
    'test',
  )
}

function conflictOf(local: Event, remote: Event): Conflict {
  return {
    eventType: remote.type,
    aggregateId: remote.aggregateId,
    changedFields: [],
    metadata: {},
    local: { event: local, version: new SequenceVersion(1) },
    remote: { event: remote, version: new SequenceVersion(2) },
  }
}

async function mergedData(resolver: ConflictResolver, a: Event, b: Event): Promise<unknown[]> {
  const resolution = await resolver.resolve(conflictOf(a, b))
  return resolution.resolvedEvents
    .filter((e) => e.id !== a.id && e.id !== b.id)
    .map((e) => JSON.parse(canonicalJson(e.data)) as unknown)
}

describe('resolvers and materialisation with prototype-named fields', () => {
  it('Given a field named "constructor" set by one side only, When fieldMerge resolves with first-write-wins or max, Then it is uncontested and nothing throws', async () => {
    const earlier = stamped('e1', 'a', 1000, '{"title":"x"}')
    const later = stamped('e2', 'b', 2000, '{"constructor":"y","title":"z","toString":"s"}')
    for (const defaultRule of ['first-write-wins', 'max', 'min', 'union'] as const) {
      const resolver = fieldMerge({ defaultRule })
      const merges = await mergedData(resolver, earlier, later)
      for (const data of merges) {
        expect(Object.keys(data as object)).not.toContain('constructor')
        expect(Object.keys(data as object)).not.toContain('toString')
      }
    }
  })

  it('Given both sides set "__proto__" to different objects, When fieldMerge or firstWriteWins resolve, Then the merge event carries "__proto__" as a plain field', async () => {
    const earlier = stamped('e1', 'a', 1000, '{"__proto__":{"v":1}}')
    const later = stamped('e2', 'b', 2000, '{"__proto__":{"v":2}}')

    const byRule = await mergedData(fieldMerge({ defaultRule: 'first-write-wins' }), later, earlier)
    expect(byRule).toHaveLength(1)
    expect(canonicalJson(byRule[0])).toBe('{"__proto__":{"v":1}}')

    const byFirst = await mergedData(firstWriteWins(), earlier, later)
    expect(byFirst).toHaveLength(1)
    expect(canonicalJson(byFirst[0])).toBe('{"__proto__":{"v":1}}')

    const byLast = await lastWriteWins().resolve(conflictOf(earlier, later))
    expect(byLast.winner).toBe('e2')
  })

  it('Given an event whose data has a "__proto__" field, When materialised, Then the state holds it as an own field and inherits nothing from it', () => {
    const hostile = stamped('e1', 'a', 1000, '{"__proto__":{"isAdmin":true},"title":"x"}')

    const state = materializeAggregate([hostile])

    expect(state.status).toBe('live')
    expect(Object.getPrototypeOf(state.data)).toBe(Object.prototype)
    expect('isAdmin' in state.data).toBe(false)
    expect(Object.keys(state.data)).toEqual(['__proto__', 'title'])
    expect(canonicalJson(state.data)).toBe('{"__proto__":{"isAdmin":true},"title":"x"}')
  })
})

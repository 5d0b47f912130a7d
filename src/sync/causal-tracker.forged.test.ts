/**
 * The tracker reads a context's slots from its one parse (`causalContextSpans`), so it may
 * see entries of a text that turns out malformed half-way. These cases guard that such a context
 * — and any other forged one — leaves the seen clock and the heads as if it had never come, that
 * the slots read are the same whether this tracker parsed the event or another reader (another
 * manager of the process, a fold) did, and that an event evicted from the shared cache between
 * two readers reads the same.
 */
import { describe, expect, it } from 'vitest'
import { causalContextOf, withFoldCache } from '../causality/causal-context.js'
import type { Event, EventWithVersion } from '../types/index.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { CausalTracker } from './causal-tracker.js'
import { partsContext } from './sync-parts.fixture.js'

let serial = 0

/** A fresh event object (never parsed) with the given raw stamps, on aggregate `doc`. */
function forged(origin: unknown, causal: unknown, aggregateId = 'doc'): EventWithVersion {
  const id = `f${++serial}`
  const event = {
    id,
    type: 'Edited',
    aggregateId,
    data: { id },
    metadata: { origin, causal, hlc: `000000000001-0000-${String(origin).slice(0, 8)}` },
  } as unknown as Event
  return { event, version: new SequenceVersion(serial) }
}

async function tracker(): Promise<CausalTracker> {
  const { ctx } = partsContext({ nodeId: 'me' })
  const t = new CausalTracker(ctx)
  await t.init(undefined)
  return t
}

const many = (n: number): string =>
  Array.from({ length: n }, (_, i) => `n${String(i).padStart(5, '0')}:1`).join(',')

/** Contexts a foreign or forged event may carry, none of which may count. */
const MALFORMED: readonly (readonly [string, unknown, unknown])[] = [
  // Faults the pattern lets through, found after entries were visited:
  ['unsorted', 'w', 'a:7,w:1,b:9'],
  ['a duplicate id', 'w', 'a:7,w:1,w:2'],
  ['a count past 2^53', 'w', 'a:7,w:1,z:9007199254740993'],
  ['more than 1024 entries', 'n00000', many(1025)],
  // Parsed, but without a plausible dot:
  ['a count past 2^48', 'w', `a:7,w:1,z:${2 ** 48 + 1}`],
  ['a writer whose count is past 2^48', 'w', `a:7,w:${2 ** 48 + 1}`],
  ['an origin that is only a prefix of an entry', 'w', 'a:7,wx:1'],
  ['an origin that is no node id', 'w:1', 'a:7,w:1'],
  ['a non-string origin', 1, 'a:7,w:1'],
  ['no origin', undefined, 'a:7,w:1'],
  ['a non-string context', 'w', { w: 1 }],
  ['a context of the wrong shape', 'w', 'a:7;w:1'],
]

describe('CausalTracker: forged contexts', () => {
  it.each(MALFORMED)(
    'Given a context with %s, When observed (read half-way or not at all), Then the seen clock and the heads are untouched',
    async (_name, origin, causal) => {
      // Given a tracker whose aggregate has one head, from writer h
      const t = await tracker()
      const head = forged('h', 'h:1')
      t.observe(head)

      // When the forged event is observed, then a writer that saw only h's event
      expect(t.observe(forged(origin, causal))).toBeUndefined()
      const after = forged('v', 'h:1,v:1')

      // Then it raised no count (the next own context names only what was really seen)
      expect(t.stamp((s) => s.causal)).toBe('h:1,me:1')
      // And it joined no head: v's event supersedes h's and conflicts with nothing
      expect(t.observe(after)).toBeUndefined()
      expect(t.observe(forged('u', 'u:1'))?.ewv.event.id).toBe(after.event.id)
    },
  )

  it('Given one event object observed by two trackers (two managers of one process), one after the other, Then each reads every entry of it: the second from the cache', async () => {
    const [first, second] = [await tracker(), await tracker()]
    const shared = forged('b', 'a:2,b:3,c:1')
    first.observe(shared)
    second.observe(shared)
    expect(first.stamp((s) => s.causal)).toBe('a:2,b:3,c:1,me:1')
    expect(second.stamp((s) => s.causal)).toBe('a:2,b:3,c:1,me:1')
  })

  it('Given an event parsed by a fold (its own cache), and one parsed inside a fold nested in it, When the tracker observes them afterwards, Then it reads every entry of each', async () => {
    const t = await tracker()
    const outer = forged('b', 'a:1,b:1', 'x')
    const inner = forged('c', 'c:4', 'y')
    withFoldCache(() => {
      causalContextOf(outer.event)
      withFoldCache(() => causalContextOf(inner.event))
      // Inside the fold, the tracker's reading of an event the fold parsed still sees each entry.
      t.observe(outer)
    })
    t.observe(inner)
    expect(t.stamp((s) => s.causal)).toBe('a:1,b:1,c:4,me:1')
  })

  it('Given an event observed, When many other events are parsed before its dot is read again (as the holds record does), Then the dot is the one parsed when observed, and observing it again changes nothing', async () => {
    const t = await tracker()
    const item = forged('b', 'a:1,b:5')
    t.observe(item)
    const first = causalContextOf(item.event)
    for (let i = 0; i < 10_000; i++) causalContextOf(forged('z', 'z:1').event)
    expect(causalContextOf(item.event)).toBe(first)
    expect(first).toMatchObject({ origin: 'b', seq: 5 })
    // Observed again (the slots read from the parsed text): nothing changes.
    expect(t.observe(item)).toBeUndefined()
    expect(t.stamp((s) => s.causal)).toBe('a:1,b:5,me:1')
  })
})

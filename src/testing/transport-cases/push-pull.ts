import type { Event, EventWithVersion, PullResult, Version } from '../../types/index.js'
import { assert, assertEqual, assertRejects } from '../conformance-api.js'
import { assertIncreasing, ids, makeEvent, makeEvents, pullAll } from './helpers.js'
import type { CaseTable } from './helpers.js'

async function stripEpoch(
  result: Promise<{ stored: number; duplicates: number; epoch?: string }>,
): Promise<{ stored: number; duplicates: number }> {
  const { stored, duplicates } = await result
  return { stored, duplicates }
}

/** Transport conformance cases: push and paged pull, idempotency, conflicts and invalid events. */
export const PUSH_PULL_CASES: CaseTable = {
  'push then pull returns the events in order with increasing versions': async ({ transport }) => {
    const events = [
      makeEvent('e1'),
      makeEvent('e2', { metadata: { tenant: 't1', origin: 'replica-a' } }),
      makeEvent('e3', { aggregateId: 'agg-e1' }),
    ]
    const pushed = await transport.push(events)
    assertEqual(pushed.stored, 3, 'push reports 3 stored')
    assertEqual(pushed.duplicates, 0, 'push reports 0 duplicates')
    const page = await transport.pull(null)
    assertEqual(ids(page.events), ['e1', 'e2', 'e3'], 'pull returns the pushed events in order')
    page.events.forEach((item, i) => assertEqual(item.event, events[i], `event ${i} is unchanged`))
    assertIncreasing(page.events, 'pulled versions')
    assertEqual(page.hasMore, false, 'hasMore is false when everything was returned')
  },

  'pull returns only events strictly after the given version': async ({ transport }) => {
    await transport.push(makeEvents(5))
    const all = await pullAll(transport)
    const second = all[1]
    const last = all.at(-1)
    assert(second !== undefined && last !== undefined, 'five events were pulled')
    assertEqual(ids(await pullAll(transport, second.version)), ['e3', 'e4', 'e5'], 'after e2')
    const reparsed = transport.parseVersion(second.version.toString())
    assertEqual(ids(await pullAll(transport, reparsed)), ['e3', 'e4', 'e5'], 'after parsed e2')
    const tail = await transport.pull(last.version)
    assertEqual(tail.events.length, 0, 'nothing after the last version')
    assertEqual(tail.hasMore, false, 'no more after the last version')
  },

  'pull pages with limit and hasMore, every event exactly once': async ({ transport }) => {
    const total = 7
    await transport.push(makeEvents(total))
    for (const limit of [1, 3, 7]) {
      const seen: EventWithVersion[] = []
      let cursor: Version | null = null
      let pages = 0
      for (;;) {
        pages++
        assert(pages <= Math.ceil(total / limit) + 1, `limit ${limit}: too many pages`)
        const page: PullResult = await transport.pull(cursor, { limit })
        assert(page.events.length <= limit, `limit ${limit}: a page holds at most ${limit} events`)
        seen.push(...page.events)
        if (!page.hasMore) break
        const last = page.events.at(-1)
        assert(last !== undefined, `limit ${limit}: a page with hasMore true holds events`)
        cursor = last.version
      }
      assertEqual(ids(seen), ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'], `limit ${limit}: all`)
      assertIncreasing(seen, `limit ${limit}`)
    }
  },

  'pull filters by type and aggregate_id': async ({ transport }) => {
    await transport.push([
      makeEvent('e1', { type: 'A', aggregateId: 'x' }),
      makeEvent('e2', { type: 'B', aggregateId: 'x' }),
      makeEvent('e3', { type: 'A', aggregateId: 'y' }),
      makeEvent('e4', { type: 'C', aggregateId: 'x' }),
    ])
    const byType = await transport.pull(null, { filters: [{ key: 'type', value: 'A' }] })
    assertEqual(ids(byType.events), ['e1', 'e3'], 'type A')
    const either = await transport.pull(null, {
      filters: [
        { key: 'type', value: 'A' },
        { key: 'type', value: 'C' },
        { key: 'aggregate_id', value: 'x' },
      ],
    })
    assertEqual(ids(either.events), ['e1', 'e4'], '(type A or C) and aggregate x')
  },

  'push is idempotent by event id and counts duplicates': async ({ transport }) => {
    const [e1, e2, e3] = makeEvents(3)
    assert(e1 !== undefined && e2 !== undefined && e3 !== undefined, 'fixtures')
    assertEqual(await stripEpoch(transport.push([e1, e2])), { stored: 2, duplicates: 0 }, 'first')
    assertEqual(await stripEpoch(transport.push([e1, e2])), { stored: 0, duplicates: 2 }, 'again')
    assertEqual(await stripEpoch(transport.push([e2, e3])), { stored: 1, duplicates: 1 }, 'mixed')
    assertEqual(ids(await pullAll(transport)), ['e1', 'e2', 'e3'], 'each event stored once')
  },

  'push of an empty batch stores nothing': async ({ transport }) => {
    assertEqual(await stripEpoch(transport.push([])), { stored: 0, duplicates: 0 }, 'empty push')
    assertEqual((await pullAll(transport)).length, 0, 'nothing stored')
    assert((await transport.latestVersion()).isZero(), 'latestVersion stays zero')
  },

  'push rejects a different event under an existing id with event-id-conflict, storing nothing':
    async ({ transport }) => {
      const original = makeEvent('e1')
      await transport.push([original])
      const changed = makeEvent('e1', { data: { name: 'changed', n: 2 } })
      const error = await assertRejects(
        () => transport.push([makeEvent('e2'), changed]),
        'event-id-conflict',
        'a different event under id e1',
      )
      const eventId = (error.details as { eventId?: unknown } | undefined)?.eventId
      assert(eventId === undefined || eventId === 'e1', 'details.eventId names e1 when present')
      const all = await pullAll(transport)
      assertEqual(ids(all), ['e1'], 'e2 from the rejected push was not stored')
      assertEqual(all[0]?.event, original, 'e1 keeps its original content')
    },

  'push rejects an invalid event with invalid-event, storing nothing from the batch': async ({
    transport,
  }) => {
    const invalid: unknown[] = [
      { id: '', type: 'T', aggregateId: 'a', data: {} },
      { id: 'bad-type', type: 42, aggregateId: 'a', data: {} },
      { id: 'no-aggregate', type: 'T', data: {} },
      'not an event',
    ]
    for (const [i, bad] of invalid.entries()) {
      await assertRejects(
        () => transport.push([makeEvent(`ok${i}`), bad as Event]),
        'invalid-event',
        `invalid event #${i}`,
      )
    }
    assertEqual((await pullAll(transport)).length, 0, 'no event of the rejected batches stored')
  },
}

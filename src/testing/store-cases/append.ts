import type { Event, EventStore } from '../../types/index.js'
import { assert, assertEqual, assertRejects } from '../conformance-api.js'
import {
  assertEvents,
  assertIncreasing,
  assertSameVersion,
  ev,
  evs,
  ids,
  storeAll,
} from './helpers.js'
import type { CaseTable } from './helpers.js'

async function assertEmpty(store: EventStore, what: string): Promise<void> {
  assertEqual(ids(await store.load(null)), [], `${what}: load(null) must return nothing`)
  const latest = await store.latestVersion()
  assert(latest.isZero(), `${what}: latestVersion must stay zero, got ${latest.toString()}`)
}

/** Event store conformance cases: store: versions, idempotency by id, conflicts and invalid events. */
export const APPEND_CASES: CaseTable = {
  'store assigns increasing versions in order': {
    async run({ store }) {
      const results = await storeAll(store, evs(5))
      for (const result of results) {
        assertEqual(result.duplicate, false, 'a new event must report duplicate: false')
      }
      assertIncreasing(
        results.map((r) => r.version),
        'versions of consecutive stores',
      )
    },
  },

  'storing an identical event again is a no-op reporting duplicate': {
    async run({ store }) {
      const event = ev('dup', { data: { a: 1, b: [true] }, metadata: { tenant: 't', x: 1 } })
      const first = await store.store(event)
      await store.store(ev('other'))
      // Same content, keys in another order: still the same event.
      const again = await store.store({
        metadata: { x: 1, tenant: 't' },
        data: { b: [true], a: 1 },
        aggregateId: event.aggregateId,
        type: event.type,
        id: event.id,
      })
      assertEqual(again.duplicate, true, 'storing the same event again reports duplicate')
      assertSameVersion(again.version, first.version, 'a duplicate reports the stored version')
      assertEvents(await store.load(null), [event, ev('other')], 'after the duplicate')
    },
  },

  'a different event under an existing id is rejected with event-id-conflict and changes nothing': {
    async run({ store }) {
      const original = ev('c1', { data: { v: 1 }, metadata: { tenant: 't' } })
      await store.store(original)
      const latest = await store.latestVersion()
      for (const changed of [
        { ...original, data: { v: 2 } },
        { ...original, type: 'Other' },
        { ...original, aggregateId: 'agg-2' },
        { ...original, metadata: { tenant: 'u' } },
      ]) {
        const error = await assertRejects(
          () => store.store(changed),
          'event-id-conflict',
          'storing different content under an existing id',
        )
        assertEqual(error.details.eventId, 'c1', 'event-id-conflict details.eventId')
      }
      assertEvents(await store.load(null), [original], 'after the conflicts')
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after the conflicts')
    },
  },

  'invalid events are rejected with invalid-event and nothing is stored': {
    async run({ store }) {
      const cyclic: Record<string, unknown> = {}
      cyclic['self'] = cyclic
      const invalid: readonly [string, unknown][] = [
        ['null', null],
        ['a string', 'event'],
        ['no id', { type: 'T', aggregateId: 'a', data: {} }],
        ['an empty id', ev('')],
        ['a numeric id', { ...ev('x'), id: 42 }],
        ['an empty type', ev('x', { type: '' })],
        ['no aggregateId', { id: 'x', type: 'T', data: {} }],
        ['an empty aggregateId', ev('x', { aggregateId: '' })],
        ['no data', { id: 'x', type: 'T', aggregateId: 'a' }],
        ['a function in data', ev('x', { data: { f: () => 1 } })],
        ['NaN in data', ev('x', { data: { n: Number.NaN } })],
        ['Infinity in data', ev('x', { data: [Number.POSITIVE_INFINITY] })],
        ['a bigint in data', ev('x', { data: { n: 1n } })],
        ['a cycle in data', ev('x', { data: cyclic })],
        ['a Date in data', ev('x', { data: { at: new Date(0) } })],
        ['a Map in data', ev('x', { data: new Map([['k', 1]]) })],
        ['undefined in an array', ev('x', { data: [1, undefined] })],
        ['metadata that is not an object', { ...ev('x'), metadata: 'meta' }],
        ['a numeric tenant', { ...ev('x'), metadata: { tenant: 7 } }],
      ]
      for (const [what, event] of invalid) {
        await assertRejects(
          () => store.store(event as Event),
          'invalid-event',
          `storing an event with ${what}`,
        )
      }
      await assertEmpty(store, 'after invalid events')
    },
  },
}

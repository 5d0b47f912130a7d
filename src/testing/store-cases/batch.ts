import type { Event, StoreResult } from '../../types/index.js'
import { assertEqual, assertRejects } from '../conformance-api.js'
import {
  assertEvents,
  assertIncreasing,
  assertSameVersion,
  batchOf,
  ev,
  evs,
  versionsOf,
} from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Event store conformance cases: storeBatch (optional capability): one result per event, atomic. */
export const BATCH_CASES: CaseTable = {
  'storeBatch returns one result per event, in order, and a resent batch is all duplicates (batch)':
    {
      batch: true,
      async run({ store }) {
        const storeBatch = batchOf(store)
        await store.store(ev('e0'))
        const events = evs(4)
        const results = await storeBatch(events)
        assertEqual(results.length, 4, 'one result per event')
        assertEqual(
          results.map((r) => r.duplicate),
          [false, false, false, false],
          'new events are not duplicates',
        )
        assertIncreasing(
          results.map((r) => r.version),
          'batch versions',
        )
        const loaded = await store.load(null)
        assertEvents(loaded, [ev('e0'), ...events], 'after the batch')
        assertEqual(versionsOf(loaded.slice(1)), versionsOf(results), 'batch versions vs load')
        const resent = await storeBatch(events)
        assertEqual(
          resent.map((r) => r.duplicate),
          [true, true, true, true],
          'a resent batch is all duplicates',
        )
        assertEqual(versionsOf(resent), versionsOf(results), 'duplicates report stored versions')
        assertEqual(await storeBatch([]), [], 'an empty batch returns no results')
        assertEqual((await store.load(null)).length, 5, 'nothing more stored')
      },
    },

  'duplicates inside one batch are stored once (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      const a = ev('a', { data: { k: 1 } })
      const b = ev('b')
      const results = await storeBatch([a, b, { ...a, data: { k: 1 } }, a])
      assertEqual(
        results.map((r) => r.duplicate),
        [false, false, true, true],
        'later copies in the batch are duplicates',
      )
      const [first, , third, fourth] = results as [
        StoreResult,
        StoreResult,
        StoreResult,
        StoreResult,
      ]
      assertSameVersion(third.version, first.version, 'an in-batch duplicate reports the version')
      assertSameVersion(fourth.version, first.version, 'an in-batch duplicate reports the version')
      assertEvents(await store.load(null), [a, b], 'after the batch')
      await assertRejects(
        () => storeBatch([ev('c'), ev('c', { data: 'different' })]),
        'event-id-conflict',
        'a batch holding two different events with the same id',
      )
      assertEvents(await store.load(null), [a, b], 'after the conflicting batch')
    },
  },

  'a batch with one invalid event stores nothing (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      await store.store(ev('e0'))
      const latest = await store.latestVersion()
      for (const position of [0, 1, 2]) {
        const batch: unknown[] = [ev('b1'), ev('b2'), ev('b3')]
        batch[position] = ev(`bad${position}`, { data: { n: Number.NaN } })
        await assertRejects(
          () => storeBatch(batch as Event[]),
          'invalid-event',
          `a batch with an invalid event at position ${position}`,
        )
      }
      assertEvents(await store.load(null), [ev('e0')], 'after the rejected batches')
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after the batches')
    },
  },

  'a batch with an id conflict stores nothing (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      const original = ev('e0', { data: 'original' })
      await store.store(original)
      const latest = await store.latestVersion()
      await assertRejects(
        () => storeBatch([ev('b1'), ev('b2'), ev('e0', { data: 'changed' }), ev('b3')]),
        'event-id-conflict',
        'a batch conflicting with a stored event',
      )
      assertEvents(await store.load(null), [original], 'after the rejected batch')
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after the batch')
      // Nothing half-stored: the same new events can be stored afterwards as new ones.
      const results = await storeBatch([ev('b1'), ev('b2')])
      assertEqual(
        results.map((r) => r.duplicate),
        [false, false],
        'events of the rejected batch were not stored',
      )
    },
  },
}

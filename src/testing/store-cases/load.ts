import type { EventWithVersion, StoreResult, Version } from '../../types/index.js'
import { assert, assertEqual, assertRejects } from '../conformance-api.js'
import { assertEvents, assertIncreasing, evs, ids, storeAll, versionsOf } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** A version of a kind no store produces. */
const FOREIGN_VERSION: Version = {
  compare(): -1 | 0 | 1 {
    throw new Error('a conformance store compared a foreign version instead of rejecting it')
  },
  toString: () => 'foreign-version:7',
  isZero: () => false,
}

/** Event store conformance cases: load: strictly after `since`, limits, paging, foreign versions. */
export const LOAD_CASES: CaseTable = {
  'load(null) returns every event oldest first with the versions store returned': {
    async run({ store }) {
      const events = evs(5)
      const results = await storeAll(store, events)
      const loaded = await store.load(null)
      assertEvents(loaded, events, 'load(null)')
      assertEqual(versionsOf(loaded), versionsOf(results), 'loaded versions')
      assertIncreasing(
        loaded.map((r) => r.version),
        'loaded versions',
      )
    },
  },

  'load returns only events strictly after since': {
    async run({ store }) {
      const events = evs(6)
      const results = await storeAll(store, events)
      for (let i = 0; i < results.length; i++) {
        const since = (results[i] as StoreResult).version
        const loaded = await store.load(since)
        assertEvents(loaded, events.slice(i + 1), `load(${since.toString()})`)
        for (const record of loaded) {
          assert(
            record.version.compare(since) > 0,
            `load(${since.toString()}) returned version ${record.version.toString()}, which is not after it`,
          )
        }
      }
    },
  },

  'load with limit 1 returns the oldest event after since': {
    async run({ store }) {
      const events = evs(4)
      const results = await storeAll(store, events)
      assertEvents(await store.load(null, { limit: 1 }), events.slice(0, 1), 'load(null, 1)')
      const since = (results[1] as StoreResult).version
      assertEvents(await store.load(since, { limit: 1 }), events.slice(2, 3), 'load(v2, 1)')
    },
  },

  'load with limit equal to the number of events returns them all': {
    async run({ store }) {
      const events = evs(7)
      await storeAll(store, events)
      assertEvents(await store.load(null, { limit: 7 }), events, 'load(null, 7)')
      assertEvents(await store.load(null, { limit: 1000 }), events, 'load(null, 1000)')
    },
  },

  'load since the latest version returns nothing': {
    async run({ store }) {
      await storeAll(store, evs(3))
      const latest = await store.latestVersion()
      assertEqual(ids(await store.load(latest)), [], 'load(latest)')
      assertEqual(ids(await store.load(latest, { limit: 1 })), [], 'load(latest, 1)')
    },
  },

  'load since a version beyond the latest returns nothing': {
    async run({ store, createStore }) {
      // A version from a longer log of the same kind of store is beyond this store's latest.
      const results = await storeAll(store, evs(5))
      const beyond = (results[4] as StoreResult).version
      const other = await createStore()
      await storeAll(other, evs(2))
      const latest = await other.latestVersion()
      const loaded = await other.load(beyond)
      const expected = (await other.load(null)).filter((r) => r.version.compare(beyond) > 0)
      assertEqual(ids(loaded), ids(expected), 'load(beyond) returns only events after it')
      if (latest.compare(beyond) <= 0) {
        assertEqual(ids(loaded), [], `load(${beyond.toString()}) past latest ${latest.toString()}`)
      }
    },
  },

  'paging with limit visits every event exactly once': {
    async run({ store }) {
      const events = evs(23)
      await storeAll(store, events)
      for (const limit of [1, 5, 23, 50]) {
        const seen: EventWithVersion[] = []
        let since: Version | null = null
        for (let page = 0; ; page++) {
          assert(page <= 23, `paging with limit ${limit} does not end`)
          const records = await store.load(since, { limit })
          assert(records.length <= limit, `a page with limit ${limit} had ${records.length} events`)
          const last = records.at(-1)
          if (last === undefined) break
          seen.push(...records)
          since = last.version
        }
        assertEvents(seen, events, `paging with limit ${limit}`)
        assertIncreasing(
          seen.map((r) => r.version),
          `paging with limit ${limit}`,
        )
      }
    },
  },

  'a limit that is not a positive integer is rejected with invalid-argument': {
    async run({ store }) {
      await storeAll(store, evs(2))
      for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assertRejects(
          () => store.load(null, { limit }),
          'invalid-argument',
          `load with limit ${limit}`,
        )
        await assertRejects(
          () => store.loadByAggregate('agg-1', null, { limit }),
          'invalid-argument',
          `loadByAggregate with limit ${limit}`,
        )
      }
    },
  },

  'a foreign version is rejected with version-mismatch': {
    async run({ store }) {
      await storeAll(store, evs(2))
      await assertRejects(() => store.load(FOREIGN_VERSION), 'version-mismatch', 'load(foreign)')
      await assertRejects(
        () => store.loadByAggregate('agg-1', FOREIGN_VERSION),
        'version-mismatch',
        'loadByAggregate(foreign)',
      )
    },
  },
}

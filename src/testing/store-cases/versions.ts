import type { StoreResult } from '../../types/index.js'
import { assert, assertEqual, assertRejects } from '../conformance-api.js'
import { assertSameVersion, ev, evs, ids, storeAll } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Event store conformance cases: latestVersion and parseVersion. */
export const VERSIONS_CASES: CaseTable = {
  'latestVersion is zero while empty and the newest version afterwards': {
    async run({ store }) {
      const empty = await store.latestVersion()
      assert(
        empty.isZero(),
        `latestVersion of an empty store must be zero, got ${empty.toString()}`,
      )
      assertEqual(ids(await store.load(empty)), [], 'load(zero) of an empty store')
      const results = await storeAll(store, evs(3))
      const latest = await store.latestVersion()
      assert(!latest.isZero(), 'latestVersion must not be zero once events exist')
      assertSameVersion(latest, (results[2] as StoreResult).version, 'latestVersion')
      assert(latest.compare(empty) > 0, 'latestVersion must be after the zero version')
      await store.store(ev('e1', { data: { n: 1 } }))
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after a duplicate')
      const loaded = await store.load(empty)
      assertEqual(ids(loaded), ['e1', 'e2', 'e3'], 'load(zero) returns everything')
    },
  },

  'parseVersion round-trips versions': {
    async run({ store }) {
      const zero = await store.latestVersion()
      const results = await storeAll(store, evs(3))
      for (const version of [zero, ...results.map((r) => r.version)]) {
        const parsed = store.parseVersion(version.toString())
        assertSameVersion(parsed, version, `parseVersion("${version.toString()}")`)
        assertEqual(parsed.isZero(), version.isZero(), 'isZero after parseVersion')
      }
      const middle = store.parseVersion((results[0] as StoreResult).version.toString())
      assertEqual(ids(await store.load(middle)), ['e2', 'e3'], 'load(parsed version)')
    },
  },

  'parseVersion rejects garbage with version-parse': {
    async run({ store }) {
      for (const garbage of [
        '',
        'not-a-version',
        '-1',
        '1.5',
        '0x10',
        ' 1',
        '1 ',
        '💥',
        '\u0000',
      ]) {
        const error = await assertRejects(
          () => store.parseVersion(garbage),
          'version-parse',
          `parseVersion(${JSON.stringify(garbage)})`,
        )
        assertEqual(typeof error.details.value, 'string', 'version-parse details.value')
      }
    },
  },
}

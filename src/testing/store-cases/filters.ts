import { TOMBSTONE_EVENT_TYPE } from '../../core/filters.js'
import type { Event, EventStore, StoreResult } from '../../types/index.js'
import { assertEqual, assertRejects } from '../conformance-api.js'
import { assertEvents, ev, ids, storeAll, versionsOf } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Six events for the filter cases: type × aggregate × tenant. */
const FILTER_FIXTURE: readonly Event[] = [
  ev('f1', { type: 'A', aggregateId: 'x', metadata: { tenant: 't1' } }),
  ev('f2', { type: 'B', aggregateId: 'x', metadata: { tenant: 't1' } }),
  ev('f3', { type: 'A', aggregateId: 'y', metadata: { tenant: 't2' } }),
  ev('f4', { type: 'C', aggregateId: 'y' }),
  ev('f5', { type: 'B', aggregateId: 'z', metadata: { tenant: 't2' } }),
  ev('f6', { type: 'A', aggregateId: 'x', metadata: { tenant: 't2' } }),
]

async function withFilterFixture(store: EventStore): Promise<StoreResult[]> {
  return storeAll(store, FILTER_FIXTURE)
}

/** Event store conformance cases: filters and loadByAggregate. */
export const FILTERS_CASES: CaseTable = {
  'filter by type': {
    async run({ store }) {
      await withFilterFixture(store)
      const loaded = await store.load(null, { filters: [{ key: 'type', value: 'A' }] })
      assertEqual(ids(loaded), ['f1', 'f3', 'f6'], 'type A')
      const none = await store.load(null, { filters: [{ key: 'type', value: 'Nope' }] })
      assertEqual(ids(none), [], 'an unknown type')
    },
  },

  'filter by tenant matches metadata.tenant only': {
    async run({ store }) {
      await withFilterFixture(store)
      const t2 = await store.load(null, { filters: [{ key: 'tenant', value: 't2' }] })
      assertEqual(ids(t2), ['f3', 'f5', 'f6'], 'tenant t2')
      const empty = await store.load(null, { filters: [{ key: 'tenant', value: '' }] })
      assertEqual(ids(empty), [], 'an event without a tenant never matches a tenant filter')
    },
  },

  'filter by aggregate_id': {
    async run({ store }) {
      await withFilterFixture(store)
      const x = await store.load(null, { filters: [{ key: 'aggregate_id', value: 'x' }] })
      assertEqual(ids(x), ['f1', 'f2', 'f6'], 'aggregate x')
    },
  },

  'filters with the same key are OR-ed': {
    async run({ store }) {
      await withFilterFixture(store)
      const loaded = await store.load(null, {
        filters: [
          { key: 'type', value: 'B' },
          { key: 'type', value: 'C' },
        ],
      })
      assertEqual(ids(loaded), ['f2', 'f4', 'f5'], 'type B or C')
      const aggregates = await store.load(null, {
        filters: [
          { key: 'aggregate_id', value: 'z' },
          { key: 'aggregate_id', value: 'x' },
          { key: 'aggregate_id', value: 'x' },
        ],
      })
      assertEqual(ids(aggregates), ['f1', 'f2', 'f5', 'f6'], 'aggregate z or x, oldest first')
    },
  },

  'filters with different keys are AND-ed': {
    async run({ store }) {
      await withFilterFixture(store)
      const loaded = await store.load(null, {
        filters: [
          { key: 'type', value: 'A' },
          { key: 'type', value: 'B' },
          { key: 'tenant', value: 't1' },
        ],
      })
      assertEqual(ids(loaded), ['f1', 'f2'], '(type A or B) and tenant t1')
      const three = await store.load(null, {
        filters: [
          { key: 'tenant', value: 't2' },
          { key: 'aggregate_id', value: 'x' },
          { key: 'type', value: 'A' },
        ],
      })
      assertEqual(ids(three), ['f6'], 'tenant t2 and aggregate x and type A')
      const none = await store.load(null, {
        filters: [
          { key: 'type', value: 'C' },
          { key: 'tenant', value: 't1' },
        ],
      })
      assertEqual(ids(none), [], 'type C and tenant t1')
    },
  },

  'filters combine with since and limit': {
    async run({ store }) {
      const results = await withFilterFixture(store)
      const typeA = [{ key: 'type', value: 'A' }] as const
      const afterF1 = (results[0] as StoreResult).version
      assertEqual(ids(await store.load(afterF1, { filters: typeA })), ['f3', 'f6'], 'after f1')
      assertEqual(
        ids(await store.load(afterF1, { filters: typeA, limit: 1 })),
        ['f3'],
        'after f1, limit 1',
      )
      const afterF4 = (results[3] as StoreResult).version
      assertEqual(
        ids(await store.load(afterF4, { filters: [{ key: 'tenant', value: 't2' }], limit: 5 })),
        ['f5', 'f6'],
        'tenant t2 after f4',
      )
      const latest = await store.latestVersion()
      assertEqual(ids(await store.load(latest, { filters: typeA })), [], 'after the latest')
    },
  },

  'a type filter also matches tombstones; tenant and aggregate_id filters still apply to them': {
    async run({ store }) {
      await withFilterFixture(store)
      const deletes = [
        ev('d1', { type: TOMBSTONE_EVENT_TYPE, aggregateId: 'x', metadata: { tenant: 't1' } }),
        ev('d2', { type: TOMBSTONE_EVENT_TYPE, aggregateId: 'y', metadata: { tenant: 't2' } }),
      ]
      await storeAll(store, deletes)
      const typeA = await store.load(null, { filters: [{ key: 'type', value: 'A' }] })
      assertEqual(ids(typeA), ['f1', 'f3', 'f6', 'd1', 'd2'], 'type A, and every delete')
      const typeAInT1 = await store.load(null, {
        filters: [
          { key: 'type', value: 'A' },
          { key: 'tenant', value: 't1' },
        ],
      })
      assertEqual(ids(typeAInT1), ['f1', 'd1'], "type A in tenant t1: only that tenant's delete")
      const typeBOfY = await store.load(null, {
        filters: [
          { key: 'type', value: 'B' },
          { key: 'aggregate_id', value: 'y' },
        ],
      })
      assertEqual(ids(typeBOfY), ['d2'], 'type B of aggregate y: its delete')
      const byAggregate = await store.loadByAggregate('x', null, {
        filters: [{ key: 'type', value: 'C' }],
      })
      assertEqual(ids(byAggregate), ['d1'], 'loadByAggregate x with type C: its delete')
      const onlyTenant = await store.load(null, { filters: [{ key: 'tenant', value: 't2' }] })
      assertEqual(ids(onlyTenant), ['f3', 'f5', 'f6', 'd2'], 'a tenant filter alone, as before')
      const typeAAfterF6 = await store.load(null, {
        filters: [{ key: 'type', value: 'A' }],
        limit: 4,
      })
      assertEqual(ids(typeAAfterF6), ['f1', 'f3', 'f6', 'd1'], 'with a limit, in version order')
    },
  },

  'an unsupported filter key is rejected with unsupported-filter': {
    async run({ store }) {
      await withFilterFixture(store)
      const filters = [
        { key: 'type', value: 'A' },
        { key: 'sync-kit-conformance-unknown-key', value: 'x' },
      ]
      const error = await assertRejects(
        () => store.load(null, { filters }),
        'unsupported-filter',
        'load with an unknown filter key',
      )
      assertEqual(error.details.key, 'sync-kit-conformance-unknown-key', 'details.key')
      await assertRejects(
        () => store.loadByAggregate('x', null, { filters }),
        'unsupported-filter',
        'loadByAggregate with an unknown filter key',
      )
    },
  },

  'loadByAggregate returns that aggregate only, oldest first': {
    async run({ store }) {
      const results = await withFilterFixture(store)
      const x = await store.loadByAggregate('x', null)
      assertEvents(
        x,
        FILTER_FIXTURE.filter((e) => e.aggregateId === 'x'),
        'aggregate x',
      )
      assertEqual(
        versionsOf(x),
        versionsOf([results[0], results[1], results[5]] as StoreResult[]),
        'aggregate x versions',
      )
      assertEqual(ids(await store.loadByAggregate('y', null)), ['f3', 'f4'], 'aggregate y')
      assertEqual(ids(await store.loadByAggregate('unknown', null)), [], 'an unknown aggregate')
    },
  },

  'loadByAggregate honours since, limit and filters': {
    async run({ store }) {
      const results = await withFilterFixture(store)
      const afterF1 = (results[0] as StoreResult).version
      assertEqual(ids(await store.loadByAggregate('x', afterF1)), ['f2', 'f6'], 'x after f1')
      assertEqual(ids(await store.loadByAggregate('x', null, { limit: 2 })), ['f1', 'f2'], 'x, 2')
      assertEqual(
        ids(await store.loadByAggregate('x', afterF1, { limit: 1 })),
        ['f2'],
        'x after f1, limit 1',
      )
      assertEqual(
        ids(await store.loadByAggregate('x', null, { filters: [{ key: 'type', value: 'A' }] })),
        ['f1', 'f6'],
        'x, type A',
      )
      assertEqual(
        ids(
          await store.loadByAggregate('x', null, {
            filters: [{ key: 'aggregate_id', value: 'y' }],
          }),
        ),
        [],
        'x and aggregate_id y',
      )
      const latest = await store.latestVersion()
      assertEqual(ids(await store.loadByAggregate('x', latest)), [], 'x after the latest')
    },
  },
}

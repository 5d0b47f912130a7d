import type { Event, EventWithVersion } from '../../types/index.js'
import { assertEqual, assertRejects } from '../conformance-api.js'
import { assertEvents, batchOf, ev, ids, versionsOf } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Runs a mutation that a frozen value refuses (TypeError in strict mode); either way is fine. */
function tryMutate(mutate: () => void): void {
  try {
    mutate()
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
  }
}

/** Event store conformance cases: abort, close, and immutability of returned values. */
export const LIFECYCLE_CASES: CaseTable = {
  'a pre-aborted signal rejects every call with aborted and changes nothing': {
    async run({ store }) {
      await store.store(ev('e0'))
      const controller = new AbortController()
      controller.abort(new Error('stop'))
      const signal = controller.signal
      const key = { remote: 'server', direction: 'push' } as const
      const calls: readonly (readonly [string, () => Promise<unknown>])[] = [
        ['store', () => store.store(ev('e1'), { signal })],
        ['load', () => store.load(null, { signal })],
        ['loadByAggregate', () => store.loadByAggregate('agg-1', null, { signal })],
        ['latestVersion', () => store.latestVersion({ signal })],
        ['getCheckpoint', () => store.getCheckpoint(key, { signal })],
        ['setCheckpoint', () => store.setCheckpoint(key, { version: '1' }, { signal })],
        ...(typeof store.storeBatch === 'function'
          ? ([
              [
                'storeBatch',
                () =>
                  batchOf(store)([ev('e2'), ev('e3')], {
                    signal,
                    checkpoint: { key, value: { version: '9' } },
                  }),
              ],
            ] as const)
          : []),
      ]
      for (const [name, call] of calls) {
        await assertRejects(call, 'aborted', `${name} with an aborted signal`)
      }
      assertEvents(await store.load(null), [ev('e0')], 'after the aborted calls')
      assertEqual(await store.getCheckpoint(key), undefined, 'no checkpoint after aborted calls')
    },
  },

  'after close every call rejects with closed, and close twice is fine': {
    async run({ store }) {
      await store.store(ev('e0'))
      await store.setCheckpoint({ remote: 'r', direction: 'push' }, { version: '1' })
      await store.close()
      await store.close()
      const key = { remote: 'r', direction: 'push' } as const
      const calls: readonly (readonly [string, () => Promise<unknown>])[] = [
        ['store', () => store.store(ev('e1'))],
        ['load', () => store.load(null)],
        ['loadByAggregate', () => store.loadByAggregate('agg-1', null)],
        ['latestVersion', () => store.latestVersion()],
        ['getCheckpoint', () => store.getCheckpoint(key)],
        ['setCheckpoint', () => store.setCheckpoint(key, { version: '2' })],
        ...(typeof store.storeBatch === 'function'
          ? ([['storeBatch', () => batchOf(store)([ev('e2')])]] as const)
          : []),
      ]
      for (const [name, call] of calls) {
        await assertRejects(call, 'closed', `${name} after close`)
      }
    },
  },

  'values returned by the store cannot be changed to corrupt it': {
    async run({ store }) {
      const input = {
        id: 'v1',
        type: 'T',
        aggregateId: 'agg-1',
        data: { list: [1, 2], nested: { s: 'original' } },
        metadata: { tenant: 't', extra: { k: 'v' } },
      }
      const snapshot = JSON.parse(JSON.stringify(input)) as Event
      const result = await store.store(input)
      // The caller changes its own object after storing it.
      input.data.list.push(3)
      input.data.nested.s = 'changed by the caller'
      input.metadata.extra.k = 'changed'
      const expectedVersion = result.version.toString()
      for (const loaded of [
        await store.load(null),
        await store.loadByAggregate('agg-1', null),
        await store.load(null, { filters: [{ key: 'tenant', value: 't' }] }),
      ]) {
        const record = loaded[0] as EventWithVersion
        const event = record.event as unknown as typeof input
        tryMutate(() => event.data.list.push(99))
        tryMutate(() => {
          event.data.nested.s = 'changed by a reader'
        })
        tryMutate(() => {
          ;(event as { id: string }).id = 'hijacked'
        })
        tryMutate(() => {
          event.metadata.extra.k = 'changed by a reader'
        })
        tryMutate(() => {
          delete (event.metadata as { tenant?: string }).tenant
        })
        tryMutate(() => {
          ;(record as { version: unknown }).version = 'not a version'
        })
        tryMutate(() => {
          ;(record.version as unknown as { value: unknown }).value = 12345
        })
        tryMutate(() => loaded.splice(0, 1))
      }
      const checkpoint = { version: '1', epoch: 'e' }
      const key = { remote: 'r', direction: 'pull' } as const
      await store.setCheckpoint(key, checkpoint)
      checkpoint.version = 'changed by the caller'
      const got = await store.getCheckpoint(key)
      tryMutate(() => {
        ;(got as { version: string }).version = 'changed by a reader'
      })
      const after = await store.load(null)
      assertEvents(after, [snapshot], 'the stored event after the mutations')
      assertEqual(versionsOf(after), [expectedVersion], 'the stored version after the mutations')
      assertEqual(
        ids(await store.load(null, { filters: [{ key: 'tenant', value: 't' }] })),
        ['v1'],
        'the tenant index after the mutations',
      )
      assertEqual(
        await store.getCheckpoint(key),
        { version: '1', epoch: 'e' },
        'the checkpoint after the mutations',
      )
    },
  },
}

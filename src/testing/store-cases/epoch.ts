import { loadOrCreateEpoch, renewEpoch } from '../../server/epoch.js'
import type { EventStore } from '../../types/index.js'
import { assertEqual, assertRejects } from '../conformance-api.js'
import { assertEvents, evs, storeAll } from './helpers.js'
import type { CaseTable } from './helpers.js'

const COMPONENT = 'conformance'

/** The epoch a server on `store` reads: the store's `loadOrCreateEpoch`, or the checkpoint fallback. */
function serverEpoch(store: EventStore, candidate: string): Promise<string> {
  return loadOrCreateEpoch(store, () => candidate, COMPONENT)
}

/**
 * Event store conformance cases: the epoch of a server's log, through the server core's
 * `loadOrCreateEpoch` and `renewEpoch` — the store's optional capabilities of those names when it
 * has them, else their fallback in the checkpoint `sync-kit:server` — so every store runs them.
 */
export const EPOCH_CASES: CaseTable = {
  'epoch: the first candidate is kept; later candidates get it back': {
    async run({ store }) {
      assertEqual(await serverEpoch(store, 'epoch-a'), 'epoch-a', 'the first epoch')
      assertEqual(await serverEpoch(store, 'epoch-b'), 'epoch-a', 'a later candidate')
      if (store.loadOrCreateEpoch !== undefined) {
        await assertRejects(
          () => store.loadOrCreateEpoch?.('') ?? Promise.resolve(''),
          'invalid-argument',
          'loadOrCreateEpoch with an empty candidate',
        )
      }
    },
  },

  'epoch: renewEpoch replaces the epoch, keeps the events, and the new one is kept': {
    async run({ store }) {
      const events = evs(3)
      await storeAll(store, events)
      const latest = await store.latestVersion()
      await serverEpoch(store, 'epoch-a')
      assertEqual(await renewEpoch(store, 'epoch-b', COMPONENT), 'epoch-b', 'renewEpoch returns')
      assertEqual(await serverEpoch(store, 'epoch-c'), 'epoch-b', 'the renewed epoch is kept')
      assertEvents(await store.load(null), events, 'the events after renewEpoch')
      assertEqual(
        (await store.latestVersion()).toString(),
        latest.toString(),
        'latestVersion after renewEpoch',
      )
      if (store.renewEpoch !== undefined) {
        await assertRejects(
          () => store.renewEpoch?.('') ?? Promise.resolve(''),
          'invalid-argument',
          'renewEpoch with an empty candidate',
        )
        assertEqual(
          await serverEpoch(store, 'epoch-d'),
          'epoch-b',
          'a refused renewal changes nothing',
        )
      }
      const fresh = await renewEpoch(store, 'epoch-e', COMPONENT)
      assertEqual(fresh, 'epoch-e', 'a second renewal')
    },
  },

  'reopen keeps a renewed epoch': {
    reopen: true,
    async run({ store, reopen }) {
      await serverEpoch(store, 'epoch-a')
      await renewEpoch(store, 'epoch-b', COMPONENT)
      const again = await reopen(store)
      assertEqual(await serverEpoch(again, 'epoch-c'), 'epoch-b', 'the renewed epoch after reopen')
    },
  },
}

import type { Checkpoint, CheckpointKey } from '../../types/index.js'
import { assert, assertEqual } from '../conformance-api.js'
import {
  assertEvents,
  assertSameVersion,
  batchOf,
  ev,
  evs,
  storeAll,
  versionsOf,
} from './helpers.js'
import type { CaseTable } from './helpers.js'
import { stateOf } from './state.js'

const PULL: CheckpointKey = { remote: 'server', direction: 'pull' }
const PUSH: CheckpointKey = { remote: 'server', direction: 'push' }

/**
 * Event store conformance cases: what survives `close()` and opening the same database again
 * (the suite's `reopen` hook). A store that only looks right while open fails here.
 */
export const REOPEN_CASES: CaseTable = {
  'reopen keeps events, versions and latestVersion; new events go after them': {
    reopen: true,
    async run({ store, reopen }) {
      const events = evs(5)
      const results = await storeAll(store, events)
      const latest = await store.latestVersion()
      const before = await store.load(null)
      const again = await reopen(store)
      const after = await again.load(null)
      assertEvents(after, events, 'load(null) after reopen')
      assertEqual(versionsOf(after), versionsOf(before), 'versions after reopen')
      assertSameVersion(await again.latestVersion(), latest, 'latestVersion after reopen')
      const last = results[results.length - 1]
      if (last !== undefined) {
        const since = again.parseVersion(last.version.toString())
        assertEqual((await again.load(since)).length, 0, 'nothing after the old latest version')
      }
      const next = await again.store(ev('e6'))
      assert(
        next.version.compare(latest) > 0,
        'an event stored after reopen gets a greater version',
      )
      assertEqual(
        (await again.store(events[0] ?? ev('e1'))).duplicate,
        true,
        'ids are still known after reopen',
      )
    },
  },

  'reopen keeps checkpoints, with their epochs': {
    reopen: true,
    async run({ store, reopen }) {
      const pull: Checkpoint = { version: 'remote-42', epoch: 'epoch-a' }
      const push: Checkpoint = { version: '7' }
      await store.setCheckpoint(PULL, pull)
      await store.setCheckpoint(PUSH, push)
      const again = await reopen(store)
      assertEqual(await again.getCheckpoint(PULL), pull, 'pull checkpoint after reopen')
      assertEqual(await again.getCheckpoint(PUSH), push, 'push checkpoint after reopen')
      assertEqual(
        await again.getCheckpoint({ remote: 'other', direction: 'pull' }),
        undefined,
        'an unset checkpoint',
      )
    },
  },

  'reopen keeps a batch and its checkpoint together (batch)': {
    batch: true,
    reopen: true,
    async run({ store, reopen }) {
      const events = evs(3, 'b')
      await batchOf(store)(events, {
        checkpoint: { key: PULL, value: { version: 'r-3', epoch: 'e' } },
      })
      const again = await reopen(store)
      assertEvents(await again.load(null), events, 'the batch after reopen')
      assertEqual(
        await again.getCheckpoint(PULL),
        { version: 'r-3', epoch: 'e' },
        'its checkpoint after reopen',
      )
    },
  },

  'reopen keeps state (state)': {
    state: true,
    reopen: true,
    async run({ store, reopen }) {
      await stateOf(store).set('sync-kit:quarantine:server', [{ id: 'e1', tries: 2 }])
      await stateOf(store).set('deleted', 1)
      await stateOf(store).set('deleted', undefined)
      const again = await reopen(store)
      assertEqual(
        await stateOf(again).get('sync-kit:quarantine:server'),
        [{ id: 'e1', tries: 2 }],
        'state after reopen',
      )
      assertEqual(await stateOf(again).get('deleted'), undefined, 'a deleted key after reopen')
    },
  },
}

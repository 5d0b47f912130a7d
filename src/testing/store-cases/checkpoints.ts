import type { Checkpoint } from '../../types/index.js'
import { assertEqual, assertRejects } from '../conformance-api.js'
import { batchOf, ev, ids } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Event store conformance cases: checkpoints, and their atomic step with storeBatch. */
export const CHECKPOINTS_CASES: CaseTable = {
  'a checkpoint is undefined until set': {
    async run({ store }) {
      for (const direction of ['push', 'pull'] as const) {
        const checkpoint = await store.getCheckpoint({ remote: 'server', direction })
        assertEqual(checkpoint, undefined, `${direction} checkpoint of a fresh store`)
      }
    },
  },

  'checkpoints are kept per remote and direction and can be overwritten': {
    async run({ store }) {
      const set = (remote: string, direction: 'push' | 'pull', value: Checkpoint): Promise<void> =>
        store.setCheckpoint({ remote, direction }, value)
      const get = (remote: string, direction: 'push' | 'pull'): Promise<Checkpoint | undefined> =>
        store.getCheckpoint({ remote, direction })
      await set('https://a.example/sync', 'push', { version: '12' })
      await set('https://a.example/sync', 'pull', { version: 'remote-7', epoch: 'epoch-1' })
      await set('b', 'pull', { version: '3' })
      assertEqual(await get('https://a.example/sync', 'push'), { version: '12' }, 'a push')
      assertEqual(
        await get('https://a.example/sync', 'pull'),
        { version: 'remote-7', epoch: 'epoch-1' },
        'a pull',
      )
      assertEqual(await get('b', 'pull'), { version: '3' }, 'b pull')
      assertEqual(await get('b', 'push'), undefined, 'b push was never set')
      await set('https://a.example/sync', 'pull', { version: 'remote-9' })
      assertEqual(
        await get('https://a.example/sync', 'pull'),
        { version: 'remote-9' },
        'an overwritten checkpoint (the old epoch is gone)',
      )
      assertEqual(await get('https://a.example/sync', 'push'), { version: '12' }, 'a push kept')
    },
  },

  'invalid checkpoints are rejected with invalid-argument': {
    async run({ store }) {
      const good = { remote: 'server', direction: 'pull' } as const
      const badKeys: unknown[] = [
        null,
        { remote: '', direction: 'pull' },
        { remote: 7, direction: 'pull' },
        { remote: 'server', direction: 'sideways' },
        { remote: 'server' },
      ]
      for (const key of badKeys) {
        await assertRejects(
          () => store.setCheckpoint(key as typeof good, { version: '1' }),
          'invalid-argument',
          `setCheckpoint with key ${JSON.stringify(key)}`,
        )
        await assertRejects(
          () => store.getCheckpoint(key as typeof good),
          'invalid-argument',
          `getCheckpoint with key ${JSON.stringify(key)}`,
        )
      }
      const badValues: unknown[] = [
        null,
        {},
        { version: 5 },
        { version: '5', epoch: 9 },
        'version 5',
      ]
      for (const value of badValues) {
        await assertRejects(
          () => store.setCheckpoint(good, value as Checkpoint),
          'invalid-argument',
          `setCheckpoint with value ${JSON.stringify(value)}`,
        )
      }
      assertEqual(await store.getCheckpoint(good), undefined, 'no checkpoint was set')
    },
  },

  'storeBatch sets its checkpoint in the same atomic step (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      const key = { remote: 'server', direction: 'pull' } as const
      await storeBatch([ev('e1'), ev('e2')], {
        checkpoint: { key, value: { version: 'r2', epoch: 'ep' } },
      })
      assertEqual(await store.getCheckpoint(key), { version: 'r2', epoch: 'ep' }, 'checkpoint')
      await assertRejects(
        () =>
          storeBatch([ev('e3'), ev('e1', { data: 'changed' })], {
            checkpoint: { key, value: { version: 'r4' } },
          }),
        'event-id-conflict',
        'a conflicting batch with a checkpoint',
      )
      assertEqual(
        await store.getCheckpoint(key),
        { version: 'r2', epoch: 'ep' },
        'a rejected batch leaves the checkpoint as it was',
      )
      await assertRejects(
        () =>
          storeBatch([ev('e3')], {
            checkpoint: { key: { remote: '', direction: 'pull' }, value: { version: 'r3' } },
          }),
        'invalid-argument',
        'a batch with an invalid checkpoint',
      )
      assertEqual(ids(await store.load(null)), ['e1', 'e2'], 'rejected batches stored nothing')
      await storeBatch([], { checkpoint: { key, value: { version: 'r5' } } })
      assertEqual(await store.getCheckpoint(key), { version: 'r5' }, 'an empty batch checkpoint')
    },
  },
}

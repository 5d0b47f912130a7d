import type { EventStore, JsonValue } from '../../types/index.js'
import { assertEqual, assertRejects, fail } from '../conformance-api.js'
import type { CaseTable } from './helpers.js'

/** The optional `getState`/`setState` pair of a store, or a failure naming what is missing. */
export function stateOf(store: EventStore): {
  get: NonNullable<EventStore['getState']>
  set: NonNullable<EventStore['setState']>
} {
  const { getState, setState } = store
  if (typeof getState !== 'function' || typeof setState !== 'function') {
    fail('the store has no getState/setState; pass `state: false` to skip the state cases')
  }
  return { get: getState.bind(store), set: setState.bind(store) }
}

/** Event store conformance cases: the optional durable state beside the log. */
export const STATE_CASES: CaseTable = {
  'state: an unknown key reads undefined; setState then getState returns an equal value': {
    state: true,
    async run({ store }) {
      const { get, set } = stateOf(store)
      assertEqual(await get('sync-kit:never-set'), undefined, 'a key never set')
      const value: JsonValue = {
        refused: [{ id: 'e1', code: 'payload-too-large', bytes: 2_000_000 }],
        n: -0.5,
        ok: true,
        none: null,
        text: 'Grüße 👋',
      }
      await set('sync-kit:refused:server', value)
      assertEqual(await get('sync-kit:refused:server'), value, 'the value read back')
      await set('sync-kit:refused:server', [1, 2, 3])
      assertEqual(await get('sync-kit:refused:server'), [1, 2, 3], 'an overwritten value')
      await set('app:flag', false)
      assertEqual(await get('app:flag'), false, 'a falsy value is a value, not a deletion')
    },
  },

  'state: setState with undefined deletes only that key': {
    state: true,
    async run({ store }) {
      const { get, set } = stateOf(store)
      await set('a', 'one')
      await set('b', { two: 2 })
      await set('a', undefined)
      assertEqual(await get('a'), undefined, 'the deleted key')
      assertEqual(await get('b'), { two: 2 }, 'the other key')
      await set('never-set', undefined)
      assertEqual(await get('never-set'), undefined, 'deleting a missing key is a no-op')
    },
  },

  'state: values are copies that cannot be changed to corrupt the store': {
    state: true,
    async run({ store }) {
      const { get, set } = stateOf(store)
      const written = { list: [1, 2], nested: { x: 'y' } }
      await set('k', written)
      written.list.push(3)
      written.nested.x = 'changed'
      const read = (await get('k')) as { list: number[]; nested: { x: string } }
      assertEqual(read, { list: [1, 2], nested: { x: 'y' } }, 'after changing the written object')
      try {
        read.list.push(4)
        read.nested.x = 'changed again'
      } catch {
        // A frozen copy refuses changes: also fine.
      }
      assertEqual(await get('k'), { list: [1, 2], nested: { x: 'y' } }, 'after changing a read')
    },
  },

  'state: bad keys and values that are not JSON are refused with invalid-argument': {
    state: true,
    async run({ store }) {
      const { get, set } = stateOf(store)
      await set('k', 'kept')
      for (const key of ['', 'x'.repeat(257), 7, null]) {
        await assertRejects(
          () => set(key as string, 1),
          'invalid-argument',
          `setState(${JSON.stringify(key)?.slice(0, 20)})`,
        )
        await assertRejects(
          () => get(key as string),
          'invalid-argument',
          `getState(${JSON.stringify(key)?.slice(0, 20)})`,
        )
      }
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      for (const value of [() => 1, 10n, Number.NaN, new Date(0), cyclic]) {
        await assertRejects(
          () => set('k', value as never),
          'invalid-argument',
          `setState('k', ${typeof value})`,
        )
      }
      assertEqual(await get('k'), 'kept', 'a refused write changes nothing')
    },
  },
}

import type { Event } from '../../types/index.js'
import { assertEqual } from '../conformance-api.js'
import { makeEvent } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Tries to change a returned value in place; frozen values may refuse, which is just as good. */
function tamper(mutate: () => void): void {
  try {
    mutate()
  } catch {
    // A frozen value throws in strict mode: the transport protected it.
  }
}

/** Transport conformance cases: copies, JSON values and Unicode. */
export const VALUES_CASES: CaseTable = {
  'events crossing the transport are copies': async ({ transport }) => {
    const input = makeEvent('e1', { data: { list: [1, 2], nested: { k: 'v' } } })
    await transport.push([input])
    tamper(() => {
      ;(input.data as { list: number[] }).list.push(3)
    })
    const first = await transport.pull(null)
    const pulled = first.events[0]?.event
    assertEqual(pulled?.data, { list: [1, 2], nested: { k: 'v' } }, 'pushed value was copied')
    tamper(() => {
      ;(pulled?.data as { nested: { k: string } }).nested.k = 'changed'
    })
    const second = await transport.pull(null)
    assertEqual(
      second.events[0]?.event.data,
      { list: [1, 2], nested: { k: 'v' } },
      'changing a pulled event does not change the remote',
    )
  },

  'JSON values and Unicode round-trip unchanged': async ({ transport }) => {
    const event: Event = {
      id: 'ü-🔑-1',
      type: 'Tÿpe✓',
      aggregateId: 'agg-中文-שלום',
      data: {
        text: 'héllo wörld 👋🏽 e\u0301 שלום 中文 \u0000 "quotes" \\ \n\t',
        numbers: [0, -1, 1.5, -2.25e-7, 1e21, 9007199254740991, -9007199254740991],
        flags: [true, false, null],
        empty: { object: {}, array: [], string: '' },
        deep: { a: { b: { c: [[{ d: 'e' }]] } } },
        'key with spaces & ✨': 'value',
      },
      metadata: { tenant: 'tenant-✓', origin: 'replica-ä', custom: { list: ['x', 1, null] } },
    }
    await transport.push([event])
    const pulled = await transport.pull(null)
    assertEqual(pulled.events[0]?.event, event, 'the event comes back unchanged')
  },
}

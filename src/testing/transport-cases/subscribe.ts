import type { EventWithVersion, LiveBatchInfo, Subscription, Transport } from '../../types/index.js'
import { assert, assertEqual, fail } from '../conformance-api.js'
import {
  GRACE_MS,
  assertIncreasing,
  collector,
  ids,
  makeEvent,
  makeEvents,
  pullAll,
  sameVersion,
  sleep,
  waitFor,
} from './helpers.js'
import type { CaseTable } from './helpers.js'

function needSubscribe(transport: Transport): NonNullable<Transport['subscribe']> {
  const subscribe = transport.subscribe
  if (typeof subscribe !== 'function') {
    fail('the transport has no subscribe; pass `subscribe: false` to skip the subscribe cases')
  }
  return subscribe.bind(transport)
}

/** Transport conformance cases: live subscribe, since, unsubscribe and abort. */
export const LIVE_CASES: CaseTable = {
  'subscribe delivers events pushed by a peer': async ({ transport, pusher, timeoutMs }) => {
    const live = collector()
    const subscription = await needSubscribe(transport)(live.handler)
    const events = [makeEvent('e1'), makeEvent('e2', { metadata: { tenant: 't1' } })]
    await pusher.push(events)
    await waitFor(() => live.received.length >= 2, 'two live events', timeoutMs)
    assertEqual(ids(live.received), ['e1', 'e2'], 'delivered in order, once')
    live.received.forEach((item, i) => assertEqual(item.event, events[i], `event ${i} unchanged`))
    const pulled = await pullAll(transport)
    live.received.forEach((item, i) => {
      const expected = pulled[i]
      assert(
        expected !== undefined && sameVersion(item.version, expected.version),
        `live version of ${item.event.id} equals its pulled version`,
      )
    })
    await subscription.unsubscribe()
  },

  'subscribe with since replays exactly the events after it, then live ones': async ({
    transport,
    pusher,
    timeoutMs,
  }) => {
    await pusher.push(makeEvents(3))
    const first = (await pullAll(transport))[0]
    assert(first !== undefined, 'three events were pulled')
    const live = collector()
    const subscription = await needSubscribe(transport)(live.handler, { since: first.version })
    await waitFor(() => live.received.length >= 2, 'the replay of e2 and e3', timeoutMs)
    await pusher.push([makeEvent('e4')])
    await waitFor(() => live.received.length >= 3, 'live e4', timeoutMs)
    await pusher.push([makeEvent('e5')])
    await waitFor(() => ids(live.received).includes('e5'), 'live e5', timeoutMs)
    assertEqual(ids(live.received), ['e2', 'e3', 'e4', 'e5'], 'nothing lost, nothing repeated')
    assertIncreasing(live.received, 'delivered versions')
    await subscription.unsubscribe()
  },

  'subscribe batches that tell their position (LiveBatchInfo) follow one another, in the epoch of pulls':
    async ({ transport, pusher, timeoutMs }) => {
      await pusher.push(makeEvents(2))
      const since = (await pullAll(transport)).at(-1)?.version
      assert(since !== undefined, 'two events were pulled')
      const batches: { events: EventWithVersion[]; info: LiveBatchInfo | undefined }[] = []
      const subscription = await needSubscribe(transport)(
        (events, info) => void batches.push({ events: [...events], info }),
        { since },
      )
      for (const id of ['p1', 'p2', 'p3']) await pusher.push([makeEvent(id), makeEvent(`${id}b`)])
      const count = (): number => batches.reduce((n, b) => n + b.events.length, 0)
      await waitFor(() => count() >= 6, 'the six live events', timeoutMs)
      await subscription.unsubscribe()
      const { epoch } = await transport.pull(null, { limit: 1 })
      // Optional: a transport may say nothing; what it says must hold.
      let previous = since
      for (const { events, info } of batches) {
        if (info !== undefined) {
          assertEqual(info.epoch, epoch, 'the batch epoch is the epoch pulls report')
          assert(
            sameVersion(info.after, previous),
            `the batch follows ${previous.toString()}, where the one before it ended (it said ${info.after.toString()})`,
          )
        }
        previous = (events.at(-1) as EventWithVersion).version
      }
    },

  'unsubscribe stops delivery': async ({ transport, pusher, timeoutMs }) => {
    const subscribe = needSubscribe(transport)
    const stopped = collector()
    const sentinel = collector()
    const subscription = await subscribe(stopped.handler)
    const control = await subscribe(sentinel.handler)
    await pusher.push([makeEvent('e1')])
    await waitFor(() => stopped.received.length === 1, 'e1 before unsubscribing', timeoutMs)
    await subscription.unsubscribe()
    await subscription.unsubscribe() // idempotent
    await pusher.push([makeEvent('e2')])
    await waitFor(() => sentinel.received.length === 2, 'e2 on the other subscription', timeoutMs)
    await sleep(GRACE_MS)
    assertEqual(ids(stopped.received), ['e1'], 'nothing delivered after unsubscribe')
    await control.unsubscribe()
  },

  'aborting the subscribe signal stops delivery': async ({ transport, pusher, timeoutMs }) => {
    const subscribe = needSubscribe(transport)
    const controller = new AbortController()
    const aborted = collector()
    const sentinel = collector()
    await subscribe(aborted.handler, { signal: controller.signal })
    const control: Subscription = await subscribe(sentinel.handler)
    await pusher.push([makeEvent('e1')])
    await waitFor(() => aborted.received.length === 1, 'e1 before aborting', timeoutMs)
    controller.abort()
    await pusher.push([makeEvent('e2')])
    await waitFor(() => sentinel.received.length === 2, 'e2 on the other subscription', timeoutMs)
    await sleep(GRACE_MS)
    assertEqual(ids(aborted.received), ['e1'], 'nothing delivered after the signal aborted')
    await control.unsubscribe()
  },
}

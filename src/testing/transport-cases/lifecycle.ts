import { assertEqual, assertRejects } from '../conformance-api.js'
import { GRACE_MS, collector, makeEvent, pullAll, sleep, waitFor } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Transport conformance cases: abort and close. */
export const LIFECYCLE_CASES: CaseTable = {
  'a pre-aborted signal rejects every call with aborted and stores nothing': async ({
    transport,
  }) => {
    const controller = new AbortController()
    controller.abort()
    const { signal } = controller
    await assertRejects(() => transport.push([makeEvent('e1')], { signal }), 'aborted', 'push')
    await assertRejects(() => transport.pull(null, { signal }), 'aborted', 'pull')
    await assertRejects(() => transport.latestVersion({ signal }), 'aborted', 'latestVersion')
    if (typeof transport.subscribe === 'function') {
      await assertRejects(
        () => transport.subscribe?.(() => undefined, { signal }),
        'aborted',
        'subscribe',
      )
    }
    assertEqual((await pullAll(transport)).length, 0, 'the aborted push stored nothing')
  },

  'close makes every call reject with transport-closed': async ({ transport, peer, timeoutMs }) => {
    const live = collector()
    const sentinel = collector()
    const subscription = await transport.subscribe?.(live.handler)
    const peerSubscription = await peer?.subscribe?.(sentinel.handler)
    await transport.close()
    await transport.close() // idempotent
    await assertRejects(() => transport.push([makeEvent('e1')]), 'transport-closed', 'push')
    await assertRejects(() => transport.pull(null), 'transport-closed', 'pull')
    await assertRejects(() => transport.latestVersion(), 'transport-closed', 'latestVersion')
    if (typeof transport.subscribe === 'function') {
      await assertRejects(
        () => transport.subscribe?.(() => undefined),
        'transport-closed',
        'subscribe',
      )
    }
    if (peer !== undefined && subscription !== undefined && peerSubscription !== undefined) {
      // The peer's live subscription shows when the event would have arrived.
      await peer.push([makeEvent('e2')])
      await waitFor(() => sentinel.received.length > 0, "the peer's delivery", timeoutMs)
      await sleep(GRACE_MS)
      assertEqual(live.received.length, 0, 'a closed transport delivers nothing')
      await peerSubscription.unsubscribe()
    }
    await subscription?.unsubscribe()
  },
}

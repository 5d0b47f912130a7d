import { describe, expect, it } from 'vitest'
import { LiveDelivery } from './live-delivery.js'
import type { DeliveryHost } from './live-delivery.js'
import type { LoopbackConnection } from './loopback-transport.js'
import { createTestHub } from './test-hub.js'

describe('LiveDelivery (the test hub deliveries)', () => {
  it('Given a signal aborted before the delivery is made, When it is made, Then it is ended at once and off the hub', () => {
    // The base class ends it from its constructor, before LiveDelivery's own fields exist.
    const hub = createTestHub()
    const connection = hub.connect('a') as LoopbackConnection
    const controller = new AbortController()
    controller.abort()
    const delivery = new LiveDelivery(
      hub as unknown as DeliveryHost,
      connection,
      () => undefined,
      undefined,
      controller.signal,
    )
    expect(delivery.ended).toBe(true)
    expect(hub.subscriptions).toBe(0)
  })
})

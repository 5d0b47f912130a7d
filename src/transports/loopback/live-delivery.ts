import type { FeedBatch } from '../../server/index.js'
import type { EventHandler } from '../../types/index.js'
import { HubDelivery } from './hub-delivery.js'
import type { HubDeliveryHost } from './hub-delivery.js'
import type { DeliveryHooks, InFlight } from './hub-hooks.js'
import type { LoopbackConnection } from './loopback-transport.js'

/** What a test hub's live delivery needs from its hub: its delivery hooks and these. */
export interface DeliveryHost extends HubDeliveryHost, DeliveryHooks {
  /** Lets `hub.settle()` wait for the promise. */
  track(promise: Promise<unknown>): void
}

/**
 * One subscription's live deliveries on a test hub: the server core's feed offers each batch, the
 * delivery queues it, and one pump hands the batches to the client's handler one at a time,
 * awaiting it before the next (backpressure). Replayed batches keep their order ahead of live
 * ones. The delivery hooks drop, duplicate, withhold and reorder batches.
 */
export class LiveDelivery extends HubDelivery {
  /** The subscribing client. */
  readonly clientId: string
  readonly #host: DeliveryHost
  #queue: InFlight[] = []
  #running = false

  /**
   * @param host - the test hub.
   * @param connection - the subscriber's connection.
   * @param handler - the client's handler.
   * @param onError - the client's error hook.
   * @param signal - ends the subscription when it aborts.
   */
  constructor(
    host: DeliveryHost,
    connection: LoopbackConnection,
    handler: EventHandler,
    onError: ((error: unknown) => void) | undefined,
    signal: AbortSignal | undefined,
  ) {
    super(host, connection, handler, onError, signal)
    this.clientId = connection.clientId
    this.#host = host
  }

  /**
   * Takes one batch from the server core (called synchronously, never awaited): queued.
   * @param batch - the batch, replayed or live.
   */
  override offer(batch: FeedBatch): void {
    if (this.ended) return
    const copies = batch.live ? this.#host.copies(this.clientId) : 1
    for (let i = 0; i < copies; i++)
      this.#queue.push({ events: batch.events, live: batch.live, after: batch.after })
    this.#kick()
  }

  /** The client is reachable again: delivers what waited. */
  resume(): void {
    this.#kick()
  }

  /**
   * Tells the subscriber its connection failed, without ending the subscription.
   * @param error - passed to `onError`.
   */
  connectionLost(error: unknown): void {
    if (!this.ended) this.report(error)
  }

  override end(error?: unknown): void {
    // The base constructor ends a delivery whose signal is aborted already, before this class's
    // fields exist.
    if (#queue in this) this.#queue = []
    super.end(error)
  }

  #kick(): void {
    if (this.#running || this.ended || this.#queue.length === 0) return
    if (this.#host.isOffline(this.clientId)) return
    this.#running = true
    this.#host.track(this.#pump())
  }

  async #pump(): Promise<void> {
    try {
      while (!this.ended && !this.#host.isOffline(this.clientId)) {
        const queue = this.#queue
        const next = queue.length > 1 ? this.#host.pick(this.clientId, queue) : 0
        const batch = queue.splice(next, 1)[0]
        if (batch === undefined) break
        // Honest even when a fault drops or reorders batches: `after` is where the feed was,
        // so the receiver sees the gap.
        await this.deliverBatch(batch.events, batch.after)
      }
    } catch (error) {
      this.end(error)
    } finally {
      this.#running = false
    }
    // A batch queued while the last delivery finished would otherwise wait for the next one.
    this.#kick()
  }
}

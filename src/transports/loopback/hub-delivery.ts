import type { FeedBatch } from '../../server/index.js'
import type { EventHandler, EventWithVersion, Subscription, Version } from '../../types/index.js'
import type { LoopbackConnection } from './loopback-transport.js'

/** What a delivery needs from its hub. */
export interface HubDeliveryHost {
  /** Every live delivery of the hub, one per subscription. */
  readonly live: Set<HubDelivery>
}

/**
 * One subscription of a hub client: the server core's feed hands each batch to the client's
 * handler, awaiting it before the next (backpressure), as it is — the events are the log's own,
 * deep-frozen, so no subscriber can change what another receives. Ending it (unsubscribe, the
 * connection closed, the hub reset, the handler failed, the signal aborted) ends the core's
 * subscription and tells `onError` why. The test hub's deliveries (`LiveDelivery`) queue the
 * batches instead, to drop, duplicate, withhold and reorder them.
 */
export class HubDelivery implements Subscription {
  /** The subscriber's connection: closing it ends the delivery. */
  readonly connection: LoopbackConnection
  /** The client's handler. */
  readonly handler: EventHandler
  readonly #host: HubDeliveryHost
  readonly #onError: ((error: unknown) => void) | undefined
  readonly #signal: AbortSignal | undefined
  #feed: Subscription | undefined
  #ended = false
  /** The epoch of the hub's log the feed reads, once the hub read it. */
  epoch: string | undefined
  readonly #onAbort = (): void => {
    this.end()
  }

  /**
   * @param host - the hub.
   * @param connection - the subscriber's connection.
   * @param handler - the client's handler.
   * @param onError - the client's error hook.
   * @param signal - ends the subscription when it aborts.
   */
  constructor(
    host: HubDeliveryHost,
    connection: LoopbackConnection,
    handler: EventHandler,
    onError: ((error: unknown) => void) | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.#host = host
    this.connection = connection
    this.handler = handler
    this.#onError = onError
    this.#signal = signal
    host.live.add(this)
    if (signal?.aborted === true) this.end()
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** True once the delivery ended. */
  get ended(): boolean {
    return this.#ended
  }

  /**
   * Connects the delivery to the server core's subscription that feeds it.
   * @param feed - the core subscription; ended with this delivery.
   */
  attach(feed: Subscription): void {
    this.#feed = feed
    if (this.#ended) void feed.unsubscribe()
  }

  /**
   * Takes one batch from the server core, which awaits the returned promise before the next.
   * @param batch - the batch, replayed or live.
   * @returns when the client's handler is done with it.
   */
  offer(batch: FeedBatch): void | Promise<void> {
    if (!this.#ended) return this.deliverBatch(batch.events, batch.after)
  }

  /**
   * Hands events to the client's handler, with where they sit in the log once the hub's epoch is
   * known (see `LiveBatchInfo`).
   * @param events - the batch.
   * @param after - the feed's cursor before it.
   * @returns the handler's result.
   */
  protected deliverBatch(
    events: readonly EventWithVersion[],
    after: Version | null,
  ): void | Promise<void> {
    const { epoch } = this
    return this.handler(events, epoch && after ? { epoch, after } : undefined)
  }

  /**
   * Ends the subscription: nothing is delivered afterwards.
   * @param error - when given, reported to `onError`.
   */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#host.live.delete(this)
    void this.#feed?.unsubscribe()
    if (error !== undefined) this.report(error)
  }

  /**
   * Stops delivery. Idempotent; a batch whose handler runs finishes, no other starts.
   * @returns a promise that resolves at once.
   */
  unsubscribe(): Promise<void> {
    this.end()
    return Promise.resolve()
  }

  /**
   * Tells `onError`, whose own failure must not break the hub's fan-out.
   * @param error - what to report.
   */
  report(error: unknown): void {
    try {
      this.#onError?.(error)
    } catch {
      // A notification hook.
    }
  }
}

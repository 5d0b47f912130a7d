import type { FeedBatch } from '../../server/index.js'
import type { EventHandler, EventWithVersion, Subscription } from '../../types/index.js'
import type { DeliveryHooks, InFlight } from './hub-hooks.js'
import type { LoopbackConnection } from './loopback-transport.js'

/** What a live delivery needs from its hub: its delivery hooks and these. */
export interface DeliveryHost extends DeliveryHooks {
  /** Every live delivery of the hub, one per subscription. */
  readonly live: Set<LiveDelivery>
  /** Copies an event and its version as if it crossed a wire. */
  copy(item: EventWithVersion): EventWithVersion
  /** Lets `hub.settle()` wait for the promise. */
  track(promise: Promise<unknown>): void
}

/**
 * One subscription's live deliveries: the server core's feed offers each batch, the delivery
 * queues it, and one pump hands the batches to the client's handler one at a time, awaiting it
 * before the next (backpressure). Replayed batches keep their order ahead of live ones. On a test
 * hub the delivery hooks drop, duplicate, withhold and reorder batches.
 */
export class LiveDelivery implements Subscription {
  /** The subscriber's connection: closing it ends the delivery. */
  readonly connection: LoopbackConnection
  /** The subscribing client. */
  readonly clientId: string
  readonly #host: DeliveryHost
  readonly #handler: EventHandler
  readonly #onError: ((error: unknown) => void) | undefined
  readonly #signal: AbortSignal | undefined
  #queue: InFlight[] = []
  #feed: Subscription | undefined
  #running = false
  #ended = false
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
    host: DeliveryHost,
    connection: LoopbackConnection,
    handler: EventHandler,
    onError: ((error: unknown) => void) | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.#host = host
    this.connection = connection
    this.clientId = connection.clientId
    this.#handler = handler
    this.#onError = onError
    this.#signal = signal
    host.live.add(this)
    if (signal?.aborted === true) this.end()
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
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
   * Takes one batch from the server core (called synchronously, never awaited).
   * @param batch - the batch, replayed or live.
   */
  offer(batch: FeedBatch): void {
    if (this.#ended) return
    const copies = batch.live ? this.#host.copies(this.clientId) : 1
    for (let i = 0; i < copies; i++) this.#queue.push({ events: batch.events, live: batch.live })
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
    if (!this.#ended) this.#report(error)
  }

  /**
   * Ends the subscription: nothing is delivered afterwards.
   * @param error - when given, reported to `onError`.
   */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#queue = []
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#host.live.delete(this)
    void this.#feed?.unsubscribe()
    if (error !== undefined) this.#report(error)
  }

  /**
   * Stops delivery. Idempotent; a batch whose handler runs finishes, no other starts.
   * @returns a promise that resolves at once.
   */
  unsubscribe(): Promise<void> {
    this.end()
    return Promise.resolve()
  }

  #report(error: unknown): void {
    try {
      this.#onError?.(error)
    } catch {
      // onError is a notification hook: its own failure must not break the hub's fan-out.
    }
  }

  #kick(): void {
    if (this.#running || this.#ended || this.#queue.length === 0) return
    if (this.#host.isOffline(this.clientId)) return
    this.#running = true
    this.#host.track(this.#pump())
  }

  async #pump(): Promise<void> {
    try {
      while (!this.#ended && !this.#host.isOffline(this.clientId)) {
        const queue = this.#queue
        const next = queue.length > 1 ? this.#host.pick(this.clientId, queue) : 0
        const batch = queue.splice(next, 1)[0]
        if (batch === undefined) break
        const copies = batch.events.map((item) => this.#host.copy(item))
        await this.#handler(copies)
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

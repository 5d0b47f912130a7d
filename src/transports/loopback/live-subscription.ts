import type {
  Event,
  EventHandler,
  EventStore,
  EventWithVersion,
  Filter,
  Subscription,
  Version,
} from '../../types/index.js'

/** What a live subscription needs from its hub. */
export interface SubscriptionHost {
  /** The hub's current store (replaced by `reset`). */
  readonly store: EventStore
  /** Page size of the replay. */
  readonly pageLimit: number
  /** True while the client is offline or partitioned away: deliveries wait. */
  isOffline(clientId: string): boolean
  /** True when deliveries to the client are reordered. */
  reorders(clientId: string): boolean
  /** The hub's seeded random source, in [0, 1). */
  random(): number
  /** Copies an event and its version as if it crossed a wire. */
  copy(item: EventWithVersion): EventWithVersion
  /** Lets `hub.settle()` wait for the promise. */
  track(promise: Promise<unknown>): void
  /** Forgets the subscription once it ended. */
  detach(subscription: LiveSubscription): void
}

/** What {@link LiveSubscription} is created with. */
export interface LiveSubscriptionInit {
  readonly host: SubscriptionHost
  readonly clientId: string
  readonly handler: EventHandler
  readonly filters: readonly Filter[]
  readonly matches: (event: Event) => boolean
  /** Replay events strictly after this version first; `null`: live events only. */
  readonly since: Version | null
  readonly onError: ((error: unknown) => void) | undefined
  readonly signal: AbortSignal | undefined
}

/**
 * One live subscription on the hub: first a replay of the stored events after `since` (read from
 * the store page by page), then the live batches the hub fans out.
 *
 * No gap and no repeat at the hand-over: the subscription is registered with the hub (so it
 * queues every live batch) BEFORE the replay reads the store; when the replay is done, queued
 * events at or before the last replayed version are dropped. One pump delivers batches one at a
 * time and awaits the handler before the next (backpressure).
 */
export class LiveSubscription implements Subscription {
  /** Client that subscribed. */
  readonly clientId: string
  private readonly init: LiveSubscriptionInit
  /** Live batches waiting for the handler (hub-side values, copied when delivered). */
  private queue: (readonly EventWithVersion[])[] = []
  /** True until the replay read everything after `cursor`. */
  private replaying: boolean
  /** Last version replayed (the replay's cursor). */
  private cursor: Version | null
  private running = false
  private ended = false
  private readonly onAbort = (): void => {
    this.end()
  }

  constructor(init: LiveSubscriptionInit) {
    this.init = init
    this.clientId = init.clientId
    this.replaying = init.since !== null
    this.cursor = init.since
  }

  /** True once the subscription ended (unsubscribed, aborted, closed or failed). */
  get isEnded(): boolean {
    return this.ended
  }

  /** Starts the replay (if any) and live delivery. Call after registering with the hub. */
  start(): void {
    if (this.init.signal?.aborted === true) {
      this.end()
      return
    }
    this.init.signal?.addEventListener('abort', this.onAbort, { once: true })
    this.kick()
  }

  /**
   * The events of a freshly stored batch this subscription wants.
   * @param batch - newly stored events, in version order.
   * @returns the matching ones (possibly none).
   */
  select(batch: readonly EventWithVersion[]): EventWithVersion[] {
    return this.ended ? [] : batch.filter((item) => this.init.matches(item.event))
  }

  /**
   * Queues a live batch for delivery.
   * @param batch - hub-side events with their versions.
   */
  enqueue(batch: readonly EventWithVersion[]): void {
    if (this.ended || batch.length === 0) return
    this.queue.push(batch)
    this.kick()
  }

  /** The client is reachable again: delivers what waited. */
  resume(): void {
    this.kick()
  }

  /**
   * Tells the subscriber its live connection failed without ending the subscription (the hub
   * keeps it and delivers once the client is back, as a reconnecting transport would).
   * @param error - the failure, passed to `onError`.
   */
  connectionLost(error: unknown): void {
    if (!this.ended) this.report(error)
  }

  /**
   * Ends the subscription: no batch is delivered afterwards.
   * @param error - when given, reported to `onError` (the subscription failed).
   */
  end(error?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.queue = []
    this.init.signal?.removeEventListener('abort', this.onAbort)
    this.init.host.detach(this)
    if (error !== undefined) this.report(error)
  }

  /**
   * Stops delivery. Idempotent. A batch whose handler is running finishes; no other starts.
   * @returns a promise that resolves at once (nothing else will be delivered).
   */
  unsubscribe(): Promise<void> {
    this.end()
    return Promise.resolve()
  }

  private report(error: unknown): void {
    try {
      this.init.onError?.(error)
    } catch {
      // onError is a notification hook: its own failure must not break the hub's fan-out.
    }
  }

  private kick(): void {
    if (this.running || this.ended || this.init.host.isOffline(this.clientId)) return
    if (!this.replaying && this.queue.length === 0) return
    this.running = true
    this.init.host.track(this.pump())
  }

  private async pump(): Promise<void> {
    const { host } = this.init
    try {
      while (!this.ended && !host.isOffline(this.clientId)) {
        if (this.replaying) {
          await this.replayPage()
          continue
        }
        const batch = this.takeNext()
        if (batch === undefined) break
        await this.deliver(batch)
      }
    } catch (error) {
      this.end(error)
    } finally {
      this.running = false
    }
    // A batch queued while the last delivery finished would otherwise wait for the next one.
    this.kick()
  }

  private async replayPage(): Promise<void> {
    const { host, filters } = this.init
    const limit = host.pageLimit
    const page = await host.store.load(this.cursor, { filters, limit })
    if (this.ended) return
    const last = page.at(-1)
    if (last !== undefined) this.cursor = last.version
    if (page.length < limit) this.finishReplay()
    if (page.length > 0) await this.deliver(page)
  }

  /** Switches to live delivery, dropping queued events the replay already delivered. */
  private finishReplay(): void {
    this.replaying = false
    const cursor = this.cursor
    if (cursor === null) return
    const fresh: (readonly EventWithVersion[])[] = []
    for (const batch of this.queue) {
      const after = batch.filter((item) => item.version.compare(cursor) > 0)
      if (after.length > 0) fresh.push(after)
    }
    this.queue = fresh
  }

  private takeNext(): readonly EventWithVersion[] | undefined {
    const { host } = this.init
    if (this.queue.length > 1 && host.reorders(this.clientId)) {
      const index = Math.min(this.queue.length - 1, Math.floor(host.random() * this.queue.length))
      return this.queue.splice(index, 1)[0]
    }
    return this.queue.shift()
  }

  private async deliver(batch: readonly EventWithVersion[]): Promise<void> {
    if (this.ended) return
    const copies = batch.map((item) => this.init.host.copy(item))
    await this.init.handler(copies)
  }
}

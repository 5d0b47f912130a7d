import type {
  Event,
  EventHandler,
  PullOptions,
  PullResult,
  PushOptions,
  PushResult,
  SignalOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  Version,
} from '../../types/index.js'
/**
 * The calls a loopback transport makes to its hub, as named in faults and call records.
 *
 * @example
 * ```ts
 * import type { LoopbackOp } from 'sync-kit/testing'
 *
 * const op: LoopbackOp = 'latestVersion'
 * ```
 */
export type LoopbackOp = 'push' | 'pull' | 'latestVersion' | 'subscribe'

/**
 * One client's connection to a loopback hub: a complete {@link Transport}, live `subscribe`
 * included.
 *
 * Behaves like a network transport: events are copied on the way in and out, so neither side can
 * mutate the other's values, and versions are re-parsed as if they had been strings on a wire.
 *
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const transport = hub.connect('replica-a')
 * const sub = await transport.subscribe((batch) => console.log(batch.length, 'new events'))
 * await hub.connect('replica-b').push([{ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }])
 * await hub.settle() // logs '1 new events'
 * await sub.unsubscribe()
 * ```
 */
export interface LoopbackTransport extends Transport {
  /** The client id given to `hub.connect`; a test hub's faults, offline state and call records use it. */
  readonly clientId: string
  /** True once `close()` was called (or the hub closed). */
  readonly closed: boolean
  /**
   * Live delivery of events stored on the hub, from every client (this one included: dedup by
   * event id). With `since`, the stored events after it are replayed first, then live ones follow
   * with nothing lost or repeated in between. The handler is awaited before the next batch. The
   * subscription ends on `unsubscribe()`, when `signal` aborts, when this transport closes, when
   * the handler throws (the error goes to `onError`) and when the hub is reset (`onError` gets an
   * `unavailable` error: subscribe again and check the new epoch).
   *
   * On a test hub (`createTestHub` from `sync-kit/testing`), while the client is offline or
   * partitioned away, `onError` gets an `unavailable` error once and deliveries wait (or are
   * dropped, per the hub's `offlineDeliveries`) until it is back.
   *
   * @param handler - receives batches of copied events with their hub versions.
   * @param options - `since`, `filters`, `signal`, `onError`.
   * @returns the subscription, once registered on the hub.
   * @throws SyncKitError `invalid-argument` (handler not a function), `unsupported-filter`,
   * `version-parse`, `unavailable`, `timeout`, `transport-closed`, `aborted`.
   */
  subscribe(handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>
}

/** What a connection asks of its hub; implemented by the hub. */
export interface ConnectionHost {
  push(
    connection: LoopbackConnection,
    events: readonly Event[],
    options?: PushOptions,
  ): Promise<PushResult>
  pull(
    connection: LoopbackConnection,
    since: Version | null,
    options?: PullOptions,
  ): Promise<PullResult>
  latestVersion(connection: LoopbackConnection, options?: SignalOptions): Promise<Version>
  subscribe(
    connection: LoopbackConnection,
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription>
  parseVersion(value: string): Version
  /** The connection closed: its subscriptions end. */
  disconnect(connection: LoopbackConnection): void
}

/** The loopback transport: forwards each call to the hub, which does the work. */
export class LoopbackConnection implements LoopbackTransport {
  readonly clientId: string
  readonly #host: ConnectionHost
  #isClosed = false

  constructor(host: ConnectionHost, clientId: string) {
    this.#host = host
    this.clientId = clientId
  }

  get closed(): boolean {
    return this.#isClosed
  }

  push(events: readonly Event[], options?: PushOptions): Promise<PushResult> {
    return this.#host.push(this, events, options)
  }

  pull(since: Version | null, options?: PullOptions): Promise<PullResult> {
    return this.#host.pull(this, since, options)
  }

  latestVersion(options?: SignalOptions): Promise<Version> {
    return this.#host.latestVersion(this, options)
  }

  subscribe(handler: EventHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#host.subscribe(this, handler, options)
  }

  parseVersion(value: string): Version {
    return this.#host.parseVersion(value)
  }

  close(): Promise<void> {
    if (this.#isClosed) return Promise.resolve()
    this.#isClosed = true
    this.#host.disconnect(this)
    return Promise.resolve()
  }
}

import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { FeedBatch } from '../../server/index.js'
import type { EventHandler, EventWithVersion, Subscription } from '../../types/index.js'
import { FaultState, badArgument } from './faults.js'
import type { InjectedFailure, LoopbackOp } from './faults.js'

/** Longest client id accepted: 256 characters. */
const MAX_CLIENT_ID_LENGTH = 256

/**
 * Checks a client id.
 * @param clientId - the value given.
 * @throws SyncKitError `invalid-argument` unless it is a string of 1–256 characters.
 */
export function checkClientId(clientId: unknown): asserts clientId is string {
  if (typeof clientId !== 'string' || clientId === '' || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw badArgument(
      'clientId',
      `client id must be a string of 1-${MAX_CLIENT_ID_LENGTH} characters, got ${JSON.stringify(String(clientId)).slice(0, 80)}`,
    )
  }
}

/** What the simulated network needs from its hub. */
export interface NetworkHost {
  /** The hub's seeded random source, in [0, 1). */
  random(): number
  /** Copies an event and its version as if it crossed a wire. */
  copy(item: EventWithVersion): EventWithVersion
  /** Lets `hub.settle()` wait for the promise. */
  track(promise: Promise<unknown>): void
}

/**
 * The network between the hub and its clients, simulated: who is reachable (offline clients,
 * partitions), injected faults, and the live deliveries in flight to each subscriber, which it
 * drops, duplicates, withholds and reorders as told.
 */
export class Network {
  /** Hub-wide faults. */
  readonly faults: FaultState = new FaultState()
  /** Live deliveries, one per subscription. */
  readonly live: Set<LiveDelivery> = new Set<LiveDelivery>()
  readonly host: NetworkHost
  readonly offlineDeliveries: 'withhold' | 'drop'
  readonly #clientFaults = new Map<string, FaultState>()
  readonly #offline = new Set<string>()
  readonly #partitioned = new Set<string>()

  /**
   * @param host - the hub.
   * @param offlineDeliveries - what happens to live deliveries for an unreachable client.
   */
  constructor(host: NetworkHost, offlineDeliveries: 'withhold' | 'drop') {
    this.host = host
    this.offlineDeliveries = offlineDeliveries
  }

  /**
   * The faults of one client, kept across reconnects.
   * @param clientId - the client.
   * @returns its fault state.
   */
  client(clientId: string): FaultState {
    checkClientId(clientId)
    let faults = this.#clientFaults.get(clientId)
    if (faults === undefined) {
      faults = new FaultState()
      this.#clientFaults.set(clientId, faults)
    }
    return faults
  }

  /** Clears hub-wide and per-client faults. */
  clearFaults(): void {
    this.faults.clearFaults()
    for (const faults of this.#clientFaults.values()) faults.clearFaults()
  }

  /**
   * Uses up one injected failure for a call, the client's own first.
   * @param clientId - the caller.
   * @param op - the call.
   * @returns the failure, or undefined when the call passes.
   */
  takeFailure(clientId: string, op: LoopbackOp): InjectedFailure | undefined {
    return this.#clientFaults.get(clientId)?.takeFailure(op) ?? this.faults.takeFailure(op)
  }

  /**
   * @param clientId - the client.
   * @returns true while it is offline or partitioned away.
   */
  isOffline(clientId: string): boolean {
    return this.#offline.has(clientId) || this.#partitioned.has(clientId)
  }

  /**
   * @param clientId - the client.
   * @param offline - true to cut it off.
   */
  setOffline(clientId: string, offline: boolean): void {
    this.#reach(() => {
      if (offline) this.#offline.add(clientId)
      else this.#offline.delete(clientId)
    })
  }

  /**
   * Replaces the partition: every client named in a group after the first is cut off.
   * @param groups - groups of client ids.
   * @throws SyncKitError `invalid-argument` for malformed groups.
   */
  partition(groups: readonly (readonly string[])[]): void {
    if (!Array.isArray(groups) || groups.length === 0) {
      throw badArgument('groups', 'partition takes a non-empty array of groups of client ids')
    }
    const seen = new Set<string>()
    const cut = new Set<string>()
    groups.forEach((group, index) => {
      if (!Array.isArray(group)) {
        throw badArgument('groups', `partition group ${index} must be an array of client ids`)
      }
      for (const clientId of group as readonly unknown[]) {
        checkClientId(clientId)
        if (seen.has(clientId)) {
          throw badArgument('groups', `client "${clientId}" is in two partition groups`)
        }
        seen.add(clientId)
        if (index > 0) cut.add(clientId)
      }
    })
    this.#reach(() => {
      this.#partitioned.clear()
      for (const clientId of cut) this.#partitioned.add(clientId)
    })
  }

  /** Ends the partition. */
  heal(): void {
    this.#reach(() => this.#partitioned.clear())
  }

  /**
   * Applies the delivery faults to one live batch for one client.
   * @param clientId - the subscriber.
   * @returns how many times to deliver it: 0 (dropped), 1, or 2 (duplicated).
   */
  copiesOf(clientId: string): number {
    if (this.offlineDeliveries === 'drop' && this.isOffline(clientId)) return 0
    const faults = this.#clientFaults.get(clientId)
    if (faults?.takeDrop() === true || this.faults.takeDrop()) return 0
    return faults?.takeDuplicate() === true || this.faults.takeDuplicate() ? 2 : 1
  }

  /**
   * @param clientId - the subscriber.
   * @returns true while its waiting batches are reordered.
   */
  reorders(clientId: string): boolean {
    return this.faults.reorder || this.#clientFaults.get(clientId)?.reorder === true
  }

  /** Changes reachability, telling subscriptions that went offline and resuming those back. */
  #reach(change: () => void): void {
    const before = new Map<LiveDelivery, boolean>()
    for (const delivery of this.live) before.set(delivery, this.isOffline(delivery.clientId))
    change()
    for (const delivery of [...this.live]) {
      const was = before.get(delivery) === true
      const now = this.isOffline(delivery.clientId)
      if (!was && now) {
        delivery.connectionLost(
          new SyncKitError(
            'unavailable',
            `[sync-kit] [loopback] client "${delivery.clientId}" went offline; live ` +
              `deliveries are ${this.offlineDeliveries === 'drop' ? 'dropped' : 'withheld'} ` +
              'until it is back online',
            {},
          ),
        )
      } else if (was && !now) {
        delivery.resume()
      }
    }
  }
}

/** A batch in flight to a subscriber. */
interface InFlight {
  readonly events: readonly EventWithVersion[]
  /** Replayed batches are never dropped, duplicated or reordered. */
  readonly live: boolean
}

/**
 * One subscription's live deliveries crossing the simulated network: the server core's feed
 * offers each batch, the network applies the faults and queues it, and one pump hands the batches
 * to the client's handler one at a time, awaiting it before the next (backpressure), while the
 * client is reachable. Replayed batches keep their order ahead of live ones.
 */
export class LiveDelivery implements Subscription {
  /** The subscribing client. */
  readonly clientId: string
  readonly #network: Network
  readonly #handler: EventHandler
  readonly #onError: ((error: unknown) => void) | undefined
  readonly #signal: AbortSignal | undefined
  readonly #release: (delivery: LiveDelivery) => void
  #queue: InFlight[] = []
  #feed: Subscription | undefined
  #running = false
  #ended = false
  readonly #onAbort = (): void => {
    this.end()
  }

  /**
   * @param network - the network it crosses.
   * @param clientId - the subscriber.
   * @param handler - the client's handler.
   * @param onError - the client's error hook.
   * @param signal - ends the subscription when it aborts.
   * @param release - called once when it ends.
   */
  constructor(
    network: Network,
    clientId: string,
    handler: EventHandler,
    onError: ((error: unknown) => void) | undefined,
    signal: AbortSignal | undefined,
    release: (delivery: LiveDelivery) => void,
  ) {
    this.#network = network
    this.clientId = clientId
    this.#handler = handler
    this.#onError = onError
    this.#signal = signal
    this.#release = release
    network.live.add(this)
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
    const copies = batch.live ? this.#network.copiesOf(this.clientId) : 1
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
    this.#network.live.delete(this)
    this.#release(this)
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
    if (this.#network.isOffline(this.clientId)) return
    this.#running = true
    this.#network.host.track(this.#pump())
  }

  async #pump(): Promise<void> {
    try {
      while (!this.#ended && !this.#network.isOffline(this.clientId)) {
        const batch = this.#takeNext()
        if (batch === undefined) break
        const copies = batch.events.map((item) => this.#network.host.copy(item))
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

  #takeNext(): InFlight | undefined {
    const queue = this.#queue
    if (queue.length > 1 && queue[0]?.live === true && this.#network.reorders(this.clientId)) {
      const r = this.#network.host.random()
      return queue.splice(Math.min(queue.length - 1, Math.floor(r * queue.length)), 1)[0]
    }
    return queue.shift()
  }
}
